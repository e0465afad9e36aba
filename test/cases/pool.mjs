// max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d and their
// backward ops, against float64 references written from PyTorch's definitions
// (pooling_output_shape, the pooling windows of its CPU kernels, the adaptive
// bins floor(i * H / oh) .. ceil((i + 1) * H / oh)).
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const pair = (v, fallback) => (v === undefined || (Array.isArray(v) && v.length === 0) ? fallback : Array.isArray(v) ? [v[0], v[v.length - 1]] : [v, v]);

// PyTorch's pooling_output_shape.
function outSize(n, k, s, p, d, ceil) {
  let o = Math.floor((n + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

function geometry(shape, attrs) {
  const k = pair(attrs.kernel_size);
  const s = pair(attrs.stride, k);
  const p = pair(attrs.padding, [0, 0]);
  const d = pair(attrs.dilation, [1, 1]);
  const [H, W] = shape.slice(-2);
  const planes = numel(shape.slice(0, -2));
  const OH = outSize(H, k[0], s[0], p[0], d[0], attrs.ceil_mode);
  const OW = outSize(W, k[1], s[1], p[1], d[1], attrs.ceil_mode);
  return { k, s, p, d, H, W, planes, OH, OW, outShape: [...shape.slice(0, -2), OH, OW] };
}

// Max over the dilated taps inside the input: first maximum in row-major
// order, a NaN wins; the index is h * W + w in the plane.
function maxPool([x], attrs) {
  const { k, s, p, d, H, W, planes, OH, OW, outShape } = geometry(x.shape, attrs);
  const y = new Float64Array(planes * OH * OW);
  const idx = [];
  for (let c = 0; c < planes; c++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let i = 0; i < k[0]; i++) {
          const h = oh * s[0] - p[0] + i * d[0];
          if (h < 0 || h >= H) continue;
          for (let j = 0; j < k[1]; j++) {
            const w = ow * s[1] - p[1] + j * d[1];
            if (w < 0 || w >= W) continue;
            const v = x.data[(c * H + h) * W + w];
            if (at < 0 || v > best || Number.isNaN(v)) {
              best = v;
              at = h * W + w;
            }
          }
        }
        y[(c * OH + oh) * OW + ow] = best;
        idx.push(at);
      }
    }
  }
  return [{ shape: outShape, data: y }, { shape: outShape, data: idx }];
}

// The windows of an average pool per output as [h0, h1, w0, w1, divisor]:
// count_include_pad counts the window clipped to the padded input.
function avgWindows(shape, attrs) {
  const g = geometry(shape, attrs);
  const { k, s, p, H, W, OH, OW } = g;
  const include = attrs.count_include_pad ?? true;
  const windows = [];
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      let h0 = oh * s[0] - p[0];
      let w0 = ow * s[1] - p[1];
      let h1 = Math.min(h0 + k[0], H + p[0]);
      let w1 = Math.min(w0 + k[1], W + p[1]);
      const padded = (h1 - h0) * (w1 - w0);
      h0 = Math.max(h0, 0);
      w0 = Math.max(w0, 0);
      h1 = Math.min(h1, H);
      w1 = Math.min(w1, W);
      const div = attrs.divisor_override ?? (include ? padded : (h1 - h0) * (w1 - w0));
      windows.push([h0, h1, w0, w1, div]);
    }
  }
  return { ...g, windows };
}

function adaptiveWindows(shape, outHW) {
  const [H, W] = shape.slice(-2);
  const [OH, OW] = outHW;
  const windows = [];
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const h0 = Math.floor((oh * H) / OH);
      const h1 = Math.ceil(((oh + 1) * H) / OH);
      const w0 = Math.floor((ow * W) / OW);
      const w1 = Math.ceil(((ow + 1) * W) / OW);
      windows.push([h0, h1, w0, w1, (h1 - h0) * (w1 - w0)]);
    }
  }
  return { H, W, planes: numel(shape.slice(0, -2)), OH, OW, outShape: [...shape.slice(0, -2), OH, OW], windows };
}

// y = window sums / divisor.
function windowMean(x, { H, W, planes, outShape, windows }) {
  const n = windows.length;
  const y = new Float64Array(planes * n);
  for (let c = 0; c < planes; c++) {
    windows.forEach(([h0, h1, w0, w1, div], o) => {
      let sum = 0;
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += x.data[(c * H + h) * W + w];
      y[c * n + o] = sum / div;
    });
  }
  return [{ shape: outShape, data: y }];
}

// The adjoint: dx[h, w] = sum over windows holding (h, w) of dy / divisor.
function windowMeanBackward(dy, inShape, { H, W, planes, windows }) {
  const n = windows.length;
  const dx = new Float64Array(planes * H * W);
  for (let c = 0; c < planes; c++) {
    windows.forEach(([h0, h1, w0, w1, div], o) => {
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) dx[(c * H + h) * W + w] += dy.data[c * n + o] / div;
    });
  }
  return [{ shape: inShape, data: dx }];
}

const avgPool = ([x], attrs) => windowMean(x, avgWindows(x.shape, attrs));
const avgPoolBackward = ([dy], attrs) => windowMeanBackward(dy, attrs.input_shape, avgWindows(attrs.input_shape, attrs));
const adaptiveAvg = ([x], attrs) => windowMean(x, adaptiveWindows(x.shape, pair(attrs.output_size)));
const adaptiveAvgBackward = ([dy], attrs) =>
  windowMeanBackward(dy, attrs.input_shape, adaptiveWindows(attrs.input_shape, dy.shape.slice(-2)));

function adaptiveMax([x], attrs) {
  const { H, W, planes, outShape, windows } = adaptiveWindows(x.shape, pair(attrs.output_size));
  const y = new Float64Array(planes * windows.length);
  const idx = [];
  for (let c = 0; c < planes; c++) {
    windows.forEach(([h0, h1, w0, w1], o) => {
      let best = -Infinity;
      let at = -1;
      for (let h = h0; h < h1; h++) {
        for (let w = w0; w < w1; w++) {
          const v = x.data[(c * H + h) * W + w];
          if (at < 0 || v > best || Number.isNaN(v)) {
            best = v;
            at = h * W + w;
          }
        }
      }
      y[c * windows.length + o] = best;
      idx.push(at);
    });
  }
  return [{ shape: outShape, data: y }, { shape: outShape, data: idx }];
}

// dx[plane][indices] += dy.
function maxPoolBackward([dy, indices], { input_shape }) {
  const [H, W] = input_shape.slice(-2);
  const planes = numel(input_shape.slice(0, -2));
  const per = dy.data.length / planes;
  const dx = new Float64Array(planes * H * W);
  for (let c = 0; c < planes; c++) for (let j = 0; j < per; j++) dx[c * H * W + indices.data[c * per + j]] += dy.data[c * per + j];
  return [{ shape: input_shape, data: dx }];
}

// Distinct values a tenth apart in a seeded order: no ties for the max within
// any finite-difference step.
function distinct(n, seed) {
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}
const tieFree = (shape, seed) => ({ shape, values: distinct(numel(shape), seed) });

const NAN_ROW = [1, NaN, 3, 0.5, NaN, 2, -1, 4, 0];

export default [
  // max_pool2d
  { op: 'max_pool2d', name: 'max_pool2d resnet stem k3 s2 p1', inputs: [{ shape: [2, 3, 12, 11] }], attrs: { kernel_size: 3, stride: 2, padding: 1 }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d k3 s2 p1 grad', inputs: [tieFree([1, 2, 5, 5], 1)], attrs: { kernel_size: 3, stride: 2, padding: 1 }, ref: maxPool, grad: true },
  { op: 'max_pool2d', name: 'max_pool2d k2 default stride', inputs: [{ shape: [1, 2, 6, 7] }], attrs: { kernel_size: 2 }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d 1-element list kernel, 3-D input', inputs: [{ shape: [3, 7, 7] }], attrs: { kernel_size: [3], stride: [2] }, ref: maxPool },
  // 6 -> 2 floor, 3 ceil; 7 -> 3 either way except the last-window rule.
  { op: 'max_pool2d', name: 'max_pool2d ceil_mode grows the output', inputs: [{ shape: [1, 2, 6, 6] }], attrs: { kernel_size: 3, stride: 2, ceil_mode: true }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d ceil_mode false', inputs: [{ shape: [1, 2, 6, 6] }], attrs: { kernel_size: 3, stride: 2 }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d ceil_mode grad', inputs: [tieFree([1, 2, 6, 5], 2)], attrs: { kernel_size: 2, stride: 2, ceil_mode: true }, ref: maxPool, grad: true },
  // H 5, k 2, s 2, p 1: ceil gives 4 windows, but the 4th would start past the input and padding.
  { op: 'max_pool2d', name: 'max_pool2d ceil_mode last window dropped', inputs: [{ shape: [1, 1, 5, 5] }], attrs: { kernel_size: 2, stride: 2, padding: 1, ceil_mode: true }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d dilation 2', inputs: [{ shape: [2, 2, 9, 8] }], attrs: { kernel_size: 3, stride: 1, padding: 1, dilation: 2 }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d dilation 2 grad', inputs: [tieFree([1, 1, 7, 7], 3)], attrs: { kernel_size: 2, stride: 2, padding: 1, dilation: 2, ceil_mode: true }, ref: maxPool, grad: true },
  { op: 'max_pool2d', name: 'max_pool2d rectangular attrs', inputs: [{ shape: [1, 2, 9, 10] }], attrs: { kernel_size: [3, 2], stride: [2, 3], padding: [1, 0], dilation: [1, 2] }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d NaN wins, ties take the first', inputs: [{ shape: [1, 1, 3, 3], values: NAN_ROW }, ], attrs: { kernel_size: 2, stride: 1 }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d ties', inputs: [{ shape: [1, 1, 2, 4], values: [1, 1, 2, 2, 1, 1, 2, 2] }], attrs: { kernel_size: 2 }, ref: maxPool },
  { op: 'max_pool2d', name: 'max_pool2d large (many threads)', inputs: [{ shape: [4, 16, 33, 34] }], attrs: { kernel_size: 3, stride: 2, padding: 1 }, ref: maxPool },

  {
    op: 'max_pool2d_backward',
    name: 'max_pool2d_backward scatter with repeats',
    inputs: [{ shape: [2, 3, 2, 3] }, { shape: [2, 3, 2, 3], dtype: 'i64', range: [0, 20] }],
    attrs: { input_shape: [2, 3, 4, 5] },
    ref: maxPoolBackward,
  },
  {
    op: 'max_pool2d_backward',
    name: 'max_pool2d_backward 3-D',
    inputs: [{ shape: [2, 1, 2] }, { shape: [2, 1, 2], dtype: 'i64', values: [0, 0, 3, 5] }],
    attrs: { input_shape: [2, 2, 3] },
    ref: maxPoolBackward,
  },

  // avg_pool2d
  { op: 'avg_pool2d', name: 'avg_pool2d k3 s2 p1', inputs: [{ shape: [2, 3, 9, 8] }], attrs: { kernel_size: 3, stride: 2, padding: 1 }, ref: avgPool },
  { op: 'avg_pool2d', name: 'avg_pool2d k3 s2 p1 grad', inputs: [{ shape: [1, 2, 5, 6] }], attrs: { kernel_size: 3, stride: 2, padding: 1 }, ref: avgPool, grad: true },
  { op: 'avg_pool2d', name: 'avg_pool2d count_include_pad false', inputs: [{ shape: [1, 2, 7, 6] }], attrs: { kernel_size: 3, stride: 2, padding: 1, count_include_pad: false }, ref: avgPool, grad: true },
  { op: 'avg_pool2d', name: 'avg_pool2d ceil_mode include pad', inputs: [{ shape: [1, 2, 6, 7] }], attrs: { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }, ref: avgPool, grad: true },
  { op: 'avg_pool2d', name: 'avg_pool2d ceil_mode exclude pad', inputs: [{ shape: [1, 2, 6, 7] }], attrs: { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false }, ref: avgPool },
  { op: 'avg_pool2d', name: 'avg_pool2d ceil_mode no padding', inputs: [{ shape: [1, 2, 6, 6] }], attrs: { kernel_size: 3, stride: 2, ceil_mode: true }, ref: avgPool },
  { op: 'avg_pool2d', name: 'avg_pool2d divisor_override', inputs: [{ shape: [1, 2, 5, 5] }], attrs: { kernel_size: 2, stride: 2, padding: 1, divisor_override: 3 }, ref: avgPool, grad: true },
  { op: 'avg_pool2d', name: 'avg_pool2d rectangular, 3-D', inputs: [{ shape: [3, 8, 9] }], attrs: { kernel_size: [2, 3], stride: [1, 2], padding: [1, 1] }, ref: avgPool },
  { op: 'avg_pool2d', name: 'avg_pool2d large', inputs: [{ shape: [4, 16, 32, 33] }], attrs: { kernel_size: 2 }, ref: avgPool },

  { op: 'avg_pool2d_backward', name: 'avg_pool2d_backward k3 s2 p1', inputs: [{ shape: [2, 3, 5, 4] }], attrs: { input_shape: [2, 3, 9, 8], kernel_size: 3, stride: 2, padding: 1 }, ref: avgPoolBackward },
  {
    op: 'avg_pool2d_backward',
    name: 'avg_pool2d_backward ceil_mode exclude pad',
    inputs: [{ shape: [1, 2, 4, 4] }],
    attrs: { input_shape: [1, 2, 6, 7], kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false },
    ref: avgPoolBackward,
  },
  { op: 'avg_pool2d_backward', name: 'avg_pool2d_backward divisor_override', inputs: [{ shape: [1, 2, 3, 3] }], attrs: { input_shape: [1, 2, 5, 5], kernel_size: 2, stride: 2, padding: 1, divisor_override: 3 }, ref: avgPoolBackward },

  // adaptive
  { op: 'adaptive_avg_pool2d', name: 'adaptive_avg_pool2d 7x5 -> 3x2', inputs: [{ shape: [2, 3, 7, 5] }], attrs: { output_size: [3, 2] }, ref: adaptiveAvg },
  { op: 'adaptive_avg_pool2d', name: 'adaptive_avg_pool2d 7x5 -> 3x2 grad', inputs: [{ shape: [1, 1, 7, 5] }], attrs: { output_size: [3, 2] }, ref: adaptiveAvg, grad: true },
  { op: 'adaptive_avg_pool2d', name: 'adaptive_avg_pool2d global (1x1)', inputs: [{ shape: [3, 8, 7, 7] }], attrs: { output_size: 1 }, ref: adaptiveAvg },
  { op: 'adaptive_avg_pool2d', name: 'adaptive_avg_pool2d global grad', inputs: [{ shape: [2, 2, 3, 4] }], attrs: { output_size: [1, 1] }, ref: adaptiveAvg, grad: true },
  { op: 'adaptive_avg_pool2d', name: 'adaptive_avg_pool2d upsizing 3 -> 5', inputs: [{ shape: [1, 2, 3, 3] }], attrs: { output_size: [5, 4] }, ref: adaptiveAvg, grad: true },
  { op: 'adaptive_avg_pool2d', name: 'adaptive_avg_pool2d 3-D large', inputs: [{ shape: [64, 14, 13] }], attrs: { output_size: [6, 5] }, ref: adaptiveAvg },
  { op: 'adaptive_avg_pool2d_backward', name: 'adaptive_avg_pool2d_backward 7x5 -> 3x2', inputs: [{ shape: [2, 3, 3, 2] }], attrs: { input_shape: [2, 3, 7, 5] }, ref: adaptiveAvgBackward },
  { op: 'adaptive_avg_pool2d_backward', name: 'adaptive_avg_pool2d_backward global', inputs: [{ shape: [2, 3, 1, 1] }], attrs: { input_shape: [2, 3, 4, 5] }, ref: adaptiveAvgBackward },

  { op: 'adaptive_max_pool2d', name: 'adaptive_max_pool2d 7x5 -> 3x2', inputs: [{ shape: [2, 3, 7, 5] }], attrs: { output_size: [3, 2] }, ref: adaptiveMax },
  { op: 'adaptive_max_pool2d', name: 'adaptive_max_pool2d 5 -> 2 grad', inputs: [tieFree([1, 2, 5, 5], 4)], attrs: { output_size: 2 }, ref: adaptiveMax, grad: true },
  { op: 'adaptive_max_pool2d', name: 'adaptive_max_pool2d global, NaN', inputs: [{ shape: [1, 1, 3, 3], values: NAN_ROW }], attrs: { output_size: 1 }, ref: adaptiveMax },
];

export const errors = [
  { op: 'max_pool2d', inputs: [{ shape: [2, 3, 4] }], attrs: {}, code: 'ERR_TG_ARG', message: "attribute 'kernel_size' is required" },
  { op: 'max_pool2d', inputs: [{ shape: [4, 4] }], attrs: { kernel_size: 2 }, code: 'ERR_TG_SHAPE', message: 'x must have shape (N, C, H, W) or (C, H, W), got (4, 4)' },
  { op: 'max_pool2d', inputs: [{ shape: [1, 1, 4, 4] }], attrs: { kernel_size: [2, 2, 2] }, code: 'ERR_TG_ARG', message: "attribute 'kernel_size' must be an integer or a pair of integers, got 3 values" },
  { op: 'max_pool2d', inputs: [{ shape: [1, 1, 4, 4] }], attrs: { kernel_size: 3, padding: 2 }, code: 'ERR_TG_ARG', message: "attribute 'padding' (2, 2) must be non-negative and at most half of kernel_size (3, 3)" },
  { op: 'max_pool2d', inputs: [{ shape: [1, 1, 4, 4] }], attrs: { kernel_size: 2, stride: 0 }, code: 'ERR_TG_ARG', message: "attribute 'stride' must be positive, got (0, 0)" },
  { op: 'max_pool2d', inputs: [{ shape: [1, 1, 2, 5] }], attrs: { kernel_size: 3 }, code: 'ERR_TG_SHAPE', message: 'input of size (2, 5) is too small' },
  { op: 'max_pool2d', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { kernel_size: 2, padding: 1, dilation: 3 }, code: 'ERR_TG_ARG', message: 'window along H covers only padding' },
  { op: 'max_pool2d', inputs: [{ shape: [1, 1, 4, 4], dtype: 'i32' }], attrs: { kernel_size: 2 }, code: 'ERR_TG_DTYPE', message: 'x must be f32, got i32' },
  { op: 'avg_pool2d', inputs: [{ shape: [1, 1, 4, 4] }], attrs: { kernel_size: 2, divisor_override: 0 }, code: 'ERR_TG_ARG', message: "attribute 'divisor_override' must not be zero" },
  { op: 'avg_pool2d_backward', inputs: [{ shape: [1, 1, 3, 3] }], attrs: { input_shape: [1, 1, 4, 4], kernel_size: 2 }, code: 'ERR_TG_SHAPE', message: 'dy has shape (1, 1, 3, 3) but pooling input_shape (1, 1, 4, 4) gives (1, 1, 2, 2)' },
  { op: 'max_pool2d_backward', inputs: [{ shape: [1, 1, 2, 2] }, { shape: [1, 1, 2, 2], dtype: 'i32' }], attrs: { input_shape: [1, 1, 4, 4] }, code: 'ERR_TG_DTYPE', message: 'indices must be i64, got i32' },
  { op: 'max_pool2d_backward', inputs: [{ shape: [1, 2, 2, 2] }, { shape: [1, 2, 2, 2], dtype: 'i64' }], attrs: { input_shape: [1, 1, 4, 4] }, code: 'ERR_TG_SHAPE', message: 'needs the same leading dims' },
  { op: 'max_pool2d_backward', inputs: [{ shape: [1, 1, 1, 2] }, { shape: [1, 1, 1, 2], dtype: 'i64', values: [3, 16] }], attrs: { input_shape: [1, 1, 4, 4] }, code: 'ERR_TG_ARG', message: 'indices holds 16, outside a plane of 16 elements' },
  { op: 'adaptive_avg_pool2d', inputs: [{ shape: [1, 1, 4, 4] }], attrs: { output_size: [0, 2] }, code: 'ERR_TG_ARG', message: "attribute 'output_size' must be positive, got (0, 2)" },
  { op: 'adaptive_max_pool2d', inputs: [{ shape: [1, 1, 0, 4] }], attrs: { output_size: 2 }, code: 'ERR_TG_SHAPE', message: 'x must have non-empty H and W' },
  { op: 'adaptive_avg_pool2d_backward', inputs: [{ shape: [1, 2, 2, 2] }], attrs: { input_shape: [1, 1, 4, 4] }, code: 'ERR_TG_SHAPE', message: 'needs the same leading dims' },
];
