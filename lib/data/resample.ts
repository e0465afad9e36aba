// Pillow's resampling (libImaging/Resample.c, ImagingResample on 8-bit RGB),
// reproduced to the bit: separable filters centred on (x + 0.5) · scale,
// widened by the scale factor when reducing, weights renormalised at the
// edges, fixed-point coefficients with 22 fractional bits, a horizontal pass
// rounded to bytes before the vertical one. NEAREST follows Pillow's affine
// path: source pixel floor((x + 0.5) · scale).
//
// The pipeline uses it where libvips differs visibly from PIL: enlarging
// (libvips interpolates on a grid offset by up to half an input pixel) and
// nearest-neighbour. Reductions stay in libvips, which matches PIL to a grey
// level or two and runs off the main thread.
import type { Interpolation } from './image.js';

interface Filter {
  support: number;
  weight(x: number): number;
}

// Pillow's BICUBIC uses a = -0.5.
const A = -0.5;

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      x = Math.abs(x);
      if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
      return 0;
    },
  },
  lanczos: {
    support: 3,
    weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);
const MAX = 2 ** (PRECISION_BITS + 8);

interface Coeffs {
  ksize: number;
  /** Per output pixel: first input pixel and number of taps. */
  bounds: Int32Array;
  /** Per output pixel, ksize fixed-point weights. */
  kk: Int32Array;
}

// precompute_coeffs + normalize_coeffs_8bpc.
function coefficients(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.weight((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x] / ww : w[x];
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (v: number): number => (v >= MAX ? 255 : v <= 0 ? 0 : Math.floor(v / ONE));

// src: (H, W, 3) u8 → (H, outW, 3) u8
function horizontal(src: Uint8Array, W: number, H: number, outW: number, c: Coeffs): Uint8Array {
  const out = new Uint8Array(outW * H * 3);
  const { ksize, bounds, kk } = c;
  for (let y = 0; y < H; y++) {
    const row = y * W * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2];
      const n = bounds[xx * 2 + 1];
      const k0 = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0, p = row + xmin * 3; x < n; x++, p += 3) {
        const k = kk[k0 + x];
        s0 += src[p] * k;
        s1 += src[p + 1] * k;
        s2 += src[p + 2] * k;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

// src: (H, W, 3) u8 → (outH, W, 3) u8
function vertical(src: Uint8Array, W: number, outH: number, c: Coeffs): Uint8Array {
  const out = new Uint8Array(W * outH * 3);
  const { ksize, bounds, kk } = c;
  const stride = W * 3;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2];
    const n = bounds[yy * 2 + 1];
    const k0 = yy * ksize;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let y = 0, p = ymin * stride + i; y < n; y++, p += stride) s += src[p] * kk[k0 + y];
      out[yy * stride + i] = clip8(s);
    }
  }
  return out;
}

// Source indices as ImagingScaleAffine steps them: start at scale / 2 and add
// the scale each time (accumulated, so the rounding is Pillow's too).
function steps(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize);
  let v = scale * 0.5;
  for (let i = 0; i < outSize; i++, v += scale) idx[i] = Math.min(Math.floor(v), inSize - 1);
  return idx;
}

function nearest(src: Uint8Array, W: number, H: number, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH * 3);
  const cols = steps(W, outW).map((x) => x * 3);
  const rows = steps(H, outH);
  for (let y = 0; y < outH; y++) {
    const row = rows[y] * W * 3;
    for (let x = 0; x < outW; x++) {
      const s = row + cols[x];
      const o = (y * outW + x) * 3;
      out[o] = src[s];
      out[o + 1] = src[s + 1];
      out[o + 2] = src[s + 2];
    }
  }
  return out;
}

/** Resizes (H, W, 3) RGB bytes to (outH, outW, 3) exactly as PIL's Image.resize. */
export function resampleRgb(
  src: Uint8Array,
  W: number,
  H: number,
  outW: number,
  outH: number,
  interpolation: Interpolation,
): Uint8Array {
  if (interpolation === 'nearest') return nearest(src, W, H, outW, outH);
  const filter = FILTERS[interpolation];
  let img = src;
  if (outW !== W) img = horizontal(img, W, H, outW, coefficients(W, outW, filter));
  if (outH !== H) img = vertical(img, outW, outH, coefficients(H, outH, filter));
  return img === src ? src.slice() : img;
}
