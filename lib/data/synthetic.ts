// tg.data.synthetic: procedurally generated images for transfer-learning
// demos that need no download. A 'source' task (SOURCE_CLASSES) to pretrain
// on, and two targets to fine-tune on: 'inductive' (new classes, same style)
// and 'transductive' (the same classes in another style: cluttered
// background, inverted colours, blur and heavy noise).
//
// Every image is a pure function of (task, class, index, seed, size, split):
// its random numbers come from a generator keyed by exactly those, so any
// image can be rendered alone, a data set with perClass = 5 is a prefix of
// one with perClass = 20, and runs agree bit for bit. (Integer hashing uses
// Math.imul and >>> 0; the transcendental functions, Math.sin/cos/atan2, are
// V8's own fdlibm port rather than the platform's libm, so the floats agree
// across platforms too.)
import { invalid } from '../errors.js';
import { Tensor } from '../tensor.js';
import { checkSeed, Rng } from './rng.js';
import { SHAPE_RADIUS, SHAPES, type ShapeBuilder } from './synthetic-shapes.js';
import { TensorDataset } from './tensor-dataset.js';

export type SyntheticTask = 'source' | 'inductive' | 'transductive';

/** Classes of the source domain (and of the transductive task). */
export const SOURCE_CLASSES: readonly string[] = Object.freeze([
  'circle',
  'square',
  'triangle',
  'plus',
  'star',
  'hexagon',
  'ring',
  'hollow-square',
  'stripes',
  'checker',
  'dots',
  'grid',
  'two-circles',
  'bar',
  'semicircle',
  'bullseye',
  'circle-and-triangle',
  'wave',
]);

/** Ten classes absent from the source domain, drawn in its style (the inductive task). */
export const TARGET_CLASSES: readonly string[] = Object.freeze([
  'crescent',
  'heart',
  'arrow',
  'l-shape',
  't-shape',
  'ellipse',
  'four-point-star',
  'hollow-triangle',
  'two-squares',
  'circle-in-square',
]);

const TASKS: readonly SyntheticTask[] = ['source', 'inductive', 'transductive'];

/** The class names of a task, by class id. */
export function classesOf(task: SyntheticTask): readonly string[] {
  checkTask(task, 'tg.data.synthetic.classesOf', 'task');
  return task === 'inductive' ? TARGET_CLASSES : SOURCE_CLASSES;
}

// Key words for the image generators. SALT keeps these streams apart from
// the data pipeline's own keyed streams (shuffle, augmentation, split).
const SALT = 0x53594e; // "SYN"
const TASK_KEY: Record<SyntheticTask, number> = { source: 1, inductive: 2, transductive: 3 };
const SPLIT_KEY = { train: 0, test: 1 } as const;
// Geometry and style draw from separate streams, so that changing how one is
// drawn does not reshuffle the other.
const GEOMETRY = 0;
const STYLE = 1;

// Shape placement: the unit disk of the shape's frame spans this fraction of
// the image width, and its centre may move so far that it just touches the
// border (a little beyond: "mostly inside").
const MIN_EXTENT = 0.35;
const MAX_EXTENT = 0.75;
const JITTER = 1.05;

type Rgb = [number, number, number];

// ---------------------------------------------------------------------------
// Colours

function randomColour(rng: Rng): Rgb {
  // HSV with a floor on value, so colours are seldom near-black duplicates;
  // the ranges put the mean channel value near 0.5, the mean `normalize` assumes.
  const h = rng.next() * 6;
  const s = rng.uniform(0.15, 0.9);
  const v = rng.uniform(0.35, 1);
  const i = Math.floor(h);
  const f = h - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (i) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/**
 * A colour at least `min` away from each of `avoid`: rejection sampling with
 * a bounded number of tries (deterministic, since the stream is), then the
 * best candidate seen.
 */
function contrastingColour(rng: Rng, avoid: Rgb[], min: number): Rgb {
  let best: Rgb = randomColour(rng);
  let bestScore = -1;
  for (let tries = 0; tries < 24; tries++) {
    const c = tries === 0 ? best : randomColour(rng);
    let score = Infinity;
    for (const a of avoid) score = Math.min(score, distance(c, a));
    if (score >= min) return c;
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** A second colour near `c` (the far end of a gentle background gradient). */
function nearbyColour(rng: Rng, c: Rgb, spread: number): Rgb {
  return c.map((x) => Math.min(1, Math.max(0, x + rng.uniform(-spread, spread)))) as Rgb;
}

// ---------------------------------------------------------------------------
// Backgrounds. Both write every pixel of `img` (CHW, size × size) and return
// the colours the foreground must stand out from.

/** Pixel index i in image coordinates, [-1, 1] across the image. */
function coord(i: number, size: number): number {
  return ((i + 0.5) / size) * 2 - 1;
}

/** coord() of every pixel index, for the per-pixel loops. */
function coords(size: number): Float64Array {
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = coord(i, size);
  return out;
}

/** Source style: a smooth two-colour gradient, linear, radial or a slow wave. */
function gradientBackground(img: Float32Array, size: number, rng: Rng): Rgb[] {
  const c0 = randomColour(rng);
  const c1 = nearbyColour(rng, c0, 0.35);
  const kind = rng.int(3);
  const angle = rng.uniform(0, 2 * Math.PI);
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  const ox = rng.uniform(-1, 1);
  const oy = rng.uniform(-1, 1);
  const reach = rng.uniform(1.2, 2.4);
  const freq = rng.uniform(1, 2.5);
  const phase = rng.uniform(0, 2 * Math.PI);
  const plane = size * size;
  const at = coords(size);
  for (let y = 0; y < size; y++) {
    const Y = at[y];
    for (let x = 0; x < size; x++) {
      const X = at[x];
      let t: number;
      if (kind === 0) t = 0.5 + 0.35 * (dx * X + dy * Y);
      else if (kind === 1) t = Math.min(1, Math.hypot(X - ox, Y - oy) / reach);
      else t = 0.5 + 0.5 * Math.sin(freq * (dx * X + dy * Y) + phase);
      const p = y * size + x;
      img[p] = c0[0] + t * (c1[0] - c0[0]);
      img[p + plane] = c0[1] + t * (c1[1] - c0[1]);
      img[p + 2 * plane] = c0[2] + t * (c1[2] - c0[2]);
    }
  }
  return [c0, c1];
}

/**
 * Transductive style: high-frequency clutter over a flat base, random thin
 * lines, random small blobs, or a fine rotated checker of period 2-3 pixels.
 * Clutter is drawn per pixel (no anti-aliasing): it is meant to be rough.
 */
function clutterBackground(img: Float32Array, size: number, rng: Rng): Rgb[] {
  const base = randomColour(rng);
  const kind = rng.int(3);
  const plane = size * size;
  const px = 2 / size; // one pixel in image coordinates
  const at = coords(size);
  const fill = (p: number, c: Rgb) => {
    img[p] = c[0];
    img[p + plane] = c[1];
    img[p + 2 * plane] = c[2];
  };
  for (let c = 0; c < 3; c++) img.fill(base[c], c * plane, (c + 1) * plane);
  if (kind === 2) {
    const other = contrastingColour(rng, [base], 0.35);
    const angle = rng.uniform(0, Math.PI / 2);
    const f = 1 / (rng.uniform(2, 3) * px); // cells per image unit, two cells a period
    const c = Math.cos(angle) * f;
    const s = Math.sin(angle) * f;
    for (let y = 0; y < size; y++) {
      const Y = at[y];
      for (let x = 0; x < size; x++) {
        const X = at[x];
        const a = Math.floor(2 * (c * X + s * Y));
        const b = Math.floor(2 * (c * Y - s * X));
        if (((a + b) & 1) === 0) fill(y * size + x, other);
      }
    }
    return [base, other];
  }
  // Clutter colours lie part-way from the base to a random colour: busy, but
  // fainter than the shape, which must still be findable under the noise.
  const count = 5 + rng.int(6);
  for (let k = 0; k < count; k++) {
    const mix = rng.uniform(0.35, 0.7);
    const colour = randomColour(rng).map((c, i) => base[i] + mix * (c - base[i])) as Rgb;
    if (kind === 0) {
      // A line n·p = d, one to two pixels wide.
      const angle = rng.uniform(0, Math.PI);
      const nx = Math.cos(angle);
      const ny = Math.sin(angle);
      const d = rng.uniform(-1, 1);
      const w = rng.uniform(0.5, 1) * px;
      // Walk along the line's longer axis and test only the few pixels
      // across it in each row (or column), not the whole image.
      const steep = Math.abs(nx) >= Math.abs(ny);
      const along = steep ? ny : nx;
      const across = steep ? nx : ny;
      const half = Math.ceil(w / Math.abs(across) / px) + 1;
      for (let i = 0; i < size; i++) {
        const A = at[i];
        const mid = Math.round((((d - along * A) / across + 1) / 2) * size - 0.5);
        for (let j = Math.max(0, mid - half); j <= Math.min(size - 1, mid + half); j++) {
          if (Math.abs(across * at[j] + along * A - d) < w) fill(steep ? i * size + j : j * size + i, colour);
        }
      }
    } else {
      const cx = rng.uniform(-1, 1);
      const cy = rng.uniform(-1, 1);
      const r = rng.uniform(1, 2.5) * px;
      const r2 = r * r;
      // Only the blob's bounding box can be covered.
      const lo = (c: number) => Math.max(0, Math.floor(((c - r + 1) / 2) * size));
      const hi = (c: number) => Math.min(size - 1, Math.ceil(((c + r + 1) / 2) * size));
      for (let y = lo(cy); y <= hi(cy); y++) {
        const dy = at[y] - cy;
        for (let x = lo(cx); x <= hi(cx); x++) {
          const dx = at[x] - cx;
          if (dx * dx + dy * dy < r2) fill(y * size + x, colour);
        }
      }
    }
  }
  // The foreground must stand out from the base; the clutter may be any colour.
  return [base];
}

// ---------------------------------------------------------------------------
// The shape

/**
 * Paints one class instance over `img` with 2×2 supersampling. The frame:
 * random rotation, optional mirror image, extent and position; the colour: a
 * base colour with a gentle linear shading across the image, at least
 * `contrast` (RGB distance) from the background colours `avoid`.
 */
function paintShape(
  img: Float32Array,
  size: number,
  build: ShapeBuilder,
  geo: Rng,
  style: Rng,
  avoid: Rgb[],
  contrast: number,
): void {
  const extent = geo.uniform(MIN_EXTENT, MAX_EXTENT);
  const angle = geo.uniform(0, 2 * Math.PI);
  const mirror = geo.next() < 0.5 ? -1 : 1;
  const room = (1 - extent) * JITTER;
  const cx = geo.uniform(-room, room);
  const cy = geo.uniform(-room, room);
  // The image is 2 units wide in image coordinates, 2 / extent in the shape's.
  const paint = build(geo, 2 / extent);

  const fg1 = contrastingColour(style, avoid, contrast);
  const fg2 = contrastingColour(style, [...avoid, fg1], 0.35);
  const shadeAngle = style.uniform(0, 2 * Math.PI);
  const shade = style.uniform(0, 0.12);
  const sx = Math.cos(shadeAngle) * shade;
  const sy = Math.sin(shadeAngle) * shade;

  // Image coordinates (X, Y) to the shape's frame: u = R(X - c) / extent,
  // with v mirrored. Both are affine in the pixel indices.
  const k = 2 / size / extent;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const uX = cos * k;
  const uY = sin * k;
  const vX = -sin * k * mirror;
  const vY = cos * k * mirror;
  // Local coordinates of the corner (0, 0) of pixel (0, 0).
  const X0 = -1 - cx;
  const Y0 = -1 - cy;
  const u00 = (cos * X0 + sin * Y0) / extent;
  const v00 = ((-sin * X0 + cos * Y0) / extent) * mirror;
  // Pixels whose centre is this far out cannot be covered: no sub-sample is
  // more than √2/4 pixel (k local units per pixel) from it.
  const reach = SHAPE_RADIUS + 0.5 * Math.SQRT2 * k;
  const reach2 = reach * reach;

  const plane = size * size;
  const at = coords(size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const uc = u00 + uX * (x + 0.5) + uY * (y + 0.5);
      const vc = v00 + vX * (x + 0.5) + vY * (y + 0.5);
      if (uc * uc + vc * vc > reach2) continue;
      let n1 = 0;
      let n2 = 0;
      // Sub-samples at ±1/4 pixel on each axis.
      for (let s = 0; s < 4; s++) {
        const ox = s & 1 ? 0.25 : -0.25;
        const oy = s & 2 ? 0.25 : -0.25;
        const hit = paint(uc + uX * ox + uY * oy, vc + vX * ox + vY * oy);
        if (hit === 1) n1++;
        else if (hit === 2) n2++;
      }
      if (n1 + n2 === 0) continue;
      const a1 = n1 * 0.25;
      const a2 = n2 * 0.25;
      const keep = 1 - a1 - a2;
      const lit = sx * at[x] + sy * at[y];
      const p = y * size + x;
      for (let c = 0; c < 3; c++) {
        const q = p + c * plane;
        img[q] = keep * img[q] + a1 * (fg1[c] + lit) + a2 * (fg2[c] + lit);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Post-processing

/**
 * A 3×3 box blur per channel, edges clamped, in place: a horizontal pass into
 * a scratch plane, then a vertical pass back, both along rows (cache order).
 */
function boxBlur(img: Float32Array, size: number): void {
  const plane = size * size;
  const tmp = new Float32Array(plane);
  const third = 1 / 3;
  for (let c = 0; c < 3; c++) {
    const off = c * plane;
    for (let r = 0; r < plane; r += size) {
      const o = off + r;
      tmp[r] = (2 * img[o] + img[o + 1]) * third;
      for (let x = 1; x < size - 1; x++) tmp[r + x] = (img[o + x - 1] + img[o + x] + img[o + x + 1]) * third;
      tmp[r + size - 1] = (img[o + size - 2] + 2 * img[o + size - 1]) * third;
    }
    for (let y = 0; y < size; y++) {
      const up = Math.max(0, y - 1) * size;
      const mid = y * size;
      const down = Math.min(size - 1, y + 1) * size;
      const o = off + mid;
      for (let x = 0; x < size; x++) img[o + x] = (tmp[up + x] + tmp[mid + x] + tmp[down + x]) * third;
    }
  }
}

/**
 * Adds zero-mean noise of standard deviation `sigma`, inverts if asked, and
 * clamps to [0, 1]. Each noise value is the sum of four 4-bit nibbles
 * (Irwin-Hall with n = 4: close to Gaussian, in steps of sigma / 9), so one
 * 32-bit draw serves two values. The draws come from an inline xorshift32
 * seeded by the style stream: this loop touches every value of the image and
 * dominated the render time with a general-purpose generator.
 */
function finish(img: Float32Array, sigma: number, invert: boolean, seed: number): void {
  let state = seed | 0 || 0x1e3779b9; // xorshift32 must not start at 0
  // A nibble is uniform on 0..15: mean 7.5, variance (16² - 1) / 12; four: mean 30.
  const scale = sigma / Math.sqrt((4 * (16 * 16 - 1)) / 12);
  const flip = invert ? 1 : 0;
  const sign = invert ? -1 : 1;
  for (let i = 0; i < img.length; i += 2) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const lo = (state & 15) + ((state >> 4) & 15) + ((state >> 8) & 15) + ((state >> 12) & 15);
    const hi = ((state >> 16) & 15) + ((state >> 20) & 15) + ((state >> 24) & 15) + ((state >>> 28) & 15);
    const a = flip + sign * img[i] + (lo - 30) * scale;
    img[i] = a < 0 ? 0 : a > 1 ? 1 : a;
    // An odd-length image (odd size) has no partner for its last value.
    if (i + 1 < img.length) {
      const b = flip + sign * img[i + 1] + (hi - 30) * scale;
      img[i + 1] = b < 0 ? 0 : b > 1 ? 1 : b;
    }
  }
}

// ---------------------------------------------------------------------------
// Public API

interface RenderKey {
  task: SyntheticTask;
  classIndex: number;
  index: number;
  seed: number;
  size: number;
  split: 'train' | 'test';
}

/** Renders one image into `out` at `at` (CHW, values in [0, 1]); arguments already checked. */
function renderInto(out: Float32Array, at: number, key: RenderKey): void {
  const { task, classIndex, index, seed, size, split } = key;
  const name = (task === 'inductive' ? TARGET_CLASSES : SOURCE_CLASSES)[classIndex];
  const words = [seed, SALT, TASK_KEY[task], SPLIT_KEY[split], classIndex, index];
  const geo = Rng.keyed(...words, GEOMETRY);
  const style = Rng.keyed(...words, STYLE);
  const img = out.subarray(at, at + 3 * size * size);
  if (task === 'transductive') {
    const avoid = clutterBackground(img, size, style);
    // More contrast than the source style needs: the noise here is heavy.
    paintShape(img, size, SHAPES[name], geo, style, avoid, 0.65);
    boxBlur(img, size);
    finish(img, style.uniform(0.15, 0.22), true, style.nextU32());
  } else {
    const avoid = gradientBackground(img, size, style);
    paintShape(img, size, SHAPES[name], geo, style, avoid, 0.45);
    finish(img, style.uniform(0.01, 0.04), false, style.nextU32());
  }
}

function checkTask(task: unknown, where: string, param: string): asserts task is SyntheticTask {
  if (!TASKS.includes(task as SyntheticTask)) {
    throw invalid('ERR_TG_ARG', where, param, `one of ${TASKS.map((t) => `'${t}'`).join(', ')}`, task);
  }
}

function checkInteger(value: unknown, min: number, where: string, param: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const expected = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
    throw invalid('ERR_TG_ARG', where, param, expected, value);
  }
  return value;
}

function checkOptions(options: unknown, where: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  }
}

function checkSize(size: unknown, where: string): number {
  return checkInteger(size, 8, where, 'options.size');
}

function checkSplit(split: unknown, where: string): 'train' | 'test' {
  if (split !== 'train' && split !== 'test') throw invalid('ERR_TG_ARG', where, 'options.split', "'train' or 'test'", split);
  return split;
}

/**
 * One image of class `classIndex` of `task`: CHW float32 in [0, 1], shape
 * [3, size, size], not normalised. The same arguments give the same image,
 * bit for bit, and it is image `index` of that class in syntheticDataset()
 * with the same seed, size and split (default 'train'), before `normalize`.
 */
export function renderImage(
  task: SyntheticTask,
  classIndex: number,
  index: number,
  options: { seed?: number; size?: number; split?: 'train' | 'test' } = {},
): Float32Array {
  const where = 'tg.data.synthetic.renderImage';
  checkTask(task, where, 'task');
  checkInteger(classIndex, 0, where, 'classIndex');
  const classes = classesOf(task);
  if (classIndex >= classes.length) {
    throw invalid('ERR_TG_ARG', where, 'classIndex', `an integer in [0, ${classes.length - 1}] for task '${task}'`, classIndex);
  }
  checkInteger(index, 0, where, 'index');
  checkOptions(options, where);
  const seed = checkSeed(options.seed ?? 0, where, 'options.seed');
  const size = checkSize(options.size ?? 32, where);
  const split = checkSplit(options.split ?? 'train', where);
  const out = new Float32Array(3 * size * size);
  renderInto(out, 0, { task, classIndex, index, seed, size, split });
  return out;
}

export interface SyntheticOptions {
  task: SyntheticTask;
  /** Images per class. */
  perClass: number;
  /** Default 0. */
  seed?: number;
  /** Image width and height in pixels, at least 8; default 32. */
  size?: number;
  /** Default 'train'. The splits draw from separate streams, so they never share an image. */
  split?: 'train' | 'test';
  /**
   * The first image index of each class, default 0. Image k of a class is
   * the same in every data set that holds it, so perClass 5 is a prefix of
   * perClass 20, and offset 5 continues where it ends.
   */
  offset?: number;
  /** Default true: (x - 0.5) / 0.25 per channel, so inputs are roughly zero-mean, unit-variance. */
  normalize?: boolean;
}

/** Channel mean and standard deviation used by `normalize`. */
export const MEAN = 0.5;
export const STD = 0.25;

/**
 * A generated data set: feeds `input` (f32 [N, 3, size, size]) and `target`
 * (i32 [N]), N = perClass × the task's class count, with `classes` set. The
 * order interleaves the classes (image 0 of every class, then image 1, ...),
 * so any prefix is balanced.
 */
export function syntheticDataset(options: SyntheticOptions): TensorDataset {
  const where = 'tg.data.synthetic.syntheticDataset';
  checkOptions(options, where);
  const { task } = options;
  checkTask(task, where, 'options.task');
  const perClass = checkInteger(options.perClass, 1, where, 'options.perClass');
  const seed = checkSeed(options.seed ?? 0, where, 'options.seed');
  const size = checkSize(options.size ?? 32, where);
  const split = checkSplit(options.split ?? 'train', where);
  const offset = checkInteger(options.offset ?? 0, 0, where, 'options.offset');
  const normalize = options.normalize ?? true;
  if (typeof normalize !== 'boolean') throw invalid('ERR_TG_ARG', where, 'options.normalize', 'a boolean', normalize);

  const classes = classesOf(task);
  const n = perClass * classes.length;
  const per = 3 * size * size;
  const input = new Float32Array(n * per);
  const target = new Int32Array(n);
  for (let k = 0; k < perClass; k++) {
    for (let c = 0; c < classes.length; c++) {
      const i = k * classes.length + c;
      renderInto(input, i * per, { task, classIndex: c, index: offset + k, seed, size, split });
      target[i] = c;
    }
  }
  if (normalize) for (let i = 0; i < input.length; i++) input[i] = (input[i] - MEAN) / STD;
  return new TensorDataset(
    { input: new Tensor(input, [n, 3, size, size], 'f32'), target: new Tensor(target, [n], 'i32') },
    { classes: [...classes] },
  );
}
