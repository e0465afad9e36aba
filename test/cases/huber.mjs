// smooth_l1 and huber (F.smooth_l1_loss, F.huber_loss) and their backward
// ops, against float64 references written from the PyTorch definitions. The
// gradient cases use fixed values whose |x - target| stays well away from the
// kink at beta / delta, on both sides of it.

function reduced(losses, shape, reduction = 'mean') {
  if (reduction === 'none') return { shape, data: Float64Array.from(losses) };
  const total = losses.reduce((a, b) => a + b, 0);
  return { shape: [], data: Float64Array.of(reduction === 'mean' ? total / losses.length : total) };
}

function upstream(dy, reduction = 'mean', n) {
  if (reduction === 'none') return (i) => dy.data[i];
  const g = reduction === 'mean' ? dy.data[0] / n : dy.data[0];
  return () => g;
}

// F.smooth_l1_loss: 0.5 z^2 / beta for z < beta, else z - 0.5 beta (beta 0: |d|).
const smoothL1 = (beta) => (d) => {
  const z = Math.abs(d);
  return z < beta ? (0.5 * z * z) / beta : z - 0.5 * beta;
};
// d/dd: sign(d) outside (-beta, beta), d / beta inside; PyTorch 1.13 gives -1 at d = 0 when beta = 0.
const smoothL1Grad = (beta) => (d) => (d <= -beta ? -1 : d >= beta ? 1 : d / beta);
// F.huber_loss: 0.5 z^2 for z < delta, else delta (z - 0.5 delta).
const huber = (delta) => (d) => {
  const z = Math.abs(d);
  return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
};
const huberGrad = (delta) => (d) => Math.max(-delta, Math.min(delta, d));

const lossRef = (f, param) => ([x, t], attrs) => [reduced(Array.from(x.data, (v, i) => f(attrs[param] ?? 1)(v - t.data[i])), x.shape, attrs.reduction)];
const gradRef = (f, param) => ([dy, x, t], attrs) => {
  const g = upstream(dy, attrs.reduction, x.data.length);
  return [{ shape: x.shape, data: x.data.map((v, i) => g(i) * f(attrs[param] ?? 1)(v - t.data[i])) }];
};

// |x - t| for these pairs runs from 0.15 to 3.3, on both sides of 0.5, 1 and
// 2 (the beta / delta values below) and at least 0.1 away from each.
const X = [0.3, -1.2, 2.5, 0.05, -0.4, 1.9, -2.6, 0.8, 0.45, -0.7, 1.3, -0.15];
const T = [0.1, 0.2, -0.8, 0.4, 0.3, 0.1, 0.2, 0.05, 1.3, -0.1, 0.6, 0.0];
const x = { shape: [3, 4], values: X };
const t = { shape: [3, 4], values: T };

const reductions = ['mean', 'sum', 'none'];

const forward = (op, f, param, values) =>
  values.flatMap((v) =>
    reductions.map((reduction) => ({
      op,
      name: `${op} ${param} ${v} ${reduction}`,
      inputs: [x, t],
      attrs: { [param]: v, reduction },
      ref: lossRef(f, param),
      grad: v > 0,
    })),
  );

export default [
  ...forward('smooth_l1', smoothL1, 'beta', [0.5, 1, 2, 0]),
  ...forward('huber', huber, 'delta', [0.5, 1, 2]),
  { op: 'smooth_l1', name: 'smooth_l1 defaults, random', inputs: [{ shape: [7, 5] }, { shape: [7, 5] }], ref: lossRef(smoothL1, 'beta') },
  { op: 'huber', name: 'huber defaults, random 3-d', inputs: [{ shape: [2, 3, 5] }, { shape: [2, 3, 5] }], ref: lossRef(huber, 'delta') },
  { op: 'huber', name: 'huber large sum', inputs: [{ shape: [200, 300], range: [-3, 3] }, { shape: [200, 300] }], attrs: { reduction: 'sum' }, ref: lossRef(huber, 'delta'), rtol: 1e-5, atol: 1e-3 },
  { op: 'smooth_l1', name: 'smooth_l1 empty mean is NaN', inputs: [{ shape: [0] }, { shape: [0] }], ref: () => [{ shape: [], data: Float64Array.of(NaN) }] },

  ...reductions.map((reduction) => ({
    op: 'smooth_l1_backward',
    name: `smooth_l1_backward beta 0.5 ${reduction}`,
    inputs: [{ shape: reduction === 'none' ? [3, 4] : [] }, x, t],
    attrs: { beta: 0.5, reduction },
    ref: gradRef(smoothL1Grad, 'beta'),
  })),
  {
    op: 'smooth_l1_backward',
    name: 'smooth_l1_backward beta 0 (L1) with d = 0',
    inputs: [{ shape: [] }, { shape: [4], values: [1, -2, 0.5, 3] }, { shape: [4], values: [1, 1, 1, -1] }],
    attrs: { beta: 0, reduction: 'sum' },
    ref: gradRef(smoothL1Grad, 'beta'),
  },
  ...reductions.map((reduction) => ({
    op: 'huber_backward',
    name: `huber_backward delta 2 ${reduction}`,
    inputs: [{ shape: reduction === 'none' ? [3, 4] : [] }, x, t],
    attrs: { delta: 2, reduction },
    ref: gradRef(huberGrad, 'delta'),
  })),
  { op: 'huber_backward', name: 'huber_backward random', inputs: [{ shape: [] }, { shape: [6, 7] }, { shape: [6, 7] }], ref: gradRef(huberGrad, 'delta') },
];

export const errors = [
  { op: 'huber', inputs: [{ shape: [3] }, { shape: [3] }], attrs: { delta: 0 }, code: 'ERR_TG_ARG', message: "attribute 'delta' must be positive, got 0" },
  { op: 'smooth_l1', inputs: [{ shape: [3] }, { shape: [3] }], attrs: { beta: -1 }, code: 'ERR_TG_ARG', message: "attribute 'beta' must not be negative, got -1" },
  { op: 'smooth_l1', inputs: [{ shape: [3] }, { shape: [3] }], attrs: { reduction: 'avg' }, code: 'ERR_TG_ARG', message: "unknown reduction 'avg'" },
  { op: 'huber', inputs: [{ shape: [3] }, { shape: [2] }], code: 'ERR_TG_SHAPE', message: 'x has shape (3,) but target has shape (2,)' },
  { op: 'huber', inputs: [{ shape: [3] }, { shape: [3], dtype: 'i32' }], code: 'ERR_TG_DTYPE', message: 'target must be f32, got i32' },
  {
    op: 'huber_backward',
    inputs: [{ shape: [3] }, { shape: [3] }, { shape: [3] }],
    code: 'ERR_TG_SHAPE',
    message: "dy has shape (3,) but the loss has shape () (x's shape for reduction 'none', else a scalar)",
  },
];
