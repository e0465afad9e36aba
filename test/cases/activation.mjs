// gelu (both forms), silu, sigmoid, tanh and their backward ops.
// relu's cases live in relu.mjs.

// erf(x) = 2/sqrt(pi) e^(-x^2) sum_n (2x^2)^n x / (2n+1)!!: every term has
// the sign of x, so float64 keeps full precision; beyond |x| = 6 erf is +-1
// to double precision.
function erf(x) {
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const KAPPA = 0.044715;
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

// PyTorch's formulas, evaluated in float64.
const geluValue = (x, approximate) =>
  approximate === 'tanh'
    ? 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + KAPPA * x ** 3)))
    : 0.5 * x * (1 + erf(x / Math.SQRT2));

function geluSlope(x, approximate) {
  if (approximate === 'tanh') {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + KAPPA * x ** 3));
    const du = SQRT_2_OVER_PI * (1 + 3 * KAPPA * x * x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
  }
  const cdf = 0.5 * (1 + erf(x / Math.SQRT2));
  const pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  return cdf + x * pdf;
}

// y = f(x) elementwise.
const unary = (f) => ([x], attrs) => [{ shape: x.shape, data: x.data.map((v) => f(v, attrs)) }];
// dx = dy * slope(saved) elementwise, for the (dy, x) / (dy, y) backward ops.
const backward = (slope) => ([dy, s], attrs) => [
  { shape: s.shape, data: s.data.map((v, i) => dy.data[i] * slope(v, attrs)) },
];

const gelu = unary((x, { approximate } = {}) => geluValue(x, approximate));
const silu = unary((x) => x * sigmoid(x));
const sig = unary(sigmoid);
const tanh = unary(Math.tanh);

const geluBackward = backward((x, { approximate } = {}) => geluSlope(x, approximate));
const siluBackward = backward((x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))));
const sigmoidBackward = backward((y) => y * (1 - y));
const tanhBackward = backward((y) => 1 - y * y);

// Magnitudes where a naive exp overflows or 1 + erf / 1 + tanh cancels.
const extremes = [-1e4, -100, -88.8, -30, -12, -6, -1e-6, 0, 1e-6, 6, 12, 30, 88.8, 100, 1e4];
const big = { shape: [extremes.length], values: extremes };

export default [
  { op: 'gelu', name: 'gelu erf 3x7', inputs: [{ shape: [3, 7] }], ref: gelu, grad: true },
  { op: 'gelu', name: 'gelu erf explicit', inputs: [{ shape: [2, 3] }], attrs: { approximate: 'none' }, ref: gelu, grad: true },
  { op: 'gelu', name: 'gelu tanh odd shape', inputs: [{ shape: [3, 7] }], attrs: { approximate: 'tanh' }, ref: gelu, grad: true },
  { op: 'gelu', name: 'gelu erf rank 0', inputs: [{ shape: [] }], ref: gelu, grad: true },
  { op: 'gelu', name: 'gelu tanh rank 4', inputs: [{ shape: [1, 3, 1, 11] }], attrs: { approximate: 'tanh' }, ref: gelu, grad: true },
  { op: 'gelu', name: 'gelu erf wide range', inputs: [{ shape: [5, 7], range: [-6, 6] }], ref: gelu, grad: true },
  { op: 'gelu', name: 'gelu erf extremes', inputs: [big], ref: gelu },
  { op: 'gelu', name: 'gelu tanh extremes', inputs: [big], attrs: { approximate: 'tanh' }, ref: gelu },
  { op: 'gelu', name: 'gelu erf large', inputs: [{ shape: [257, 129], range: [-8, 8] }], ref: gelu },
  { op: 'gelu', name: 'gelu empty', inputs: [{ shape: [0, 3] }], ref: gelu },

  { op: 'gelu_backward', name: 'gelu_backward erf', inputs: [{ shape: [33] }, { shape: [33], range: [-5, 5] }], ref: geluBackward },
  {
    op: 'gelu_backward',
    name: 'gelu_backward tanh',
    inputs: [{ shape: [3, 11] }, { shape: [3, 11], range: [-5, 5] }],
    attrs: { approximate: 'tanh' },
    ref: geluBackward,
  },
  { op: 'gelu_backward', name: 'gelu_backward erf extremes', inputs: [{ shape: [extremes.length] }, big], ref: geluBackward },
  {
    op: 'gelu_backward',
    name: 'gelu_backward tanh extremes',
    inputs: [{ shape: [extremes.length] }, big],
    attrs: { approximate: 'tanh' },
    ref: geluBackward,
  },

  { op: 'silu', inputs: [{ shape: [7] }], ref: silu, grad: true },
  { op: 'silu', name: 'silu rank 0', inputs: [{ shape: [] }], ref: silu, grad: true },
  { op: 'silu', name: 'silu rank 3 wide range', inputs: [{ shape: [3, 1, 11], range: [-6, 6] }], ref: silu, grad: true },
  { op: 'silu', name: 'silu extremes', inputs: [big], ref: silu },
  { op: 'silu_backward', inputs: [{ shape: [3, 11] }, { shape: [3, 11], range: [-6, 6] }], ref: siluBackward },
  { op: 'silu_backward', name: 'silu_backward extremes', inputs: [{ shape: [extremes.length] }, big], ref: siluBackward },

  { op: 'sigmoid', inputs: [{ shape: [1] }], ref: sig, grad: true },
  { op: 'sigmoid', name: 'sigmoid rank 2', inputs: [{ shape: [3, 11], range: [-6, 6] }], ref: sig, grad: true },
  { op: 'sigmoid', name: 'sigmoid rank 4', inputs: [{ shape: [2, 1, 2, 3] }], ref: sig, grad: true },
  { op: 'sigmoid', name: 'sigmoid extremes stay finite', inputs: [big], ref: sig },
  { op: 'sigmoid', name: 'sigmoid large', inputs: [{ shape: [40000], range: [-20, 20] }], ref: sig },
  { op: 'sigmoid_backward', inputs: [{ shape: [33] }, { shape: [33], range: [0, 1] }], ref: sigmoidBackward },
  { op: 'sigmoid_backward', name: 'sigmoid_backward rank 0', inputs: [{ shape: [] }, { shape: [], range: [0, 1] }], ref: sigmoidBackward },

  { op: 'tanh', inputs: [{ shape: [7] }], ref: tanh, grad: true },
  { op: 'tanh', name: 'tanh rank 0', inputs: [{ shape: [] }], ref: tanh, grad: true },
  { op: 'tanh', name: 'tanh rank 3', inputs: [{ shape: [3, 1, 11] }], ref: tanh, grad: true },
  { op: 'tanh', name: 'tanh extremes', inputs: [big], ref: tanh },
  { op: 'tanh_backward', inputs: [{ shape: [3, 11] }, { shape: [3, 11], range: [-1, 1] }], ref: tanhBackward },
  { op: 'tanh_backward', name: 'tanh_backward rank 4', inputs: [{ shape: [1, 2, 1, 3] }, { shape: [1, 2, 1, 3], range: [-1, 1] }], ref: tanhBackward },
];

export const errors = [
  { op: 'gelu', inputs: [{ shape: [3] }], attrs: { approximate: 'fast' }, code: 'ERR_TG_ARG', message: "attribute 'approximate' must be 'none' or 'tanh', got 'fast'" },
  { op: 'gelu_backward', inputs: [{ shape: [3] }, { shape: [3] }], attrs: { approximate: 1 }, code: 'ERR_TG_ARG', message: "attribute 'approximate' must be a string" },
  { op: 'sigmoid_backward', inputs: [{ shape: [3] }, { shape: [4] }], code: 'ERR_TG_SHAPE', message: 'dy has shape (3,) but the saved input has shape (4,)' },
  { op: 'tanh', inputs: [{ shape: [3], dtype: 'i32' }], code: 'ERR_TG_DTYPE', message: 'x must be f32, got i32' },
];
