// ColorJitter as torchvision.transforms.ColorJitter: the four adjustments in a
// random order, each with a factor drawn uniformly from its range. The pixel
// arithmetic follows torchvision's tensor functions (functional_tensor:
// _blend, rgb_to_grayscale, _rgb2hsv/_hsv2rgb) on floats in [0, 1], clamped
// after each step; PIL images would instead be rounded to bytes between steps.
import { invalid } from '../errors.js';
import type { PipelineImage } from './image.js';
import type { Rng } from './rng.js';

export interface ColorJitterOptions {
  /** A factor in [max(0, 1 - b), 1 + b], or the range [min, max]. */
  brightness?: number | [number, number];
  contrast?: number | [number, number];
  saturation?: number | [number, number];
  /** A shift in [-h, h] of the hue circle (0 ≤ h ≤ 0.5), or the range [min, max] within [-0.5, 0.5]. */
  hue?: number | [number, number];
}

/** What one application drew: the order (0 brightness, 1 contrast, 2 saturation, 3 hue) and the factors. */
export interface ColorJitterParams {
  order: number[];
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
}

// torchvision's _check_input: a number v becomes [center - v, center + v],
// clipped at `lower`; a range is checked against the bounds.
function range(
  name: string,
  value: number | [number, number] | undefined,
  center: number,
  bounds: [number, number],
  clipFirst: boolean,
): [number, number] | undefined {
  const where = 'tg.data.transforms.colorJitter';
  if (value === undefined) return undefined;
  let r: [number, number];
  if (typeof value === 'number') {
    if (!(Number.isFinite(value) && value >= 0)) throw invalid('ERR_TG_ARG', where, name, 'a non-negative number', value);
    r = [center - value, center + value];
    if (clipFirst) r[0] = Math.max(r[0], 0);
  } else if (Array.isArray(value) && value.length === 2 && value.every(Number.isFinite)) {
    r = [value[0], value[1]];
  } else {
    throw invalid('ERR_TG_ARG', where, name, 'a number or a [min, max] pair', value);
  }
  if (!(bounds[0] <= r[0] && r[0] <= r[1] && r[1] <= bounds[1])) {
    throw invalid('ERR_TG_ARG', where, name, `a range within [${bounds[0]}, ${bounds[1]}]`, value);
  }
  // A range that can only give the identity is skipped, as torchvision does.
  return r[0] === center && r[1] === center ? undefined : r;
}

export interface ColorJitter {
  (img: PipelineImage, rng: Rng): Promise<PipelineImage>;
  /** Draws the order and factors from `rng` (the first thing the transform does). */
  params(rng: Rng): ColorJitterParams;
}

export function colorJitter(options: ColorJitterOptions = {}): ColorJitter {
  const b = range('brightness', options.brightness, 1, [0, Infinity], true);
  const c = range('contrast', options.contrast, 1, [0, Infinity], true);
  const s = range('saturation', options.saturation, 1, [0, Infinity], true);
  const h = range('hue', options.hue, 0, [-0.5, 0.5], false);

  const params = (rng: Rng): ColorJitterParams => {
    // Same draw order as torchvision's get_params: permutation, then b, c, s, h.
    const p: ColorJitterParams = { order: Array.from(rng.permutation(4)) };
    if (b) p.brightness = rng.uniform(b[0], b[1]);
    if (c) p.contrast = rng.uniform(c[0], c[1]);
    if (s) p.saturation = rng.uniform(s[0], s[1]);
    if (h) p.hue = rng.uniform(h[0], h[1]);
    return p;
  };

  const apply = async (img: PipelineImage, rng: Rng): Promise<PipelineImage> => {
    const p = params(rng);
    if (p.brightness === undefined && p.contrast === undefined && p.saturation === undefined && p.hue === undefined) {
      return img;
    }
    const px = await img.unitPixels();
    for (const op of p.order) {
      if (op === 0 && p.brightness !== undefined) adjustBrightness(px, p.brightness);
      else if (op === 1 && p.contrast !== undefined) adjustContrast(px, p.contrast);
      else if (op === 2 && p.saturation !== undefined) adjustSaturation(px, p.saturation);
      else if (op === 3 && p.hue !== undefined) adjustHue(px, p.hue);
    }
    return img;
  };
  return Object.assign(apply, { params });
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

// px: (H, W, 3) in [0, 1], changed in place by each function below.

/** Blend with black: clamp(f · x). */
export function adjustBrightness(px: Float32Array, f: number): void {
  for (let i = 0; i < px.length; i++) px[i] = clamp01(px[i] * f);
}

/** Blend with the mean grey level of the whole image. */
export function adjustContrast(px: Float32Array, f: number): void {
  let sum = 0;
  for (let i = 0; i < px.length; i += 3) sum += 0.2989 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
  const mean = sum / (px.length / 3);
  const g = (1 - f) * mean;
  for (let i = 0; i < px.length; i++) px[i] = clamp01(f * px[i] + g);
}

/** Blend with each pixel's own grey level. */
export function adjustSaturation(px: Float32Array, f: number): void {
  for (let i = 0; i < px.length; i += 3) {
    const g = (1 - f) * (0.2989 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]);
    px[i] = clamp01(f * px[i] + g);
    px[i + 1] = clamp01(f * px[i + 1] + g);
    px[i + 2] = clamp01(f * px[i + 2] + g);
  }
}

/** Rotates the hue by `shift` turns through HSV, as torchvision's _rgb2hsv/_hsv2rgb. */
export function adjustHue(px: Float32Array, shift: number): void {
  for (let i = 0; i < px.length; i += 3) {
    const r = px[i];
    const g = px[i + 1];
    const b = px[i + 2];
    // Two-way comparisons: Math.max/min with three arguments are slower here.
    let maxc = r > g ? r : g;
    if (b > maxc) maxc = b;
    let minc = r < g ? r : g;
    if (b < minc) minc = b;
    const cr = maxc - minc;
    if (cr === 0) continue; // grey: hue is undefined and the pixel unchanged
    // torchvision's bc - gc, 2 + rc - bc, 4 + gc - rc with the maxc terms cancelled.
    const inv = 1 / cr;
    let h = maxc === r ? (g - b) * inv : maxc === g ? 2 + (b - r) * inv : 4 + (r - g) * inv;
    h = h / 6 + 1;
    h -= Math.floor(h);
    h += shift;
    h -= Math.floor(h);
    const s = cr / maxc;
    const v = maxc;
    const h6 = h * 6;
    const sector = Math.floor(h6);
    const fr = h6 - sector;
    const p = clamp01(v * (1 - s));
    const q = clamp01(v * (1 - s * fr));
    const t = clamp01(v * (1 - s * (1 - fr)));
    switch (sector) {
      case 1: px[i] = q; px[i + 1] = v; px[i + 2] = p; break;
      case 2: px[i] = p; px[i + 1] = v; px[i + 2] = t; break;
      case 3: px[i] = p; px[i + 1] = q; px[i + 2] = v; break;
      case 4: px[i] = t; px[i + 1] = p; px[i + 2] = v; break;
      case 5: px[i] = v; px[i + 1] = p; px[i + 2] = q; break;
      default: px[i] = v; px[i + 1] = t; px[i + 2] = p; break; // 0, or 6 from rounding (i % 6)
    }
  }
}
