// concat (torch.cat), slice (Python slicing along one axis) and
// slice_backward, against references written from those definitions.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const norm = (axis, rank) => (axis < 0 ? axis + rank : axis);

// x viewed as (outer, n, inner) around axis.
function around(shape, axis) {
  return { outer: numel(shape.slice(0, axis)), n: shape[axis], inner: numel(shape.slice(axis + 1)) };
}

// torch.cat: each output row (dims before axis) is the inputs' rows end to end.
function concatRef(inputs, attrs) {
  const axis = norm(attrs.axis ?? 0, inputs[0].shape.length);
  const shape = [...inputs[0].shape];
  shape[axis] = inputs.reduce((s, x) => s + x.shape[axis], 0);
  const { outer } = around(shape, axis);
  const data = [];
  for (let o = 0; o < outer; o++) {
    for (const x of inputs) {
      const { n, inner } = around(x.shape, axis);
      for (let j = 0; j < n * inner; j++) data.push(x.data[o * n * inner + j]);
    }
  }
  return [{ shape, data: Float64Array.from(data) }];
}

// Python's slice(start, end, step).indices(n) for step > 0: the kept positions.
function positions(n, { start = 0, end = Infinity, step = 1 }) {
  const clamp = (v) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const out = [];
  for (let j = clamp(start); j < clamp(end); j += step) out.push(j);
  return out;
}

function sliceRef([x], attrs) {
  const axis = norm(attrs.axis ?? 0, x.shape.length);
  const { outer, n, inner } = around(x.shape, axis);
  const keep = positions(n, attrs);
  const shape = [...x.shape];
  shape[axis] = keep.length;
  const data = [];
  for (let o = 0; o < outer; o++) {
    for (const j of keep) for (let i = 0; i < inner; i++) data.push(x.data[(o * n + j) * inner + i]);
  }
  return [{ shape, data: Float64Array.from(data) }];
}

// Zeros of input_shape with dy written back at the sliced positions.
function sliceBackwardRef([dy], attrs) {
  const shape = attrs.input_shape;
  const axis = norm(attrs.axis ?? 0, shape.length);
  const { outer, n, inner } = around(shape, axis);
  const keep = positions(n, attrs);
  const data = new Float64Array(numel(shape));
  let src = 0;
  for (let o = 0; o < outer; o++) {
    for (const j of keep) for (let i = 0; i < inner; i++) data[(o * n + j) * inner + i] = dy.data[src++];
  }
  return [{ shape, data }];
}

const i32 = (shape) => ({ shape, dtype: 'i32', range: [-50, 50] });

export default [
  // concat on each axis of a 3-d tensor with 1, 2 and 3 inputs
  { op: 'concat', name: 'concat one input', inputs: [{ shape: [2, 3, 2] }], attrs: { axis: 1 }, ref: concatRef, grad: true },
  { op: 'concat', name: 'concat axis 0, two inputs', inputs: [{ shape: [1, 3, 2] }, { shape: [2, 3, 2] }], attrs: { axis: 0 }, ref: concatRef, grad: true },
  { op: 'concat', name: 'concat axis 1, two inputs', inputs: [{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }], attrs: { axis: 1 }, ref: concatRef, grad: true },
  { op: 'concat', name: 'concat axis 2, two inputs', inputs: [{ shape: [2, 3, 1] }, { shape: [2, 3, 2] }], attrs: { axis: 2 }, ref: concatRef, grad: true },
  {
    op: 'concat',
    name: 'concat axis 0, three inputs (default axis)',
    inputs: [{ shape: [1, 2, 3] }, { shape: [3, 2, 3] }, { shape: [2, 2, 3] }],
    ref: concatRef,
    grad: true,
  },
  {
    op: 'concat',
    name: 'concat axis 1, three inputs, one empty',
    inputs: [{ shape: [2, 2, 3] }, { shape: [2, 0, 3] }, { shape: [2, 3, 3] }],
    attrs: { axis: 1 },
    ref: concatRef,
    grad: true,
  },
  {
    op: 'concat',
    name: 'concat axis -1, three inputs',
    inputs: [{ shape: [3, 2, 2] }, { shape: [3, 2, 1] }, { shape: [3, 2, 3] }],
    attrs: { axis: -1 },
    ref: concatRef,
    grad: true,
  },
  { op: 'concat', name: 'concat i32 axis 0, one input', inputs: [i32([3, 4])], attrs: { axis: 0 }, ref: concatRef },
  { op: 'concat', name: 'concat i32 axis 0, two inputs', inputs: [i32([3, 4]), i32([2, 4])], attrs: { axis: 0 }, ref: concatRef },
  { op: 'concat', name: 'concat i32 axis 1, three inputs', inputs: [i32([3, 4]), i32([3, 1]), i32([3, 5])], attrs: { axis: 1 }, ref: concatRef },
  { op: 'concat', name: 'concat i64 axis 1', inputs: [{ shape: [2, 3], dtype: 'i64', range: [-9, 9] }, { shape: [2, 2], dtype: 'i64', range: [-9, 9] }], attrs: { axis: 1 }, ref: concatRef },
  {
    op: 'concat',
    name: 'concat 1-d, sixteen inputs',
    inputs: Array.from({ length: 16 }, (_, i) => ({ shape: [(i % 3) + 1] })),
    ref: concatRef,
  },
  {
    op: 'concat',
    name: 'concat large rows split over the pool',
    inputs: [{ shape: [3, 40000] }, { shape: [3, 30001] }],
    attrs: { axis: 1 },
    ref: concatRef,
  },

  // slice: negative bounds, step 2, clamping, empty results
  { op: 'slice', name: 'slice 1-d negative start and end', inputs: [{ shape: [10] }], attrs: { start: -7, end: -2 }, ref: sliceRef, grad: true },
  { op: 'slice', name: 'slice step 2 along axis 1', inputs: [{ shape: [3, 7, 2] }], attrs: { axis: 1, start: 1, end: 7, step: 2 }, ref: sliceRef, grad: true },
  { op: 'slice', name: 'slice step 2 along the last axis', inputs: [{ shape: [4, 9] }], attrs: { axis: -1, start: -8, step: 2 }, ref: sliceRef, grad: true },
  { op: 'slice', name: 'slice step 3, end past the size', inputs: [{ shape: [5, 3] }], attrs: { axis: 0, start: 1, end: 100, step: 3 }, ref: sliceRef, grad: true },
  { op: 'slice', name: 'slice start before the beginning is clamped', inputs: [{ shape: [2, 6] }], attrs: { axis: 1, start: -100, end: 4 }, ref: sliceRef, grad: true },
  { op: 'slice', name: 'slice defaults take everything', inputs: [{ shape: [3, 4] }], ref: sliceRef, grad: true },
  { op: 'slice', name: 'slice empty (start after end)', inputs: [{ shape: [4, 3] }], attrs: { axis: 0, start: 3, end: 1 }, ref: sliceRef },
  { op: 'slice', name: 'slice i32 step 2', inputs: [i32([3, 8])], attrs: { axis: 1, start: -7, end: -1, step: 2 }, ref: sliceRef },
  { op: 'slice', name: 'slice large, step 1', inputs: [{ shape: [2, 50000] }], attrs: { axis: 1, start: 7, end: -9 }, ref: sliceRef },
  { op: 'slice', name: 'slice large, step 5', inputs: [{ shape: [300, 400] }], attrs: { axis: 0, start: 3, step: 5 }, ref: sliceRef },

  {
    op: 'slice_backward',
    name: 'slice_backward step 2 negative start',
    inputs: [{ shape: [3, 3, 2] }],
    attrs: { input_shape: [3, 7, 2], axis: 1, start: -6, end: 7, step: 2 },
    ref: sliceBackwardRef,
  },
  {
    op: 'slice_backward',
    name: 'slice_backward step 1 middle',
    inputs: [{ shape: [2, 3] }],
    attrs: { input_shape: [2, 8], axis: -1, start: 2, end: -3 },
    ref: sliceBackwardRef,
  },
  {
    op: 'slice_backward',
    name: 'slice_backward step 3 along axis 0',
    inputs: [{ shape: [2, 4] }],
    attrs: { input_shape: [6, 4], axis: 0, start: 1, step: 3 },
    ref: sliceBackwardRef,
  },
  {
    op: 'slice_backward',
    name: 'slice_backward empty slice',
    inputs: [{ shape: [0, 2] }],
    attrs: { input_shape: [3, 2], axis: 0, start: 2, end: 2 },
    ref: sliceBackwardRef,
  },
];

export const errors = [
  { op: 'concat', inputs: [{ shape: [2, 3] }, { shape: [2, 3], dtype: 'i32' }], code: 'ERR_TG_DTYPE', message: 'x1 is i32 but x0 is f32' },
  { op: 'concat', inputs: [{ shape: [2, 3] }, { shape: [3, 3] }], attrs: { axis: 1 }, code: 'ERR_TG_SHAPE', message: 'x1 has shape (3, 3) but x0 has shape (2, 3)' },
  { op: 'concat', inputs: [{ shape: [2, 3] }, { shape: [2, 3, 1] }], code: 'ERR_TG_SHAPE', message: 'x1 has shape (2, 3, 1)' },
  { op: 'concat', inputs: [{ shape: [2, 3] }], attrs: { axis: 2 }, code: 'ERR_TG_ARG', message: "attribute 'axis' 2 is out of range" },
  { op: 'concat', inputs: [{ shape: [] }], code: 'ERR_TG_SHAPE', message: 'x0 is a scalar' },
  { op: 'slice', inputs: [{ shape: [4] }], attrs: { step: 0 }, code: 'ERR_TG_ARG', message: "attribute 'step' must be positive, got 0" },
  { op: 'slice', inputs: [{ shape: [4] }], attrs: { step: -1 }, code: 'ERR_TG_ARG', message: "attribute 'step' must be positive, got -1" },
  { op: 'slice', inputs: [{ shape: [4, 2] }], attrs: { axis: -3 }, code: 'ERR_TG_ARG', message: "attribute 'axis' -3 is out of range for 2 dims" },
  {
    op: 'slice_backward',
    inputs: [{ shape: [2, 2] }],
    attrs: { input_shape: [2, 6], axis: 1, start: 0, end: 6, step: 2 },
    code: 'ERR_TG_SHAPE',
    message: 'dy has shape (2, 2) but slicing (2, 6) gives (2, 3)',
  },
  { op: 'slice_backward', inputs: [{ shape: [2] }], attrs: { axis: 0 }, code: 'ERR_TG_ARG', message: "attribute 'input_shape' is required" },
];
