// sum and mean over axes, and their backward ops.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// Which dims of a rank-`rank` tensor {axes} reduces: all when absent.
function reducedDims(rank, axes) {
  if (axes === undefined) return Array(rank).fill(true);
  const reduced = Array(rank).fill(false);
  for (const a of axes) reduced[a < 0 ? a + rank : a] = true;
  return reduced;
}

function outShape(shape, reduced, keepdim) {
  return shape.flatMap((d, i) => (!reduced[i] ? [d] : keepdim ? [1] : []));
}

// Index into the (kept-dims) output of every input element, in input order.
function outIndex(shape, reduced) {
  const kept = shape.filter((_, i) => !reduced[i]);
  const map = new Int32Array(numel(shape));
  for (let e = 0; e < map.length; e++) {
    let r = e;
    const idx = [];
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    let o = 0;
    idx.forEach((v, d) => {
      if (!reduced[d]) o = o * shape[d] + v;
    });
    map[e] = o;
  }
  return { map, outCount: numel(kept) };
}

const reduceRef = (isMean) => ([x], { axes, keepdim = false }) => {
  const reduced = reducedDims(x.shape.length, axes);
  const { map, outCount } = outIndex(x.shape, reduced);
  const data = new Float64Array(outCount);
  map.forEach((o, e) => (data[o] += x.data[e]));
  if (isMean) {
    const count = numel(x.shape.filter((_, i) => reduced[i]));
    for (let o = 0; o < outCount; o++) data[o] /= count;
  }
  return [{ shape: outShape(x.shape, reduced, keepdim), data }];
};

const backwardRef = (isMean) => ([dy], { shape, axes }) => {
  const reduced = reducedDims(shape.length, axes);
  const { map } = outIndex(shape, reduced);
  const scale = isMean ? 1 / numel(shape.filter((_, i) => reduced[i])) : 1;
  return [{ shape, data: Float64Array.from(map, (o) => dy.data[o] * scale) }];
};

const sum = reduceRef(false);
const mean = reduceRef(true);

export default [
  { op: 'sum', name: 'sum all of 2d', inputs: [{ shape: [3, 4] }], ref: sum, grad: true },
  { op: 'sum', name: 'sum middle axis', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [1] }, ref: sum, grad: true },
  { op: 'sum', name: 'sum last axis keepdim', inputs: [{ shape: [2, 3, 5] }], attrs: { axes: [-1], keepdim: true }, ref: sum, grad: true },
  { op: 'sum', name: 'sum first axis', inputs: [{ shape: [5, 7] }], attrs: { axes: [0] }, ref: sum, grad: true },
  { op: 'sum', name: 'sum outer and inner axes', inputs: [{ shape: [3, 4, 5] }], attrs: { axes: [0, 2] }, ref: sum, grad: true },
  { op: 'sum', name: 'sum axes given out of order, keepdim', inputs: [{ shape: [2, 3, 2, 3] }], attrs: { axes: [-1, 1], keepdim: true }, ref: sum, grad: true },
  { op: 'sum', name: 'sum over unit dims', inputs: [{ shape: [3, 1, 4, 1] }], attrs: { axes: [1, 3] }, ref: sum, grad: true },
  { op: 'sum', name: 'sum rank 0', inputs: [{ shape: [] }], ref: sum, grad: true },
  { op: 'sum', name: 'sum no axes is a copy', inputs: [{ shape: [2, 3] }], attrs: { axes: [] }, ref: sum, grad: true },
  { op: 'sum', name: 'sum keepdim of all', inputs: [{ shape: [2, 3] }], attrs: { keepdim: true }, ref: sum, grad: true },
  { op: 'sum', name: 'sum axis 0, wide kept run in blocks', inputs: [{ shape: [40, 600] }], attrs: { axes: [0] }, ref: sum },
  { op: 'sum', name: 'sum last axis of many rows', inputs: [{ shape: [37, 1000] }], attrs: { axes: [1] }, ref: sum },
  { op: 'sum', name: 'sum strided axes of 4d', inputs: [{ shape: [9, 17, 5, 33] }], attrs: { axes: [0, 2] }, ref: sum },
  { op: 'sum', name: 'sum empty axis gives zeros', inputs: [{ shape: [2, 0, 3] }], attrs: { axes: [1] }, ref: sum },

  { op: 'mean', name: 'mean all', inputs: [{ shape: [4, 5] }], ref: mean, grad: true },
  { op: 'mean', name: 'mean two axes keepdim', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [1, -1], keepdim: true }, ref: mean, grad: true },
  { op: 'mean', name: 'mean first axis of 3d', inputs: [{ shape: [3, 2, 5] }], attrs: { axes: [-3] }, ref: mean, grad: true },
  { op: 'mean', name: 'mean last axis of many rows', inputs: [{ shape: [129, 70] }], attrs: { axes: [-1] }, ref: mean },
  { op: 'mean', name: 'mean of nothing is NaN', inputs: [{ shape: [3, 0] }], attrs: { axes: [1] }, ref: mean },

  { op: 'sum_backward', name: 'sum_backward middle axis', inputs: [{ shape: [2, 4] }], attrs: { shape: [2, 3, 4], axes: [1] }, ref: backwardRef(false) },
  { op: 'sum_backward', name: 'sum_backward all', inputs: [{ shape: [] }], attrs: { shape: [3, 5] }, ref: backwardRef(false) },
  {
    op: 'sum_backward',
    name: 'sum_backward keepdim, large',
    inputs: [{ shape: [40, 1, 9] }],
    attrs: { shape: [40, 300, 9], axes: [1], keepdim: true },
    ref: backwardRef(false),
  },
  { op: 'mean_backward', name: 'mean_backward keepdim', inputs: [{ shape: [2, 1, 1] }], attrs: { shape: [2, 3, 4], axes: [1, 2], keepdim: true }, ref: backwardRef(true) },
  { op: 'mean_backward', name: 'mean_backward first axis', inputs: [{ shape: [5] }], attrs: { shape: [3, 5], axes: [-2] }, ref: backwardRef(true) },
];

export const errors = [
  { op: 'sum', inputs: [{ shape: [2, 3] }], attrs: { axes: [1, -1] }, code: 'ERR_TG_ARG', message: 'names dim 1 twice' },
  { op: 'sum', inputs: [{ shape: [2, 3] }], attrs: { axes: [2] }, code: 'ERR_TG_ARG', message: 'axis 2 is out of range for 2 dims' },
  { op: 'mean', inputs: [{ shape: [2, 3] }], attrs: { axes: [-3] }, code: 'ERR_TG_ARG', message: 'axis -3 is out of range' },
  { op: 'sum', inputs: [{ shape: [2, 3], dtype: 'i32' }], attrs: {}, code: 'ERR_TG_DTYPE', message: 'x must be f32' },
  {
    op: 'sum_backward',
    inputs: [{ shape: [2, 3] }],
    attrs: { shape: [2, 3, 4], axes: [1] },
    code: 'ERR_TG_SHAPE',
    message: 'dy has shape (2, 3) but reducing (2, 3, 4) gives (2, 4)',
  },
];
