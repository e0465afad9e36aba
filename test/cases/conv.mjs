// conv2d, conv_transpose2d and their backward ops. The references are the
// definitions in PyTorch's docs as plain float64 loops: conv2d gathers
// y[n, o, oy, ox] = b[o] + sum x[n, g Cg + c, oy s - p + ky d, ...] w[o, c, ky, kx]
// over in-range taps; conv_transpose2d scatters each x[n, ci, iy, ix] w[ci, co, ky, kx]
// to y[n, g Cog + co, iy s - p + ky d, ...]; the backward ops are the same sums
// with the roles of the operands exchanged.
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const pair = (v, fallback) => {
  if (v === undefined) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[v.length - 1]];
};

// conv2d's geometry: pads [top, bottom, left, right], stride, dilation, groups, output size.
function convGeom(xShape, wShape, attrs) {
  const [, C, H, W] = xShape;
  const [O, , kh, kw] = wShape;
  const s = pair(attrs.stride, 1);
  const d = pair(attrs.dilation, 1);
  const p = attrs.padding;
  let pad;
  if (p === 'same') {
    const th = d[0] * (kh - 1);
    const tw = d[1] * (kw - 1);
    pad = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else if (p === undefined || p === 'valid') {
    pad = [0, 0, 0, 0];
  } else if (typeof p !== 'number' && p.length === 4) {
    pad = p;
  } else {
    const [ph, pw] = pair(p, 0);
    pad = [ph, ph, pw, pw];
  }
  const groups = attrs.groups ?? 1;
  const Ho = Math.floor((H + pad[0] + pad[1] - d[0] * (kh - 1) - 1) / s[0]) + 1;
  const Wo = Math.floor((W + pad[2] + pad[3] - d[1] * (kw - 1) - 1) / s[1]) + 1;
  return { C, H, W, O, kh, kw, s, d, pad, groups, Cg: C / groups, Og: O / groups, Ho, Wo };
}

// Calls fn(n, o, oy, ox, c, ky, kx, iy, ix) for every in-range tap of conv2d, c the absolute input channel.
function eachTap(N, g, fn) {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < g.O; o++) {
      const grp = Math.floor(o / g.Og);
      for (let oy = 0; oy < g.Ho; oy++) {
        for (let ox = 0; ox < g.Wo; ox++) {
          for (let cl = 0; cl < g.Cg; cl++) {
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.s[0] - g.pad[0] + ky * g.d[0];
              if (iy < 0 || iy >= g.H) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.s[1] - g.pad[2] + kx * g.d[1];
                if (ix < 0 || ix >= g.W) continue;
                fn(n, o, oy, ox, grp * g.Cg + cl, cl, ky, kx, iy, ix);
              }
            }
          }
        }
      }
    }
  }
}

function conv2d([x, w, b], attrs = {}) {
  const N = x.shape[0];
  const g = convGeom(x.shape, w.shape, attrs);
  const y = new Float64Array(N * g.O * g.Ho * g.Wo);
  const yi = (n, o, oy, ox) => ((n * g.O + o) * g.Ho + oy) * g.Wo + ox;
  if (b) for (let i = 0; i < y.length; i++) y[i] = b.data[Math.floor(i / (g.Ho * g.Wo)) % g.O];
  eachTap(N, g, (n, o, oy, ox, c, cl, ky, kx, iy, ix) => {
    y[yi(n, o, oy, ox)] += x.data[((n * g.C + c) * g.H + iy) * g.W + ix] * w.data[((o * g.Cg + cl) * g.kh + ky) * g.kw + kx];
  });
  return [{ shape: [N, g.O, g.Ho, g.Wo], data: y }];
}

function conv2dBackwardInput([dy, w], attrs) {
  const xs = attrs.input_shape;
  const N = xs[0];
  const g = convGeom(xs, w.shape, attrs);
  const dx = new Float64Array(numel(xs));
  eachTap(N, g, (n, o, oy, ox, c, cl, ky, kx, iy, ix) => {
    dx[((n * g.C + c) * g.H + iy) * g.W + ix] += dy.data[((n * g.O + o) * g.Ho + oy) * g.Wo + ox] * w.data[((o * g.Cg + cl) * g.kh + ky) * g.kw + kx];
  });
  return [{ shape: xs, data: dx }];
}

function conv2dBackwardWeight([dy, x], attrs) {
  const ws = attrs.weight_shape;
  const N = x.shape[0];
  const g = convGeom(x.shape, ws, attrs);
  const dw = new Float64Array(numel(ws));
  eachTap(N, g, (n, o, oy, ox, c, cl, ky, kx, iy, ix) => {
    dw[((o * g.Cg + cl) * g.kh + ky) * g.kw + kx] += dy.data[((n * g.O + o) * g.Ho + oy) * g.Wo + ox] * x.data[((n * g.C + c) * g.H + iy) * g.W + ix];
  });
  return [{ shape: ws, data: dw }];
}

// conv_transpose2d's geometry from x (N, Cin, H, W) and weight (Cin, Cout / groups, kH, kW).
function convTGeom(xShape, wShape, attrs) {
  const [, Cin, H, W] = xShape;
  const [, Cog, kh, kw] = wShape;
  const s = pair(attrs.stride, 1);
  const d = pair(attrs.dilation, 1);
  const p = pair(attrs.padding, 0);
  const op = pair(attrs.output_padding, 0);
  const groups = attrs.groups ?? 1;
  const Ho = (H - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1;
  const Wo = (W - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
  return { Cin, H, W, Cog, Cout: Cog * groups, Cig: Cin / groups, kh, kw, s, d, p, Ho, Wo };
}

// Calls fn(n, ci, iy, ix, co, col, ky, kx, oy, ox) for every x element and tap that lands inside the output.
function eachScatter(N, g, fn) {
  for (let n = 0; n < N; n++) {
    for (let ci = 0; ci < g.Cin; ci++) {
      const grp = Math.floor(ci / g.Cig);
      for (let iy = 0; iy < g.H; iy++) {
        for (let ix = 0; ix < g.W; ix++) {
          for (let col = 0; col < g.Cog; col++) {
            for (let ky = 0; ky < g.kh; ky++) {
              const oy = iy * g.s[0] - g.p[0] + ky * g.d[0];
              if (oy < 0 || oy >= g.Ho) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ox = ix * g.s[1] - g.p[1] + kx * g.d[1];
                if (ox < 0 || ox >= g.Wo) continue;
                fn(n, ci, iy, ix, grp * g.Cog + col, col, ky, kx, oy, ox);
              }
            }
          }
        }
      }
    }
  }
}

function convTranspose2d([x, w, b], attrs = {}) {
  const N = x.shape[0];
  const g = convTGeom(x.shape, w.shape, attrs);
  const y = new Float64Array(N * g.Cout * g.Ho * g.Wo);
  if (b) for (let i = 0; i < y.length; i++) y[i] = b.data[Math.floor(i / (g.Ho * g.Wo)) % g.Cout];
  eachScatter(N, g, (n, ci, iy, ix, co, col, ky, kx, oy, ox) => {
    y[((n * g.Cout + co) * g.Ho + oy) * g.Wo + ox] += x.data[((n * g.Cin + ci) * g.H + iy) * g.W + ix] * w.data[((ci * g.Cog + col) * g.kh + ky) * g.kw + kx];
  });
  return [{ shape: [N, g.Cout, g.Ho, g.Wo], data: y }];
}

function convTranspose2dBackwardInput([dy, w], attrs) {
  const xs = attrs.input_shape;
  const g = convTGeom(xs, w.shape, attrs);
  const dx = new Float64Array(numel(xs));
  eachScatter(xs[0], g, (n, ci, iy, ix, co, col, ky, kx, oy, ox) => {
    dx[((n * g.Cin + ci) * g.H + iy) * g.W + ix] += dy.data[((n * g.Cout + co) * g.Ho + oy) * g.Wo + ox] * w.data[((ci * g.Cog + col) * g.kh + ky) * g.kw + kx];
  });
  return [{ shape: xs, data: dx }];
}

function convTranspose2dBackwardWeight([dy, x], attrs) {
  const ws = attrs.weight_shape;
  const g = convTGeom(x.shape, ws, attrs);
  const dw = new Float64Array(numel(ws));
  eachScatter(x.shape[0], g, (n, ci, iy, ix, co, col, ky, kx, oy, ox) => {
    dw[((ci * g.Cog + col) * g.kh + ky) * g.kw + kx] += dy.data[((n * g.Cout + co) * g.Ho + oy) * g.Wo + ox] * x.data[((n * g.Cin + ci) * g.H + iy) * g.W + ix];
  });
  return [{ shape: ws, data: dw }];
}

// f32 sums of up to a few hundred products of values in [-2, 2].
const small = { atol: 2e-5 };
const large = { rtol: 1e-4, atol: 1e-4 };

const conv = (name, x, w, b, attrs, extra = {}) => ({
  op: 'conv2d',
  name: `conv2d ${name}`,
  inputs: b ? [{ shape: x }, { shape: w }, { shape: [w[0]] }] : [{ shape: x }, { shape: w }],
  attrs,
  ref: conv2d,
  ...small,
  ...extra,
});

// The conv output shape for a backward case's dy.
const outShape = (x, w, attrs) => {
  const g = convGeom(x, w, attrs);
  return [x[0], g.O, g.Ho, g.Wo];
};
const convBI = (name, x, w, attrs, extra = {}) => ({
  op: 'conv2d_backward_input',
  name: `conv2d_backward_input ${name}`,
  inputs: [{ shape: outShape(x, w, attrs) }, { shape: w }],
  attrs: { ...attrs, input_shape: x },
  ref: conv2dBackwardInput,
  ...small,
  ...extra,
});
const convBW = (name, x, w, attrs, extra = {}) => ({
  op: 'conv2d_backward_weight',
  name: `conv2d_backward_weight ${name}`,
  inputs: [{ shape: outShape(x, w, attrs) }, { shape: x }],
  attrs: { ...attrs, weight_shape: w },
  ref: conv2dBackwardWeight,
  ...small,
  ...extra,
});

const convT = (name, x, w, b, attrs, extra = {}) => {
  const g = convTGeom(x, w, attrs);
  return {
    op: 'conv_transpose2d',
    name: `conv_transpose2d ${name}`,
    inputs: b ? [{ shape: x }, { shape: w }, { shape: [g.Cout] }] : [{ shape: x }, { shape: w }],
    attrs,
    ref: convTranspose2d,
    ...small,
    ...extra,
  };
};
const convTOut = (x, w, attrs) => {
  const g = convTGeom(x, w, attrs);
  return [x[0], g.Cout, g.Ho, g.Wo];
};
const convTBI = (name, x, w, attrs, extra = {}) => ({
  op: 'conv_transpose2d_backward_input',
  name: `conv_transpose2d_backward_input ${name}`,
  inputs: [{ shape: convTOut(x, w, attrs) }, { shape: w }],
  attrs: { ...attrs, input_shape: x },
  ref: convTranspose2dBackwardInput,
  ...small,
  ...extra,
});
const convTBW = (name, x, w, attrs, extra = {}) => ({
  op: 'conv_transpose2d_backward_weight',
  name: `conv_transpose2d_backward_weight ${name}`,
  inputs: [{ shape: convTOut(x, w, attrs) }, { shape: x }],
  attrs: { ...attrs, weight_shape: w },
  ref: convTranspose2dBackwardWeight,
  ...small,
  ...extra,
});

// Configurations run through the forward op and both backward ops: [name, x, w, attrs, bias].
const configs = [
  ['3x3 valid', [2, 3, 7, 7], [4, 3, 3, 3], {}, true],
  ['stride 2, padding 1, odd sizes', [3, 3, 9, 8], [5, 3, 3, 3], { stride: [2, 2], padding: [1, 1] }, true],
  ['asymmetric padding [top, bottom, left, right]', [1, 2, 6, 7], [3, 2, 3, 2], { padding: [1, 0, 2, 1] }, false],
  ["padding 'same', dilation 2", [1, 3, 8, 9], [4, 3, 3, 3], { padding: 'same', dilation: [2, 2] }, true],
  ["padding 'same', even kernel (extra pad bottom / right)", [2, 3, 7, 6], [2, 3, 4, 2], { padding: 'same' }, true],
  ["padding 'valid'", [1, 2, 6, 6], [3, 2, 2, 3], { padding: 'valid' }, false],
  ['dilation 2, stride 2, padding 2', [2, 3, 11, 10], [4, 3, 3, 3], { stride: [2, 2], padding: [2, 2], dilation: [2, 2] }, true],
  ['per-dim stride, padding, dilation', [1, 2, 10, 9], [3, 2, 3, 2], { stride: [2, 1], padding: [0, 1], dilation: [1, 3] }, true],
  ['int attributes', [1, 2, 9, 9], [3, 2, 3, 3], { stride: 2, padding: 1, dilation: 1 }, true],
  ['1-element list attributes', [1, 2, 9, 9], [3, 2, 3, 3], { stride: [2], padding: [1], dilation: [2] }, false],
  ['groups 2', [2, 4, 7, 6], [6, 2, 3, 3], { groups: 2, padding: [1, 1] }, true],
  ['groups 3, stride 2', [1, 6, 8, 9], [9, 2, 3, 3], { groups: 3, stride: [2, 2] }, false],
  ['depthwise 3x3', [2, 4, 9, 9], [4, 1, 3, 3], { groups: 4, padding: [1, 1] }, true],
  ['depthwise multiplier 2, stride 2', [1, 3, 10, 11], [6, 1, 3, 3], { groups: 3, stride: [2, 2], padding: [1, 1] }, true],
  ['depthwise 5x5, dilation 2, asymmetric padding', [2, 2, 9, 8], [2, 1, 5, 5], { groups: 2, dilation: [2, 2], padding: [3, 1, 2, 4] }, false],
  ['single input channel (GEMM path)', [2, 1, 6, 7], [4, 1, 3, 3], { padding: [1, 1] }, true],
  ['1x1 fast path', [3, 16, 5, 7], [8, 16, 1, 1], {}, true],
  ['1x1 fast path, groups 2', [2, 8, 4, 5], [6, 4, 1, 1], { groups: 2 }, false],
  ['1x1 stride 2', [2, 6, 7, 7], [5, 6, 1, 1], { stride: [2, 2] }, true],
  ['1x1 padded', [1, 3, 4, 4], [2, 3, 1, 1], { padding: [1, 1] }, true],
  ['kernel larger than the input, padded', [1, 2, 3, 3], [3, 2, 5, 5], { padding: [2, 2] }, true],
  ['kernel larger than the input, stride 3', [2, 2, 2, 3], [3, 2, 4, 4], { padding: [3, 2], stride: [3, 3] }, true],
  ['7x7 stride 2 stem', [1, 3, 30, 30], [8, 3, 7, 7], { stride: [2, 2], padding: [3, 3] }, false],
];
// Large enough for several k blocks, column tiles, row blocks and dW blocks, straddling images.
const threaded = [
  ['threaded 3x3 (im2col: 31 input channels, below the Winograd threshold)', [2, 31, 20, 20], [70, 31, 3, 3], { padding: [1, 1] }, true],
  ['threaded 1x1, K > kc', [3, 300, 6, 6], [20, 300, 1, 1], {}, true],
  ['threaded stride 2', [3, 24, 19, 21], [36, 24, 3, 3], { stride: [2, 2], padding: [1, 1] }, false],
  ['threaded depthwise', [2, 64, 12, 12], [64, 1, 3, 3], { groups: 64, padding: [1, 1] }, true],
  ['threaded groups 4', [2, 32, 10, 10], [48, 8, 3, 3], { groups: 4, padding: [1, 1] }, true],
  ['small maps in image groups, partial last group', [5, 20, 10, 10], [24, 20, 3, 3], { padding: [1, 1] }, true],
  ['1x1 small maps in image groups', [5, 20, 9, 9], [24, 20, 1, 1], {}, true],
  ['long contraction: dW summed in chunks of positions', [3, 2, 45, 47], [3, 2, 3, 3], { padding: [1, 1] }, false],
];

// 3x3 stride-1 convs that take the Winograd F(4x4, 3x3) path (conv_winograd.cc:
// at least 32 channels in and out and 32 output tiles of 4x4): maps that are
// not multiples of the tile, blocks of tiles spanning images, channel counts
// off the SIMD widths, Cin over the GEMM's k block, several blocks of tiles.
// The input-gradient cases qualify too (their conv maps dy to dx).
const winogradConfigs = [
  ['Winograd path: odd 13x11 map, padding 1, batch 3', [3, 33, 13, 11], [35, 33, 3, 3], { padding: [1, 1] }, true],
  ['Winograd path: padding 0, 18x17', [4, 33, 18, 17], [34, 33, 3, 3], {}, false],
  ['Winograd path: padding 2 (output larger than the input)', [4, 34, 11, 9], [33, 34, 3, 3], { padding: [2, 2] }, true],
  ['Winograd path: asymmetric padding [0, 2, 1, 0]', [3, 32, 12, 15], [37, 32, 3, 3], { padding: [0, 2, 1, 0] }, false],
  ["Winograd path: padding 'same', one image of 30x29", [1, 40, 30, 29], [32, 40, 3, 3], { padding: 'same' }, true],
  ['Winograd path: 300 channels (two k blocks), 50 tiles (two blocks)', [2, 300, 18, 18], [36, 300, 3, 3], { padding: [1, 1] }, true],
];
// F(4x4, 3x3) in fp32 is off by up to ~7e-6 of the largest output (the
// transforms mix values with weights up to 8 and 1/24; im2col: ~4e-7), so the
// tolerance follows the outputs' spread, (4/3) sqrt(9 C) for inputs in
// [-2, 2]: 6e-5 of it is twice the largest error seen at any SIMD level.
const winograd = (c) => ({ rtol: 1e-5, atol: 6e-5 * (4 / 3) * Math.sqrt(9 * c) });

export default [
  ...configs.map(([name, x, w, attrs, bias]) => conv(name, x, w, bias, attrs)),
  ...threaded.map(([name, x, w, attrs, bias]) => conv(name, x, w, bias, attrs, large)),
  conv('batch of 0', [0, 3, 5, 5], [4, 3, 3, 3], true, {}),
  conv('grad: N=2, C=2, 5x5, O=3, k=3, padding 1', [2, 2, 5, 5], [3, 2, 3, 3], true, { padding: [1, 1] }, { grad: true }),
  conv('grad: stride 2, asymmetric padding', [1, 2, 6, 5], [2, 2, 3, 3], false, { stride: [2, 2], padding: [1, 0, 0, 1] }, { grad: true }),
  conv('grad: groups 2', [1, 4, 4, 4], [4, 2, 3, 3], true, { groups: 2, padding: [1, 1] }, { grad: true }),
  conv('grad: depthwise multiplier 2, stride 2', [1, 3, 5, 5], [6, 1, 3, 3], true, { groups: 3, stride: [2, 2], padding: [1, 1] }, { grad: true }),
  conv('grad: 1x1', [2, 4, 3, 3], [3, 4, 1, 1], true, {}, { grad: true }),
  conv("grad: padding 'same', dilation 2", [1, 2, 6, 6], [2, 2, 3, 3], false, { padding: 'same', dilation: [2, 2] }, { grad: true }),

  ...winogradConfigs.map(([name, x, w, attrs, bias]) => conv(name, x, w, bias, attrs, winograd(x[1]))),

  ...configs.map(([name, x, w, attrs]) => convBI(name, x, w, attrs)),
  ...threaded.map(([name, x, w, attrs]) => convBI(name, x, w, attrs, large)),
  ...winogradConfigs.map(([name, x, w, attrs]) => convBI(name, x, w, attrs, winograd(w[0]))),
  ...configs.map(([name, x, w, attrs]) => convBW(name, x, w, attrs)),
  ...threaded.map(([name, x, w, attrs]) => convBW(name, x, w, attrs, large)),

  convT('stride 2, padding 1, output_padding 1', [2, 3, 4, 5], [3, 4, 3, 3], true, { stride: [2, 2], padding: [1, 1], output_padding: [1, 1] }),
  convT('groups 2, dilation 2', [1, 4, 5, 4], [4, 3, 3, 3], true, { groups: 2, dilation: [2, 2], padding: [1, 1] }),
  convT('depthwise, stride 2', [2, 3, 5, 5], [3, 1, 3, 3], true, { groups: 3, stride: [2, 2] }),
  convT('depthwise multiplier 2, output_padding', [1, 2, 4, 5], [2, 2, 3, 3], false, { groups: 2, stride: [2, 3], padding: [1, 0], output_padding: [1, 2] }),
  convT('output_padding >= stride but < dilation', [1, 2, 4, 4], [2, 3, 3, 3], true, { dilation: [2, 2], output_padding: [1, 1] }),
  convT('1x1 with bias', [2, 5, 3, 4], [5, 4, 1, 1], true, {}),
  convT('int attributes, per-dim kernel', [1, 3, 4, 3], [3, 2, 2, 3], false, { stride: 2, padding: 1 }),
  convT('threaded', [2, 32, 9, 9], [32, 24, 4, 4], true, { stride: [2, 2], padding: [1, 1] }, large),
  convT('grad: stride 2, padding 1, output_padding 1', [1, 2, 3, 3], [2, 3, 3, 3], true, { stride: [2, 2], padding: [1, 1], output_padding: [1, 1] }, { grad: true }),
  convT('grad: groups 2, dilation 2', [1, 4, 3, 3], [4, 2, 2, 2], true, { groups: 2, dilation: [2, 2], stride: [2, 1] }, { grad: true }),
  convT('grad: depthwise', [2, 3, 3, 3], [3, 1, 3, 3], false, { groups: 3, stride: [2, 2], padding: [1, 1] }, { grad: true }),

  convTBI('stride 2, output_padding 1', [2, 3, 4, 5], [3, 4, 3, 3], { stride: [2, 2], padding: [1, 1], output_padding: [1, 1] }),
  convTBI('groups 2, dilation 2', [1, 4, 5, 4], [4, 3, 3, 3], { groups: 2, dilation: [2, 2], padding: [1, 1] }),
  convTBI('depthwise', [2, 3, 5, 5], [3, 1, 3, 3], { groups: 3, stride: [2, 2] }),
  convTBI('output_padding >= stride but < dilation', [1, 2, 4, 4], [2, 3, 3, 3], { dilation: [2, 2], output_padding: [1, 1] }),
  convTBI('threaded', [2, 32, 9, 9], [32, 24, 4, 4], { stride: [2, 2], padding: [1, 1] }, large),
  convTBW('stride 2, output_padding 1', [2, 3, 4, 5], [3, 4, 3, 3], { stride: [2, 2], padding: [1, 1], output_padding: [1, 1] }),
  convTBW('groups 2, dilation 2', [1, 4, 5, 4], [4, 3, 3, 3], { groups: 2, dilation: [2, 2], padding: [1, 1] }),
  convTBW('depthwise', [2, 3, 5, 5], [3, 1, 3, 3], { groups: 3, stride: [2, 2] }),
  convTBW('output_padding >= stride but < dilation', [1, 2, 4, 4], [2, 3, 3, 3], { dilation: [2, 2], output_padding: [1, 1] }),
  convTBW('threaded', [2, 32, 9, 9], [32, 24, 4, 4], { stride: [2, 2], padding: [1, 1] }, large),
];

const x5 = { shape: [1, 3, 5, 5] };
const w3 = { shape: [4, 3, 3, 3] };
export const errors = [
  { op: 'conv2d', inputs: [x5, { shape: [4, 2, 3, 3] }], code: 'ERR_TG_SHAPE', message: 'expects 2 input channels per group, but x (1, 3, 5, 5) has 3 channels' },
  { op: 'conv2d', inputs: [x5, { shape: [4, 1, 3, 3] }], attrs: { groups: 2 }, code: 'ERR_TG_SHAPE', message: 'x has 3 channels, which groups = 2 does not divide' },
  { op: 'conv2d', inputs: [{ shape: [1, 4, 5, 5] }, { shape: [3, 2, 3, 3] }], attrs: { groups: 2 }, code: 'ERR_TG_SHAPE', message: 'has 3 output channels, which groups = 2 does not divide' },
  { op: 'conv2d', inputs: [{ shape: [1, 1, 2, 2] }, { shape: [1, 1, 3, 3] }], code: 'ERR_TG_SHAPE', message: 'padded input (2, 2) from x (1, 1, 2, 2) is smaller than the dilated kernel (3, 3)' },
  { op: 'conv2d', inputs: [{ shape: [1, 1, 5, 5] }, { shape: [1, 1, 3, 3] }], attrs: { dilation: [3, 3] }, code: 'ERR_TG_SHAPE', message: 'smaller than the dilated kernel (7, 7)' },
  { op: 'conv2d', inputs: [x5, w3], attrs: { padding: 'same', stride: [2, 2] }, code: 'ERR_TG_ARG', message: "padding 'same' needs stride 1, got stride [2, 2]" },
  { op: 'conv2d', inputs: [x5, w3], attrs: { padding: 'full' }, code: 'ERR_TG_ARG', message: "attribute 'padding' must be 'same', 'valid' or integers, got 'full'" },
  { op: 'conv2d', inputs: [x5, w3], attrs: { padding: [1, 2, 3] }, code: 'ERR_TG_ARG', message: "attribute 'padding' must be an integer, [ph, pw], [top, bottom, left, right]" },
  { op: 'conv2d', inputs: [x5, w3], attrs: { padding: [1, -1] }, code: 'ERR_TG_ARG', message: "attribute 'padding' must be >= 0, got [1, -1]" },
  { op: 'conv2d', inputs: [x5, w3], attrs: { stride: [0, 1] }, code: 'ERR_TG_ARG', message: "attribute 'stride' must be >= 1, got [0, 1]" },
  { op: 'conv2d', inputs: [x5, w3], attrs: { dilation: [1, 2, 3] }, code: 'ERR_TG_ARG', message: "attribute 'dilation' must be an integer or 2 integers, got [1, 2, 3]" },
  { op: 'conv2d', inputs: [x5, w3], attrs: { groups: 0 }, code: 'ERR_TG_ARG', message: "attribute 'groups' must be >= 1, got 0" },
  { op: 'conv2d', inputs: [{ shape: [3, 5, 5] }, w3], code: 'ERR_TG_SHAPE', message: 'x must have shape (N, C, H, W), got (3, 5, 5)' },
  { op: 'conv2d', inputs: [x5, { shape: [4, 3, 9] }], code: 'ERR_TG_SHAPE', message: 'weight must have shape (O, C / groups, kH, kW)' },
  { op: 'conv2d', inputs: [x5, w3, { shape: [3] }], code: 'ERR_TG_SHAPE', message: 'bias must have shape (4,), got (3,)' },
  { op: 'conv2d', inputs: [{ shape: [1, 3, 5, 5], dtype: 'i32' }, w3], code: 'ERR_TG_DTYPE', message: 'x must be f32' },
  {
    op: 'conv2d_backward_input',
    inputs: [{ shape: [1, 4, 2, 2] }, w3],
    attrs: { input_shape: [1, 3, 5, 5] },
    code: 'ERR_TG_SHAPE',
    message: "dy must have the conv output's shape (1, 4, 3, 3), got (1, 4, 2, 2)",
  },
  { op: 'conv2d_backward_input', inputs: [{ shape: [1, 4, 3, 3] }, w3], code: 'ERR_TG_ARG', message: "attribute 'input_shape' is required" },
  { op: 'conv2d_backward_input', inputs: [{ shape: [1, 4, 3, 3] }, w3], attrs: { input_shape: [3, 5, 5] }, code: 'ERR_TG_ARG', message: "attribute 'input_shape' must have 4 dims, got [3, 5, 5]" },
  {
    op: 'conv2d_backward_weight',
    inputs: [{ shape: [1, 4, 3, 3] }, x5],
    attrs: { weight_shape: [4, 3, 3, 3], stride: [2, 2] },
    code: 'ERR_TG_SHAPE',
    message: "dy must have the conv output's shape (1, 4, 2, 2), got (1, 4, 3, 3)",
  },
  { op: 'conv2d_backward_weight', inputs: [{ shape: [1, 4, 3, 3] }, x5], code: 'ERR_TG_ARG', message: "attribute 'weight_shape' is required" },
  {
    op: 'conv_transpose2d',
    inputs: [{ shape: [1, 3, 4, 4] }, { shape: [3, 2, 3, 3] }],
    attrs: { stride: [2, 2], output_padding: [2, 0] },
    code: 'ERR_TG_ARG',
    message: 'output_padding [2, 0] must be smaller than stride [2, 2] or dilation [1, 1]',
  },
  { op: 'conv_transpose2d', inputs: [{ shape: [1, 3, 4, 4] }, { shape: [4, 2, 3, 3] }], code: 'ERR_TG_SHAPE', message: 'weight (4, 2, 3, 3) has 4 input channels but x (1, 3, 4, 4) has 3' },
  { op: 'conv_transpose2d', inputs: [{ shape: [1, 3, 4, 4] }, { shape: [3, 2, 3, 3] }], attrs: { padding: 'same' }, code: 'ERR_TG_ARG', message: 'string padding is conv2d only' },
  { op: 'conv_transpose2d', inputs: [{ shape: [1, 3, 4, 4] }, { shape: [3, 2, 3, 3] }], attrs: { groups: 2 }, code: 'ERR_TG_SHAPE', message: 'x has 3 channels, which groups = 2 does not divide' },
  { op: 'conv_transpose2d', inputs: [{ shape: [1, 3, 1, 1] }, { shape: [3, 2, 1, 1] }], attrs: { padding: [1, 1] }, code: 'ERR_TG_SHAPE', message: 'gives an empty output (-1, -1)' },
  { op: 'conv_transpose2d', inputs: [{ shape: [1, 3, 4, 4] }, { shape: [3, 2, 3, 3] }, { shape: [3] }], code: 'ERR_TG_SHAPE', message: 'bias must have shape (2,)' },
  {
    op: 'conv_transpose2d_backward_input',
    inputs: [{ shape: [1, 2, 5, 5] }, { shape: [3, 2, 3, 3] }],
    attrs: { input_shape: [1, 3, 4, 4] },
    code: 'ERR_TG_SHAPE',
    message: "dy must have the transposed conv output's shape (1, 2, 6, 6), got (1, 2, 5, 5)",
  },
  {
    op: 'conv_transpose2d_backward_weight',
    inputs: [{ shape: [1, 2, 5, 5] }, { shape: [1, 3, 4, 4] }],
    attrs: { weight_shape: [3, 2, 3, 3] },
    code: 'ERR_TG_SHAPE',
    message: "dy must have the transposed conv output's shape (1, 2, 6, 6), got (1, 2, 5, 5)",
  },
];
