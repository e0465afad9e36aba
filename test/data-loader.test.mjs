// The loader: batching and collation, shuffling, identical batches whatever
// the concurrency and prefetch and after a "resume" at an epoch boundary,
// loading ahead while the caller works on the current batch, bad files
// (thrown with their path, or skipped), and imageFolder's .train/.val route.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tg from 'tensorgraft';
import * as data from '../dist/data/index.js';
import { rejection } from './helpers.mjs';

const root = mkdtempSync(join(tmpdir(), 'tg-data-loader-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function collect(source, epoch) {
  const out = [];
  for await (const b of source.batches(epoch)) out.push(b);
  return out;
}

/** A folder of 3 classes × 8 small noisy PNGs and JPEGs, each different. */
async function photoFolder(name) {
  const dir = join(root, name);
  for (let i = 0; i < 24; i++) {
    const cls = ['ant', 'bee', 'cat'][i % 3];
    mkdirSync(join(dir, cls), { recursive: true });
    const [w, h] = [40 + (i % 5) * 7, 30 + (i % 4) * 5];
    const px = Buffer.alloc(w * h * 3);
    for (let k = 0; k < px.length; k++) px[k] = (k * (i + 3) * 2654435761) >>> 24;
    const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
    await (i % 2 ? img.jpeg() : img.png()).toFile(join(dir, cls, `${i}.${i % 2 ? 'jpg' : 'png'}`));
  }
  return dir;
}

let photos;
test.before(async () => {
  photos = await photoFolder('photos');
});

test('batches of a tensor data set: shapes, dtypes, order, last batch and dropLast', async () => {
  const x = tg.tensor(Float32Array.from({ length: 10 * 2 }, (_, i) => i), [10, 2]);
  const ds = data.tensorDataset(x, Array.from({ length: 10 }, (_, i) => i));
  const l = data.loader(ds, { batchSize: 4 });
  assert.is(l.batchesPerEpoch, 3);
  assert.is(l.size, 10);
  const batches = await collect(l, 0);
  assert.equal(batches.map((b) => b.input.shape), [[4, 2], [4, 2], [2, 2]]);
  assert.equal(batches.map((b) => b.target.dtype), ['i32', 'i32', 'i32']);
  assert.equal(batches.flatMap((b) => Array.from(b.target.data)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(Array.from(batches[1].input.data), [8, 9, 10, 11, 12, 13, 14, 15]);
  const dropped = data.loader(ds, { batchSize: 4, dropLast: true });
  assert.is(dropped.batchesPerEpoch, 2);
  assert.is((await collect(dropped, 0)).length, 2);
});

test('shuffle: a permutation per epoch, fixed by (seed, epoch)', async () => {
  const ds = data.tensorDataset(tg.tensor(new Float32Array(50), [50, 1]), Array.from({ length: 50 }, (_, i) => i));
  const l = data.loader(ds, { batchSize: 8, shuffle: true, seed: 3 });
  const ids = async (src, e) => (await collect(src, e)).flatMap((b) => Array.from(b.target.data));
  const e0 = await ids(l, 0);
  const e1 = await ids(l, 1);
  assert.equal([...e0].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.not.equal(e0, e1);
  assert.not.equal(e0, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(await ids(l, 0), e0);
  assert.equal(await ids(data.loader(ds, { batchSize: 5, shuffle: true, seed: 3 }), 1), e1, 'batch size does not change the order');
  assert.not.equal(await ids(data.loader(ds, { batchSize: 8, shuffle: true, seed: 4 }), 0), e0);
});

test('determinism: same batches for any concurrency and prefetch, and when resuming at an epoch', async () => {
  const ds = data.imageFolder(photos, {
    transform: data.transforms.imagenetTrain({ size: 24, colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } }),
  });
  const opts = { batchSize: 5, shuffle: true, seed: 11 };
  const digest = (batches) => batches.map((b) => [Array.from(b.target.data), Buffer.from(b.input.data.buffer).toString('base64')]);
  const a = data.loader(ds, { ...opts, concurrency: 1, prefetch: 0 });
  const a0 = digest(await collect(a, 0));
  const a1 = digest(await collect(a, 1));
  assert.is(a0.length, 5);
  assert.equal(a0[0][0].length, 5);
  const b = data.loader(ds, { ...opts, concurrency: 7, prefetch: 3 });
  // A fresh loader started at epoch 1, as a resumed run would.
  assert.equal(digest(await collect(b, 1)), a1);
  assert.equal(digest(await collect(b, 0)), a0);
  assert.not.equal(a0, a1, 'epochs differ in order and augmentation');
  // The same sample gets other crops in other epochs.
  const one = data.subset(ds, [0]);
  const l = data.loader(one, { batchSize: 1, seed: 11 });
  const [x0] = await collect(l, 0);
  const [x1] = await collect(l, 1);
  assert.ok(x0.input.data.some((v, i) => v !== x1.input.data[i]));
});

/** A data set whose loads take `ms` and are logged. */
function slowDataset(n, ms) {
  const log = { started: new Set(), finished: new Set(), active: 0, maxActive: 0 };
  const ds = {
    length: n,
    async get(i) {
      log.started.add(i);
      log.active++;
      log.maxActive = Math.max(log.maxActive, log.active);
      await sleep(ms);
      log.active--;
      log.finished.add(i);
      return { input: tg.tensor(new Float32Array([i]), [1]), target: tg.tensor(new Int32Array([i]), [], 'i32') };
    },
  };
  return { ds, log };
}

test('prefetch: the next batches load while the caller works on the current one', async () => {
  const { ds, log } = slowDataset(16, 15);
  const l = data.loader(ds, { batchSize: 4, concurrency: 4, prefetch: 1 });
  const it = l.batches(0)[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(Array.from(first.value.target.data), [0, 1, 2, 3]);
  // Batch 1 was started before batch 0 was handed over, and batch 2 was not (prefetch 1).
  assert.ok([4, 5, 6, 7].every((i) => log.started.has(i)), `started: ${[...log.started]}`);
  assert.ok(![8, 9, 10, 11].some((i) => log.started.has(i)));
  // "Training" on batch 0: batch 1 completes meanwhile, so the next call returns at once.
  await sleep(60);
  assert.ok([4, 5, 6, 7].every((i) => log.finished.has(i)));
  const second = await it.next();
  assert.equal(Array.from(second.value.target.data), [4, 5, 6, 7]);
  await it.return();
  assert.ok(log.maxActive <= 4, `at most 4 loads at once, saw ${log.maxActive}`);

  // Without prefetch nothing of batch 1 starts before it is asked for.
  const slow = slowDataset(8, 5);
  const it0 = data.loader(slow.ds, { batchSize: 4, prefetch: 0 }).batches(0)[Symbol.asyncIterator]();
  await it0.next();
  await sleep(20);
  assert.equal([...slow.log.started].sort(), [0, 1, 2, 3]);
  await it0.return();
});

test('concurrency: loads overlap up to the limit', async () => {
  const { ds, log } = slowDataset(24, 10);
  await collect(data.loader(ds, { batchSize: 8, concurrency: 3, prefetch: 2 }), 0);
  assert.is(log.maxActive, 3);
  const one = slowDataset(6, 2);
  await collect(data.loader(one.ds, { batchSize: 3, concurrency: 1 }), 0);
  assert.is(one.log.maxActive, 1);
});

test('stopping early leaves no work queued and no unhandled errors', async () => {
  const { ds, log } = slowDataset(40, 5);
  for await (const b of data.loader(ds, { batchSize: 4, concurrency: 2, prefetch: 2 }).batches(0)) {
    void b;
    break;
  }
  await sleep(40);
  assert.ok(log.started.size <= 12, `only batches 0..2 may have started, ${log.started.size} samples did`);
});

test('a corrupt or missing image: an error naming the file, or skipped with a warning', async () => {
  const dir = join(root, 'corrupt');
  mkdirSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'b'), { recursive: true });
  for (let i = 0; i < 5; i++) {
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: i * 40, g: 0, b: 0 } } }).png().toFile(join(dir, i % 2 ? 'a' : 'b', `${i}.png`));
  }
  const bad = join(dir, 'a', 'broken.jpg');
  writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 7)]));
  const ds = data.imageFolder(dir, { size: 16 });
  const err = await rejection(() => collect(data.loader(ds, { batchSize: 2 }), 0));
  assert.is(err.code, 'ERR_TG_FORMAT', err.message);
  assert.ok(err.message.includes(bad), err.message);

  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const l = data.loader(ds, { batchSize: 2, onError: 'skip' });
  const batches = await collect(l, 0);
  await collect(l, 1);
  await sleep(0);
  process.off('warning', onWarning);
  assert.is(batches.reduce((n, b) => n + b.input.shape[0], 0), 5);
  assert.equal(batches.map((b) => b.input.shape[0]), [2, 1, 2]); // a/1, a/3 | a/broken, b/0 | b/2, b/4
  assert.equal(l.skipped.map((s) => s.source), [bad]);
  assert.is(warnings.filter((w) => w.code === 'TG_DATA_SKIP').length, 1, 'one warning per file');

  // A list naming a file that is not there: ERR_TG_IO with the path.
  writeFileSync(join(dir, 'list.csv'), 'path,label\nb/0.png,x\nb/missing.png,y\n');
  const listed = data.imageList(join(dir, 'list.csv'), { size: 16 });
  const missing = await rejection(() => collect(data.loader(listed, { batchSize: 2 }), 0));
  assert.is(missing.code, 'ERR_TG_IO');
  assert.ok(missing.message.includes(join(dir, 'b', 'missing.png')), missing.message);
});

test('collate: samples of different sizes are an error naming both', async () => {
  const ds = data.imageFolder(photos, { transform: data.transforms.compose([]) }); // no resize
  const err = await rejection(() => collect(data.loader(ds, { batchSize: 24 }), 0));
  assert.is(err.code, 'ERR_TG_SHAPE');
  assert.ok(err.message.includes(photos) && err.message.includes('resize'), err.message);
});

test('imageFolder(...).train / .val: stratified split, augmented train batches, eval val batches', async () => {
  const ds = data.imageFolder(photos, { size: 32, valFraction: 0.25, seed: 2, loader: { batchSize: 4 } });
  const { train, val } = ds;
  assert.is(ds.train, train, 'built once');
  assert.equal(train.classes, ['ant', 'bee', 'cat']);
  assert.is(train.size, 18);
  assert.is(val.size, 6);
  assert.is(train.batchesPerEpoch, 5);
  const vb = await collect(val, 0);
  assert.equal(vb[0].input.shape, [4, 3, 32, 32]);
  const classCounts = [0, 0, 0];
  for (const b of vb) for (const t of b.target.data) classCounts[t]++;
  assert.equal(classCounts, [2, 2, 2]);
  assert.equal(digestTargets(await collect(val, 0)), digestTargets(await collect(val, 1)), 'validation order is fixed');
  const tb = await collect(train, 0);
  assert.equal(tb.map((b) => b.input.shape[0]), [4, 4, 4, 4, 2]);
  assert.is(data.imageFolder(photos, { valFraction: 0 }).val, undefined);
});

const digestTargets = (batches) => batches.flatMap((b) => Array.from(b.target.data));

test('loader arguments are checked', async () => {
  const ds = data.tensorDataset(tg.tensor(new Float32Array(4), [4]), [0, 1, 2, 3]);
  for (const [opts, name] of [[{ batchSize: 0 }, 'batchSize'], [{ prefetch: -1 }, 'prefetch'], [{ concurrency: 1.5 }, 'concurrency'], [{ seed: -2 }, 'seed'], [{ onError: 'ignore' }, 'onError']]) {
    const err = await rejection(() => data.loader(ds, opts));
    assert.is(err.code, 'ERR_TG_ARG');
    assert.ok(err.message.includes(name), err.message);
  }
  const err = await rejection(() => collect(data.loader(ds), -1));
  assert.ok(err.message.includes('epoch'), err.message);
});

test.run();
