// tg.data.synthetic: the procedural image generator for transfer-learning
// demos. Determinism (bit for bit, per image, whatever the data set around
// it), disjoint splits, shapes and ranges, the class lists, the style shift of
// the transductive task, and that classes are separable by a simple invariant
// feature but not by pixel templates (so the tasks are neither noise nor
// trivial).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { SHAPE_RADIUS, SHAPES } from '../dist/data/synthetic-shapes.js';

const S = tg.data.synthetic;
const TASKS = ['source', 'inductive', 'transductive'];

function expectError(fn, code, ...fragments) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.instance(err, Error, 'expected a throw');
  assert.is(err.code, code, `code of: ${err.message}`);
  for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
}

/** The bytes of a float array, as a string usable as a set key. */
const key = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Image i of a dataset's input, as a view. */
function image(ds, i) {
  const x = ds.feeds.input.data;
  const per = x.length / ds.length;
  return x.subarray(i * per, (i + 1) * per);
}

const sameBits = (a, b) => a.length === b.length && key(a) === key(b);

/** Mean squared difference of horizontally adjacent pixels: high-frequency energy. */
function hfEnergy(img, size) {
  let s = 0;
  let n = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      const o = c * size * size + y * size;
      for (let x = 0; x + 1 < size; x++) {
        s += (img[o + x + 1] - img[o + x]) ** 2;
        n++;
      }
    }
  }
  return s / n;
}

/**
 * Radially averaged log power spectrum of the luminance, minus its mean: a
 * feature blind to position (a spectrum), rotation (radial average), colour
 * and contrast sign (luminance power, mean removed), the nuisances the
 * generator randomises. 12 rings up to the Nyquist frequency.
 */
function spectrum(img, size, bins = 12) {
  const n = size * size;
  const lum = new Float64Array(n);
  let mean = 0;
  for (let p = 0; p < n; p++) mean += lum[p] = (img[p] + img[p + n] + img[p + 2 * n]) / 3;
  mean /= n;
  for (let p = 0; p < n; p++) lum[p] -= mean;
  const cos = Float64Array.from({ length: size }, (_, k) => Math.cos((2 * Math.PI * k) / size));
  const sin = Float64Array.from({ length: size }, (_, k) => -Math.sin((2 * Math.PI * k) / size));
  // A separable DFT: rows, then columns.
  const rr = new Float64Array(n);
  const ri = new Float64Array(n);
  for (let y = 0; y < size; y++) {
    for (let k = 0; k < size; k++) {
      let a = 0;
      let b = 0;
      for (let x = 0; x < size; x++) {
        const t = (k * x) % size;
        a += lum[y * size + x] * cos[t];
        b += lum[y * size + x] * sin[t];
      }
      rr[y * size + k] = a;
      ri[y * size + k] = b;
    }
  }
  const power = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let l = 0; l < size; l++) {
    for (let k = 0; k < size; k++) {
      let a = 0;
      let b = 0;
      for (let y = 0; y < size; y++) {
        const t = (l * y) % size;
        a += rr[y * size + k] * cos[t] - ri[y * size + k] * sin[t];
        b += rr[y * size + k] * sin[t] + ri[y * size + k] * cos[t];
      }
      const fx = k <= size / 2 ? k : k - size;
      const fy = l <= size / 2 ? l : l - size;
      const r = Math.hypot(fx, fy) / (size / 2);
      if (r === 0 || r > 1) continue;
      const bin = Math.min(bins - 1, Math.floor(r * bins));
      power[bin] += a * a + b * b;
      count[bin]++;
    }
  }
  const f = Array.from(power, (p, i) => Math.log(1e-6 + p / count[i]));
  const m = f.reduce((s, v) => s + v, 0) / bins;
  return f.map((v) => v - m);
}

/** Nearest-class-mean accuracy on a held-out split, with features `feature(img, size)`. */
function nearestClassMean(task, feature, perClass, seed = 0) {
  const size = 32;
  const train = S.syntheticDataset({ task, perClass, seed, normalize: false });
  const held = S.syntheticDataset({ task, perClass, seed, split: 'test', normalize: false });
  const classes = train.classes.length;
  const means = [];
  for (let i = 0; i < train.length; i++) {
    const f = feature(image(train, i), size);
    const c = train.targets[i];
    means[c] ??= new Float64Array(f.length);
    for (let d = 0; d < f.length; d++) means[c][d] += f[d] / perClass;
  }
  let right = 0;
  for (let i = 0; i < held.length; i++) {
    const f = feature(image(held, i), size);
    let best = -1;
    let bestDist = Infinity;
    for (let c = 0; c < classes; c++) {
      let dist = 0;
      for (let d = 0; d < f.length; d++) dist += (f[d] - means[c][d]) ** 2;
      if (dist < bestDist) [best, bestDist] = [c, dist];
    }
    if (best === held.targets[i]) right++;
  }
  return right / held.length;
}

test('class lists: >= 16 source classes, 10 new target classes, unique names, classesOf by task', () => {
  assert.ok(S.SOURCE_CLASSES.length >= 16, `${S.SOURCE_CLASSES.length} source classes`);
  assert.is(S.TARGET_CLASSES.length, 10);
  assert.is(new Set(S.SOURCE_CLASSES).size, S.SOURCE_CLASSES.length, 'source names unique');
  assert.is(new Set(S.TARGET_CLASSES).size, S.TARGET_CLASSES.length, 'target names unique');
  for (const name of S.TARGET_CLASSES) assert.not.ok(S.SOURCE_CLASSES.includes(name), `${name} is in both lists`);
  assert.is(S.classesOf('source'), S.SOURCE_CLASSES);
  assert.is(S.classesOf('transductive'), S.SOURCE_CLASSES);
  assert.is(S.classesOf('inductive'), S.TARGET_CLASSES);
  assert.ok(Object.isFrozen(S.SOURCE_CLASSES) && Object.isFrozen(S.TARGET_CLASSES));
});

test('every class has a shape builder, and no instance reaches past SHAPE_RADIUS (the renderer would clip it)', () => {
  for (const name of [...S.SOURCE_CLASSES, ...S.TARGET_CLASSES]) {
    assert.type(SHAPES[name], 'function', name);
    for (let i = 0; i < 25; i++) {
      // The smallest extent: textures then have the most periods per shape.
      const paint = SHAPES[name](tg.data.Rng.keyed(11, i), 2 / 0.35);
      let covered = 0;
      for (let a = 0; a < 360; a += 3) {
        const c = Math.cos((a * Math.PI) / 180);
        const s = Math.sin((a * Math.PI) / 180);
        for (let r = 0; r < SHAPE_RADIUS; r += 0.02) if (paint(r * c, r * s) !== 0) covered++;
        for (let r = SHAPE_RADIUS; r < 1.6; r += 0.01) {
          if (paint(r * c, r * s) !== 0) assert.unreachable(`${name} instance ${i} covers radius ${r.toFixed(2)}`);
        }
      }
      assert.ok(covered > 0, `${name} instance ${i} paints nothing`);
    }
  }
});

test('renderImage: CHW float32 in [0, 1] at any size >= 8, deterministic bit for bit, seed and index matter', () => {
  for (const task of TASKS) {
    for (const size of [8, 13, 32]) {
      const classes = S.classesOf(task).length;
      for (let c = 0; c < classes; c++) {
        const img = S.renderImage(task, c, 3, { size, seed: 7 });
        assert.instance(img, Float32Array);
        assert.is(img.length, 3 * size * size);
        for (const v of img) if (!(v >= 0 && v <= 1)) assert.unreachable(`${task} ${c} ${size}: value ${v}`);
        assert.ok(sameBits(img, S.renderImage(task, c, 3, { size, seed: 7 })), `${task} class ${c} size ${size} repeats`);
      }
    }
    assert.not.ok(sameBits(S.renderImage(task, 0, 0), S.renderImage(task, 0, 0, { seed: 1 })), `${task}: seed changes the image`);
    assert.not.ok(sameBits(S.renderImage(task, 0, 0), S.renderImage(task, 0, 1)), `${task}: index changes the image`);
  }
  // The defaults: seed 0, size 32, the train split.
  assert.ok(sameBits(S.renderImage('source', 2, 5), S.renderImage('source', 2, 5, { seed: 0, size: 32, split: 'train' })));
});

test('syntheticDataset: feeds, dtypes, class-interleaved order, per-class counts, classes', () => {
  for (const task of TASKS) {
    const classes = S.classesOf(task);
    const ds = S.syntheticDataset({ task, perClass: 4, size: 16 });
    assert.instance(ds, tg.data.TensorDataset);
    assert.is(ds.length, 4 * classes.length);
    assert.equal(ds.feeds.input.shape, [ds.length, 3, 16, 16]);
    assert.is(ds.feeds.input.dtype, 'f32');
    assert.equal(ds.feeds.target.shape, [ds.length]);
    assert.is(ds.feeds.target.dtype, 'i32');
    assert.equal(ds.classes, [...classes]);
    const expected = Array.from({ length: ds.length }, (_, i) => i % classes.length);
    assert.equal([...ds.targets], expected, 'img0 of class 0, img0 of class 1, ...');
    // A sample as the loader sees it: one image and a scalar class id.
    const sample = ds.get(classes.length + 2, tg.data.Rng.keyed(0));
    assert.equal(sample.input.shape, [3, 16, 16]);
    assert.equal(sample.target.shape, []);
    assert.is(sample.target.data[0], 2);
  }
});

test('image k of a class is the same whatever perClass and offset: nested subsets', () => {
  const C = S.SOURCE_CLASSES.length;
  const small = S.syntheticDataset({ task: 'source', perClass: 5, seed: 3 });
  const large = S.syntheticDataset({ task: 'source', perClass: 20, seed: 3 });
  const shifted = S.syntheticDataset({ task: 'source', perClass: 3, seed: 3, offset: 5 });
  for (let i = 0; i < small.length; i++) assert.ok(sameBits(image(small, i), image(large, i)), `image ${i} of the prefix`);
  for (let i = 0; i < shifted.length; i++) {
    assert.ok(sameBits(image(shifted, i), image(large, 5 * C + i)), `offset image ${i}`);
  }
  // And each is renderImage's image, normalised.
  const raw = S.syntheticDataset({ task: 'inductive', perClass: 2, seed: 3, offset: 4, split: 'test', normalize: false });
  for (let i = 0; i < raw.length; i++) {
    const c = i % 10;
    const k = 4 + Math.floor(i / 10);
    assert.ok(sameBits(image(raw, i), S.renderImage('inductive', c, k, { seed: 3, split: 'test' })), `test image ${k} of class ${c}`);
  }
});

test('normalize: (x - 0.5) / 0.25 exactly, roughly zero mean and unit spread over a data set', () => {
  // Measured (seed 0): mean -0.03 / 0.10 / -0.11, std 1.02 / 1.01 / 1.06 (source / inductive / transductive).
  for (const task of TASKS) {
    const raw = S.syntheticDataset({ task, perClass: 10, normalize: false });
    const norm = S.syntheticDataset({ task, perClass: 10 });
    const x = raw.feeds.input.data;
    const z = norm.feeds.input.data;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < x.length; i++) {
      if (z[i] !== Math.fround((x[i] - 0.5) / 0.25)) assert.unreachable(`${task} element ${i}: ${z[i]} from ${x[i]}`);
      sum += z[i];
      sq += z[i] * z[i];
    }
    const mean = sum / z.length;
    const std = Math.sqrt(sq / z.length - mean * mean);
    assert.ok(Math.abs(mean) < 0.3, `${task}: mean ${mean}`);
    assert.ok(std > 0.75 && std < 1.3, `${task}: std ${std}`);
  }
});

test('train and test splits share no image; no image repeats within a split', () => {
  for (const task of TASKS) {
    const seen = new Map();
    for (const split of ['train', 'test']) {
      const ds = S.syntheticDataset({ task, perClass: 20, split, size: 16, normalize: false });
      for (let i = 0; i < ds.length; i++) {
        const k = key(image(ds, i));
        assert.not.ok(seen.has(k), `${task}: ${split} image ${i} equals ${seen.get(k)}`);
        seen.set(k, `${split} image ${i}`);
      }
    }
  }
});

test('classes differ (mean images) and instances of a class vary', () => {
  for (const task of TASKS) {
    const ds = S.syntheticDataset({ task, perClass: 10, normalize: false });
    const C = ds.classes.length;
    const per = 3 * 32 * 32;
    const means = Array.from({ length: C }, () => new Float64Array(per));
    for (let i = 0; i < ds.length; i++) {
      const img = image(ds, i);
      for (let d = 0; d < per; d++) means[i % C][d] += img[d];
    }
    for (let a = 0; a < C; a++) {
      for (let b = a + 1; b < C; b++) assert.not.ok(sameBits(Float32Array.from(means[a]), Float32Array.from(means[b])), `${task}: classes ${a}, ${b}`);
      // Every instance of a class differs from the class's first instance.
      for (let k = 1; k < 10; k++) assert.not.ok(sameBits(image(ds, a), image(ds, k * C + a)), `${task} class ${a} instance ${k}`);
    }
  }
});

test('transductive: the source classes in another style, with far more high-frequency energy', () => {
  assert.equal(S.syntheticDataset({ task: 'transductive', perClass: 1, size: 8 }).classes, [...S.SOURCE_CLASSES]);
  const source = S.syntheticDataset({ task: 'source', perClass: 10, normalize: false });
  const shifted = S.syntheticDataset({ task: 'transductive', perClass: 10, normalize: false });
  const C = S.SOURCE_CLASSES.length;
  for (let c = 0; c < C; c++) {
    let es = 0;
    let et = 0;
    for (let k = 0; k < 10; k++) {
      es += hfEnergy(image(source, k * C + c), 32);
      et += hfEnergy(image(shifted, k * C + c), 32);
    }
    // Measured: 6-20x per class (noise sigma 0.15-0.22 against 0.01-0.04).
    assert.ok(et > 4 * es, `${S.SOURCE_CLASSES[c]}: high-frequency energy ${et / 10} vs source ${es / 10}`);
  }
});

test('learnable but not trivial: nearest-class-mean beats chance on an invariant feature, not on raw pixels', () => {
  // Measured with perClass 20, seed 0 (360 / 200 / 360 held-out images):
  // spectrum 0.233 / 0.275 / 0.142 for source / inductive / transductive
  // (chance 0.056 / 0.1 / 0.056), raw pixels 0.044 / 0.120 / 0.061.
  const overChance = { source: 2, inductive: 1.8, transductive: 1.5 };
  for (const task of TASKS) {
    const chance = 1 / S.classesOf(task).length;
    const acc = nearestClassMean(task, spectrum, 20);
    assert.ok(acc > overChance[task] * chance, `${task}: spectrum NCM ${acc}, chance ${chance}`);
    assert.ok(acc < 0.9, `${task}: spectrum NCM ${acc} is too easy`);
    // Colour, pose and place are random, so no class has a pixel template.
    const raw = nearestClassMean(task, (img) => img, 20);
    assert.ok(raw < 2 * chance, `${task}: raw-pixel NCM ${raw}, chance ${chance}`);
  }
});

test('invalid options throw ERR_TG_ARG naming the option', () => {
  const ok = { task: 'source', perClass: 2 };
  const where = 'tg.data.synthetic.syntheticDataset';
  expectError(() => S.syntheticDataset(), 'ERR_TG_ARG', where, 'options');
  expectError(() => S.syntheticDataset({ ...ok, task: 'target' }), 'ERR_TG_ARG', 'options.task', "'inductive'", '"target"');
  expectError(() => S.syntheticDataset({ ...ok, perClass: 0 }), 'ERR_TG_ARG', 'options.perClass', 'positive integer');
  expectError(() => S.syntheticDataset({ ...ok, perClass: 2.5 }), 'ERR_TG_ARG', 'options.perClass');
  expectError(() => S.syntheticDataset({ ...ok, perClass: undefined }), 'ERR_TG_ARG', 'options.perClass');
  expectError(() => S.syntheticDataset({ ...ok, size: 7 }), 'ERR_TG_ARG', 'options.size', '≥ 8', '7');
  expectError(() => S.syntheticDataset({ ...ok, size: '32' }), 'ERR_TG_ARG', 'options.size');
  expectError(() => S.syntheticDataset({ ...ok, seed: -1 }), 'ERR_TG_ARG', 'options.seed');
  expectError(() => S.syntheticDataset({ ...ok, split: 'val' }), 'ERR_TG_ARG', 'options.split', '"val"');
  expectError(() => S.syntheticDataset({ ...ok, offset: -3 }), 'ERR_TG_ARG', 'options.offset');
  expectError(() => S.syntheticDataset({ ...ok, normalize: 'yes' }), 'ERR_TG_ARG', 'options.normalize');
  expectError(() => S.renderImage('nope', 0, 0), 'ERR_TG_ARG', 'renderImage', 'task');
  expectError(() => S.renderImage('inductive', 10, 0), 'ERR_TG_ARG', 'classIndex', '[0, 9]', '10');
  expectError(() => S.renderImage('source', 0, -1), 'ERR_TG_ARG', 'index');
  expectError(() => S.renderImage('source', 0, 0, { size: 4 }), 'ERR_TG_ARG', 'options.size');
  expectError(() => S.classesOf('other'), 'ERR_TG_ARG', 'classesOf', 'task');
});

test.run();
