// tg.data.syntheticSegmentation: generated image/mask pairs for semantic
// segmentation, drawn in the style of tg.data.synthetic's source domain (a
// smooth two-colour gradient background, anti-aliased shapes of random
// colour, scale, rotation, reflection and position, faint noise) with the
// class geometry of synthetic-shapes.ts. Each image holds one to three
// shapes; its mask holds every pixel's class id: 0 for the background, then
// 1.. for the classes in the order given.
//
// A pixel's label comes from the same 2×2 sub-samples that anti-alias the
// image: every sub-sample remembers the topmost shape over it, and the pixel
// goes to the class covering most of its sub-samples (so a class covering at
// least half of a pixel, rather than the background, gets it); a tie goes to
// the class that is drawn higher up.
//
// Every pair is a pure function of (index, seed, size, classes, maxShapes):
// its random numbers come from generators keyed by (seed, index), so any pair
// can be rendered alone, a folder of 20 pairs is a prefix of one of 100, and
// a square scene is the same scene at every resolution.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import sharp from 'sharp';
import { invalid, tgError } from '../errors.js';
import { checkSeed, Rng } from './rng.js';
import { SHAPE_RADIUS, SHAPES } from './synthetic-shapes.js';

/** The shape classes drawn when none are given (mask ids 1, 2, 3). */
export const DEFAULT_CLASSES: readonly string[] = Object.freeze(['circle', 'square', 'triangle']);

/** Every shape class name that may be asked for. */
export const SHAPE_CLASSES: readonly string[] = Object.freeze(Object.keys(SHAPES));

export type Rgb = [number, number, number];

export interface PairOptions {
  /** Default 0. */
  seed?: number;
  /** Pixels: a square's side or [height, width], each at least 8; default 64. */
  size?: number | [number, number];
  /** Shape classes (SHAPE_CLASSES names) for mask ids 1..n; default DEFAULT_CLASSES. */
  classes?: readonly string[];
  /** Shapes per image: 1 to this many (default 3). */
  maxShapes?: number;
}

/** One shape of a pair, in drawing order (later shapes lie on top). */
export interface ShapeInfo {
  /** The class name and its mask id (1-based). */
  className: string;
  classId: number;
  /** The main colour, RGB in [0, 1] before shading and noise. */
  colour: Rgb;
  /** The second colour, used by two-part classes only. */
  colour2: Rgb;
  /** Centre in pixels (x, y). */
  centre: [number, number];
  /** Radius of the shape's unit disk, in pixels. */
  radius: number;
  /** Rotation in radians, and whether the shape is mirrored. */
  angle: number;
  mirrored: boolean;
}

export interface Pair {
  /** (3, H, W) RGB in [0, 1], not normalised. */
  image: Float32Array;
  /** (H, W) class ids: 0 background, i + 1 for classes[i]. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** Class names by mask id, 'background' first. */
  classes: string[];
  shapes: ShapeInfo[];
}

export interface WriteFolderOptions extends PairOptions {
  /** How many pairs to write. */
  count: number;
  /** Index of the first pair (default 0): a folder can continue another. */
  start?: number;
}

export interface FolderInfo {
  /** Class names by mask id, 'background' first (for segmentationFolder's classes). */
  classes: string[];
  count: number;
  /** The images/ and masks/ folders written. */
  images: string;
  masks: string;
}

// Stream keys. SALT keeps these apart from tg.data.synthetic's streams and the
// data pipeline's; geometry and colours draw from separate streams, so that a
// change in how one is drawn does not reshuffle the other.
const SALT = 0x5345474d; // "SEGM"
const GEOMETRY = 1;
const STYLE = 2;
const NOISE = 3;

// Shape radius as a fraction of the shorter image side's half, and how far
// apart (in sums of radii) the centres of two shapes of one image should be.
const MIN_RADIUS = 0.28;
const MAX_RADIUS = 0.5;
const SEPARATION = 0.8;
const PLACEMENT_TRIES = 20;

// ---------------------------------------------------------------------------
// Colours

/** A random colour from HSV, saturation and value kept away from grey and black. */
function hsvColour(rng: Rng): Rgb {
  const h = rng.uniform(0, 6);
  const s = rng.uniform(0.15, 0.9);
  const v = rng.uniform(0.35, 1);
  const sector = Math.min(5, Math.floor(h));
  const f = h - sector;
  const lo = v * (1 - s);
  const down = v * (1 - s * f);
  const up = v * (1 - s * (1 - f));
  const table: Rgb[] = [
    [v, up, lo],
    [down, v, lo],
    [lo, v, up],
    [lo, down, v],
    [up, lo, v],
    [v, lo, down],
  ];
  return table[sector];
}

function rgbDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** The first of up to 32 random colours at least `min` from all of `avoid`, else the farthest seen. */
function distinctColour(rng: Rng, avoid: readonly Rgb[], min: number): Rgb {
  let best: Rgb | undefined;
  let bestGap = -1;
  for (let i = 0; i < 32; i++) {
    const c = hsvColour(rng);
    const gap = avoid.reduce((m, a) => Math.min(m, rgbDistance(c, a)), Infinity);
    if (gap >= min) return c;
    if (gap > bestGap) {
      best = c;
      bestGap = gap;
    }
  }
  return best!;
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

// ---------------------------------------------------------------------------
// Geometry: image coordinates put the origin at the image's centre, with the
// shorter side spanning [-1, 1] (unit = 2 / min(width, height) per pixel).

interface Frame {
  width: number;
  height: number;
  /** Image units per pixel. */
  unit: number;
  /** Half extents of the image in image units (1 on the shorter side). */
  halfW: number;
  halfH: number;
}

function frameOf(width: number, height: number): Frame {
  const unit = 2 / Math.min(width, height);
  return { width, height, unit, halfW: (width * unit) / 2, halfH: (height * unit) / 2 };
}

/** Pixel centre x (or y) in image units. */
const toImage = (i: number, half: number, unit: number) => (i + 0.5) * unit - half;

/**
 * Fills `img` with a smooth blend of two nearby colours along a direction, a
 * distance from a point or a slow sine, and returns both colours (which the
 * shapes must stand out from).
 */
function paintBackground(img: Float32Array, f: Frame, rng: Rng): Rgb[] {
  const a = hsvColour(rng);
  const b = a.map((x) => clamp01(x + rng.uniform(-0.35, 0.35))) as Rgb;
  const kind = rng.int(3);
  const theta = rng.uniform(0, 2 * Math.PI);
  const dx = Math.cos(theta);
  const dy = Math.sin(theta);
  const px = rng.uniform(-1, 1);
  const py = rng.uniform(-1, 1);
  const falloff = rng.uniform(1.2, 2.4);
  const freq = rng.uniform(1, 2.5);
  const phase = rng.uniform(0, 2 * Math.PI);
  const plane = f.width * f.height;
  for (let y = 0; y < f.height; y++) {
    const Y = toImage(y, f.halfH, f.unit);
    for (let x = 0; x < f.width; x++) {
      const X = toImage(x, f.halfW, f.unit);
      const along = dx * X + dy * Y;
      const t =
        kind === 0 ? clamp01(0.5 + 0.35 * along) : kind === 1 ? Math.min(1, Math.hypot(X - px, Y - py) / falloff) : 0.5 + 0.5 * Math.sin(freq * along + phase);
      const p = y * f.width + x;
      for (let c = 0; c < 3; c++) img[p + c * plane] = a[c] + t * (b[c] - a[c]);
    }
  }
  return [a, b];
}

interface Placed {
  cx: number;
  cy: number;
  r: number;
}

/**
 * A centre for a shape of radius r (image units): mostly inside the image,
 * and as far from the shapes already placed as a few tries find; overlaps
 * stay possible, so that the topmost-wins rule matters now and then.
 */
function place(rng: Rng, f: Frame, r: number, placed: readonly Placed[]): { cx: number; cy: number } {
  const roomX = Math.max(0, f.halfW - 0.75 * r);
  const roomY = Math.max(0, f.halfH - 0.75 * r);
  let best = { cx: 0, cy: 0 };
  let bestScore = -Infinity;
  for (let i = 0; i < PLACEMENT_TRIES; i++) {
    const cx = rng.uniform(-roomX, roomX);
    const cy = rng.uniform(-roomY, roomY);
    // Distance to the nearest placed shape relative to the sum of radii.
    let score = Infinity;
    for (const q of placed) score = Math.min(score, Math.hypot(cx - q.cx, cy - q.cy) / (r + q.r));
    if (score >= SEPARATION) return { cx, cy };
    if (score > bestScore) {
      best = { cx, cy };
      bestScore = score;
    }
  }
  return best;
}

/**
 * Draws one shape over `img` with 2×2 sub-samples per pixel and records, per
 * sub-sample, the layer (1-based drawing order) that now covers it. Only the
 * pixels near the shape's bounding disk are visited.
 */
function paintShape(
  img: Float32Array,
  layers: Uint8Array,
  f: Frame,
  layer: number,
  shape: { cx: number; cy: number; r: number; angle: number; mirror: number },
  paint: (u: number, v: number) => number,
  fg1: Rgb,
  fg2: Rgb,
  shade: [number, number],
): void {
  const { cx, cy, r, angle, mirror } = shape;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // Local (u, v) = R(angle)·(X - cx, Y - cy) / r, v mirrored; affine in pixels.
  const k = f.unit / r;
  const uX = cos * k;
  const uY = sin * k;
  const vX = -sin * k * mirror;
  const vY = cos * k * mirror;
  const bound = (SHAPE_RADIUS * r) / f.unit + 1;
  const pcx = (cx + f.halfW) / f.unit;
  const pcy = (cy + f.halfH) / f.unit;
  const x0 = Math.max(0, Math.floor(pcx - bound));
  const x1 = Math.min(f.width - 1, Math.ceil(pcx + bound));
  const y0 = Math.max(0, Math.floor(pcy - bound));
  const y1 = Math.min(f.height - 1, Math.ceil(pcy + bound));
  const plane = f.width * f.height;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      // The pixel centre relative to the shape centre, in pixels.
      const ox = x + 0.5 - pcx;
      const oy = y + 0.5 - pcy;
      const u = uX * ox + uY * oy;
      const v = vX * ox + vY * oy;
      let first = 0;
      let second = 0;
      const p = y * f.width + x;
      for (let s = 0; s < 4; s++) {
        const sx = s & 1 ? 0.25 : -0.25;
        const sy = s & 2 ? 0.25 : -0.25;
        const hit = paint(u + uX * sx + uY * sy, v + vX * sx + vY * sy);
        if (hit === 0) continue;
        if (hit === 1) first++;
        else second++;
        layers[4 * p + s] = layer;
      }
      if (first + second === 0) continue;
      const a1 = first / 4;
      const a2 = second / 4;
      const rest = 1 - a1 - a2;
      const lit = shade[0] * toImage(x, f.halfW, f.unit) + shade[1] * toImage(y, f.halfH, f.unit);
      for (let c = 0; c < 3; c++) {
        const q = p + c * plane;
        img[q] = rest * img[q] + a1 * (fg1[c] + lit) + a2 * (fg2[c] + lit);
      }
    }
  }
}

/** Each pixel's class from its four sub-samples' layers (see the header). */
function labelPixels(layers: Uint8Array, classOfLayer: Uint8Array, n: number): Uint8Array {
  const mask = new Uint8Array(n);
  const cls = [0, 0, 0, 0];
  const top = [0, 0, 0, 0];
  for (let p = 0; p < n; p++) {
    const o = 4 * p;
    if ((layers[o] | layers[o + 1] | layers[o + 2] | layers[o + 3]) === 0) continue;
    let bestClass = 0;
    let bestCount = 0;
    let bestTop = -1;
    for (let s = 0; s < 4; s++) {
      cls[s] = classOfLayer[layers[o + s]];
      top[s] = layers[o + s];
    }
    for (let s = 0; s < 4; s++) {
      let count = 0;
      let highest = 0;
      for (let t = 0; t < 4; t++) {
        if (cls[t] === cls[s]) {
          count++;
          if (top[t] > highest) highest = top[t];
        }
      }
      if (count > bestCount || (count === bestCount && highest > bestTop)) {
        bestClass = cls[s];
        bestCount = count;
        bestTop = highest;
      }
    }
    mask[p] = bestClass;
  }
  return mask;
}

/** Zero-mean noise of standard deviation `sigma` (triangular, from one 32-bit draw), clamped to [0, 1]. */
function addNoise(img: Float32Array, sigma: number, rng: Rng): void {
  const scale = sigma * Math.sqrt(6);
  for (let i = 0; i < img.length; i++) {
    const w = rng.nextU32();
    const t = ((w & 0xffff) + (w >>> 16)) / 65535 - 1;
    img[i] = clamp01(img[i] + t * scale);
  }
}

// ---------------------------------------------------------------------------
// Options

interface Resolved {
  seed: number;
  width: number;
  height: number;
  classes: string[];
  maxShapes: number;
}

function checkInt(value: unknown, min: number, where: string, param: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid('ERR_TG_ARG', where, param, min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`, value);
  }
  return value;
}

function resolve(options: PairOptions, where: string): Resolved {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  const seed = checkSeed(options.seed ?? 0, where, 'options.seed');
  const size = options.size ?? 64;
  let width: number;
  let height: number;
  if (Array.isArray(size)) {
    if (size.length !== 2) throw invalid('ERR_TG_ARG', where, 'options.size', 'an integer ≥ 8 or [height, width]', size);
    height = checkInt(size[0], 8, where, 'options.size[0]');
    width = checkInt(size[1], 8, where, 'options.size[1]');
  } else {
    width = height = checkInt(size, 8, where, 'options.size');
  }
  const classes = options.classes ?? DEFAULT_CLASSES;
  if (!Array.isArray(classes) || classes.length === 0 || classes.length > 254) {
    throw invalid('ERR_TG_ARG', where, 'options.classes', 'a non-empty array of at most 254 shape class names', classes);
  }
  const seen = new Set<string>();
  for (const name of classes) {
    if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(SHAPES, name)) {
      throw invalid('ERR_TG_ARG', where, 'options.classes', `names among ${SHAPE_CLASSES.join(', ')}`, name);
    }
    if (seen.has(name)) throw tgError('ERR_TG_ARG', `${where}: options.classes names '${name}' twice`);
    seen.add(name);
  }
  const maxShapes = checkInt(options.maxShapes ?? 3, 1, where, 'options.maxShapes');
  if (maxShapes > 254) throw invalid('ERR_TG_ARG', where, 'options.maxShapes', 'an integer in [1, 254]', maxShapes);
  return { seed, width, height, classes: [...classes], maxShapes };
}

function render(index: number, o: Resolved): Pair {
  const { width, height, classes } = o;
  const f = frameOf(width, height);
  const key = [o.seed, SALT, index];
  const geo = Rng.keyed(...key, GEOMETRY);
  const style = Rng.keyed(...key, STYLE);
  const plane = width * height;
  const image = new Float32Array(3 * plane);
  const layers = new Uint8Array(4 * plane);
  const backdrop = paintBackground(image, f, style);

  const count = 1 + geo.int(o.maxShapes);
  const classOfLayer = new Uint8Array(count + 1);
  const placed: Placed[] = [];
  const shapes: ShapeInfo[] = [];
  const used: Rgb[] = [];
  for (let i = 0; i < count; i++) {
    const id = 1 + geo.int(classes.length);
    const name = classes[id - 1];
    const r = geo.uniform(MIN_RADIUS, MAX_RADIUS);
    const angle = geo.uniform(0, 2 * Math.PI);
    const mirror = geo.next() < 0.5 ? -1 : 1;
    const { cx, cy } = place(geo, f, r, placed);
    placed.push({ cx, cy, r });
    // The builder is told the image width in the shape's local units.
    const paint = SHAPES[name](geo, (2 * f.halfW) / r);
    // Colours stand out from the backdrop and from the shapes drawn before.
    const fg1 = distinctColour(style, [...backdrop, ...used], 0.45);
    const fg2 = distinctColour(style, [...backdrop, ...used, fg1], 0.35);
    used.push(fg1);
    const shadeAngle = style.uniform(0, 2 * Math.PI);
    const shadeAmount = style.uniform(0, 0.1);
    const shade: [number, number] = [Math.cos(shadeAngle) * shadeAmount, Math.sin(shadeAngle) * shadeAmount];
    classOfLayer[i + 1] = id;
    paintShape(image, layers, f, i + 1, { cx, cy, r, angle, mirror }, paint, fg1, fg2, shade);
    shapes.push({
      className: name,
      classId: id,
      colour: fg1,
      colour2: fg2,
      centre: [(cx + f.halfW) / f.unit - 0.5, (cy + f.halfH) / f.unit - 0.5],
      radius: r / f.unit,
      angle,
      mirrored: mirror < 0,
    });
  }
  const mask = labelPixels(layers, classOfLayer, plane);
  const noise = Rng.keyed(...key, NOISE);
  addNoise(image, noise.uniform(0.01, 0.04), noise);
  return { image, mask, width, height, classes: ['background', ...classes], shapes };
}

// ---------------------------------------------------------------------------
// Public API

/** Class names by mask id for `classes` (default DEFAULT_CLASSES): 'background' first. */
export function classNames(classes: readonly string[] = DEFAULT_CLASSES): string[] {
  return ['background', ...resolve({ classes }, 'tg.data.syntheticSegmentation.classNames').classes];
}

/**
 * Pair `index` (a non-negative integer): an image and its mask. The same
 * index and options give the same pair, bit for bit.
 */
export function renderPair(index: number, options: PairOptions = {}): Pair {
  const where = 'tg.data.syntheticSegmentation.renderPair';
  checkInt(index, 0, where, 'index');
  return render(index, resolve(options, where));
}

/** RGB bytes (H, W, 3) of a rendered image, as written to PNG. */
export function imageBytes(pair: Pick<Pair, 'image' | 'width' | 'height'>): Buffer {
  const plane = pair.width * pair.height;
  const out = Buffer.alloc(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[3 * p + c] = Math.round(pair.image[p + c * plane] * 255);
  }
  return out;
}

/**
 * Writes pairs start .. start + count - 1 as `dir/images/<i>.png` (RGB) and
 * `dir/masks/<i>.png` (8-bit grey, the pixel value is the class id), the
 * layout tg.data.segmentationFolder reads with `classes` set to the returned
 * names.
 */
export async function writeFolder(dir: string, options: WriteFolderOptions): Promise<FolderInfo> {
  const where = 'tg.data.syntheticSegmentation.writeFolder';
  if (typeof dir !== 'string' || dir === '') throw invalid('ERR_TG_ARG', where, 'dir', 'a folder path', dir);
  const o = resolve(options, where);
  const count = checkInt(options.count, 1, where, 'options.count');
  const start = checkInt(options.start ?? 0, 0, where, 'options.start');
  const images = join(dir, 'images');
  const masks = join(dir, 'masks');
  try {
    await mkdir(images, { recursive: true });
    await mkdir(masks, { recursive: true });
  } catch (err) {
    throw tgError('ERR_TG_IO', `${where}: cannot create ${dir}: ${(err as Error).message}`);
  }
  const one = async (i: number) => {
    const pair = render(i, o);
    const png = await sharp(imageBytes(pair), { raw: { width: pair.width, height: pair.height, channels: 3 } }).png().toBuffer();
    const maskPng = encodePng({ width: pair.width, height: pair.height, data: pair.mask, depth: 8, channels: 1 });
    try {
      await writeFile(join(images, `${i}.png`), png);
      await writeFile(join(masks, `${i}.png`), maskPng);
    } catch (err) {
      throw tgError('ERR_TG_IO', `${where}: cannot write pair ${i} under ${dir}: ${(err as Error).message}`);
    }
  };
  // A few at a time: sharp encodes on its own threads while the next renders.
  const inFlight = 4;
  for (let i = start; i < start + count; i += inFlight) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(start + count, i + inFlight); j++) batch.push(one(j));
    await Promise.all(batch);
  }
  return { classes: ['background', ...o.classes], count, images, masks };
}
