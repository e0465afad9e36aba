// cross_entropy, bce_with_logits, mse and their gradient kernels, against
// float64 references written from the torch.nn.functional definitions.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/** The loss tensor: per-element losses, their sum, or their sum / denom. */
function reduced(losses, shape, reduction = 'mean', denom = losses.length) {
  if (reduction === 'none') return { shape, data: losses };
  const total = losses.reduce((a, b) => a + b, 0);
  return { shape: [], data: Float64Array.of(reduction === 'mean' ? total / denom : total) };
}

/** Upstream gradient of element i: dy[i] for 'none', else the scalar dy spread by the reduction. */
function upstream(dy, reduction = 'mean', denom) {
  if (reduction === 'none') return (i) => dy.data[i];
  const g = reduction === 'mean' ? dy.data[0] / denom : dy.data[0];
  return () => g;
}

// ---- cross_entropy -----------------------------------------------------
// logits (N, C, S...), target (N, S...): for each position, log-softmax over C,
// loss = -(1 - eps) w[t] logp[t] - eps / C sum_k w[k] logp[k]; 0 where ignored;
// 'mean' divides by the summed w[t] of the positions that are not ignored.
function ceParts([logits, target, weight], attrs) {
  const ignore = attrs.ignore_index ?? -100;
  const eps = attrs.label_smoothing ?? 0;
  const [N, C] = logits.shape;
  const S = numel(logits.shape.slice(2));
  const w = (k) => (weight ? weight.data[k] : 1);
  const rows = [];
  let totalWeight = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const i = n * S + s;
      const t = target.data[i];
      if (t === ignore) continue;
      const at = (k) => (n * C + k) * S + s;
      const z = Array.from({ length: C }, (_, k) => logits.data[at(k)]);
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0));
      const logp = z.map((v) => v - lse);
      // d loss / d logp[k]
      const c = logp.map((_, k) => -(eps / C) * w(k) - (k === t ? (1 - eps) * w(t) : 0));
      const loss = c.reduce((acc, ck, k) => acc + ck * logp[k], 0);
      rows.push({ i, at, logp, c, loss });
      totalWeight += w(t);
    }
  }
  return { rows, totalWeight, positions: N * S };
}

function ceRef(inputs, attrs) {
  const { rows, totalWeight, positions } = ceParts(inputs, attrs);
  const losses = new Float64Array(positions);
  for (const r of rows) losses[r.i] = r.loss;
  return [reduced(losses, inputs[1].shape, attrs.reduction, totalWeight)];
}

// inputs: dy, logits, target, weight?. Through log-softmax: dz[j] = c[j] - p[j] sum_k c[k].
function ceBackwardRef([dy, ...inputs], attrs) {
  const { rows, totalWeight } = ceParts(inputs, attrs);
  const g = upstream(dy, attrs.reduction, totalWeight);
  const dz = new Float64Array(inputs[0].data.length);
  for (const r of rows) {
    const sumC = r.c.reduce((a, b) => a + b, 0);
    r.c.forEach((ck, k) => {
      dz[r.at(k)] = g(r.i) * (ck - Math.exp(r.logp[k]) * sumC);
    });
  }
  return [{ shape: inputs[0].shape, data: dz }];
}

// ---- bce_with_logits ---------------------------------------------------
// loss = -[pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], pos_weight
// broadcast against x from the right.
const logSigmoid = (x) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const sigmoid = (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

function broadcastAt(shape, bshape) {
  return (i) => {
    let j = 0;
    let stride = 1;
    for (let d = 1; d <= shape.length; d++) {
      const size = shape[shape.length - d];
      const idx = i % size;
      i = Math.floor(i / size);
      const bsize = d <= bshape.length ? bshape[bshape.length - d] : 1;
      if (bsize !== 1) j += idx * stride;
      stride *= bsize;
    }
    return j;
  };
}

function posWeight(x, pw) {
  if (!pw) return () => 1;
  const at = broadcastAt(x.shape, pw.shape);
  return (i) => pw.data[at(i)];
}

function bceRef([x, t, pw], attrs) {
  const p = posWeight(x, pw);
  const losses = x.data.map((v, i) => -(p(i) * t.data[i] * logSigmoid(v) + (1 - t.data[i]) * logSigmoid(-v)));
  return [reduced(losses, x.shape, attrs.reduction)];
}

// d loss / dx = -pw t (1 - sigmoid(x)) + (1 - t) sigmoid(x)
function bceBackwardRef([dy, x, t, pw], attrs) {
  const p = posWeight(x, pw);
  const g = upstream(dy, attrs.reduction, x.data.length);
  const dx = x.data.map((v, i) => g(i) * (-p(i) * t.data[i] * (1 - sigmoid(v)) + (1 - t.data[i]) * sigmoid(v)));
  return [{ shape: x.shape, data: dx }];
}

// ---- mse ---------------------------------------------------------------
function mseRef([x, t], attrs) {
  return [reduced(x.data.map((v, i) => (v - t.data[i]) ** 2), x.shape, attrs.reduction)];
}

function mseBackwardRef([dy, x, t], attrs) {
  const g = upstream(dy, attrs.reduction, x.data.length);
  const dx = x.data.map((v, i) => 2 * g(i) * (v - t.data[i]));
  return [
    { shape: x.shape, data: dx },
    { shape: x.shape, data: dx.map((v) => -v) },
  ];
}

const unit = { range: [0, 1] };
const weights = (c) => ({ shape: [c], range: [0.5, 2] });

export default [
  // cross_entropy
  {
    op: 'cross_entropy',
    name: 'ce mean, i64 targets',
    inputs: [{ shape: [4, 5] }, { shape: [4], dtype: 'i64', values: [0, 4, 2, 2] }],
    attrs: {},
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce sum, i32 targets',
    inputs: [{ shape: [3, 6] }, { shape: [3], dtype: 'i32', values: [5, 0, 3] }],
    attrs: { reduction: 'sum' },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce none with an ignored target',
    inputs: [{ shape: [4, 3] }, { shape: [4], dtype: 'i64', values: [1, -100, 0, 2] }],
    attrs: { reduction: 'none' },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce mean with weights and ignore',
    inputs: [{ shape: [5, 4] }, { shape: [5], dtype: 'i64', values: [0, 3, -100, 2, 1] }, weights(4)],
    attrs: {},
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce mean with label smoothing, no weights, ignore',
    inputs: [{ shape: [5, 4] }, { shape: [5], dtype: 'i32', values: [0, 3, -100, 2, 1] }],
    attrs: { label_smoothing: 0.1 },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce mean with label smoothing, weights and ignore',
    inputs: [{ shape: [5, 4] }, { shape: [5], dtype: 'i64', values: [0, 3, -100, 2, 1] }, weights(4)],
    attrs: { ignore_index: -100, label_smoothing: 0.1 },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce none with label smoothing and weights',
    inputs: [{ shape: [3, 5] }, { shape: [3], dtype: 'i64', values: [4, 1, 0] }, weights(5)],
    attrs: { reduction: 'none', label_smoothing: 0.25 },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce sum with label smoothing 1 (targets only through ignore)',
    inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'i32', values: [1, -100, 3] }, weights(4)],
    attrs: { reduction: 'sum', label_smoothing: 1 },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce spatial (N, C, H, W), smoothing, weights, ignore, mean',
    inputs: [
      { shape: [2, 3, 2, 2] },
      { shape: [2, 2, 2], dtype: 'i64', values: [0, 2, 1, -100, 2, 2, 0, 1] },
      weights(3),
    ],
    attrs: { label_smoothing: 0.2 },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce spatial (N, C, L), i32, none',
    inputs: [{ shape: [2, 4, 3] }, { shape: [2, 3], dtype: 'i32', values: [3, 0, 1, 2, -100, 3] }],
    attrs: { reduction: 'none' },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce ignore_index inside the class range',
    inputs: [{ shape: [4, 3] }, { shape: [4], dtype: 'i64', values: [1, 0, 1, 2] }, weights(3)],
    attrs: { ignore_index: 1, label_smoothing: 0.05 },
    ref: ceRef,
    grad: true,
  },
  {
    op: 'cross_entropy',
    name: 'ce large logits stay finite (log-sum-exp)',
    inputs: [
      { shape: [3, 3], values: [1000, 999, 998, -1000, -1001, -999, 80, -80, 0] },
      { shape: [3], dtype: 'i64', values: [2, 0, 1] },
    ],
    attrs: { reduction: 'none', label_smoothing: 0.1 },
    ref: ceRef,
    rtol: 1e-5,
    atol: 1e-4,
  },
  {
    op: 'cross_entropy',
    name: 'ce all targets ignored: mean is NaN (0 / 0, as PyTorch)',
    inputs: [{ shape: [2, 3] }, { shape: [2], dtype: 'i64', values: [-100, -100] }],
    attrs: {},
    ref: () => [{ shape: [], data: Float64Array.of(NaN) }],
  },
  {
    op: 'cross_entropy',
    name: 'ce all targets ignored: sum is 0',
    inputs: [{ shape: [2, 3] }, { shape: [2], dtype: 'i64', values: [-100, -100] }],
    attrs: { reduction: 'sum', label_smoothing: 0.1 },
    ref: ceRef,
  },
  {
    op: 'cross_entropy_backward',
    name: 'ce backward, mean, smoothing, weights, ignore',
    inputs: [
      { shape: [], values: [0.7] },
      { shape: [5, 4] },
      { shape: [5], dtype: 'i64', values: [0, 3, -100, 2, 1] },
      weights(4),
    ],
    attrs: { label_smoothing: 0.1 },
    ref: ceBackwardRef,
  },
  {
    op: 'cross_entropy_backward',
    name: 'ce backward, sum, i32, no weights',
    inputs: [{ shape: [], values: [-1.5] }, { shape: [3, 6] }, { shape: [3], dtype: 'i32', values: [5, 0, 3] }],
    attrs: { reduction: 'sum' },
    ref: ceBackwardRef,
  },
  {
    op: 'cross_entropy_backward',
    name: 'ce backward, none, spatial, smoothing, weights',
    inputs: [
      { shape: [2, 2, 2] },
      { shape: [2, 3, 2, 2] },
      { shape: [2, 2, 2], dtype: 'i64', values: [0, 2, 1, -100, 2, 2, 0, 1] },
      weights(3),
    ],
    attrs: { reduction: 'none', label_smoothing: 0.3 },
    ref: ceBackwardRef,
  },

  // bce_with_logits
  {
    op: 'bce_with_logits',
    name: 'bce mean',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4], ...unit }],
    attrs: {},
    ref: bceRef,
    grad: true,
  },
  {
    op: 'bce_with_logits',
    name: 'bce sum',
    inputs: [{ shape: [7] }, { shape: [7], ...unit }],
    attrs: { reduction: 'sum' },
    ref: bceRef,
    grad: true,
  },
  {
    op: 'bce_with_logits',
    name: 'bce none, rank 3',
    inputs: [{ shape: [2, 3, 2] }, { shape: [2, 3, 2], ...unit }],
    attrs: { reduction: 'none' },
    ref: bceRef,
    grad: true,
  },
  {
    op: 'bce_with_logits',
    name: 'bce mean, pos_weight per class (C) broadcast over (N, C)',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4], ...unit }, { shape: [4], range: [0.5, 3] }],
    attrs: {},
    ref: bceRef,
    grad: true,
  },
  {
    op: 'bce_with_logits',
    name: 'bce none, pos_weight (3, 1) broadcast over (2, 3, 4)',
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4], ...unit }, { shape: [3, 1], range: [0.5, 3] }],
    attrs: { reduction: 'none' },
    ref: bceRef,
    grad: true,
  },
  {
    op: 'bce_with_logits',
    name: 'bce sum, pos_weight of the full shape',
    inputs: [{ shape: [2, 5] }, { shape: [2, 5], ...unit }, { shape: [2, 5], range: [0.5, 3] }],
    attrs: { reduction: 'sum' },
    ref: bceRef,
    grad: true,
  },
  {
    op: 'bce_with_logits',
    name: 'bce large |x| stays finite',
    inputs: [
      { shape: [6], values: [-100, 100, 50, -50, 0, 1e-3] },
      { shape: [6], values: [0, 1, 0, 1, 0.5, 1] },
      { shape: [1], values: [2] },
    ],
    attrs: { reduction: 'none' },
    ref: bceRef,
  },
  {
    op: 'bce_with_logits_backward',
    name: 'bce backward, mean, pos_weight',
    inputs: [{ shape: [], values: [1.3] }, { shape: [3, 4] }, { shape: [3, 4], ...unit }, { shape: [4], range: [0.5, 3] }],
    attrs: {},
    ref: bceBackwardRef,
  },
  {
    op: 'bce_with_logits_backward',
    name: 'bce backward, none, large |x|',
    inputs: [
      { shape: [6] },
      { shape: [6], values: [-100, 100, 50, -50, 0, 1e-3] },
      { shape: [6], values: [0, 1, 0, 1, 0.5, 1] },
    ],
    attrs: { reduction: 'none' },
    ref: bceBackwardRef,
  },

  // mse (target gets a gradient too)
  { op: 'mse', name: 'mse mean', inputs: [{ shape: [3, 4] }, { shape: [3, 4] }], attrs: {}, ref: mseRef, grad: true },
  {
    op: 'mse',
    name: 'mse sum',
    inputs: [{ shape: [2, 3, 2] }, { shape: [2, 3, 2] }],
    attrs: { reduction: 'sum' },
    ref: mseRef,
    grad: true,
  },
  {
    op: 'mse',
    name: 'mse none',
    inputs: [{ shape: [5] }, { shape: [5] }],
    attrs: { reduction: 'none' },
    ref: mseRef,
    grad: true,
  },
  {
    op: 'mse_backward',
    name: 'mse backward, mean',
    inputs: [{ shape: [], values: [0.5] }, { shape: [3, 4] }, { shape: [3, 4] }],
    attrs: {},
    ref: mseBackwardRef,
  },
  {
    op: 'mse_backward',
    name: 'mse backward, none',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [2, 3] }],
    attrs: { reduction: 'none' },
    ref: mseBackwardRef,
  },
];

export const errors = [
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'i64', values: [0, 4, 1] }],
    code: 'ERR_TG_ARG',
    message: 'target[1] = 4 is out of range for 4 classes',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'i32', values: [0, 1, -1] }],
    code: 'ERR_TG_ARG',
    message: 'target[2] = -1 is out of range',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [2, 3, 2] }, { shape: [2, 2], dtype: 'i64', values: [0, 1, 2, 7] }],
    code: 'ERR_TG_ARG',
    message: 'target[1, 1] = 7',
  },
  {
    op: 'cross_entropy_backward',
    inputs: [{ shape: [] }, { shape: [2, 3] }, { shape: [2], dtype: 'i64', values: [3, 0] }],
    code: 'ERR_TG_ARG',
    message: 'target[0] = 3 is out of range for 3 classes',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'i64', values: [0, 1, 2] }],
    attrs: { reduction: 'avg' },
    code: 'ERR_TG_ARG',
    message: "unknown reduction 'avg'",
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'i64', values: [0, 1, 2] }],
    attrs: { label_smoothing: 1.5 },
    code: 'ERR_TG_ARG',
    message: 'label_smoothing must be in [0, 1], got 1.5',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [4], dtype: 'i64', values: [0, 1, 2, 3] }],
    code: 'ERR_TG_SHAPE',
    message: 'target has shape (4,) but logits of shape (3, 4) need target shape (3,)',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [3], dtype: 'i64', values: [0, 1, 2] }, { shape: [3] }],
    code: 'ERR_TG_SHAPE',
    message: 'weight has shape (3,) but logits of shape (3, 4) have 4 classes',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [3, 4] }, { shape: [3] }],
    code: 'ERR_TG_DTYPE',
    message: 'target must hold class indices as i32 or i64, got f32',
  },
  {
    op: 'cross_entropy',
    inputs: [{ shape: [4] }, { shape: [], dtype: 'i64', values: [1] }],
    code: 'ERR_TG_SHAPE',
    message: 'logits must have shape (N, C) or (N, C, d1, ...), got (4,)',
  },
  {
    op: 'cross_entropy_backward',
    inputs: [{ shape: [3] }, { shape: [3, 4] }, { shape: [3], dtype: 'i64', values: [0, 1, 2] }],
    code: 'ERR_TG_SHAPE',
    message: 'dy has shape (3,) but the loss has shape ()',
  },
  {
    op: 'bce_with_logits',
    inputs: [{ shape: [2, 3] }, { shape: [3, 2] }],
    code: 'ERR_TG_SHAPE',
    message: 'x has shape (2, 3) but target has shape (3, 2)',
  },
  {
    op: 'bce_with_logits',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [2] }],
    code: 'ERR_TG_SHAPE',
    message: "pos_weight has shape (2,), which does not broadcast to x's shape (2, 3)",
  },
  {
    op: 'bce_with_logits',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3], dtype: 'i32' }],
    code: 'ERR_TG_DTYPE',
    message: 'target must be f32, got i32',
  },
  {
    op: 'mse',
    inputs: [{ shape: [4] }, { shape: [4] }],
    attrs: { reduction: 'elementwise_mean' },
    code: 'ERR_TG_ARG',
    message: "unknown reduction 'elementwise_mean'",
  },
  {
    op: 'mse',
    inputs: [{ shape: [4] }, { shape: [5] }],
    code: 'ERR_TG_SHAPE',
    message: 'x has shape (4,) but target has shape (5,)',
  },
];
