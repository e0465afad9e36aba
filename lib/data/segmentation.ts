// segmentationFolder(): images paired with per-pixel class masks, for
// semantic segmentation (U-Net, DeepLab). Two layouts:
//   root/images/<stem>.<ext> + root/masks/<stem>.png   (names configurable,
//     subfolders allowed: pairs are matched by relative path without extension)
//   Pascal VOC: root/JPEGImages + root/SegmentationClass, with the splits of
//     root/ImageSets/Segmentation/{train,val}.txt when they exist.
//
// Masks: palette PNGs give their palette index (VOC: 255 = boundary, ignored
// by default); grey PNGs their grey value; RGB masks go through `colors`.
// sharp expands palettes to RGB, so PNGs are decoded with fast-png, which
// returns the indices.
//
// Joint augmentation, as torchvision's segmentation reference recipe
// (references/segmentation/transforms.py): a random resize, then a random
// crop padded where the image is too small (image with 0 = black, mask with
// the ignore index, both at the right and bottom), then a horizontal flip.
// The image is resampled bilinearly, the mask with nearest neighbour
// (Pillow's, the source pixel under each output pixel's centre), so both keep
// the same geometry. All randomness comes from the sample's own stream.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { decode as decodePng, type DecodedPng } from 'fast-png';
import sharp from 'sharp';
import { invalid, tgError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { IMAGE_EXTENSIONS } from './folder.js';
import { PipelineImage, type DecodeOptions } from './image.js';
import { loader, type DataLoader, type LoaderOptions } from './loader.js';
import { checkSeed, type Rng } from './rng.js';
import { split, Subset } from './split.js';
import { IMAGENET_MEAN, IMAGENET_STD, type Size } from './transforms.js';
import type { Dataset, Sample } from './types.js';

/** Pascal VOC's 21 classes, by id (255 marks object boundaries and is ignored). */
export const VOC_CLASSES: readonly string[] = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

/** Mask file extensions read by default: lossless formats only. */
export const MASK_EXTENSIONS: readonly string[] = ['.png', '.gif', '.tif', '.tiff', '.webp'];

export type Rgb = [number, number, number];

/** Class ids by colour: an array indexed by class id, or { 'r,g,b' | '#rrggbb': id }. */
export type ColorMap = ReadonlyArray<Rgb | null | undefined> | Record<string, number>;

export interface MaskOptions {
  /** Masks hold 0 (background) and anything else (foreground: 1, 255, ...): read as 0/1. */
  binary?: boolean;
  /** RGB masks: the class id of each colour. Palette and grey masks are then read as colours too. */
  colors?: ColorMap;
  /** A colour not in `colors`: 'error' (default) or 'ignore' (the pixel gets ignoreIndex). */
  unknownColor?: 'error' | 'ignore';
  /** Default 255. */
  ignoreIndex?: number;
  /** With it, ids ≥ numClasses (other than ignoreIndex) are an error naming the file. */
  numClasses?: number;
}

export interface Mask {
  /** (H, W) class ids, row-major. */
  ids: Int32Array;
  width: number;
  height: number;
}

export interface SegmentationFolderOptions extends MaskOptions {
  /** 'auto' (default): VOC when root has JPEGImages and SegmentationClass, else folders. */
  layout?: 'auto' | 'folders' | 'voc';
  /** The images subfolder; default 'images' ('JPEGImages' for VOC). */
  images?: string;
  /** The masks subfolder; default 'masks' ('SegmentationClass' for VOC). */
  masks?: string;
  /** Appended to an image's stem to name its mask ('_mask': a.jpg ↔ a_mask.png); default ''. */
  maskSuffix?: string;
  extensions?: readonly string[];
  maskExtensions?: readonly string[];
  /** Class names by id; VOC's 21 for the VOC layout, background/foreground with binary. */
  classes?: string[];
  /** Training crop ([height, width] or a square's side); default 256. */
  size?: Size;
  /** Validation and `.get` size: resized to it (mask: nearest), or 'keep'. Default `size`. */
  evalSize?: Size | 'keep';
  /** `.train`'s augmentation: 'standard' (scale, crop, flip) or 'none' (the eval resize). Default 'standard'. */
  augment?: 'standard' | 'none';
  /** Random scale range, relative to the size whose shorter side equals the crop's; default [0.5, 2]. */
  scale?: [number, number];
  /** Random horizontal flip in 'standard' augmentation; default true. */
  flip?: boolean;
  mean?: readonly number[];
  std?: readonly number[];
  decode?: DecodeOptions;
  /** `.val`'s share when the data has no train/val lists; 0 gives no `.val`. Default 0.2. */
  valFraction?: number;
  /** Seeds the split, shuffle and augmentation; default 0. */
  seed?: number;
  /** Loader options of `.train` and `.val` (batchSize default 8). */
  loader?: Omit<LoaderOptions, 'seed' | 'shuffle'>;
}

export interface SegmentationSample {
  image: string;
  mask: string;
}

// ---------------------------------------------------------------- palettes

/** The Pascal VOC colour map for ids 0..n-1: bits of the id spread over R, G, B from the top bit down. */
export function vocPalette(n = 256): Rgb[] {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw invalid('ERR_TG_ARG', 'tg.data.vocPalette', 'n', 'a non-negative integer', n);
  const out: Rgb[] = [];
  for (let i = 0; i < n; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = i;
    for (let j = 0; j < 8; j++) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out.push([r, g, b]);
  }
  return out;
}

/**
 * (H, W, 3) RGB bytes for a map of class ids (e.g. argmax of a prediction),
 * coloured by `palette` (default vocPalette(256)); ids outside it are black.
 * Write it with sharp(buf, { raw: { width, height, channels: 3 } }).png().
 */
export function colorizeMask(ids: Int32Array | Uint8Array, width: number, height: number, palette: ReadonlyArray<Rgb> = vocPalette(256)): Buffer {
  const where = 'tg.data.colorizeMask';
  if (!(Number.isSafeInteger(width) && width >= 1)) throw invalid('ERR_TG_ARG', where, 'width', 'a positive integer', width);
  if (!(Number.isSafeInteger(height) && height >= 1)) throw invalid('ERR_TG_ARG', where, 'height', 'a positive integer', height);
  if (!(ids instanceof Int32Array || ids instanceof Uint8Array) || ids.length !== width * height) {
    throw invalid('ERR_TG_SHAPE', where, 'ids', `an Int32Array or Uint8Array of ${width}×${height} = ${width * height} ids`, ids);
  }
  if (!Array.isArray(palette)) throw invalid('ERR_TG_ARG', where, 'palette', 'an array of [r, g, b]', palette);
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0; i < ids.length; i++) {
    const c = palette[ids[i]];
    if (!c) continue;
    out[i * 3] = c[0];
    out[i * 3 + 1] = c[1];
    out[i * 3 + 2] = c[2];
  }
  return out;
}

// ------------------------------------------------------------------- masks

const rgbKey = (r: number, g: number, b: number) => (r << 16) | (g << 8) | b;

function colorTable(colors: ColorMap, where: string): Map<number, number> {
  const table = new Map<number, number>();
  const byte = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
  const add = (rgb: unknown, id: number, label: string) => {
    if (!Array.isArray(rgb) || rgb.length !== 3 || !rgb.every(byte)) throw invalid('ERR_TG_ARG', where, label, '[r, g, b] bytes', rgb);
    const key = rgbKey(rgb[0], rgb[1], rgb[2]);
    if (table.has(key) && table.get(key) !== id) throw tgError('ERR_TG_ARG', `${where}: colour (${rgb.join(', ')}) is given for classes ${table.get(key)} and ${id}`);
    table.set(key, id);
  };
  if (Array.isArray(colors)) {
    colors.forEach((rgb, id) => {
      if (rgb !== null && rgb !== undefined) add(rgb, id, `colors[${id}]`);
    });
  } else if (typeof colors === 'object' && colors !== null) {
    for (const [key, id] of Object.entries(colors)) {
      if (!Number.isSafeInteger(id)) throw invalid('ERR_TG_ARG', where, `colors['${key}']`, 'an integer class id', id);
      const hex = /^#([0-9a-f]{6})$/i.exec(key);
      const rgb = hex ? [0, 2, 4].map((k) => parseInt(hex[1].slice(k, k + 2), 16)) : key.split(',').map((s) => Number(s.trim()));
      add(rgb, id, `colors key '${key}'`);
    }
  } else {
    throw invalid('ERR_TG_ARG', where, 'colors', "an array of [r, g, b] by class id, or { 'r,g,b': id }", colors);
  }
  return table;
}

// Samples of fewer than 8 bits are packed high bits first, rows padded to a byte.
function unpack(data: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      out[y * width + x] = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

// The decoded pixels in one of two forms: one value per pixel (palette
// indices or grey levels), or RGB bytes.
type Pixels = { kind: 'values'; data: ArrayLike<number>; palette?: number[][] } | { kind: 'rgb'; data: Uint8Array };

function fromPng(png: DecodedPng): Pixels {
  const { width, height, channels, depth } = png;
  if (png.palette) {
    return { kind: 'values', data: unpack(png.data as Uint8Array, width, height, depth), palette: png.palette };
  }
  const n = width * height;
  if (channels <= 2) {
    const data = depth < 8 ? unpack(png.data as Uint8Array, width, height, depth) : png.data;
    if (channels === 1) return { kind: 'values', data };
    const grey = new Uint16Array(n);
    for (let i = 0; i < n; i++) grey[i] = data[i * 2];
    return { kind: 'values', data: grey };
  }
  // RGB(A); 16-bit keeps the high byte.
  const shift = depth === 16 ? 8 : 0;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = png.data[i * channels + c] >> shift;
  }
  return { kind: 'rgb', data: rgb };
}

async function decodeMask(path: string): Promise<{ pixels: Pixels; width: number; height: number }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read mask ${path}: ${(err as Error).message}`);
  }
  const isPng = bytes.length > 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a;
  try {
    if (isPng) {
      const png = decodePng(bytes);
      return { pixels: fromPng(png), width: png.width, height: png.height };
    }
    const { data, info } = await sharp(bytes, { failOn: 'truncated' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const ch = info.channels;
    if (ch <= 2) {
      const grey = new Uint8Array(n);
      for (let i = 0; i < n; i++) grey[i] = data[i * ch];
      return { pixels: { kind: 'values', data: grey }, width: info.width, height: info.height };
    }
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * ch + c];
    return { pixels: { kind: 'rgb', data: rgb }, width: info.width, height: info.height };
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `cannot decode mask ${path}: ${(err as Error).message}`);
  }
}

function checkMaskOptions(o: MaskOptions, where: string): { table?: Map<number, number>; ignoreIndex: number } {
  const ignoreIndex = o.ignoreIndex ?? 255;
  if (!Number.isSafeInteger(ignoreIndex)) throw invalid('ERR_TG_ARG', where, 'ignoreIndex', 'an integer', o.ignoreIndex);
  if (o.unknownColor !== undefined && o.unknownColor !== 'error' && o.unknownColor !== 'ignore') {
    throw invalid('ERR_TG_ARG', where, 'unknownColor', "'error' or 'ignore'", o.unknownColor);
  }
  if (o.numClasses !== undefined && !(Number.isSafeInteger(o.numClasses) && o.numClasses >= 1)) {
    throw invalid('ERR_TG_ARG', where, 'numClasses', 'a positive integer', o.numClasses);
  }
  if (o.binary && o.colors) throw tgError('ERR_TG_ARG', `${where}: give binary or colors, not both`);
  return { table: o.colors ? colorTable(o.colors, where) : undefined, ignoreIndex };
}

function toIds(path: string, pixels: Pixels, width: number, o: MaskOptions, table: Map<number, number> | undefined, ignoreIndex: number): Int32Array {
  const at = (i: number) => `pixel (${i % width}, ${Math.floor(i / width)})`;
  let ids: Int32Array;
  if (table) {
    // Every form becomes a colour: palette entries, grey levels as (v, v, v).
    const n = pixels.data.length / (pixels.kind === 'rgb' ? 3 : 1);
    ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let r: number;
      let g: number;
      let b: number;
      if (pixels.kind === 'rgb') {
        [r, g, b] = [pixels.data[i * 3], pixels.data[i * 3 + 1], pixels.data[i * 3 + 2]];
      } else if (pixels.palette) {
        [r, g, b] = pixels.palette[pixels.data[i]] ?? [0, 0, 0];
      } else {
        r = g = b = pixels.data[i];
      }
      const id = table.get(rgbKey(r, g, b));
      if (id !== undefined) ids[i] = id;
      else if (o.unknownColor === 'ignore') ids[i] = ignoreIndex;
      else throw tgError('ERR_TG_FORMAT', `mask ${path}: colour (${r}, ${g}, ${b}) at ${at(i)} is not among the colors given`);
    }
  } else if (pixels.kind === 'rgb') {
    const d = pixels.data;
    ids = new Int32Array(d.length / 3);
    for (let i = 0; i < ids.length; i++) {
      if (d[i * 3] !== d[i * 3 + 1] || d[i * 3] !== d[i * 3 + 2]) {
        throw tgError(
          'ERR_TG_FORMAT',
          `mask ${path} is a colour image (colour (${d[i * 3]}, ${d[i * 3 + 1]}, ${d[i * 3 + 2]}) at ${at(i)}): ` +
            'give `colors` (class id by RGB), or save masks as palette or grey PNGs of class ids',
        );
      }
      ids[i] = d[i * 3];
    }
  } else {
    ids = Int32Array.from(pixels.data);
  }
  if (o.binary) {
    for (let i = 0; i < ids.length; i++) ids[i] = ids[i] !== 0 ? 1 : 0;
  } else if (o.numClasses !== undefined) {
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i];
      if ((v < 0 || v >= o.numClasses) && v !== ignoreIndex) {
        throw tgError('ERR_TG_FORMAT', `mask ${path}: class id ${v} at ${at(i)} is outside the ${o.numClasses} classes (ignoreIndex ${ignoreIndex})`);
      }
    }
  }
  return ids;
}

/** Reads one mask file as class ids (see MaskOptions); errors name the file. */
export async function readMask(path: string, options: MaskOptions = {}): Promise<Mask> {
  const { table, ignoreIndex } = checkMaskOptions(options, 'tg.data.readMask');
  const { pixels, width, height } = await decodeMask(path);
  return { ids: toIds(path, pixels, width, options, table, ignoreIndex), width, height };
}

// ------------------------------------------------------- mask geometry

// Pillow's NEAREST source indices (see resample.ts): floor((i + 0.5) · in / out), accumulated.
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize);
  let v = scale * 0.5;
  for (let i = 0; i < outSize; i++, v += scale) idx[i] = Math.min(Math.floor(v), inSize - 1);
  return idx;
}

function resizeNearest(m: Mask, width: number, height: number): Mask {
  if (width === m.width && height === m.height) return m;
  const cols = nearestIndex(m.width, width);
  const rows = nearestIndex(m.height, height);
  const ids = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = rows[y] * m.width;
    for (let x = 0; x < width; x++) ids[y * width + x] = m.ids[row + cols[x]];
  }
  return { ids, width, height };
}

function padMask(m: Mask, right: number, bottom: number, fill: number): Mask {
  if (right === 0 && bottom === 0) return m;
  const width = m.width + right;
  const height = m.height + bottom;
  const ids = new Int32Array(width * height).fill(fill);
  for (let y = 0; y < m.height; y++) ids.set(m.ids.subarray(y * m.width, (y + 1) * m.width), y * width);
  return { ids, width, height };
}

function cropMask(m: Mask, left: number, top: number, width: number, height: number): Mask {
  if (left === 0 && top === 0 && width === m.width && height === m.height) return m;
  const ids = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    const s = (top + y) * m.width + left;
    ids.set(m.ids.subarray(s, s + width), y * width);
  }
  return { ids, width, height };
}

function flipMask(m: Mask): Mask {
  const ids = new Int32Array(m.ids.length);
  for (let y = 0; y < m.height; y++) {
    const row = y * m.width;
    for (let x = 0; x < m.width; x++) ids[row + x] = m.ids[row + m.width - 1 - x];
  }
  return { ids, width: m.width, height: m.height };
}

// ----------------------------------------------------------------- dataset

interface Resolved {
  size: [number, number];
  evalSize: [number, number] | null;
  augment: 'standard' | 'none';
  scale: [number, number];
  flip: boolean;
  mean: number[];
  std: number[];
  ignoreIndex: number;
  table?: Map<number, number>;
}

function hw(v: unknown, where: string, param: string): [number, number] {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  throw invalid('ERR_TG_ARG', where, param, 'a positive integer or [height, width]', v);
}

function resolveOptions(o: SegmentationFolderOptions, where: string): Resolved {
  const size = hw(o.size ?? 256, where, 'size');
  const evalSize = o.evalSize === 'keep' ? null : o.evalSize === undefined ? size : hw(o.evalSize, where, 'evalSize');
  if (o.augment !== undefined && o.augment !== 'standard' && o.augment !== 'none') {
    throw invalid('ERR_TG_ARG', where, 'augment', "'standard' or 'none'", o.augment);
  }
  const scale = o.scale ?? [0.5, 2];
  if (!(Array.isArray(scale) && scale.length === 2 && scale.every((x) => Number.isFinite(x) && x > 0) && scale[0] <= scale[1])) {
    throw invalid('ERR_TG_ARG', where, 'scale', '[min, max] with 0 < min ≤ max', o.scale);
  }
  const three = (v: readonly number[], positive: boolean) => Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x) && (!positive || x > 0));
  const mean = o.mean ?? IMAGENET_MEAN;
  const std = o.std ?? IMAGENET_STD;
  if (!three(mean, false)) throw invalid('ERR_TG_ARG', where, 'mean', 'three finite numbers', o.mean);
  if (!three(std, true)) throw invalid('ERR_TG_ARG', where, 'std', 'three positive numbers', o.std);
  const { table, ignoreIndex } = checkMaskOptions(o, where);
  return { size, evalSize, augment: o.augment ?? 'standard', scale: [scale[0], scale[1]], flip: o.flip ?? true, mean: [...mean], std: [...std], ignoreIndex, table };
}

/** Image/mask pairs with joint transforms: samples { input: (3, H, W) f32, target: (H, W) i32 } ((1, H, W) f32 with binary). */
export class SegmentationDataset implements Dataset {
  readonly root: string;
  readonly samples: readonly SegmentationSample[];
  readonly classes?: string[];
  /** 'train' applies the random augmentation, 'eval' the fixed resize. */
  readonly mode: 'train' | 'eval';
  private readonly options: SegmentationFolderOptions;
  private readonly r: Resolved;
  /** Indices of fixed train/val lists (VOC ImageSets), when there are any. */
  private readonly lists?: { train: number[]; val: number[] };
  private parts?: { train: DataLoader; val?: DataLoader };

  constructor(
    root: string,
    samples: SegmentationSample[],
    options: SegmentationFolderOptions = {},
    mode: 'train' | 'eval' = 'eval',
    lists?: { train: number[]; val: number[] },
  ) {
    const where = 'tg.data.SegmentationDataset';
    this.root = root;
    this.samples = samples;
    this.options = options;
    this.mode = mode;
    this.lists = lists;
    this.r = resolveOptions(options, where);
    if (options.classes !== undefined && !(Array.isArray(options.classes) && options.classes.every((c) => typeof c === 'string'))) {
      throw invalid('ERR_TG_ARG', where, 'classes', 'an array of class names', options.classes);
    }
    this.classes = options.classes ?? (options.binary ? ['background', 'foreground'] : undefined);
  }

  get length(): number {
    return this.samples.length;
  }

  get ignoreIndex(): number {
    return this.r.ignoreIndex;
  }

  describe(index: number): string {
    return this.samples[index]?.image ?? `sample ${index}`;
  }

  /** The same pairs with the train (augmenting) or eval transform. */
  withMode(mode: 'train' | 'eval'): SegmentationDataset {
    return new SegmentationDataset(this.root, this.samples as SegmentationSample[], this.options, mode, this.lists);
  }

  /** Sample `index`'s mask as class ids, before any transform. */
  async mask(index: number): Promise<Mask> {
    const { mask } = this.samples[index];
    const { pixels, width, height } = await decodeMask(mask);
    const numClasses = this.options.numClasses ?? (this.options.binary ? undefined : this.classes?.length);
    return { ids: toIds(mask, pixels, width, { ...this.options, numClasses }, this.r.table, this.r.ignoreIndex), width, height };
  }

  async get(index: number, rng: Rng): Promise<Sample> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.samples.length) {
      throw invalid('ERR_TG_ARG', 'tg.data.SegmentationDataset.get', 'index', `an integer in [0, ${this.samples.length - 1}]`, index);
    }
    const { image, mask } = this.samples[index];
    const [img, m0] = await Promise.all([PipelineImage.open(image, this.options.decode), this.mask(index)]);
    if (img.width !== m0.width || img.height !== m0.height) {
      throw tgError('ERR_TG_FORMAT', `mask ${mask} is ${m0.width}×${m0.height} but its image ${image} is ${img.width}×${img.height}`);
    }
    const r = this.r;
    let m = m0;
    if (this.mode === 'train' && r.augment === 'standard') {
      const [ch, cw] = r.size;
      // Scale relative to the size whose shorter side is the crop's.
      const f = (Math.min(ch, cw) / Math.min(m.width, m.height)) * rng.uniform(r.scale[0], r.scale[1]);
      const sw = Math.max(1, Math.round(m.width * f));
      const sh = Math.max(1, Math.round(m.height * f));
      img.resize(sw, sh, 'bilinear');
      m = resizeNearest(m, sw, sh);
      const padR = Math.max(cw - sw, 0);
      const padB = Math.max(ch - sh, 0);
      await img.pad(0, 0, padR, padB);
      m = padMask(m, padR, padB, r.ignoreIndex);
      const top = rng.int(m.height - ch + 1);
      const left = rng.int(m.width - cw + 1);
      img.crop(left, top, cw, ch);
      m = cropMask(m, left, top, cw, ch);
      if (r.flip && rng.next() < 0.5) {
        img.flip();
        m = flipMask(m);
      }
    } else {
      const to = this.mode === 'train' ? r.size : r.evalSize;
      if (to) {
        img.resize(to[1], to[0], 'bilinear');
        m = resizeNearest(m, to[1], to[0]);
      }
    }
    img.normalize(r.mean, r.std);
    const target = this.options.binary
      ? new Tensor(Float32Array.from(m.ids), [1, m.height, m.width], 'f32')
      : new Tensor(m.ids, [m.height, m.width], 'i32');
    return { input: await img.tensor(), target };
  }

  /** Training batches: the train list (VOC) or the split's larger part, shuffled, with `augment`. */
  get train(): DataLoader {
    return this.splitParts().train;
  }

  /** Validation batches (eval transform, fixed order), or undefined without any. */
  get val(): DataLoader | undefined {
    return this.splitParts().val;
  }

  private splitParts(): { train: DataLoader; val?: DataLoader } {
    if (this.parts) return this.parts;
    const o = this.options;
    const seed = checkSeed(o.seed ?? 0, 'tg.data.segmentationFolder');
    let train: number[] | Int32Array;
    let val: number[] | Int32Array;
    if (this.lists) {
      ({ train, val } = this.lists);
    } else {
      const parts = split(this, { valFraction: o.valFraction ?? 0.2, seed });
      train = parts.train.indices;
      val = parts.val.indices;
    }
    const opts = { batchSize: 8, ...o.loader, seed };
    this.parts = {
      train: loader(new Subset(this.withMode('train'), train), { ...opts, shuffle: true }),
      val: val.length > 0 ? loader(new Subset(this.withMode('eval'), val), { ...opts, shuffle: false }) : undefined,
    };
    return this.parts;
  }
}

// ----------------------------------------------------------------- folders

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read folder ${dir}: ${(err as Error).message}`);
  }
}

// Files under `dir` by relative path without extension, keeping those with a listed extension.
function filesByStem(dir: string, exts: string[], kind: string, out = new Map<string, string>(), top = dir): Map<string, string> {
  const entries = readDir(dir).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory() || (e.isSymbolicLink() && isDir(path))) {
      filesByStem(path, exts, kind, out, top);
      continue;
    }
    const ext = extname(e.name);
    if (!exts.includes(ext.toLowerCase())) continue;
    const stem = relative(top, path).slice(0, -ext.length);
    const prev = out.get(stem);
    if (prev) throw tgError('ERR_TG_ARG', `tg.data.segmentationFolder: two ${kind} files share the name ${stem}: ${prev} and ${path}`);
    out.set(stem, path);
  }
  return out;
}

// The ids of a VOC ImageSets list, or undefined when there is no such file.
function listFile(path: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
}

const few = (names: string[]) => names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');

/**
 * A segmentation data set from a folder of images and one of masks (see the
 * layouts above): `.train` / `.val` are loaders of augmented / resized
 * batches { input: (N, 3, H, W) f32, target: (N, H, W) i32 }.
 */
export function segmentationFolder(root: string, options: SegmentationFolderOptions = {}): SegmentationDataset {
  const where = 'tg.data.segmentationFolder';
  if (typeof root !== 'string' || root === '') throw invalid('ERR_TG_ARG', where, 'root', 'a folder path', root);
  resolveOptions(options, where); // bad options fail before the folders are read
  const dir = resolve(root);
  if (!isDir(dir)) throw tgError('ERR_TG_IO', `cannot read segmentation folder ${root}: it is not a folder`);
  const layout = options.layout ?? 'auto';
  if (!['auto', 'folders', 'voc'].includes(layout)) throw invalid('ERR_TG_ARG', where, 'layout', "'auto', 'folders' or 'voc'", layout);
  const voc = layout === 'voc' || (layout === 'auto' && isDir(join(dir, 'JPEGImages')) && isDir(join(dir, 'SegmentationClass')));
  const imagesDir = join(dir, options.images ?? (voc ? 'JPEGImages' : 'images'));
  const masksDir = join(dir, options.masks ?? (voc ? 'SegmentationClass' : 'masks'));
  for (const [d, what, opt] of [[imagesDir, 'images', 'images'], [masksDir, 'masks', 'masks']] as const) {
    if (!isDir(d)) {
      throw tgError('ERR_TG_ARG', `${where}: ${root} has no ${what} folder ${d} (expected images/ and masks/, or VOC's JPEGImages/ and SegmentationClass/; set options.${opt} for other names)`);
    }
  }
  const lower = (v: readonly string[] | undefined, name: string, dflt: readonly string[]) => {
    const list = v ?? dflt;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.startsWith('.'))) {
      throw invalid('ERR_TG_ARG', where, name, 'a non-empty array of extensions such as ".png"', v);
    }
    return list.map((x) => x.toLowerCase());
  };
  const images = filesByStem(imagesDir, lower(options.extensions, 'extensions', IMAGE_EXTENSIONS), 'image');
  const masks = filesByStem(masksDir, lower(options.maskExtensions, 'maskExtensions', MASK_EXTENSIONS), 'mask');
  const suffix = options.maskSuffix ?? '';
  if (typeof suffix !== 'string') throw invalid('ERR_TG_ARG', where, 'maskSuffix', 'a string', suffix);
  const maskOf = (stem: string) => masks.get(stem + suffix);

  const pair = (stem: string, listed?: string): SegmentationSample => {
    const image = images.get(stem);
    const mask = maskOf(stem);
    if (!image) throw tgError('ERR_TG_ARG', `${where}: ${listed ? `${listed} lists ${stem}, but` : `mask ${mask} has no image:`} there is no image ${join(imagesDir, stem)}.*`);
    if (!mask) throw tgError('ERR_TG_ARG', `${where}: ${listed ? `${listed} lists ${stem}, but its ` : ''}image ${image} has no mask ${join(masksDir, stem + suffix)}.*`);
    return { image, mask };
  };

  const opts: SegmentationFolderOptions = { ...options };
  if (voc && opts.classes === undefined && !opts.binary && !opts.colors) opts.classes = [...VOC_CLASSES];
  const samples: SegmentationSample[] = [];
  let lists: { train: number[]; val: number[] } | undefined;
  const setsDir = join(dir, 'ImageSets', 'Segmentation');
  const trainList = voc ? listFile(join(setsDir, 'train.txt')) : undefined;
  const valList = voc ? listFile(join(setsDir, 'val.txt')) : undefined;
  if (trainList && valList) {
    lists = { train: [], val: [] };
    for (const [ids, part, file] of [[trainList, lists.train, 'train.txt'], [valList, lists.val, 'val.txt']] as const) {
      for (const id of ids) {
        part.push(samples.length);
        samples.push(pair(id, join(setsDir, file)));
      }
    }
  } else if (voc) {
    // JPEGImages also holds the detection-only images: the masks pick the samples.
    const byImage = new Map([...masks].map(([stem, path]) => [suffix && stem.endsWith(suffix) ? stem.slice(0, -suffix.length) : stem, path]));
    for (const stem of [...byImage.keys()].sort()) samples.push(pair(stem));
  } else {
    const missing = [...images.keys()].filter((s) => !maskOf(s));
    if (missing.length) {
      throw tgError('ERR_TG_ARG', `${where}: ${missing.length} image${missing.length > 1 ? 's have' : ' has'} no mask in ${masksDir}: ${few(missing.map((s) => images.get(s)!))}`);
    }
    const stems = new Set([...images.keys()].map((s) => s + suffix));
    const orphans = [...masks.keys()].filter((s) => !stems.has(s));
    if (orphans.length) {
      throw tgError('ERR_TG_ARG', `${where}: ${orphans.length} mask${orphans.length > 1 ? 's have' : ' has'} no image in ${imagesDir}: ${few(orphans.map((s) => masks.get(s)!))}`);
    }
    for (const stem of images.keys()) samples.push(pair(stem));
  }
  if (samples.length === 0) throw tgError('ERR_TG_ARG', `${where}: found no image/mask pairs in ${root}`);
  return new SegmentationDataset(dir, samples, opts, 'eval', lists);
}
