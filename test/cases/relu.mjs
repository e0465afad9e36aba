// relu and its gradient kernel.
const relu = (inputs) => [{ shape: inputs[0].shape, data: inputs[0].data.map((v) => (v > 0 ? v : 0)) }];

export default [
  { op: 'relu', inputs: [{ shape: [3, 7] }], ref: relu, grad: true, avoid: [0] },
  { op: 'relu', name: 'relu rank 0', inputs: [{ shape: [] }], ref: relu, grad: true, avoid: [0] },
  { op: 'relu', name: 'relu 33 elements, rank 4', inputs: [{ shape: [1, 3, 1, 11] }], ref: relu, grad: true, avoid: [0] },
  {
    op: 'relu_backward',
    inputs: [{ shape: [4, 5] }, { shape: [4, 5] }],
    ref: ([dy, x]) => [{ shape: x.shape, data: x.data.map((v, i) => (v > 0 ? dy.data[i] : 0)) }],
  },
];
