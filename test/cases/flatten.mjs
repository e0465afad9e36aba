// flatten: shape bookkeeping over a copy.
const same = (shape) => (inputs) => [{ shape, data: inputs[0].data }];

export default [
  { op: 'flatten', inputs: [{ shape: [2, 3, 4] }], ref: same([2, 12]), grad: true },
  { op: 'flatten', name: 'flatten all', inputs: [{ shape: [2, 3, 4] }], attrs: { start_dim: 0 }, ref: same([24]), grad: true },
  { op: 'flatten', name: 'flatten middle', inputs: [{ shape: [2, 3, 4, 1] }], attrs: { start_dim: 1, end_dim: 2 }, ref: same([2, 12, 1]) },
  { op: 'flatten', name: 'flatten a vector', inputs: [{ shape: [7] }], attrs: { start_dim: 0 }, ref: same([7]) },
  { op: 'unflatten', inputs: [{ shape: [2, 12] }], attrs: { axis: 1, sizes: [3, 4] }, ref: same([2, 3, 4]), grad: true },
  { op: 'unflatten', name: 'unflatten with -1 and a negative axis', inputs: [{ shape: [2, 3, 10] }], attrs: { axis: -1, sizes: [2, -1, 1] }, ref: same([2, 3, 2, 5, 1]), grad: true },
];

export const errors = [
  { op: 'unflatten', inputs: [{ shape: [2, 12] }], attrs: { axis: 1, sizes: [5, -1] }, code: 'ERR_TG_SHAPE', message: 'cannot split dim 1 of size 12' },
  { op: 'unflatten', inputs: [{ shape: [2, 12] }], attrs: { axis: 1, sizes: [3, 5] }, code: 'ERR_TG_SHAPE', message: 'multiply to 15' },
  { op: 'flatten', inputs: [{ shape: [2, 3, 4] }], attrs: { start_dim: 2, end_dim: 1 }, code: 'ERR_TG_ARG', message: 'start_dim' },
];
