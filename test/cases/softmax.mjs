// softmax and log_softmax along any axis, and their backward ops.

// Calls fn(indices) for every lane along `axis` (default -1) of `shape`,
// indices being the flat positions of the lane's elements.
function forLanes(shape, axis = -1, fn) {
  const a = axis < 0 ? axis + shape.length : axis;
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const len = shape[a];
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      fn(Array.from({ length: len }, (_, l) => (o * len + l) * inner + j));
    }
  }
}

const softmaxRef = (log) => ([x], { axis }) => {
  const data = new Float64Array(x.data.length);
  forLanes(x.shape, axis, (idx) => {
    const max = Math.max(...idx.map((i) => x.data[i]));
    const lse = max + Math.log(idx.reduce((s, i) => s + Math.exp(x.data[i] - max), 0));
    for (const i of idx) data[i] = log ? x.data[i] - lse : Math.exp(x.data[i] - lse);
  });
  return [{ shape: x.shape, data }];
};

// softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy).
const backwardRef = (log) => ([dy, y], { axis }) => {
  const data = new Float64Array(y.data.length);
  forLanes(y.shape, axis, (idx) => {
    const s = idx.reduce((acc, i) => acc + (log ? dy.data[i] : dy.data[i] * y.data[i]), 0);
    for (const i of idx) data[i] = log ? dy.data[i] - Math.exp(y.data[i]) * s : y.data[i] * (dy.data[i] - s);
  });
  return [{ shape: y.shape, data }];
};

const softmax = softmaxRef(false);
const logSoftmax = softmaxRef(true);

export default [
  { op: 'softmax', name: 'softmax default axis', inputs: [{ shape: [4, 7] }], ref: softmax, grad: true },
  { op: 'softmax', name: 'softmax axis 1 of 3d', inputs: [{ shape: [2, 5, 3] }], attrs: { axis: 1 }, ref: softmax, grad: true },
  { op: 'softmax', name: 'softmax axis 0', inputs: [{ shape: [6, 2] }], attrs: { axis: 0 }, ref: softmax, grad: true },
  { op: 'softmax', name: 'softmax axis -2 of 4d', inputs: [{ shape: [2, 1, 4, 3] }], attrs: { axis: -2 }, ref: softmax, grad: true },
  { op: 'softmax', name: 'softmax rank 1', inputs: [{ shape: [9] }], ref: softmax, grad: true },
  { op: 'softmax', name: 'softmax of one element', inputs: [{ shape: [3, 1] }], ref: softmax, grad: true },
  { op: 'softmax', name: 'softmax large logits stay finite', inputs: [{ shape: [3, 50], range: [-1000, 1000] }], ref: softmax },
  { op: 'softmax', name: 'softmax strided lanes over several blocks', inputs: [{ shape: [3, 10, 130] }], attrs: { axis: 1 }, ref: softmax },
  { op: 'softmax', name: 'softmax many rows', inputs: [{ shape: [300, 77] }], ref: softmax },

  { op: 'log_softmax', name: 'log_softmax default axis', inputs: [{ shape: [3, 8] }], ref: logSoftmax, grad: true },
  { op: 'log_softmax', name: 'log_softmax axis 0 of 3d', inputs: [{ shape: [4, 3, 2] }], attrs: { axis: 0 }, ref: logSoftmax, grad: true },
  { op: 'log_softmax', name: 'log_softmax axis -2', inputs: [{ shape: [2, 5, 4] }], attrs: { axis: -2 }, ref: logSoftmax, grad: true },
  { op: 'log_softmax', name: 'log_softmax large logits stay finite', inputs: [{ shape: [4, 30], range: [-500, 500] }], ref: logSoftmax, rtol: 1e-5, atol: 1e-4 },
  { op: 'log_softmax', name: 'log_softmax strided lanes', inputs: [{ shape: [2, 17, 70] }], attrs: { axis: -2 }, ref: logSoftmax },

  { op: 'softmax_backward', name: 'softmax_backward last axis', inputs: [{ shape: [3, 6] }, { shape: [3, 6], range: [0, 1] }], ref: backwardRef(false) },
  { op: 'softmax_backward', name: 'softmax_backward axis 1 of 3d', inputs: [{ shape: [2, 5, 70] }, { shape: [2, 5, 70], range: [0, 1] }], attrs: { axis: 1 }, ref: backwardRef(false) },
  { op: 'log_softmax_backward', name: 'log_softmax_backward last axis', inputs: [{ shape: [4, 5] }, { shape: [4, 5], range: [-4, 0] }], ref: backwardRef(true) },
  { op: 'log_softmax_backward', name: 'log_softmax_backward axis 0', inputs: [{ shape: [6, 3, 2] }, { shape: [6, 3, 2], range: [-4, 0] }], attrs: { axis: 0 }, ref: backwardRef(true) },
];

export const errors = [
  { op: 'softmax', inputs: [{ shape: [2, 3] }], attrs: { axis: 2 }, code: 'ERR_TG_ARG', message: "attribute 'axis' 2 is out of range for 2 dims" },
  { op: 'log_softmax', inputs: [{ shape: [2, 3] }], attrs: { axis: -3 }, code: 'ERR_TG_ARG', message: "attribute 'axis' -3 is out of range" },
  { op: 'softmax', inputs: [{ shape: [] }], attrs: {}, code: 'ERR_TG_ARG', message: 'out of range for 0 dims' },
  { op: 'softmax_backward', inputs: [{ shape: [2, 3] }, { shape: [3, 2] }], attrs: {}, code: 'ERR_TG_SHAPE', message: 'dy has shape (2, 3) but y has shape (3, 2)' },
];
