// batch_norm, layer_norm, group_norm and their gradient kernels, against
// float64 references written from the torch.nn.functional definitions (and,
// for the backward ops, the formulas of aten's *_backward kernels: batch
// statistics are mean and the biased variance; the running variance is
// updated with the unbiased one).
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const out = (shape, data) => ({ shape, data });
const empty = () => out([0], new Float64Array(0));

/** (N, C, L) with L the product of the dims after C. */
const ncl = (shape) => [shape[0], shape[1], numel(shape.slice(2))];

/** Per channel c, the flat indices of x's elements in that channel. */
function channelIndices(shape) {
  const [N, C, L] = ncl(shape);
  return Array.from({ length: C }, (_, c) => {
    const idx = [];
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) idx.push((n * C + c) * L + l);
    return idx;
  });
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

// ---- batch_norm --------------------------------------------------------

// F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
// plus the statistics and running buffers aten's native_batch_norm produces.
// use_batch_stats is F.batch_norm with training=True whatever the mode (a
// BatchNorm without running statistics); use_running_stats with training=False.
const usesBatch = (training, attrs) => Boolean(attrs.use_batch_stats) || (training && !attrs.use_running_stats);

const batchNormRef = (training) => ([x, rm, rv, w, b], attrs) => {
  const momentum = attrs.momentum ?? 0.1;
  const eps = attrs.eps ?? 1e-5;
  const batch = usesBatch(training, attrs);
  const chans = channelIndices(x.shape);
  const C = chans.length;
  const y = new Float64Array(x.data.length);
  const saveMean = new Float64Array(C);
  const saveInvstd = new Float64Array(C);
  const newRm = new Float64Array(C);
  const newRv = new Float64Array(C);
  chans.forEach((idx, c) => {
    const v = idx.map((i) => x.data[i]);
    let mu;
    let invstd;
    if (batch) {
      mu = mean(v);
      const varB = mean(v.map((t) => (t - mu) ** 2));
      invstd = 1 / Math.sqrt(varB + eps);
      newRm[c] = (1 - momentum) * rm.data[c] + momentum * mu;
      newRv[c] = (1 - momentum) * rv.data[c] + momentum * varB * (v.length / (v.length - 1));
    } else {
      mu = rm.data[c];
      invstd = 1 / Math.sqrt(rv.data[c] + eps);
      newRm[c] = rm.data[c];
      newRv[c] = rv.data[c];
    }
    saveMean[c] = mu;
    saveInvstd[c] = invstd;
    for (const i of idx) y[i] = (x.data[i] - mu) * invstd * (w ? w.data[c] : 1) + (b ? b.data[c] : 0);
  });
  const cs = [C];
  return [out(x.shape, y), out(cs, saveMean), out(cs, saveInvstd), out(cs, newRm), out(cs, newRv)];
};

// aten batch_norm_backward: with batch statistics
// dx = (dy - mean(dy) - (x - mean) invstd^2 mean(dy (x - mean))) invstd w,
// else dx = dy invstd w; dweight = sum(dy (x - mean)) invstd, dbias = sum(dy).
const batchNormBackwardRef = (training) => ([dy, x, sm, si, w], attrs) => {
  const batch = usesBatch(training, attrs);
  const mask = attrs.output_mask ?? [1, 1, 1];
  const chans = channelIndices(x.shape);
  const C = chans.length;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  chans.forEach((idx, c) => {
    const mu = sm.data[c];
    const is = si.data[c];
    const wc = w ? w.data[c] : 1;
    const sdy = sum(idx.map((i) => dy.data[i]));
    const dot = sum(idx.map((i) => dy.data[i] * (x.data[i] - mu)));
    dw[c] = dot * is;
    db[c] = sdy;
    const M = idx.length;
    for (const i of idx) {
      dx[i] = batch ? (dy.data[i] - sdy / M - (x.data[i] - mu) * is * is * (dot / M)) * is * wc : dy.data[i] * is * wc;
    }
  });
  return [mask[0] ? out(x.shape, dx) : empty(), mask[1] ? out([C], dw) : empty(), mask[2] ? out([C], db) : empty()];
};

// d/dx of sum(g_mean save_mean + g_invstd save_invstd + g_rm new_rm + g_rv new_rv)
// with batch statistics: mean = sum(x) / M, var = sum((x - mean)^2) / M,
// invstd = (var + eps)^-1/2, new_rm = ... + momentum mean,
// new_rv = ... + momentum var M / (M - 1). Nothing reaches x from the running statistics.
const bnStatsBackwardRef = (training) => ([x, sm, si, gm, gi, grm, grv], attrs) => {
  const momentum = attrs.momentum ?? 0.1;
  const dx = new Float64Array(x.data.length);
  if (usesBatch(training, attrs)) {
    channelIndices(x.shape).forEach((idx, c) => {
      const M = idx.length;
      const dMean = gm.data[c] + momentum * grm.data[c];
      const dVar = -0.5 * si.data[c] ** 3 * gi.data[c] + momentum * (M / (M - 1)) * grv.data[c];
      for (const i of idx) dx[i] = dMean / M + (dVar * 2 * (x.data[i] - sm.data[c])) / M;
    });
  }
  return [out(x.shape, dx)];
};

const RUN_VAR = { range: [0.5, 2] };
const INVSTD = { range: [0.5, 1.5] };

function bn(shape, { affine = 'both', training = true, attrs = {}, grad = false, name, ...rest } = {}) {
  const C = [shape[1]];
  const inputs = [{ shape }, { shape: C }, { shape: C, ...RUN_VAR }];
  if (affine !== 'none') inputs.push({ shape: C });
  if (affine === 'both') inputs.push({ shape: C });
  return {
    op: 'batch_norm',
    name: name ?? `batch_norm [${shape}] ${affine} ${training ? 'train' : 'eval'} ${JSON.stringify(attrs)}`,
    inputs,
    attrs,
    options: training ? {} : { training: false },
    ref: batchNormRef(training),
    grad,
    ...rest,
  };
}

function bnBackward(shape, { weight = true, training = true, attrs = {}, name, ...rest } = {}) {
  const C = [shape[1]];
  const inputs = [{ shape }, { shape }, { shape: C }, { shape: C, ...INVSTD }];
  if (weight) inputs.push({ shape: C });
  return {
    op: 'batch_norm_backward',
    name: name ?? `batch_norm_backward [${shape}] ${weight ? 'w' : 'no w'} ${training ? 'train' : 'eval'} ${JSON.stringify(attrs)}`,
    inputs,
    attrs,
    options: training ? {} : { training: false },
    ref: batchNormBackwardRef(training),
    rtol: 1e-4,
    atol: 1e-5,
    ...rest,
  };
}

function bnStats(shape, { training = true, attrs = {} } = {}) {
  const C = [shape[1]];
  return {
    op: 'batch_norm_stats_backward',
    name: `batch_norm_stats_backward [${shape}] ${training ? 'train' : 'eval'} ${JSON.stringify(attrs)}`,
    inputs: [{ shape }, { shape: C }, { shape: C, ...INVSTD }, { shape: C }, { shape: C }, { shape: C }, { shape: C }],
    attrs,
    options: training ? {} : { training: false },
    ref: bnStatsBackwardRef(training),
    rtol: 1e-4,
    atol: 1e-5,
  };
}

// ---- layer_norm --------------------------------------------------------

// F.layer_norm over the last numel(normalized_shape) elements of each row,
// with aten's mean and rstd = (var + eps)^-1/2 shaped like x's leading dims.
function layerNormRef([x, w, b], attrs) {
  const eps = attrs.eps ?? 1e-5;
  const D = numel(attrs.normalized_shape);
  const R = x.data.length / D;
  const y = new Float64Array(x.data.length);
  const mu = new Float64Array(R);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const row = x.data.slice(r * D, (r + 1) * D);
    mu[r] = mean(row);
    rstd[r] = 1 / Math.sqrt(mean(row.map((v) => (v - mu[r]) ** 2)) + eps);
    for (let i = 0; i < D; i++) y[r * D + i] = (row[i] - mu[r]) * rstd[r] * (w ? w.data[i] : 1) + (b ? b.data[i] : 0);
  }
  const lead = x.shape.slice(0, x.shape.length - attrs.normalized_shape.length);
  return [out(x.shape, y), out(lead, mu), out(lead, rstd)];
}

// aten layer_norm_backward: g = dy w, xhat = (x - mean) rstd,
// dx = rstd (g - mean(g) - xhat mean(g xhat)), dweight = sum(dy xhat), dbias = sum(dy).
function layerNormBackwardRef([dy, x, mu, rstd, w], attrs) {
  const mask = attrs.output_mask ?? [1, 1, 1];
  const D = numel(attrs.normalized_shape);
  const R = x.data.length / D;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const xhat = Array.from({ length: D }, (_, i) => (x.data[r * D + i] - mu.data[r]) * rstd.data[r]);
    const g = Array.from({ length: D }, (_, i) => dy.data[r * D + i] * (w ? w.data[i] : 1));
    const mg = mean(g);
    const mgx = mean(g.map((v, i) => v * xhat[i]));
    for (let i = 0; i < D; i++) {
      dx[r * D + i] = rstd.data[r] * (g[i] - mg - xhat[i] * mgx);
      dw[i] += dy.data[r * D + i] * xhat[i];
      db[i] += dy.data[r * D + i];
    }
  }
  const ns = attrs.normalized_shape;
  return [mask[0] ? out(x.shape, dx) : empty(), mask[1] ? out(ns, dw) : empty(), mask[2] ? out(ns, db) : empty()];
}

function ln(shape, normalized_shape, { affine = 'both', attrs = {}, ...rest } = {}) {
  const inputs = [{ shape }];
  if (affine !== 'none') inputs.push({ shape: normalized_shape });
  if (affine === 'both') inputs.push({ shape: normalized_shape });
  return {
    op: 'layer_norm',
    name: `layer_norm [${shape}] over [${normalized_shape}] ${affine} ${JSON.stringify(attrs)}`,
    inputs,
    attrs: { normalized_shape, ...attrs },
    ref: layerNormRef,
    rtol: 1e-5,
    atol: 2e-6,
    ...rest,
  };
}

function lnBackward(shape, normalized_shape, { weight = true, attrs = {}, ...rest } = {}) {
  const lead = shape.slice(0, shape.length - normalized_shape.length);
  const inputs = [{ shape }, { shape }, { shape: lead }, { shape: lead, ...INVSTD }];
  if (weight) inputs.push({ shape: normalized_shape });
  return {
    op: 'layer_norm_backward',
    name: `layer_norm_backward [${shape}] over [${normalized_shape}] ${weight ? 'w' : 'no w'} ${JSON.stringify(attrs)}`,
    inputs,
    attrs: { normalized_shape, ...attrs },
    ref: layerNormBackwardRef,
    rtol: 1e-4,
    atol: 1e-5,
    ...rest,
  };
}

// ---- group_norm --------------------------------------------------------

// F.group_norm: channels split into num_groups consecutive groups; each
// (sample, group) normalised over its channels and trailing dims.
function groupRows(shape, G) {
  const [N, C, L] = ncl(shape);
  const D = (C / G) * L;
  return { N, C, L, G, D, rows: N * G, chan: (r, i) => (r % G) * (C / G) + Math.floor(i / L) };
}

function groupNormRef([x, w, b], attrs) {
  const eps = attrs.eps ?? 1e-5;
  const { G, D, rows, chan, N } = groupRows(x.shape, attrs.num_groups);
  const y = new Float64Array(x.data.length);
  const mu = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.data.slice(r * D, (r + 1) * D);
    mu[r] = mean(row);
    rstd[r] = 1 / Math.sqrt(mean(row.map((v) => (v - mu[r]) ** 2)) + eps);
    for (let i = 0; i < D; i++) {
      const c = chan(r, i);
      y[r * D + i] = (row[i] - mu[r]) * rstd[r] * (w ? w.data[c] : 1) + (b ? b.data[c] : 0);
    }
  }
  return [out(x.shape, y), out([N, G], mu), out([N, G], rstd)];
}

// aten native_group_norm_backward, per (sample, group) row as in layer_norm
// with g = dy w[c]; dweight[c] = sum(dy xhat), dbias[c] = sum(dy) over the channel.
function groupNormBackwardRef([dy, x, mu, rstd, w], attrs) {
  const mask = attrs.output_mask ?? [1, 1, 1];
  const { C, D, rows, chan } = groupRows(x.shape, attrs.num_groups);
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    const xhat = Array.from({ length: D }, (_, i) => (x.data[r * D + i] - mu.data[r]) * rstd.data[r]);
    const g = Array.from({ length: D }, (_, i) => dy.data[r * D + i] * (w ? w.data[chan(r, i)] : 1));
    const mg = mean(g);
    const mgx = mean(g.map((v, i) => v * xhat[i]));
    for (let i = 0; i < D; i++) {
      dx[r * D + i] = rstd.data[r] * (g[i] - mg - xhat[i] * mgx);
      dw[chan(r, i)] += dy.data[r * D + i] * xhat[i];
      db[chan(r, i)] += dy.data[r * D + i];
    }
  }
  return [mask[0] ? out(x.shape, dx) : empty(), mask[1] ? out([C], dw) : empty(), mask[2] ? out([C], db) : empty()];
}

function gn(shape, num_groups, { affine = 'both', attrs = {}, ...rest } = {}) {
  const inputs = [{ shape }];
  if (affine !== 'none') inputs.push({ shape: [shape[1]] });
  if (affine === 'both') inputs.push({ shape: [shape[1]] });
  return {
    op: 'group_norm',
    name: `group_norm [${shape}] groups ${num_groups} ${affine} ${JSON.stringify(attrs)}`,
    inputs,
    attrs: { num_groups, ...attrs },
    ref: groupNormRef,
    rtol: 1e-5,
    atol: 2e-6,
    ...rest,
  };
}

function gnBackward(shape, num_groups, { weight = true, attrs = {}, ...rest } = {}) {
  const stats = [shape[0], num_groups];
  const inputs = [{ shape }, { shape }, { shape: stats }, { shape: stats, ...INVSTD }];
  if (weight) inputs.push({ shape: [shape[1]] });
  return {
    op: 'group_norm_backward',
    name: `group_norm_backward [${shape}] groups ${num_groups} ${weight ? 'w' : 'no w'} ${JSON.stringify(attrs)}`,
    inputs,
    attrs: { num_groups, ...attrs },
    ref: groupNormBackwardRef,
    rtol: 1e-4,
    atol: 1e-5,
    ...rest,
  };
}

// d/dx of sum(g_mean mean + g_rstd rstd) for rows of D elements:
// mean = sum(x) / D, rstd = (sum((x - mean)^2) / D + eps)^-1/2.
function momentsBackwardRef([x, mu, rstd, gm, gr]) {
  const R = mu.data.length;
  const D = x.data.length / R;
  const dx = new Float64Array(x.data.length);
  for (let r = 0; r < R; r++) {
    const dVar = -0.5 * rstd.data[r] ** 3 * gr.data[r];
    for (let i = 0; i < D; i++) dx[r * D + i] = gm.data[r] / D + (2 * dVar * (x.data[r * D + i] - mu.data[r])) / D;
  }
  return [out(x.shape, dx)];
}

export default [
  // batch_norm: BatchNorm2d (N, C, H, W), BatchNorm1d (N, C) and (N, C, L),
  // training and eval, frozen (use_running_stats), with and without affine.
  bn([3, 2, 2, 3], { grad: true }),
  bn([2, 3, 2, 3], { affine: 'none', grad: true }),
  bn([5, 4], { grad: true }),
  bn([4, 3, 5], { affine: 'weight', grad: true }),
  bn([3, 2, 2, 3], { training: false, grad: true }),
  bn([5, 4], { training: false, affine: 'none', grad: true }),
  bn([4, 3, 5], { attrs: { use_running_stats: true }, grad: true }),
  bn([4, 3, 5], { training: false, attrs: { use_batch_stats: true }, grad: true }),
  bn([3, 2, 2, 3], { attrs: { use_batch_stats: true }, grad: true }),
  bn([2, 3, 3], { attrs: { momentum: 0.3, eps: 1e-3 }, grad: true }),
  bn([2, 2, 1, 1], { grad: true }),
  bn([7, 5, 9, 11]),
  bn([7, 5, 9, 11], { training: false }),
  bn([33, 7, 13, 11], { name: 'batch_norm 2d, several batch parts and channel blocks' }),
  bn([5000, 7], { name: 'batch_norm 1d (N, C), several batch parts' }),
  bn([2, 40, 500], { attrs: { momentum: 0.5 }, name: 'batch_norm (N, C, L), few samples, many channel blocks' }),
  {
    ...bn([6, 3, 7]),
    name: 'batch_norm with |mean| >> std (the shifted sums keep the variance)',
    inputs: [{ shape: [6, 3, 7], range: [1000, 1001] }, { shape: [3] }, { shape: [3], ...RUN_VAR }],
    rtol: 1e-4,
    atol: 2e-3,
  },

  bnBackward([4, 3, 5]),
  bnBackward([3, 2, 2, 3], { weight: false }),
  bnBackward([6, 5]),
  bnBackward([4, 3, 5], { training: false }),
  bnBackward([6, 5], { training: false, weight: false }),
  bnBackward([4, 3, 5], { attrs: { use_running_stats: true } }),
  bnBackward([4, 3, 5], { training: false, attrs: { use_batch_stats: true } }),
  bnBackward([4, 3, 5], { attrs: { output_mask: [0, 1, 1] } }),
  bnBackward([4, 3, 5], { attrs: { output_mask: [1, 0, 0] } }),
  bnBackward([4, 3, 5], { training: false, attrs: { output_mask: [1, 0, 1] } }),
  bnBackward([33, 7, 13, 11]),
  bnBackward([5000, 7]),

  bnStats([4, 3, 5]),
  bnStats([4, 3, 5], { training: false, attrs: { use_batch_stats: true } }),
  bnStats([6, 5], { attrs: { momentum: 0.25 } }),
  bnStats([4, 3, 5], { training: false }),
  bnStats([4, 3, 5], { attrs: { use_running_stats: true } }),

  // layer_norm over 1 and 2 trailing dims, with and without affine.
  ln([2, 3, 4], [4], { grad: true }),
  ln([2, 3, 4], [3, 4], { grad: true }),
  ln([3, 5], [5], { affine: 'none', grad: true }),
  ln([2, 3, 5], [5], { affine: 'weight', grad: true }),
  ln([3, 4], [3, 4], { grad: true }),
  ln([4, 7], [7], { attrs: { eps: 0.1 }, grad: true }),
  ln([5, 7, 33], [33]),
  ln([3, 5, 7, 9], [7, 9], { affine: 'none' }),
  ln([64, 515], [515]),
  {
    ...ln([6, 37], [37]),
    name: 'layer_norm with |mean| >> std',
    inputs: [{ shape: [6, 37], range: [1000, 1001] }, { shape: [37] }, { shape: [37] }],
    rtol: 1e-4,
    atol: 2e-3,
  },

  lnBackward([2, 3, 4], [4]),
  lnBackward([2, 3, 4], [3, 4], { weight: false }),
  lnBackward([5, 33], [33]),
  lnBackward([5, 33], [33], { attrs: { output_mask: [1, 0, 0] } }),
  lnBackward([5, 33], [33], { attrs: { output_mask: [0, 1, 1] } }),
  lnBackward([5, 33], [33], { attrs: { output_mask: [0, 0, 1] }, weight: false }),
  lnBackward([200, 333], [333], { name: 'layer_norm_backward, several row parts' }),

  // group_norm with 1, 2 and C groups, trailing dims or none.
  gn([2, 4, 3], 1, { grad: true }),
  gn([2, 4, 3], 2, { grad: true }),
  gn([2, 4, 3], 4, { grad: true }),
  gn([3, 6], 3, { grad: true }),
  gn([2, 6, 2, 2], 3, { affine: 'none', grad: true }),
  gn([2, 4, 5], 2, { affine: 'weight', attrs: { eps: 0.01 }, grad: true }),
  gn([3, 10, 7, 5], 5),
  gn([2, 9, 11], 3, { affine: 'none' }),
  gn([1, 4, 100, 100], 1, { name: 'group_norm with rows summed in segments' }),
  {
    ...gn([3, 6, 11], 2),
    name: 'group_norm with |mean| >> std',
    inputs: [{ shape: [3, 6, 11], range: [1000, 1001] }, { shape: [6] }, { shape: [6] }],
    rtol: 1e-4,
    atol: 2e-3,
  },

  gnBackward([2, 4, 3], 2),
  gnBackward([2, 4, 3], 4, { weight: false }),
  gnBackward([3, 6], 3),
  gnBackward([3, 10, 7, 5], 5),
  gnBackward([2, 6, 5], 1, { attrs: { output_mask: [0, 1, 1] } }),
  gnBackward([2, 6, 5], 3, { attrs: { output_mask: [1, 0, 0] } }),

  {
    op: 'moments_backward',
    name: 'moments_backward, layer_norm rows',
    inputs: [{ shape: [3, 4, 5] }, { shape: [3, 4] }, { shape: [3, 4], ...INVSTD }, { shape: [3, 4] }, { shape: [3, 4] }],
    ref: momentsBackwardRef,
    rtol: 1e-4,
    atol: 1e-5,
  },
  {
    op: 'moments_backward',
    name: 'moments_backward, group_norm rows',
    inputs: [{ shape: [2, 6, 3] }, { shape: [2, 3] }, { shape: [2, 3], ...INVSTD }, { shape: [2, 3] }, { shape: [2, 3] }],
    ref: momentsBackwardRef,
    rtol: 1e-4,
    atol: 1e-5,
  },
];

export const errors = [
  {
    op: 'batch_norm',
    inputs: [{ shape: [4] }, { shape: [4] }, { shape: [4] }],
    code: 'ERR_TG_SHAPE',
    message: 'x must have shape (N, C, ...), got (4,)',
  },
  {
    op: 'batch_norm',
    inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [3] }],
    code: 'ERR_TG_SHAPE',
    message: 'running_mean has shape (4,) but must be (3,)',
  },
  {
    op: 'batch_norm',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3] }, { shape: [3] }, { shape: [3] }, { shape: [2] }],
    code: 'ERR_TG_SHAPE',
    message: 'bias has shape (2,) but must be (3,)',
  },
  {
    op: 'batch_norm',
    inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [3] }],
    attrs: { momentum: 1.5 },
    code: 'ERR_TG_ARG',
    message: "attribute 'momentum' must be in [0, 1], got 1.5",
  },
  {
    op: 'batch_norm',
    inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [3] }],
    attrs: { use_running_stats: true, use_batch_stats: true },
    code: 'ERR_TG_ARG',
    message: "'use_running_stats' and 'use_batch_stats' cannot both be true",
  },
  {
    op: 'batch_norm',
    inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [3] }],
    attrs: { eps: -1 },
    code: 'ERR_TG_ARG',
    message: "attribute 'eps' must be >= 0, got -1",
  },
  {
    op: 'batch_norm',
    inputs: [{ shape: [1, 3, 1] }, { shape: [3] }, { shape: [3] }],
    code: 'ERR_TG_SHAPE',
    message: 'needs more than 1 value per channel, got x of shape (1, 3, 1)',
  },
  {
    op: 'batch_norm_backward',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [3] }, { shape: [3] }],
    attrs: { output_mask: [1, 1] },
    code: 'ERR_TG_ARG',
    message: "attribute 'output_mask' must be 3 flags",
  },
  {
    op: 'batch_norm_backward',
    inputs: [{ shape: [2, 4] }, { shape: [2, 3] }, { shape: [3] }, { shape: [3] }],
    code: 'ERR_TG_SHAPE',
    message: 'dy has shape (2, 4) but x has shape (2, 3)',
  },
  {
    op: 'layer_norm',
    inputs: [{ shape: [2, 3, 4] }],
    attrs: { normalized_shape: [3] },
    code: 'ERR_TG_SHAPE',
    message: 'normalized_shape (3,) must match the last dims of x, which has shape (2, 3, 4)',
  },
  {
    op: 'layer_norm',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }],
    attrs: { normalized_shape: [4] },
    code: 'ERR_TG_SHAPE',
    message: 'weight has shape (3, 4) but must be (4,)',
  },
  {
    op: 'layer_norm',
    inputs: [{ shape: [2, 3] }],
    code: 'ERR_TG_ARG',
    message: 'normalized_shape',
  },
  {
    op: 'group_norm',
    inputs: [{ shape: [2, 6, 3] }],
    attrs: { num_groups: 4 },
    code: 'ERR_TG_SHAPE',
    message: 'num_groups 4 must divide the 6 channels of x',
  },
  {
    op: 'group_norm',
    inputs: [{ shape: [2, 6, 3] }],
    attrs: { num_groups: 0 },
    code: 'ERR_TG_ARG',
    message: "attribute 'num_groups' must be positive, got 0",
  },
  {
    op: 'group_norm_backward',
    inputs: [{ shape: [2, 6, 3] }, { shape: [2, 6, 3] }, { shape: [2, 2] }, { shape: [2, 3] }],
    attrs: { num_groups: 3 },
    code: 'ERR_TG_SHAPE',
    message: 'mean has shape (2, 2) but must be (2, 3)',
  },
  {
    op: 'moments_backward',
    inputs: [{ shape: [2, 5] }, { shape: [3] }, { shape: [3] }, { shape: [3] }, { shape: [3] }],
    code: 'ERR_TG_SHAPE',
    message: 'mean has 3 elements, which must split x of shape (2, 5) into equal rows',
  },
];
