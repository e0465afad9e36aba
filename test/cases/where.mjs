// where (torch.where), masked_fill (Tensor.masked_fill) and where_backward,
// with NumPy broadcasting, against references written from those definitions.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

function broadcastShape(...shapes) {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = i < rank - s.length ? 1 : s[i - (rank - s.length)];
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

// The element of t (broadcast to shape) at flat index i of shape.
function at(t, shape, i) {
  let j = 0;
  let stride = 1;
  for (let d = 1; d <= shape.length; d++) {
    const size = shape[shape.length - d];
    const idx = i % size;
    i = Math.floor(i / size);
    const tsize = d <= t.shape.length ? t.shape[t.shape.length - d] : 1;
    if (tsize !== 1) j += idx * stride;
    stride *= tsize;
  }
  return t.data[j];
}

function whereRef([cond, a, b]) {
  const shape = broadcastShape(cond.shape, a.shape, b.shape);
  const data = Float64Array.from({ length: numel(shape) }, (_, i) => (at(cond, shape, i) ? at(a, shape, i) : at(b, shape, i)));
  return [{ shape, data }];
}

function whereBackwardRef([dy, cond], { select }) {
  const data = dy.data.map((v, i) => ((at(cond, dy.shape, i) !== 0) === (select === 'a') ? v : 0));
  return [{ shape: dy.shape, data }];
}

function maskedFillRef([x, mask], { value }) {
  return [{ shape: x.shape, data: x.data.map((v, i) => (at(mask, x.shape, i) ? value : v)) }];
}

const mask = (shape, dtype = 'bool') => ({ shape, dtype, range: [0, 2] });

export default [
  {
    op: 'where',
    name: 'where [3,1] cond, [1,4] a, scalar b',
    inputs: [{ shape: [3, 1], dtype: 'bool', values: [1, 0, 1] }, { shape: [1, 4] }, { shape: [] }],
    ref: whereRef,
    grad: true,
  },
  { op: 'where', name: 'where same shapes', inputs: [mask([3, 5]), { shape: [3, 5] }, { shape: [3, 5] }], ref: whereRef, grad: true },
  {
    op: 'where',
    name: 'where u8 cond with bytes above 1, b broadcast over rows',
    inputs: [{ shape: [2, 3], dtype: 'u8', values: [0, 2, 255, 1, 0, 7] }, { shape: [2, 3] }, { shape: [3] }],
    ref: whereRef,
    grad: true,
  },
  {
    op: 'where',
    name: 'where scalar cond, 3-d a and b',
    inputs: [{ shape: [], dtype: 'bool', values: [1] }, { shape: [2, 1, 3] }, { shape: [2, 2, 1] }],
    ref: whereRef,
    grad: true,
  },
  { op: 'where', name: 'where cond broadcast along the last dim', inputs: [mask([4, 1]), { shape: [4, 3] }, { shape: [1, 3] }], ref: whereRef, grad: true },
  { op: 'where', name: 'where large, all broadcast', inputs: [mask([64, 1, 50]), { shape: [1, 40, 50] }, { shape: [64, 40, 1] }], ref: whereRef },
  { op: 'where', name: 'where empty', inputs: [mask([0, 3]), { shape: [1, 3] }, { shape: [] }], ref: whereRef },

  { op: 'where_backward', name: 'where_backward select a, broadcast cond', inputs: [{ shape: [3, 4] }, mask([3, 1])], attrs: { select: 'a' }, ref: whereBackwardRef },
  { op: 'where_backward', name: 'where_backward select b, u8 cond', inputs: [{ shape: [2, 3] }, { shape: [3], dtype: 'u8', values: [0, 9, 1] }], attrs: { select: 'b' }, ref: whereBackwardRef },
  { op: 'where_backward', name: 'where_backward scalar cond', inputs: [{ shape: [2, 2] }, { shape: [], dtype: 'bool', values: [0] }], attrs: { select: 'a' }, ref: whereBackwardRef },

  { op: 'masked_fill', name: 'masked_fill same shape', inputs: [{ shape: [3, 4] }, mask([3, 4])], attrs: { value: -1.5 }, ref: maskedFillRef, grad: true },
  { op: 'masked_fill', name: 'masked_fill mask broadcast over rows (attention)', inputs: [{ shape: [2, 3, 4] }, mask([2, 1, 4], 'u8')], attrs: { value: -1e9 }, ref: maskedFillRef, grad: true },
  { op: 'masked_fill', name: 'masked_fill scalar mask', inputs: [{ shape: [5] }, { shape: [], dtype: 'bool', values: [1] }], attrs: { value: 0 }, ref: maskedFillRef, grad: true },
  { op: 'masked_fill', name: 'masked_fill large', inputs: [{ shape: [32, 64, 64] }, mask([32, 1, 64])], attrs: { value: 3 }, ref: maskedFillRef },
];

export const errors = [
  {
    op: 'where',
    inputs: [{ shape: [3, 1], dtype: 'bool' }, { shape: [2, 4] }, { shape: [5] }],
    code: 'ERR_TG_SHAPE',
    message: 'cannot broadcast cond (3, 1), a (2, 4) and b (5,) together',
  },
  { op: 'where', inputs: [{ shape: [2] }, { shape: [2] }, { shape: [2] }], code: 'ERR_TG_DTYPE', message: 'cond must be bool or u8, got f32' },
  { op: 'where', inputs: [{ shape: [2], dtype: 'bool' }, { shape: [2], dtype: 'i32' }, { shape: [2] }], code: 'ERR_TG_DTYPE', message: 'a must be f32, got i32' },
  { op: 'where_backward', inputs: [{ shape: [2] }, { shape: [2], dtype: 'bool' }], attrs: { select: 'c' }, code: 'ERR_TG_ARG', message: "attribute 'select' must be 'a' or 'b', got 'c'" },
  { op: 'where_backward', inputs: [{ shape: [2] }, { shape: [3], dtype: 'bool' }], attrs: { select: 'a' }, code: 'ERR_TG_SHAPE', message: "cond has shape (3,), which does not broadcast to dy's shape (2,)" },
  { op: 'masked_fill', inputs: [{ shape: [2, 3] }, { shape: [2, 1, 3], dtype: 'bool' }], attrs: { value: 0 }, code: 'ERR_TG_SHAPE', message: "mask has shape (2, 1, 3), which does not broadcast to x's shape (2, 3)" },
  { op: 'masked_fill', inputs: [{ shape: [2] }, { shape: [2], dtype: 'bool' }], code: 'ERR_TG_ARG', message: "attribute 'value' is required" },
  { op: 'masked_fill', inputs: [{ shape: [2] }, { shape: [2], dtype: 'i32' }], attrs: { value: 1 }, code: 'ERR_TG_DTYPE', message: 'mask must be bool or u8, got i32' },
];
