// Image transforms with torchvision.transforms semantics (Compose, Resize,
// CenterCrop, RandomResizedCrop, RandomHorizontalFlip, ToTensor, Normalize,
// ColorJitter) and the two ImageNet presets of torchvision's reference
// classification recipe. A transform is a function (image, rng) → image; all
// of its randomness must come from `rng`, the sample's own stream.
import { invalid } from '../errors.js';
import { colorJitter, type ColorJitterOptions } from './color.js';
import type { Interpolation, PipelineImage } from './image.js';
import type { Rng } from './rng.js';

export { colorJitter, type ColorJitter, type ColorJitterOptions, type ColorJitterParams } from './color.js';

export type Transform = (img: PipelineImage, rng: Rng) => PipelineImage | Promise<PipelineImage>;

/** An edge length for a square, or [height, width] as torchvision. */
export type Size = number | [number, number];

export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function hw(size: Size, where: string, param = 'size'): [number, number] {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  if (ok(size)) return [size, size];
  if (Array.isArray(size) && size.length === 2 && ok(size[0]) && ok(size[1])) return [size[0], size[1]];
  throw invalid('ERR_TG_ARG', where, param, 'a positive integer or [height, width]', size);
}

function pairInRange(v: unknown, where: string, param: string, lo: number): [number, number] {
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isFinite(x) && x > lo) && v[0] <= v[1]) {
    return [v[0], v[1]];
  }
  throw invalid('ERR_TG_ARG', where, param, `[min, max] with ${lo} < min ≤ max`, v);
}

export function compose(transforms: Transform[]): Transform {
  if (!Array.isArray(transforms) || !transforms.every((t) => typeof t === 'function')) {
    throw invalid('ERR_TG_ARG', 'tg.data.transforms.compose', 'transforms', 'an array of transforms', transforms);
  }
  const list = [...transforms];
  return async (img, rng) => {
    for (const t of list) img = await t(img, rng);
    return img;
  };
}

export interface ResizeOptions {
  interpolation?: Interpolation;
  /** With a single size: the longer side is capped at this, as torchvision's max_size. */
  maxSize?: number;
}

/**
 * Resize: a number matches the shorter side (the longer one keeps the aspect
 * ratio, truncated as torchvision does); [height, width] is exact.
 */
export function resize(size: Size, { interpolation = 'bilinear', maxSize }: ResizeOptions = {}): Transform {
  const where = 'tg.data.transforms.resize';
  const [sh, sw] = hw(size, where);
  const single = typeof size === 'number';
  if (maxSize !== undefined && !(single && Number.isSafeInteger(maxSize) && maxSize > sh)) {
    throw invalid('ERR_TG_ARG', where, 'maxSize', `an integer > size (${sh}), with a single size`, maxSize);
  }
  return (img) => {
    if (!single) return img.resize(sw, sh, interpolation);
    const { width: w, height: h } = img;
    const [short, long] = w <= h ? [w, h] : [h, w];
    let newShort = sh;
    let newLong = Math.trunc((sh * long) / short);
    if (maxSize !== undefined && newLong > maxSize) {
      newShort = Math.trunc((maxSize * newShort) / newLong);
      newLong = maxSize;
    }
    return w <= h ? img.resize(newShort, newLong, interpolation) : img.resize(newLong, newShort, interpolation);
  };
}

/** CenterCrop: offsets rounded as Python's round(); a crop larger than the image pads with black first. */
export function centerCrop(size: Size): Transform {
  const [ch, cw] = hw(size, 'tg.data.transforms.centerCrop');
  return async (img) => {
    if (cw > img.width || ch > img.height) {
      const padW = Math.max(cw - img.width, 0);
      const padH = Math.max(ch - img.height, 0);
      await img.pad(padW >> 1, padH >> 1, (padW + 1) >> 1, (padH + 1) >> 1);
    }
    const top = roundHalfEven((img.height - ch) / 2);
    const left = roundHalfEven((img.width - cw) / 2);
    return img.crop(left, top, cw, ch);
  };
}

export interface RandomResizedCropOptions {
  scale?: [number, number];
  ratio?: [number, number];
  interpolation?: Interpolation;
}

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface RandomResizedCrop {
  (img: PipelineImage, rng: Rng): PipelineImage;
  /** The crop torchvision's RandomResizedCrop.get_params would choose for an image of this size. */
  params(width: number, height: number, rng: Rng): CropBox;
}

/**
 * RandomResizedCrop: up to 10 tries at a box with area in `scale` × the image
 * and aspect ratio log-uniform in `ratio` that fits; else a center crop
 * clamped to `ratio`. The box is then resized to `size`.
 */
export function randomResizedCrop(
  size: Size,
  { scale = [0.08, 1], ratio = [3 / 4, 4 / 3], interpolation = 'bilinear' }: RandomResizedCropOptions = {},
): RandomResizedCrop {
  const where = 'tg.data.transforms.randomResizedCrop';
  const [oh, ow] = hw(size, where);
  const [s0, s1] = pairInRange(scale, where, 'scale', 0);
  const [r0, r1] = pairInRange(ratio, where, 'ratio', 0);
  const logR0 = Math.log(r0);
  const logR1 = Math.log(r1);

  const params = (width: number, height: number, rng: Rng): CropBox => {
    const area = width * height;
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * rng.uniform(s0, s1);
      const aspect = Math.exp(rng.uniform(logR0, logR1));
      const w = roundHalfEven(Math.sqrt(targetArea * aspect));
      const h = roundHalfEven(Math.sqrt(targetArea / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        const top = rng.int(height - h + 1);
        const left = rng.int(width - w + 1);
        return { top, left, height: h, width: w };
      }
    }
    const inRatio = width / height;
    let w: number;
    let h: number;
    if (inRatio < r0) {
      w = width;
      h = roundHalfEven(w / r0);
    } else if (inRatio > r1) {
      h = height;
      w = roundHalfEven(h * r1);
    } else {
      w = width;
      h = height;
    }
    return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
  };

  const apply = (img: PipelineImage, rng: Rng): PipelineImage => {
    const box = params(img.width, img.height, rng);
    return img.crop(box.left, box.top, box.width, box.height).resize(ow, oh, interpolation);
  };
  return Object.assign(apply, { params });
}

/** RandomHorizontalFlip: mirrors with probability p (one draw per sample, always made). */
export function randomHorizontalFlip(p = 0.5): Transform {
  if (!(Number.isFinite(p) && p >= 0 && p <= 1)) {
    throw invalid('ERR_TG_ARG', 'tg.data.transforms.randomHorizontalFlip', 'p', 'a probability in [0, 1]', p);
  }
  return (img, rng) => (rng.next() < p ? img.flip() : img);
}

/**
 * ToTensor. Every pipeline ends in a (3, H, W) float32 tensor of bytes / 255
 * anyway; this marker keeps torchvision pipelines readable when ported.
 */
export function toTensor(): Transform {
  return (img) => img;
}

/** Normalize: (x - mean[c]) / std[c] per channel; ImageNet's statistics by default. */
export function normalize(mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD): Transform {
  const where = 'tg.data.transforms.normalize';
  const three = (v: readonly number[], positive: boolean) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x) && (!positive || x > 0));
  if (!three(mean, false)) throw invalid('ERR_TG_ARG', where, 'mean', 'three finite numbers', mean);
  if (!three(std, true)) throw invalid('ERR_TG_ARG', where, 'std', 'three positive numbers', std);
  const m = [...mean];
  const s = [...std];
  return (img) => img.normalize(m, s);
}

export interface ImagenetTrainOptions {
  size?: Size;
  scale?: [number, number];
  ratio?: [number, number];
  /** RandomHorizontalFlip after the crop; default true. */
  flip?: boolean;
  /** ColorJitter after the flip (none by default, as torchvision's recipe). */
  colorJitter?: ColorJitterOptions;
  interpolation?: Interpolation;
  mean?: readonly number[];
  std?: readonly number[];
}

/** RandomResizedCrop(size) → RandomHorizontalFlip → [ColorJitter] → ToTensor → Normalize. */
export function imagenetTrain(options: ImagenetTrainOptions = {}): Transform {
  const { size = 224, scale, ratio, flip = true, interpolation, mean, std } = options;
  const list: Transform[] = [randomResizedCrop(size, { scale, ratio, interpolation })];
  if (flip) list.push(randomHorizontalFlip());
  if (options.colorJitter) list.push(colorJitter(options.colorJitter));
  list.push(toTensor(), normalize(mean, std));
  return compose(list);
}

export interface ImagenetEvalOptions {
  size?: Size;
  /** The shorter side before the center crop; default floor(size / 0.875), 256 for 224. */
  resize?: number;
  interpolation?: Interpolation;
  mean?: readonly number[];
  std?: readonly number[];
}

/** Resize(resize) → CenterCrop(size) → ToTensor → Normalize. */
export function imagenetEval(options: ImagenetEvalOptions = {}): Transform {
  const { size = 224, interpolation, mean, std } = options;
  const [h, w] = hw(size, 'tg.data.transforms.imagenetEval');
  const r = options.resize ?? Math.floor(Math.min(h, w) / 0.875);
  return compose([resize(r, { interpolation }), centerCrop(size), toTensor(), normalize(mean, std)]);
}
