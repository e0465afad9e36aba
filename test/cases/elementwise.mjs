// Broadcasting add / sub / mul / div, div_backward_b, neg, scale, ones_like,
// broadcast_to and sum_to.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

function broadcastShape(a, b) {
  const rank = Math.max(a.length, b.length);
  const out = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

// For every element of `shape` (row-major), the flat index of the element of
// `from` (which broadcasts to `shape`) that it reads.
function sourceIndex(shape, from) {
  const lead = shape.length - from.length;
  const map = new Int32Array(numel(shape));
  for (let e = 0; e < map.length; e++) {
    let r = e;
    let src = 0;
    let step = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const i = r % shape[d];
      r = Math.floor(r / shape[d]);
      if (d >= lead && from[d - lead] !== 1) src += i * step;
      if (d >= lead) step *= from[d - lead];
    }
    map[e] = src;
  }
  return map;
}

const binary = (f) => ([a, b]) => {
  const shape = broadcastShape(a.shape, b.shape);
  const ia = sourceIndex(shape, a.shape);
  const ib = sourceIndex(shape, b.shape);
  return [{ shape, data: Float64Array.from(ia, (p, i) => f(a.data[p], b.data[ib[i]])) }];
};
const add = binary((a, b) => a + b);
const sub = binary((a, b) => a - b);
const mul = binary((a, b) => a * b);
const div = binary((a, b) => a / b);

function divBackwardB([dy, a, b]) {
  const ia = sourceIndex(dy.shape, a.shape);
  const ib = sourceIndex(dy.shape, b.shape);
  return [{ shape: dy.shape, data: dy.data.map((d, i) => (-d * a.data[ia[i]]) / b.data[ib[i]] ** 2) }];
}

const neg = ([x]) => [{ shape: x.shape, data: x.data.map((v) => -v) }];
const scale = ([x], { value, bias = 0 }) => [{ shape: x.shape, data: x.data.map((v) => v * value + bias) }];
const onesLike = ([x]) => [{ shape: x.shape, data: x.data.map(() => 1) }];
function broadcastTo([x], { shape }) {
  return [{ shape, data: Float64Array.from(sourceIndex(shape, x.shape), (p) => x.data[p]) }];
}
function sumTo([x], { shape }) {
  const data = new Float64Array(numel(shape));
  sourceIndex(x.shape, shape).forEach((o, e) => (data[o] += x.data[e]));
  return [{ shape, data }];
}

// Each binary op over the same broadcasting patterns, gradients included.
const patterns = [
  ['same shape', [3, 7], [3, 7]],
  ['scalar with matrix', [], [2, 3]],
  ['matrix with scalar', [2, 3], []],
  ['column with row', [3, 1], [1, 4]],
  ['vector with rank 3', [4], [2, 3, 4]],
  ['rank 3 with vector', [2, 3, 4], [4]],
  ['rank 4 both broadcast', [2, 1, 3, 1], [1, 2, 1, 5]],
  ['33 with one element', [33], [1]],
  ['rank 0 with rank 0', [], []],
];
const binaryCases = [
  ['add', add, {}],
  ['sub', sub, {}],
  ['mul', mul, {}],
  ['div', div, { range: [0.5, 2] }],
].flatMap(([op, ref, bDesc]) =>
  patterns.map(([label, sa, sb]) => ({
    op,
    name: `${op} ${label}`,
    inputs: [{ shape: sa }, { shape: sb, ...bDesc }],
    ref,
    grad: true,
  })),
);

export default [
  ...binaryCases,
  // Long rows (split across threads), scalar and column broadcasts over many elements.
  { op: 'add', name: 'add long rows with row vector', inputs: [{ shape: [3, 20000] }, { shape: [20000] }], ref: add },
  { op: 'add', name: 'add same shape large', inputs: [{ shape: [50001] }, { shape: [50001] }], ref: add },
  { op: 'mul', name: 'mul large with scalar', inputs: [{ shape: [40000] }, { shape: [] }], ref: mul },
  { op: 'sub', name: 'sub column broadcast large', inputs: [{ shape: [300, 1] }, { shape: [300, 129] }], ref: sub },
  { op: 'div', name: 'div rank 4 mixed', inputs: [{ shape: [5, 1, 7, 9] }, { shape: [6, 1, 9], range: [0.5, 2] }], ref: div },
  { op: 'add', name: 'add empty', inputs: [{ shape: [0, 3] }, { shape: [3] }], ref: add },

  {
    op: 'div_backward_b',
    name: 'div_backward_b row broadcast',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4] }, { shape: [4], range: [0.5, 2] }],
    ref: divBackwardB,
  },
  {
    op: 'div_backward_b',
    name: 'div_backward_b both broadcast',
    inputs: [{ shape: [3, 4] }, { shape: [3, 1] }, { shape: [], range: [-2, -0.5] }],
    ref: divBackwardB,
  },

  { op: 'neg', inputs: [{ shape: [7] }], ref: neg, grad: true },
  { op: 'neg', name: 'neg rank 0', inputs: [{ shape: [] }], ref: neg, grad: true },
  { op: 'scale', inputs: [{ shape: [3, 11] }], attrs: { value: 2.5, bias: -1 }, ref: scale, grad: true },
  { op: 'scale', name: 'scale without bias', inputs: [{ shape: [1, 2, 3, 1] }], attrs: { value: -3 }, ref: scale, grad: true },
  { op: 'ones_like', inputs: [{ shape: [2, 3] }], ref: onesLike },
  { op: 'ones_like', name: 'ones_like rank 0', inputs: [{ shape: [] }], ref: onesLike },

  { op: 'broadcast_to', name: 'broadcast_to row', inputs: [{ shape: [3] }], attrs: { shape: [2, 3] }, ref: broadcastTo, grad: true },
  { op: 'broadcast_to', name: 'broadcast_to column', inputs: [{ shape: [3, 1] }], attrs: { shape: [3, 4] }, ref: broadcastTo, grad: true },
  { op: 'broadcast_to', name: 'broadcast_to scalar', inputs: [{ shape: [] }], attrs: { shape: [2, 3] }, ref: broadcastTo, grad: true },
  { op: 'broadcast_to', name: 'broadcast_to rank 4', inputs: [{ shape: [2, 1, 4] }], attrs: { shape: [3, 2, 5, 4] }, ref: broadcastTo, grad: true },
  { op: 'broadcast_to', name: 'broadcast_to same shape', inputs: [{ shape: [33] }], attrs: { shape: [33] }, ref: broadcastTo, grad: true },
  { op: 'broadcast_to', name: 'broadcast_to long rows', inputs: [{ shape: [1, 20001] }], attrs: { shape: [3, 20001] }, ref: broadcastTo },

  { op: 'sum_to', name: 'sum_to leading dim', inputs: [{ shape: [2, 3] }], attrs: { shape: [3] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to keep rows', inputs: [{ shape: [2, 3] }], attrs: { shape: [2, 1] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to scalar', inputs: [{ shape: [2, 3] }], attrs: { shape: [] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to middle kept', inputs: [{ shape: [2, 3, 4] }], attrs: { shape: [3, 1] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to middle summed', inputs: [{ shape: [2, 3, 4] }], attrs: { shape: [2, 1, 4] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to rank 4 channel', inputs: [{ shape: [2, 3, 2, 4] }], attrs: { shape: [1, 3, 1, 1] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to size-1 dims only', inputs: [{ shape: [1, 7] }], attrs: { shape: [7] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to identity', inputs: [{ shape: [3, 7] }], attrs: { shape: [3, 7] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to rank 0 input', inputs: [{ shape: [] }], attrs: { shape: [] }, ref: sumTo, grad: true },
  { op: 'sum_to', name: 'sum_to bias of wide rows', inputs: [{ shape: [70, 300] }], attrs: { shape: [300] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to long rows', inputs: [{ shape: [300, 70] }], attrs: { shape: [300, 1] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to everything, large', inputs: [{ shape: [50, 1001] }], attrs: { shape: [1, 1] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to channel, large', inputs: [{ shape: [4, 3, 5000] }], attrs: { shape: [3, 1] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to bias, split into parts', inputs: [{ shape: [600, 300] }], attrs: { shape: [300] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to rows kept, split into parts', inputs: [{ shape: [200, 2, 300] }], attrs: { shape: [2, 300] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to runs cut into parts', inputs: [{ shape: [7, 3, 5001] }], attrs: { shape: [3, 1] }, ref: sumTo },
  { op: 'sum_to', name: 'sum_to of empty', inputs: [{ shape: [0, 3] }], attrs: { shape: [3] }, ref: sumTo },
];

export const errors = [
  { op: 'add', inputs: [{ shape: [2, 3] }, { shape: [4] }], code: 'ERR_TG_SHAPE', message: 'cannot broadcast (2, 3) with (4,)' },
  { op: 'mul', inputs: [{ shape: [2, 3], dtype: 'i32' }, { shape: [3] }], code: 'ERR_TG_DTYPE', message: 'a must be f32, got i32' },
  {
    op: 'div_backward_b',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [2] }],
    code: 'ERR_TG_SHAPE',
    message: "b (2,) must broadcast to dy's shape (2, 3)",
  },
  { op: 'scale', inputs: [{ shape: [3] }], code: 'ERR_TG_ARG', message: "attribute 'value' is required" },
  { op: 'scale', inputs: [{ shape: [3] }], attrs: { value: 'two' }, code: 'ERR_TG_ARG', message: "attribute 'value' must be a number" },
  { op: 'sum_to', inputs: [{ shape: [2, 3] }], code: 'ERR_TG_ARG', message: "attribute 'shape' is required" },
  { op: 'sum_to', inputs: [{ shape: [2, 3] }], attrs: { shape: [2] }, code: 'ERR_TG_SHAPE', message: "cannot sum x of shape (2, 3) to attribute 'shape' (2,)" },
  { op: 'sum_to', inputs: [{ shape: [3] }], attrs: { shape: [1, 3] }, code: 'ERR_TG_SHAPE', message: "cannot sum x of shape (3,) to attribute 'shape' (1, 3)" },
  { op: 'broadcast_to', inputs: [{ shape: [3] }], attrs: { shape: [3, 2] }, code: 'ERR_TG_SHAPE', message: "cannot broadcast x of shape (3,) to attribute 'shape' (3, 2)" },
  { op: 'broadcast_to', inputs: [{ shape: [1] }], attrs: { shape: [-1] }, code: 'ERR_TG_ARG', message: "attribute 'shape' (-1,) has a negative dimension" },
];
