// upsample (F.interpolate, modes 'nearest' and 'bilinear') and
// upsample_backward, against float64 references written from PyTorch 1.13's
// definitions: output size floor(in * scale_factor) or `size`; source scale
// 1 / scale_factor when given, else in / out, or (in - 1) / (out - 1) with
// align_corners ('nearest': floor(o * scale), as PyTorch's NCHW kernel); the
// source coordinate and weights are computed in float, as PyTorch does for f32
// tensors (Math.fround below).
const f = Math.fround;
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const pair = (v) => (Array.isArray(v) ? [v[0], v[v.length - 1]] : [v, v]);

// Per output index along a dim: [[input index, weight], ...].
function taps(inSize, outSize, scaleFactor, mode, alignCorners) {
  const given = scaleFactor ? f(1 / scaleFactor) : f(inSize / outSize);
  const out = [];
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      out.push([[Math.min(Math.floor(f(o * given)), inSize - 1), 1]]);
      continue;
    }
    if (outSize === inSize) {
      out.push([[o, 1]]);
      continue;
    }
    const scale = alignCorners ? (outSize > 1 ? f((inSize - 1) / (outSize - 1)) : 0) : given;
    const src = alignCorners ? f(scale * o) : Math.max(f(f(scale * (o + 0.5)) - 0.5), 0);
    const i0 = Math.floor(src);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const l1 = Math.min(Math.max(f(src - i0), 0), 1);
    out.push([[i0, f(1 - l1)], [i1, l1]]);
  }
  return out;
}

// The resize as a linear map: per output element of a plane, its taps.
function resizeMap(inShape, attrs) {
  const [H, W] = inShape.slice(-2);
  const mode = attrs.mode ?? 'nearest';
  let OH;
  let OW;
  let sh;
  let sw;
  if (attrs.size !== undefined) {
    [OH, OW] = pair(attrs.size);
  } else {
    [sh, sw] = pair(attrs.scale_factor);
    OH = Math.floor(H * sh);
    OW = Math.floor(W * sw);
  }
  const th = taps(H, OH, sh, mode, attrs.align_corners);
  const tw = taps(W, OW, sw, mode, attrs.align_corners);
  const plane = [];
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const t = [];
      for (const [h, a] of th[oh]) for (const [w, b] of tw[ow]) t.push([h * W + w, a * b]);
      plane.push(t);
    }
  }
  return { planes: numel(inShape.slice(0, -2)), inPlane: H * W, plane, outShape: [...inShape.slice(0, -2), OH, OW] };
}

function upsample([x], attrs) {
  const { planes, inPlane, plane, outShape } = resizeMap(x.shape, attrs);
  const y = new Float64Array(planes * plane.length);
  for (let c = 0; c < planes; c++) {
    plane.forEach((t, o) => {
      for (const [i, w] of t) y[c * plane.length + o] += w * x.data[c * inPlane + i];
    });
  }
  return [{ shape: outShape, data: y }];
}

// The adjoint of the same map.
function upsampleBackward([dy], attrs) {
  const { planes, inPlane, plane } = resizeMap(attrs.input_shape, attrs);
  const dx = new Float64Array(planes * inPlane);
  for (let c = 0; c < planes; c++) {
    plane.forEach((t, o) => {
      for (const [i, w] of t) dx[c * inPlane + i] += w * dy.data[c * plane.length + o];
    });
  }
  return [{ shape: attrs.input_shape, data: dx }];
}

const bilinear = (extra) => ({ mode: 'bilinear', ...extra });

export default [
  // nearest
  { op: 'upsample', name: 'nearest x2', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { scale_factor: 2 }, ref: upsample, grad: true },
  { op: 'upsample', name: 'nearest x2 explicit mode, list', inputs: [{ shape: [1, 2, 3, 3] }], attrs: { scale_factor: [2, 2], mode: 'nearest' }, ref: upsample },
  { op: 'upsample', name: 'nearest to an odd size', inputs: [{ shape: [1, 2, 3, 4] }], attrs: { size: [7, 9] }, ref: upsample, grad: true },
  { op: 'upsample', name: 'nearest scale 1.5 uses 1 / scale', inputs: [{ shape: [1, 2, 5, 7] }], attrs: { scale_factor: 1.5 }, ref: upsample, grad: true },
  { op: 'upsample', name: 'nearest scale 2.6 uses 1 / scale', inputs: [{ shape: [1, 1, 4, 5] }], attrs: { scale_factor: 2.6 }, ref: upsample, grad: true },
  { op: 'upsample', name: 'nearest scale (1.1, 2.03) still uses 1 / scale at the same / double size', inputs: [{ shape: [1, 2, 5, 6] }], attrs: { scale_factor: [1.1, 2.03] }, ref: upsample },
  { op: 'upsample', name: 'nearest scale (1.5, 3), 3-D', inputs: [{ shape: [2, 5, 3] }], attrs: { scale_factor: [1.5, 3] }, ref: upsample },
  { op: 'upsample', name: 'nearest down to 3x2', inputs: [{ shape: [1, 1, 7, 5] }], attrs: { size: [3, 2] }, ref: upsample, grad: true },
  { op: 'upsample', name: 'nearest large', inputs: [{ shape: [4, 16, 17, 18] }], attrs: { scale_factor: 2 }, ref: upsample },
  // bilinear
  { op: 'upsample', name: 'bilinear x2', inputs: [{ shape: [2, 3, 4, 5] }], attrs: bilinear({ scale_factor: 2 }), ref: upsample },
  { op: 'upsample', name: 'bilinear x2 grad', inputs: [{ shape: [1, 2, 3, 4] }], attrs: bilinear({ scale_factor: 2 }), ref: upsample, grad: true },
  { op: 'upsample', name: 'bilinear x2 align_corners', inputs: [{ shape: [1, 2, 3, 4] }], attrs: bilinear({ scale_factor: 2, align_corners: true }), ref: upsample, grad: true },
  { op: 'upsample', name: 'bilinear to an odd size', inputs: [{ shape: [1, 2, 3, 4] }], attrs: bilinear({ size: [7, 5] }), ref: upsample, grad: true },
  { op: 'upsample', name: 'bilinear to an odd size align_corners', inputs: [{ shape: [1, 2, 3, 4] }], attrs: bilinear({ size: [7, 5], align_corners: true }), ref: upsample, grad: true },
  { op: 'upsample', name: 'bilinear scale 1.5 uses 1 / scale', inputs: [{ shape: [1, 2, 5, 3] }], attrs: bilinear({ scale_factor: 1.5 }), ref: upsample, grad: true },
  { op: 'upsample', name: 'bilinear scale (2.5, 1.75) align_corners', inputs: [{ shape: [2, 3, 4] }], attrs: bilinear({ scale_factor: [2.5, 1.75], align_corners: true }), ref: upsample },
  { op: 'upsample', name: 'bilinear downsample', inputs: [{ shape: [1, 2, 9, 8] }], attrs: bilinear({ size: [4, 3] }), ref: upsample, grad: true },
  { op: 'upsample', name: 'bilinear same size copies (scale 1.1)', inputs: [{ shape: [1, 2, 5, 6] }], attrs: bilinear({ scale_factor: 1.1 }), ref: upsample },
  { op: 'upsample', name: 'bilinear to 1x1 align_corners', inputs: [{ shape: [1, 2, 3, 4] }], attrs: bilinear({ size: 1, align_corners: true }), ref: upsample },
  { op: 'upsample', name: 'bilinear large', inputs: [{ shape: [4, 16, 17, 18] }], attrs: bilinear({ scale_factor: 2 }), ref: upsample },

  { op: 'upsample_backward', name: 'upsample_backward nearest to odd size', inputs: [{ shape: [2, 3, 7, 9] }], attrs: { input_shape: [2, 3, 3, 4], size: [7, 9] }, ref: upsampleBackward },
  { op: 'upsample_backward', name: 'upsample_backward nearest x2', inputs: [{ shape: [1, 2, 6, 8] }], attrs: { input_shape: [1, 2, 3, 4], scale_factor: 2 }, ref: upsampleBackward },
  { op: 'upsample_backward', name: 'upsample_backward bilinear x2', inputs: [{ shape: [2, 3, 8, 10] }], attrs: { input_shape: [2, 3, 4, 5], ...bilinear({ scale_factor: 2 }) }, ref: upsampleBackward },
  {
    op: 'upsample_backward',
    name: 'upsample_backward bilinear odd size align_corners',
    inputs: [{ shape: [2, 3, 7, 5] }],
    attrs: { input_shape: [2, 3, 3, 4], ...bilinear({ size: [7, 5], align_corners: true }) },
    ref: upsampleBackward,
  },
  { op: 'upsample_backward', name: 'upsample_backward bilinear scale 1.5', inputs: [{ shape: [1, 2, 7, 4] }], attrs: { input_shape: [1, 2, 5, 3], ...bilinear({ scale_factor: 1.5 }) }, ref: upsampleBackward },
];

export const errors = [
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: {}, code: 'ERR_TG_ARG', message: "exactly one of the attributes 'size' and 'scale_factor' must be given" },
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { size: 4, scale_factor: 2 }, code: 'ERR_TG_ARG', message: "exactly one of the attributes 'size' and 'scale_factor'" },
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { size: 4, mode: 'bicubic' }, code: 'ERR_TG_ARG', message: "attribute 'mode' must be 'nearest' or 'bilinear', got 'bicubic'" },
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { size: 4, align_corners: false }, code: 'ERR_TG_ARG', message: "attribute 'align_corners' can only be set with mode 'bilinear'" },
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { scale_factor: -2 }, code: 'ERR_TG_ARG', message: "attribute 'scale_factor' must be positive, got (-2, -2)" },
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { scale_factor: 0.4 }, code: 'ERR_TG_ARG', message: 'the output size (0, 0) must be positive' },
  { op: 'upsample', inputs: [{ shape: [1, 1, 2, 2] }], attrs: { size: [1, 2, 3] }, code: 'ERR_TG_ARG', message: "attribute 'size' must be an integer or a pair of integers, got 3 values" },
  { op: 'upsample', inputs: [{ shape: [2, 2] }], attrs: { size: 4 }, code: 'ERR_TG_SHAPE', message: 'x must have shape (N, C, H, W) or (C, H, W), got (2, 2)' },
  { op: 'upsample_backward', inputs: [{ shape: [1, 1, 4, 5] }], attrs: { input_shape: [1, 1, 2, 2], scale_factor: 2 }, code: 'ERR_TG_SHAPE', message: 'dy has shape (1, 1, 4, 5) but upsampling input_shape (1, 1, 2, 2) gives (1, 1, 4, 4)' },
];
