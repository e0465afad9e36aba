// reshape, transpose and permute.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// The shape `spec` resolves to for x, its -1 filled in.
function resolve(x, spec) {
  const known = numel(spec.filter((d) => d !== -1));
  return spec.map((d) => (d === -1 ? numel(x.shape) / known : d));
}

const reshape = ([x], { shape }) => [{ shape: resolve(x, shape), data: x.data }];

// out dim d is input dim perm[d] (perm already non-negative).
function permuteRef(x, perm) {
  const shape = perm.map((p) => x.shape[p]);
  const inStride = [];
  for (let d = x.shape.length - 1, s = 1; d >= 0; d--) {
    inStride[d] = s;
    s *= x.shape[d];
  }
  const data = new Float64Array(numel(shape));
  for (let o = 0; o < data.length; o++) {
    let r = o;
    let src = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      src += (r % shape[d]) * inStride[perm[d]];
      r = Math.floor(r / shape[d]);
    }
    data[o] = x.data[src];
  }
  return [{ shape, data }];
}

const norm = (d, rank) => (d < 0 ? d + rank : d);
const permute = ([x], { dims }) => permuteRef(x, dims.map((d) => norm(d, x.shape.length)));
function transpose([x], { dim0, dim1 }) {
  const rank = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  [perm[norm(dim0, rank)], perm[norm(dim1, rank)]] = [perm[norm(dim1, rank)], perm[norm(dim0, rank)]];
  return permuteRef(x, perm);
}

export default [
  { op: 'reshape', name: 'reshape 3d to 2d with -1', inputs: [{ shape: [2, 3, 4] }], attrs: { shape: [4, -1] }, ref: reshape, grad: true },
  { op: 'reshape', name: 'reshape leading -1', inputs: [{ shape: [3, 4] }], attrs: { shape: [-1, 2] }, ref: reshape, grad: true },
  { op: 'reshape', name: 'reshape adds unit dims', inputs: [{ shape: [5] }], attrs: { shape: [1, 5, 1] }, ref: reshape, grad: true },
  { op: 'reshape', name: 'reshape rank 0 to (1, 1)', inputs: [{ shape: [] }], attrs: { shape: [1, 1] }, ref: reshape, grad: true },
  { op: 'reshape', name: 'reshape (1, 1) to rank 0', inputs: [{ shape: [1, 1] }], attrs: { shape: [] }, ref: reshape, grad: true },
  { op: 'reshape', name: 'reshape empty with explicit dims', inputs: [{ shape: [0, 3] }], attrs: { shape: [3, 0, 2] }, ref: reshape },
  {
    op: 'reshape',
    name: 'reshape i32',
    inputs: [{ shape: [2, 3], dtype: 'i32', values: [1, -2, 3, 4, 5, 6] }],
    attrs: { shape: [3, 2] },
    ref: reshape,
  },

  { op: 'transpose', name: 'transpose 2d', inputs: [{ shape: [3, 5] }], attrs: { dim0: 0, dim1: 1 }, ref: transpose, grad: true },
  { op: 'transpose', name: 'transpose 3d negative dims', inputs: [{ shape: [2, 3, 4] }], attrs: { dim0: -1, dim1: -3 }, ref: transpose, grad: true },
  { op: 'transpose', name: 'transpose middle dims of 4d', inputs: [{ shape: [2, 3, 2, 4] }], attrs: { dim0: 1, dim1: 2 }, ref: transpose, grad: true },
  { op: 'transpose', name: 'transpose a dim with itself', inputs: [{ shape: [3, 4] }], attrs: { dim0: 1, dim1: -1 }, ref: transpose, grad: true },
  { op: 'transpose', name: 'transpose large odd matrix', inputs: [{ shape: [131, 257] }], attrs: { dim0: 0, dim1: 1 }, ref: transpose },

  { op: 'permute', name: 'permute 3d rotate', inputs: [{ shape: [2, 3, 4] }], attrs: { dims: [2, 0, 1] }, ref: permute, grad: true },
  { op: 'permute', name: 'permute negative dims', inputs: [{ shape: [3, 2, 5] }], attrs: { dims: [-1, 0, -2] }, ref: permute, grad: true },
  { op: 'permute', name: 'permute 4d', inputs: [{ shape: [2, 3, 2, 2] }], attrs: { dims: [0, 2, 3, 1] }, ref: permute, grad: true },
  { op: 'permute', name: 'permute with unit dims', inputs: [{ shape: [1, 5, 1, 3] }], attrs: { dims: [3, 2, 1, 0] }, ref: permute, grad: true },
  { op: 'permute', name: 'permute identity', inputs: [{ shape: [4, 3, 5] }], attrs: { dims: [0, 1, 2] }, ref: permute, grad: true },
  { op: 'permute', name: 'permute rank 0', inputs: [{ shape: [] }], attrs: { dims: [] }, ref: permute, grad: true },
  { op: 'permute', name: 'permute large, many chunks', inputs: [{ shape: [37, 129, 7] }], attrs: { dims: [2, 0, 1] }, ref: permute },
  { op: 'permute', name: 'permute keeps inner run', inputs: [{ shape: [6, 5, 4, 33] }], attrs: { dims: [1, 0, 2, 3] }, ref: permute },
  {
    op: 'permute',
    name: 'permute i32',
    inputs: [{ shape: [2, 3], dtype: 'i32', values: [1, 2, 3, 4, 5, 6] }],
    attrs: { dims: [1, 0] },
    ref: permute,
  },
];

export const errors = [
  { op: 'reshape', inputs: [{ shape: [2, 3] }], attrs: { shape: [4] }, code: 'ERR_TG_SHAPE', message: 'cannot reshape x of shape (2, 3) (6 elements) to (4,)' },
  { op: 'reshape', inputs: [{ shape: [2, 3] }], attrs: { shape: [4, -1] }, code: 'ERR_TG_SHAPE', message: 'to (4, -1)' },
  { op: 'reshape', inputs: [{ shape: [2, 3] }], attrs: { shape: [-1, -1] }, code: 'ERR_TG_ARG', message: 'more than one -1' },
  { op: 'reshape', inputs: [{ shape: [2, 3] }], attrs: { shape: [-2, -3] }, code: 'ERR_TG_ARG', message: 'negative dimension -2' },
  { op: 'reshape', inputs: [{ shape: [2, 3] }], attrs: {}, code: 'ERR_TG_ARG', message: "'shape' is required" },
  { op: 'permute', inputs: [{ shape: [2, 3, 4] }], attrs: { dims: [0, 2, -3] }, code: 'ERR_TG_ARG', message: 'is not a permutation' },
  { op: 'permute', inputs: [{ shape: [2, 3, 4] }], attrs: { dims: [1, 0] }, code: 'ERR_TG_ARG', message: 'has 2 entries for x with 3 dims' },
  { op: 'permute', inputs: [{ shape: [2, 3] }], attrs: { dims: [0, 2] }, code: 'ERR_TG_ARG', message: 'out of range' },
  { op: 'transpose', inputs: [{ shape: [2, 3] }], attrs: { dim0: 0, dim1: 2 }, code: 'ERR_TG_ARG', message: "'dim1' 2 is out of range for 2 dims" },
  { op: 'transpose', inputs: [{ shape: [2, 3] }], attrs: { dim0: 0 }, code: 'ERR_TG_ARG', message: "'dim1' is required" },
];
