// index_select, gather and embedding (torch.index_select, torch.gather,
// F.embedding) and their scatter-add backward ops, against references written
// from the PyTorch definitions. Repeated indices must accumulate.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const norm = (axis, rank) => (axis < 0 ? axis + rank : axis);

function around(shape, axis) {
  return { outer: numel(shape.slice(0, axis)), n: shape[axis], inner: numel(shape.slice(axis + 1)) };
}

// Row-major coordinates of flat index i in shape, and back.
function coords(i, shape) {
  const c = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}
const flat = (c, shape) => c.reduce((acc, v, d) => acc * shape[d] + v, 0);

// y[o, k, i] = x[o, index[k], i]
function indexSelectRef([x, index], attrs) {
  const axis = norm(attrs.axis ?? 0, x.shape.length);
  const { outer, n, inner } = around(x.shape, axis);
  const shape = [...x.shape];
  shape[axis] = index.data.length;
  const data = [];
  for (let o = 0; o < outer; o++) {
    for (const k of index.data) for (let i = 0; i < inner; i++) data.push(x.data[(o * n + k) * inner + i]);
  }
  return [{ shape, data: Float64Array.from(data) }];
}

// index_add_: dx[o, index[k], i] += dy[o, k, i]
function indexSelectBackwardRef([dy, index], attrs) {
  const shape = attrs.input_shape;
  const axis = norm(attrs.axis ?? 0, shape.length);
  const { outer, n, inner } = around(shape, axis);
  const K = index.data.length;
  const data = new Float64Array(numel(shape));
  for (let o = 0; o < outer; o++) {
    index.data.forEach((j, k) => {
      for (let i = 0; i < inner; i++) data[(o * n + j) * inner + i] += dy.data[(o * K + k) * inner + i];
    });
  }
  return [{ shape, data }];
}

// torch.gather: out[p] = x[p with p[axis] replaced by index[p]]
function gatherRef([x, index], attrs) {
  const axis = norm(attrs.axis ?? 0, x.shape.length);
  const data = index.data.map((v, p) => {
    const c = coords(p, index.shape);
    c[axis] = v;
    return x.data[flat(c, x.shape)];
  });
  return [{ shape: index.shape, data: Float64Array.from(data) }];
}

// scatter_add_: dx[p with p[axis] = index[p]] += dy[p]
function gatherBackwardRef([dy, index], attrs) {
  const shape = attrs.input_shape;
  const axis = norm(attrs.axis ?? 0, shape.length);
  const data = new Float64Array(numel(shape));
  index.data.forEach((v, p) => {
    const c = coords(p, index.shape);
    c[axis] = v;
    data[flat(c, shape)] += dy.data[p];
  });
  return [{ shape, data }];
}

function embeddingRef([weight, ids]) {
  const D = weight.shape[1];
  const data = [];
  for (const id of ids.data) for (let j = 0; j < D; j++) data.push(weight.data[id * D + j]);
  return [{ shape: [...ids.shape, D], data: Float64Array.from(data) }];
}

// dweight[id] += dy row, except the padding_idx row, which stays zero.
function embeddingBackwardRef([dy, ids], attrs) {
  const V = attrs.num_embeddings;
  const pad = attrs.padding_idx ?? -1;
  const D = dy.shape[dy.shape.length - 1];
  const data = new Float64Array(V * D);
  ids.data.forEach((id, p) => {
    if (id === pad) return;
    for (let j = 0; j < D; j++) data[id * D + j] += dy.data[p * D + j];
  });
  return [{ shape: [V, D], data }];
}

const ints = (values, dtype = 'i32') => ({ shape: [values.length], dtype, values });
const grid = (shape, values, dtype = 'i32') => ({ shape, dtype, values });

export default [
  // index_select with repeated indices, every axis, both index dtypes
  { op: 'index_select', name: 'index_select axis 0 repeated', inputs: [{ shape: [4, 3] }, ints([2, 0, 2, 3, 2])], attrs: { axis: 0 }, ref: indexSelectRef, grad: true },
  { op: 'index_select', name: 'index_select axis 1 of 3-d, i64', inputs: [{ shape: [2, 5, 3] }, ints([4, 4, 1], 'i64')], attrs: { axis: 1 }, ref: indexSelectRef, grad: true },
  { op: 'index_select', name: 'index_select last axis', inputs: [{ shape: [3, 4] }, ints([3, 0, 3, 3])], attrs: { axis: -1 }, ref: indexSelectRef, grad: true },
  { op: 'index_select', name: 'index_select empty index', inputs: [{ shape: [3, 4] }, ints([])], attrs: { axis: 0 }, ref: indexSelectRef },
  { op: 'index_select', name: 'index_select i32 values', inputs: [{ shape: [5, 2], dtype: 'i32', range: [-9, 9] }, ints([4, 1, 1])], ref: indexSelectRef },
  {
    op: 'index_select',
    name: 'index_select large rows',
    inputs: [{ shape: [6, 20000] }, ints([5, 0, 5, 2])],
    attrs: { axis: 0 },
    ref: indexSelectRef,
  },
  {
    op: 'index_select_backward',
    name: 'index_select_backward axis 1 repeated',
    inputs: [{ shape: [2, 4, 3] }, ints([1, 3, 1, 1])],
    attrs: { input_shape: [2, 5, 3], axis: 1 },
    ref: indexSelectBackwardRef,
  },
  {
    op: 'index_select_backward',
    name: 'index_select_backward last axis i64',
    inputs: [{ shape: [3, 5] }, ints([0, 2, 0, 2, 2], 'i64')],
    attrs: { input_shape: [3, 3], axis: -1 },
    ref: indexSelectBackwardRef,
  },

  // gather with repeated indices, index smaller than x off the axis
  { op: 'gather', name: 'gather axis 1 repeated', inputs: [{ shape: [3, 4] }, grid([3, 3], [0, 0, 3, 1, 1, 1, 2, 0, 2])], attrs: { axis: 1 }, ref: gatherRef, grad: true },
  { op: 'gather', name: 'gather axis 0, index smaller than x', inputs: [{ shape: [4, 3] }, grid([2, 2], [3, 3, 0, 3], 'i64')], attrs: { axis: 0 }, ref: gatherRef, grad: true },
  {
    op: 'gather',
    name: 'gather 3-d middle axis, index longer along axis',
    inputs: [{ shape: [2, 3, 2] }, grid([2, 5, 1], [2, 0, 2, 1, 2, 0, 0, 1, 1, 2])],
    attrs: { axis: 1 },
    ref: gatherRef,
    grad: true,
  },
  { op: 'gather', name: 'gather last axis (class scores)', inputs: [{ shape: [5, 4] }, grid([5, 1], [3, 0, 2, 2, 1])], attrs: { axis: -1 }, ref: gatherRef, grad: true },
  { op: 'gather', name: 'gather i32 values', inputs: [{ shape: [2, 3], dtype: 'i32', range: [-9, 9] }, grid([2, 2], [2, 2, 0, 1])], attrs: { axis: 1 }, ref: gatherRef },
  { op: 'gather', name: 'gather large', inputs: [{ shape: [64, 700] }, { shape: [64, 650], dtype: 'i32', range: [0, 700] }], attrs: { axis: 1 }, ref: gatherRef },
  {
    op: 'gather_backward',
    name: 'gather_backward axis 1 repeated',
    inputs: [{ shape: [3, 3] }, grid([3, 3], [0, 0, 3, 1, 1, 1, 2, 0, 2])],
    attrs: { input_shape: [3, 4], axis: 1 },
    ref: gatherBackwardRef,
  },
  {
    op: 'gather_backward',
    name: 'gather_backward axis 0, index smaller than x',
    inputs: [{ shape: [3, 2] }, grid([3, 2], [1, 1, 1, 0, 3, 1], 'i64')],
    attrs: { input_shape: [4, 3], axis: 0 },
    ref: gatherBackwardRef,
  },
  {
    op: 'gather_backward',
    name: 'gather_backward large, many repeats',
    inputs: [{ shape: [16, 300, 5] }, { shape: [16, 300, 5], dtype: 'i64', range: [0, 20] }],
    attrs: { input_shape: [16, 20, 6], axis: 1 },
    ref: gatherBackwardRef,
    rtol: 1e-5,
    atol: 1e-5,
  },

  // embedding: ids of rank 1 and 2, padding_idx
  { op: 'embedding', name: 'embedding 1-d ids repeated', inputs: [{ shape: [5, 3] }, ints([4, 1, 4, 0])], ref: embeddingRef, grad: true },
  {
    op: 'embedding',
    name: 'embedding rank-2 ids, i64',
    inputs: [{ shape: [6, 4] }, grid([2, 3], [5, 0, 5, 2, 2, 1], 'i64')],
    ref: embeddingRef,
    grad: true,
  },
  {
    // padding_idx only changes the gradient; the padded id is absent here so
    // finite differences still see every row's true derivative.
    op: 'embedding',
    name: 'embedding with padding_idx not in ids',
    inputs: [{ shape: [4, 2] }, grid([2, 2], [1, 3, 3, 2])],
    attrs: { padding_idx: 0 },
    ref: embeddingRef,
    grad: true,
  },
  { op: 'embedding', name: 'embedding reads the padding row', inputs: [{ shape: [4, 2] }, ints([0, 2, 0])], attrs: { padding_idx: 0 }, ref: embeddingRef },
  { op: 'embedding', name: 'embedding scalar id', inputs: [{ shape: [3, 5] }, grid([], [2])], ref: embeddingRef },
  { op: 'embedding', name: 'embedding large', inputs: [{ shape: [1000, 64] }, { shape: [8, 128], dtype: 'i64', range: [0, 1000] }], ref: embeddingRef },
  {
    op: 'embedding_backward',
    name: 'embedding_backward repeated ids with padding_idx',
    inputs: [{ shape: [2, 3, 4] }, grid([2, 3], [2, 0, 2, 4, 0, 2])],
    attrs: { num_embeddings: 5, padding_idx: 0 },
    ref: embeddingBackwardRef,
  },
  {
    op: 'embedding_backward',
    name: 'embedding_backward no padding, i64',
    inputs: [{ shape: [5, 2] }, ints([1, 1, 3, 1, 0], 'i64')],
    attrs: { num_embeddings: 4 },
    ref: embeddingBackwardRef,
  },
  {
    op: 'embedding_backward',
    name: 'embedding_backward large, many repeats',
    inputs: [{ shape: [4000, 48] }, { shape: [4000], dtype: 'i32', range: [0, 300] }],
    attrs: { num_embeddings: 310, padding_idx: 7 },
    ref: embeddingBackwardRef,
    atol: 1e-5,
  },
];

export const errors = [
  { op: 'index_select', inputs: [{ shape: [3, 2] }, ints([0, 3, 1])], code: 'ERR_TG_ARG', message: 'index[1] = 3 is out of range for dim 0 of size 3' },
  { op: 'index_select', inputs: [{ shape: [3, 2] }, ints([0, -1])], attrs: { axis: 1 }, code: 'ERR_TG_ARG', message: 'index[1] = -1 is out of range for dim 1 of size 2' },
  { op: 'index_select', inputs: [{ shape: [3, 2] }, grid([1, 1], [0])], code: 'ERR_TG_SHAPE', message: 'index must be 1-D, got shape (1, 1)' },
  { op: 'index_select', inputs: [{ shape: [3, 2] }, { shape: [1] }], code: 'ERR_TG_DTYPE', message: 'index must be i32 or i64, got f32' },
  {
    op: 'index_select_backward',
    inputs: [{ shape: [2, 2] }, ints([0, 5])],
    attrs: { input_shape: [3, 2], axis: 0 },
    code: 'ERR_TG_ARG',
    message: 'index[1] = 5 is out of range for dim 0 of size 3',
  },
  {
    op: 'index_select_backward',
    inputs: [{ shape: [3, 2] }, ints([0, 1])],
    attrs: { input_shape: [3, 2], axis: 0 },
    code: 'ERR_TG_SHAPE',
    message: 'dy has shape (3, 2) but index_select of input_shape (3, 2) gives (2, 2)',
  },
  { op: 'gather', inputs: [{ shape: [2, 3] }, grid([2, 2], [0, 1, 3, 0])], attrs: { axis: 1 }, code: 'ERR_TG_ARG', message: 'index[1, 0] = 3 is out of range for x\'s dim 1 of size 3' },
  { op: 'gather', inputs: [{ shape: [2, 3] }, grid([3, 1], [0, 1, 0])], attrs: { axis: 1 }, code: 'ERR_TG_SHAPE', message: 'index has shape (3, 1) but x has shape (2, 3)' },
  { op: 'gather', inputs: [{ shape: [2, 3] }, grid([2], [0, 1])], code: 'ERR_TG_SHAPE', message: "index needs x's rank" },
  {
    op: 'gather_backward',
    inputs: [{ shape: [2, 1] }, grid([2, 1], [0, 4])],
    attrs: { input_shape: [2, 3], axis: -1 },
    code: 'ERR_TG_ARG',
    message: "index[1, 0] = 4 is out of range for x's dim 1 of size 3",
  },
  { op: 'embedding', inputs: [{ shape: [3, 2] }, grid([2, 2], [0, 1, 2, 7])], code: 'ERR_TG_ARG', message: 'ids[1, 1] = 7 is out of range for 3 embeddings' },
  { op: 'embedding', inputs: [{ shape: [3, 2] }, ints([0, -2], 'i64')], code: 'ERR_TG_ARG', message: 'ids[1] = -2 is out of range for 3 embeddings' },
  { op: 'embedding', inputs: [{ shape: [6] }, ints([0])], code: 'ERR_TG_SHAPE', message: 'weight must have shape (num_embeddings, dim), got (6,)' },
  { op: 'embedding', inputs: [{ shape: [3, 2] }, ints([0])], attrs: { padding_idx: 3 }, code: 'ERR_TG_ARG', message: "attribute 'padding_idx' must be -1 (none) or in [0, 3), got 3" },
  { op: 'embedding', inputs: [{ shape: [3, 2] }, { shape: [2], dtype: 'u8' }], code: 'ERR_TG_DTYPE', message: 'ids must be i32 or i64, got u8' },
  {
    op: 'embedding_backward',
    inputs: [{ shape: [2, 4] }, ints([0, 9])],
    attrs: { num_embeddings: 5 },
    code: 'ERR_TG_ARG',
    message: 'ids[1] = 9 is out of range for 5 embeddings',
  },
  {
    op: 'embedding_backward',
    inputs: [{ shape: [3, 4] }, ints([0, 1])],
    attrs: { num_embeddings: 5 },
    code: 'ERR_TG_SHAPE',
    message: 'dy has shape (3, 4) but ids have shape (2,)',
  },
];
