// matmul (batch-broadcasting, transposes), linear and linear_backward_weight.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

function matmul([a, b], { transA = false, transB = false } = {}) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const rank = Math.max(ra, rb) - 2;
  const pad = (s) => [...Array(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
  const pa = pad(a.shape);
  const pb = pad(b.shape);
  const batch = pa.map((d, i) => (d === 1 ? pb[i] : d));
  const out = new Float64Array(numel(batch) * M * N);
  for (let t = 0; t < numel(batch); t++) {
    const idx = [];
    for (let i = rank - 1, r = t; i >= 0; i--) {
      idx[i] = r % batch[i];
      r = Math.floor(r / batch[i]);
    }
    // Flat batch item of an operand, broadcast dims pinned at 0.
    const item = (p) => p.reduce((acc, d, i) => acc * d + (d === 1 ? 0 : idx[i]), 0);
    const oa = item(pa) * M * K;
    const ob = item(pb) * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let p = 0; p < K; p++) {
          s += a.data[oa + (transA ? p * M + i : i * K + p)] * b.data[ob + (transB ? j * K + p : p * N + j)];
        }
        out[(t * M + i) * N + j] = s;
      }
    }
  }
  return [{ shape: [...batch, M, N], data: out }];
}

// y = x W^T + b over the flattened leading dims of x.
function linear([x, w, bias]) {
  const [out, inF] = w.shape;
  const rows = numel(x.shape.slice(0, -1));
  const data = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = bias ? bias.data[o] : 0;
      for (let k = 0; k < inF; k++) s += x.data[r * inF + k] * w.data[o * inF + k];
      data[r * out + o] = s;
    }
  }
  return [{ shape: [...x.shape.slice(0, -1), out], data }];
}

// dW = sum over rows of dy^T x.
function linearBackwardWeight([dy, x]) {
  const out = dy.shape[dy.shape.length - 1];
  const inF = x.shape[x.shape.length - 1];
  const rows = numel(dy.shape) / out;
  const data = new Float64Array(out * inF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < inF; k++) data[o * inF + k] += dy.data[r * out + o] * x.data[r * inF + k];
    }
  }
  return [{ shape: [out, inF], data }];
}

// f32 products of K terms in [-2, 2]: absolute error grows with K.
const small = { atol: 1e-5 };
const large = { rtol: 1e-4, atol: 1e-4 };

export default [
  { op: 'matmul', name: 'matmul 2d', inputs: [{ shape: [3, 4] }, { shape: [4, 5] }], ref: matmul, grad: true, ...small },
  { op: 'matmul', name: 'matmul 2d transA', inputs: [{ shape: [4, 3] }, { shape: [4, 5] }], attrs: { transA: true }, ref: matmul, grad: true, ...small },
  { op: 'matmul', name: 'matmul 2d transB', inputs: [{ shape: [3, 4] }, { shape: [5, 4] }], attrs: { transB: true }, ref: matmul, grad: true, ...small },
  {
    op: 'matmul',
    name: 'matmul 2d transA transB',
    inputs: [{ shape: [4, 3] }, { shape: [5, 4] }],
    attrs: { transA: true, transB: true },
    ref: matmul,
    grad: true,
    ...small,
  },
  { op: 'matmul', name: 'matmul batched', inputs: [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }], ref: matmul, grad: true, ...small },
  {
    op: 'matmul',
    name: 'matmul batched transA transB',
    inputs: [{ shape: [2, 4, 3] }, { shape: [2, 5, 4] }],
    attrs: { transA: true, transB: true },
    ref: matmul,
    grad: true,
    ...small,
  },
  { op: 'matmul', name: 'matmul shared a, batched b', inputs: [{ shape: [3, 4] }, { shape: [2, 4, 5] }], ref: matmul, grad: true, ...small },
  {
    op: 'matmul',
    name: 'matmul shared a transA, batched b transB',
    inputs: [{ shape: [4, 3] }, { shape: [2, 5, 4] }],
    attrs: { transA: true, transB: true },
    ref: matmul,
    grad: true,
    ...small,
  },
  { op: 'matmul', name: 'matmul batched a, shared b', inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], ref: matmul, grad: true, ...small },
  {
    op: 'matmul',
    name: 'matmul batched a, shared b transB',
    inputs: [{ shape: [2, 2, 3, 4] }, { shape: [5, 4] }],
    attrs: { transB: true },
    ref: matmul,
    grad: true,
    ...small,
  },
  {
    op: 'matmul',
    name: 'matmul batched a transA, shared b',
    inputs: [{ shape: [2, 4, 3] }, { shape: [4, 5] }],
    attrs: { transA: true },
    ref: matmul,
    grad: true,
    ...small,
  },
  {
    op: 'matmul',
    name: 'matmul cross broadcast (2,1) x (3,)',
    inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }],
    ref: matmul,
    grad: true,
    ...small,
  },
  {
    op: 'matmul',
    name: 'matmul unit batch dims both sides',
    inputs: [{ shape: [1, 2, 3, 2] }, { shape: [3, 1, 2, 4] }],
    ref: matmul,
    grad: true,
    ...small,
  },
  { op: 'matmul', name: 'matmul size-1 batch of b', inputs: [{ shape: [3, 2, 4] }, { shape: [1, 4, 3] }], ref: matmul, grad: true, ...small },
  { op: 'matmul', name: 'matmul K = 100, batched a', inputs: [{ shape: [2, 17, 100] }, { shape: [100, 33] }], ref: matmul, ...large },
  {
    op: 'matmul',
    name: 'matmul threaded, transposed',
    inputs: [{ shape: [80, 70] }, { shape: [90, 80] }],
    attrs: { transA: true, transB: true },
    ref: matmul,
    ...large,
  },
  {
    op: 'matmul',
    name: 'matmul broadcast loop with a gemm batch',
    inputs: [{ shape: [3, 1, 5, 6, 7] }, { shape: [4, 5, 7, 2] }],
    ref: matmul,
    ...large,
  },
  { op: 'matmul', name: 'matmul K = 0 gives zeros', inputs: [{ shape: [3, 0] }, { shape: [0, 4] }], ref: matmul },
  { op: 'matmul', name: 'matmul empty batch', inputs: [{ shape: [0, 3, 2] }, { shape: [2, 4] }], ref: matmul },

  { op: 'linear', name: 'linear 2d with bias', inputs: [{ shape: [4, 3] }, { shape: [5, 3] }, { shape: [5] }], ref: linear, grad: true, ...small },
  { op: 'linear', name: 'linear 3d without bias', inputs: [{ shape: [2, 3, 4] }, { shape: [5, 4] }], ref: linear, grad: true, ...small },
  { op: 'linear', name: 'linear 3d with bias', inputs: [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }], ref: linear, grad: true, ...small },
  { op: 'linear', name: 'linear 1d input with bias', inputs: [{ shape: [4] }, { shape: [3, 4] }, { shape: [3] }], ref: linear, grad: true, ...small },
  { op: 'linear', name: 'linear 4d input', inputs: [{ shape: [2, 1, 3, 2] }, { shape: [3, 2] }, { shape: [3] }], ref: linear, grad: true, ...small },
  { op: 'linear', name: 'linear no input features is the bias', inputs: [{ shape: [3, 0] }, { shape: [2, 0] }, { shape: [2] }], ref: linear },
  {
    op: 'linear',
    name: 'linear large, threaded',
    inputs: [{ shape: [8, 33, 64] }, { shape: [48, 64] }, { shape: [48] }],
    ref: linear,
    ...large,
  },

  {
    op: 'linear_backward_weight',
    inputs: [{ shape: [2, 3, 5] }, { shape: [2, 3, 4] }],
    ref: linearBackwardWeight,
    ...small,
  },
  {
    op: 'linear_backward_weight',
    name: 'linear_backward_weight many rows',
    inputs: [{ shape: [300, 7] }, { shape: [300, 9] }],
    ref: linearBackwardWeight,
    ...large,
  },
];

export const errors = [
  {
    op: 'matmul',
    inputs: [{ shape: [3, 4] }, { shape: [5, 6] }],
    code: 'ERR_TG_SHAPE',
    message: 'inner dimensions differ: op(a) is (3, 4) from a of shape (3, 4), op(b) is (5, 6)',
  },
  { op: 'matmul', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4, 5] }], code: 'ERR_TG_SHAPE', message: 'do not broadcast' },
  { op: 'matmul', inputs: [{ shape: [4] }, { shape: [4, 5] }], code: 'ERR_TG_SHAPE', message: 'a must have at least 2 dims' },
  { op: 'matmul', inputs: [{ shape: [3, 4] }, { shape: [4, 5], dtype: 'i32' }], code: 'ERR_TG_DTYPE', message: 'b must be f32' },
  { op: 'linear', inputs: [{ shape: [2, 3] }, { shape: [5, 4] }], code: 'ERR_TG_SHAPE', message: 'x has 3 features' },
  { op: 'linear', inputs: [{ shape: [2, 4] }, { shape: [5, 4] }, { shape: [4] }], code: 'ERR_TG_SHAPE', message: 'bias must have shape (5,)' },
  { op: 'linear', inputs: [{ shape: [2, 4] }, { shape: [4] }], code: 'ERR_TG_SHAPE', message: 'weight must have shape (out, in)' },
];
