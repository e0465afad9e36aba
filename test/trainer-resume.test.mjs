// Trainer checkpoints: the best one kept by the monitored metric, atomic
// writes, damaged files refused, and the resume test — a run aborted and
// resumed reproduces the uninterrupted run's losses bit for bit, across
// gradual unfreezing, BatchNorm, a warm-up schedule, groups and clipping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { Trainer } from '../dist/train/index.js';
import { getRandomState } from '../dist/random.js';
import { rejection, rng } from './helpers.mjs';

function blobs(n, seed, relabel = (c) => c) {
  const r = rng(seed);
  const centers = [[0, 2], [2, -1], [-2, -1]];
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = relabel(c);
    for (let d = 0; d < 2; d++) x[i * 2 + d] = centers[c][d] + 0.6 * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  }
  return { x, y, n };
}

// An in-memory BatchSource with a seeded shuffle per epoch.
function source({ x, y, n }, batchSize) {
  return {
    size: n,
    batchesPerEpoch: Math.ceil(n / batchSize),
    async *batches(epoch) {
      const order = [...Array(n).keys()];
      const r = rng(77 + epoch);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let start = 0; start < n; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        const bx = new Float32Array(idx.length * 2);
        const by = new Int32Array(idx.length);
        idx.forEach((k, i) => {
          bx.set(x.subarray(k * 2, k * 2 + 2), i * 2);
          by[i] = y[k];
        });
        yield { input: tg.tensor(bx, [idx.length, 2]), target: tg.tensor(by, [idx.length]) };
      }
    },
  };
}

const bnNet = () =>
  new tg.nn.Sequential(
    new tg.nn.Linear(2, 16),
    new tg.nn.BatchNorm1d(16),
    new tg.nn.ReLU(),
    new tg.nn.Linear(16, 16),
    new tg.nn.BatchNorm1d(16),
    new tg.nn.ReLU(),
    new tg.nn.Linear(16, 3),
  );

const tmp = () => mkdtempSync(join(tmpdir(), 'tg-trainer-'));
const checkpoints = (dir) => readdirSync(dir).filter((f) => f.startsWith('step-')).sort();

const train = source(blobs(70, 1), 16); // 5 batches, the last one short
const val = source(blobs(45, 2), 45);

// Everything whose state a checkpoint must carry.
const options = (extra = {}) => ({
  optimizer: tg.optim.adamw({ lr: 2e-2, weightDecay: 0.01 }),
  groups: { '3.*': 1e-2, '4.*': 1e-2 },
  schedule: { type: 'cosine', warmup: 3 },
  gradClip: 1,
  freeze: '*',
  unfreeze: '6.*',
  gradualUnfreeze: { stages: [['3.*', '4.*'], ['0.*', '1.*']], everyEpochs: 1 },
  earlyStopping: { monitor: 'val_loss', patience: 10 },
  progress: false,
  ...extra,
});

async function runRecording(trainer, fitOptions, seen = []) {
  trainer.on('batchEnd', (e) => seen.push({ step: e.step, loss: e.loss, lr: e.lr }));
  const history = await trainer.fit(train, { epochs: 4, validation: val, ...fitOptions });
  return { seen, history };
}

const state = async (model) => Object.fromEntries(Object.entries(await model.stateDict()).map(([k, t]) => [k, [...t.data]]));
// Times differ between runs; the uninterrupted run wrote no checkpoint to name as the best.
const comparable = (h) => ({ ...h, epochs: h.epochs.map(({ time, ...rest }) => rest), best: { ...h.best, checkpoint: undefined } });

test('an aborted and resumed run reproduces the uninterrupted run exactly', async () => {
  tg.manualSeed(21);
  const a = bnNet();
  const straight = await runRecording(new Trainer(a, options()), {});
  assert.is(straight.seen.length, 20);

  // The same run, aborted in the middle of epoch 2 (after both unfreezing stages).
  const dir = tmp();
  tg.manualSeed(21);
  const b = bnNet();
  const controller = new AbortController();
  let randomAtAbort;
  const tb = new Trainer(b, options({ checkpoint: { dir, keepLast: 3 }, signal: controller.signal }));
  tb.on('batchEnd', (e) => {
    if (e.step === 12) {
      controller.abort(new Error('stop here'));
      randomAtAbort = getRandomState();
    }
  });
  const err = await rejection(() => runRecording(tb, {}));
  assert.is(err.code, 'ABORT_ERR');
  assert.is(err.name, 'AbortError');
  assert.is(err.cause.message, 'stop here');
  assert.ok(existsSync(join(err.checkpoint, 'trainer.json')), `the abort wrote ${err.checkpoint}`);
  assert.match(err.message, /epoch 2, batch 1/);
  assert.equal(checkpoints(dir), ['step-00000005', 'step-00000010', 'step-00000012']);
  assert.not.ok(readdirSync(dir).some((f) => f.startsWith('.tmp-')), 'no temporaries left');

  // Resuming from an end-of-epoch checkpoint (before the second stage) works the same.
  tg.manualSeed(5);
  const d = bnNet();
  const fromEpoch = await runRecording(new Trainer(d, options()), { resume: join(dir, 'step-00000005') }, []);
  assert.equal(fromEpoch.seen, straight.seen.slice(5));
  assert.equal(await state(d), await state(a));

  // A fresh process would build the model anew, from other weights.
  tg.manualSeed(999);
  const c = bnNet();
  const resumed = await runRecording(new Trainer(c, options({ checkpoint: { dir, keepLast: 3 } })), { resume: 'latest' }, []);
  assert.is(getRandomState(), randomAtAbort, 'the generator is restored');
  assert.equal(resumed.seen, straight.seen.slice(12), 'losses and learning rates after the abort');
  assert.equal(await state(c), await state(a), 'final parameters and BatchNorm buffers');
  assert.equal(c.trainableParameters(), a.trainableParameters());
  assert.equal(comparable(resumed.history), comparable(straight.history), 'the history, the interrupted epoch included');

  rmSync(dir, { recursive: true, force: true });
});

test('a resumed run with dropout draws the same masks (the session step count is checkpointed)', async () => {
  const dropNet = () =>
    new tg.nn.Sequential(new tg.nn.Linear(2, 32), new tg.nn.ReLU(), new tg.nn.Dropout(0.3), new tg.nn.Linear(32, 3));
  const opts = (extra = {}) => ({
    optimizer: tg.optim.sgd({ lr: 0.1, momentum: 0.9 }),
    freeze: '*',
    unfreeze: '3.*',
    // The unfreezing stage rebuilds the native session mid-run: the count must survive that too.
    gradualUnfreeze: { stages: ['0.*'], everyEpochs: 1 },
    progress: false,
    ...extra,
  });
  tg.manualSeed(31);
  const a = dropNet();
  const straight = await runRecording(new Trainer(a, opts()), { epochs: 3, validation: undefined });

  const dir = tmp();
  tg.manualSeed(31);
  const controller = new AbortController();
  const tb = new Trainer(dropNet(), opts({ checkpoint: { dir }, signal: controller.signal }));
  tb.on('batchEnd', (e) => e.step === 8 && controller.abort(new Error('stop')));
  assert.is((await rejection(() => runRecording(tb, { epochs: 3, validation: undefined }))).code, 'ABORT_ERR');

  tg.manualSeed(4);
  const c = dropNet();
  const resumed = await runRecording(new Trainer(c, opts()), { epochs: 3, validation: undefined, resume: join(dir, 'step-00000008') }, []);
  assert.equal(resumed.seen, straight.seen.slice(8), 'losses after the abort, dropout active');
  assert.equal(await state(c), await state(a));
  rmSync(dir, { recursive: true, force: true });
});

test('the best checkpoint is kept by the monitored metric; others are pruned', async () => {
  const dir = tmp();
  tg.manualSeed(22);
  // Validation labels are permuted: the better the fit to the training labels, the worse
  // the validation loss, so the best epoch is not the last.
  const wrongVal = source(blobs(45, 2, (c) => (c + 1) % 3), 45);
  const net = bnNet();
  const trainer = new Trainer(net, { optimizer: tg.optim.adamw({ lr: 5e-2 }), checkpoint: { dir, keepBest: true, every: 1 }, progress: false });
  const written = [];
  trainer.on('checkpoint', (e) => written.push(e));
  const h = await trainer.fit(train, { epochs: 5, validation: wrongVal });
  const losses = h.epochs.map((e) => e.metrics.val_loss);
  const bestEpoch = losses.indexOf(Math.min(...losses));
  assert.ok(bestEpoch < 4, `the best epoch (${bestEpoch}) is not the last: ${losses}`);
  assert.is(h.best.epoch, bestEpoch);
  assert.is(h.best.value, losses[bestEpoch]);
  assert.is(written.length, 5);
  const best = JSON.parse(readFileSync(join(dir, 'best.json'), 'utf8'));
  const latest = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'));
  assert.is(join(dir, best.checkpoint), h.best.checkpoint);
  assert.is(best.epoch, bestEpoch);
  assert.equal(checkpoints(dir), [...new Set([best.checkpoint, latest.checkpoint])].sort(), 'only the best and the latest remain');
  assert.is(latest.checkpoint, 'step-00000025');

  // The best checkpoint's model file is a plain weights file with the best epoch's weights.
  const again = bnNet();
  await again.load(join(h.best.checkpoint, 'model.safetensors'));
  const ev = await new Trainer(again, { progress: false }).evaluate(wrongVal);
  assert.is(ev.loss, losses[bestEpoch]);
  rmSync(dir, { recursive: true, force: true });
});

test('an abort between epochs reuses the checkpoint just written; the resumed run finishes the epochs', async () => {
  const dir = tmp();
  tg.manualSeed(24);
  const controller = new AbortController();
  const trainer = new Trainer(bnNet(), { checkpoint: { dir }, signal: controller.signal, progress: false });
  const written = [];
  trainer.on('checkpoint', (e) => written.push(e.path));
  trainer.on('epochEnd', (e) => {
    if (e.epoch === 1) controller.abort();
  });
  const err = await rejection(() => trainer.fit(train, { epochs: 3 }));
  assert.is(err.code, 'ABORT_ERR');
  assert.match(err.message, /the end of epoch 1/);
  assert.is(err.checkpoint, written.at(-1));
  assert.is(written.length, 2, 'no second checkpoint of the same state');
  const busy = await rejection(() => trainer.evaluate(val).then(() => trainer.fit(train, { epochs: 3, resume: 'latest' })));
  assert.is(busy.code, 'ABORT_ERR', 'the signal is still aborted');
  const again = new Trainer(bnNet(), { checkpoint: { dir }, progress: false });
  const h = await again.fit(train, { epochs: 3, resume: 'latest' });
  assert.equal(h.epochs.map((e) => e.epoch), [0, 1, 2]);
  rmSync(dir, { recursive: true, force: true });
});

test('damaged checkpoints are refused before anything is loaded; leftovers of a crash are cleaned', async () => {
  const dir = tmp();
  tg.manualSeed(23);
  await new Trainer(bnNet(), { checkpoint: { dir }, progress: false }).fit(train, { epochs: 1 });
  const folder = join(dir, 'step-00000005');
  const optimizerFile = join(folder, 'optimizer.bin');
  const bytes = readFileSync(optimizerFile);
  bytes[10] ^= 0xff;
  writeFileSync(optimizerFile, bytes);
  const net = bnNet();
  const before = await state(net);
  const err = await rejection(() => new Trainer(net, { checkpoint: { dir }, progress: false }).fit(train, { epochs: 2, resume: 'latest' }));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /optimizer\.bin is damaged/);
  assert.equal(await state(net), before, 'the model is untouched');

  const notThere = await rejection(() => new Trainer(net, { progress: false }).fit(train, { epochs: 1, resume: join(dir, 'nope') }));
  assert.is(notThere.code, 'ERR_TG_IO');

  // A crash mid-write leaves only a hidden temporary, which the next run removes.
  mkdirSync(join(dir, '.tmp-1234-half-written'));
  await new Trainer(bnNet(), { checkpoint: { dir }, progress: false }).fit(train, { epochs: 1 });
  assert.not.ok(existsSync(join(dir, '.tmp-1234-half-written')));

  // Nor does it resume into another architecture: the model is left as it was.
  const small = new tg.nn.Sequential(new tg.nn.Linear(2, 8), new tg.nn.ReLU(), new tg.nn.Linear(8, 3));
  const smallBefore = await state(small);
  const wrong = await rejection(() => new Trainer(small, { progress: false }).fit(train, { epochs: 2, resume: dir }));
  assert.match(wrong.code, /ERR_TG_(SHAPE|ARG)/);
  assert.equal(await state(small), smallBefore);

  // A checkpoint from other data does not resume.
  const other = await rejection(() => new Trainer(bnNet(), { progress: false }).fit(source(blobs(20, 3), 10), { epochs: 2, resume: dir }));
  assert.is(other.code, 'ERR_TG_ARG');
  assert.match(other.message, /5 batches per epoch, this has 2/);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
