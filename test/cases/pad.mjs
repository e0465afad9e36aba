// pad (F.pad: 'constant' with negative pads cropping, 'reflect', 'replicate')
// and pad_backward, against float64 references written from F.pad's
// definition: output index o along a padded dim reads input index o - before,
// mirrored about the edge element (reflect), clamped to it (replicate), or is
// the fill value outside the input (constant).
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

function source(mode, o, before, n) {
  const i = o - before;
  if (mode === 'reflect') return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
  if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
  return i >= 0 && i < n ? i : -1;
}

// Per output element: its input element's flat index, or -1 for the fill value.
function padMap(inShape, { pads, mode = 'constant' }) {
  const shape = [...inShape];
  const r = shape.length;
  const [left, right, top = 0, bottom = 0] = pads;
  const twoDims = pads.length === 4;
  const W = shape[r - 1];
  const H = twoDims ? shape[r - 2] : 1;
  const planes = numel(shape) / (H * W);
  const OH = H + top + bottom;
  const OW = W + left + right;
  const outShape = twoDims ? [...shape.slice(0, -2), OH, OW] : [...shape.slice(0, -1), OW];
  const src = [];
  for (let c = 0; c < planes; c++) {
    for (let oh = 0; oh < OH; oh++) {
      const h = twoDims ? source(mode, oh, top, H) : 0;
      for (let ow = 0; ow < OW; ow++) {
        const w = source(mode, ow, left, W);
        src.push(h < 0 || w < 0 ? -1 : (c * H + h) * W + w);
      }
    }
  }
  return { outShape, src };
}

function pad([x], attrs) {
  const { outShape, src } = padMap(x.shape, attrs);
  return [{ shape: outShape, data: Float64Array.from(src, (s) => (s < 0 ? attrs.value ?? 0 : x.data[s])) }];
}

// The adjoint: each dy element added into its source.
function padBackward([dy], attrs) {
  const { src } = padMap(attrs.input_shape, attrs);
  const dx = new Float64Array(numel(attrs.input_shape));
  src.forEach((s, o) => {
    if (s >= 0) dx[s] += dy.data[o];
  });
  return [{ shape: attrs.input_shape, data: dx }];
}

export default [
  // constant
  { op: 'pad', name: 'constant 2-D pads', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { pads: [1, 2, 3, 1] }, ref: pad },
  { op: 'pad', name: 'constant value, grad', inputs: [{ shape: [1, 2, 3, 4] }], attrs: { pads: [1, 2, 2, 1], value: 1.5 }, ref: pad, grad: true },
  { op: 'pad', name: 'constant last dim only, rank 3', inputs: [{ shape: [2, 3, 5] }], attrs: { pads: [2, 1], mode: 'constant', value: -3 }, ref: pad, grad: true },
  { op: 'pad', name: 'constant last dim only, rank 1', inputs: [{ shape: [6] }], attrs: { pads: [0, 3] }, ref: pad },
  { op: 'pad', name: 'constant negative pads crop', inputs: [{ shape: [1, 2, 5, 6] }], attrs: { pads: [-1, 2, -2, -1] }, ref: pad, grad: true },
  { op: 'pad', name: 'constant crop only, rank 2', inputs: [{ shape: [5, 6] }], attrs: { pads: [-2, -1, -1, 0] }, ref: pad },
  { op: 'pad', name: 'constant pads beyond a crop', inputs: [{ shape: [1, 1, 3, 3] }], attrs: { pads: [-3, 2, 1, -3] }, ref: pad },
  { op: 'pad', name: 'constant large', inputs: [{ shape: [4, 16, 30, 31] }], attrs: { pads: [1, 1, 1, 1] }, ref: pad },
  // reflect
  { op: 'pad', name: 'reflect 2-D', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { pads: [2, 3, 3, 1], mode: 'reflect' }, ref: pad },
  { op: 'pad', name: 'reflect grad', inputs: [{ shape: [1, 2, 4, 5] }], attrs: { pads: [3, 4, 3, 2], mode: 'reflect' }, ref: pad, grad: true },
  { op: 'pad', name: 'reflect last dim, rank 3', inputs: [{ shape: [2, 3, 4] }], attrs: { pads: [3, 2], mode: 'reflect' }, ref: pad, grad: true },
  { op: 'pad', name: 'reflect zero pads', inputs: [{ shape: [1, 1, 2, 3] }], attrs: { pads: [0, 0, 1, 0], mode: 'reflect' }, ref: pad },
  // replicate
  { op: 'pad', name: 'replicate 2-D', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { pads: [2, 6, 0, 3], mode: 'replicate' }, ref: pad },
  { op: 'pad', name: 'replicate grad', inputs: [{ shape: [1, 2, 3, 4] }], attrs: { pads: [3, 2, 2, 4], mode: 'replicate' }, ref: pad, grad: true },
  { op: 'pad', name: 'replicate last dim of a single column', inputs: [{ shape: [3, 1] }], attrs: { pads: [2, 3], mode: 'replicate' }, ref: pad, grad: true },
  { op: 'pad', name: 'replicate large', inputs: [{ shape: [4, 16, 30, 31] }], attrs: { pads: [3, 3, 3, 3], mode: 'replicate' }, ref: pad },

  { op: 'pad_backward', name: 'pad_backward constant', inputs: [{ shape: [2, 3, 8, 8] }], attrs: { input_shape: [2, 3, 4, 5], pads: [1, 2, 3, 1] }, ref: padBackward },
  { op: 'pad_backward', name: 'pad_backward constant crop', inputs: [{ shape: [1, 2, 2, 7] }], attrs: { input_shape: [1, 2, 5, 6], pads: [-1, 2, -2, -1] }, ref: padBackward },
  { op: 'pad_backward', name: 'pad_backward reflect', inputs: [{ shape: [2, 3, 8, 10] }], attrs: { input_shape: [2, 3, 4, 5], pads: [2, 3, 3, 1], mode: 'reflect' }, ref: padBackward },
  { op: 'pad_backward', name: 'pad_backward replicate 1-D pads', inputs: [{ shape: [2, 3, 9] }], attrs: { input_shape: [2, 3, 4], pads: [3, 2], mode: 'replicate' }, ref: padBackward },
];

export const errors = [
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: {}, code: 'ERR_TG_ARG', message: "attribute 'pads' is required" },
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: { pads: [1, 1, 1] }, code: 'ERR_TG_ARG', message: "attribute 'pads' must be [left, right] or [left, right, top, bottom], got 3 values" },
  { op: 'pad', inputs: [{ shape: [3] }], attrs: { pads: [1, 1, 1, 1] }, code: 'ERR_TG_SHAPE', message: 'x of shape (3,) has fewer than 2 dims to pad' },
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: { pads: [1, 1], mode: 'circular' }, code: 'ERR_TG_ARG', message: "attribute 'mode' must be 'constant', 'reflect' or 'replicate', got 'circular'" },
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: { pads: [1, 1], mode: 'reflect', value: 2 }, code: 'ERR_TG_ARG', message: "mode 'reflect' takes no attribute 'value' (got 2)" },
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: { pads: [3, 1], mode: 'reflect' }, code: 'ERR_TG_ARG', message: 'reflect pads (3, 1) must be smaller than dim 1 of x (2, 3)' },
  { op: 'pad', inputs: [{ shape: [1, 2, 3] }], attrs: { pads: [0, 0, 0, 2], mode: 'reflect' }, code: 'ERR_TG_ARG', message: 'reflect pads (0, 2) must be smaller than dim 1 of x (1, 2, 3)' },
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: { pads: [-1, 1], mode: 'replicate' }, code: 'ERR_TG_ARG', message: "mode 'replicate' needs non-negative pads, got (-1, 1) on dim 1" },
  { op: 'pad', inputs: [{ shape: [2, 3] }], attrs: { pads: [-2, -1] }, code: 'ERR_TG_ARG', message: 'pads (-2, -1) on dim 1 of x (2, 3) leave nothing' },
  { op: 'pad', inputs: [{ shape: [2, 3], dtype: 'i32' }], attrs: { pads: [1, 1] }, code: 'ERR_TG_DTYPE', message: 'x must be f32, got i32' },
  { op: 'pad_backward', inputs: [{ shape: [2, 4] }], attrs: { input_shape: [2, 3], pads: [1, 1] }, code: 'ERR_TG_SHAPE', message: 'dy has shape (2, 4) but padding input_shape (2, 3) gives (2, 5)' },
];
