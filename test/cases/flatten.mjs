// flatten: shape bookkeeping over a copy.
const same = (shape) => (inputs) => [{ shape, data: inputs[0].data }];

export default [
  { op: 'flatten', inputs: [{ shape: [2, 3, 4] }], ref: same([2, 12]), grad: true },
  { op: 'flatten', name: 'flatten all', inputs: [{ shape: [2, 3, 4] }], attrs: { start_dim: 0 }, ref: same([24]), grad: true },
  { op: 'flatten', name: 'flatten middle', inputs: [{ shape: [2, 3, 4, 1] }], attrs: { start_dim: 1, end_dim: 2 }, ref: same([2, 12, 1]) },
  { op: 'flatten', name: 'flatten a vector', inputs: [{ shape: [7] }], attrs: { start_dim: 0 }, ref: same([7]) },
];
