// The Trainer on generated data: fine-tuning a pretrained backbone's head,
// freezing and per-group learning rates, gradual unfreezing with BatchNorm,
// schedules, early stopping, metrics, events and bad options. Checkpoints and
// exact resumption are in trainer-resume.test.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { Trainer } from '../dist/train/index.js';
import { rejection, rng } from './helpers.mjs';

// Three Gaussian blobs in 2-D; `relabel` maps the class ids (a new task on the same inputs).
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
  return { x, y, n, dim: 2 };
}

// An in-memory BatchSource: a seeded shuffle per epoch, so batches(e) is the same every time.
function source({ x, y, n, dim }, batchSize, { shuffle = true } = {}) {
  return {
    size: n,
    batchesPerEpoch: Math.ceil(n / batchSize),
    classes: ['a', 'b', 'c'],
    async *batches(epoch) {
      const order = [...Array(n).keys()];
      if (shuffle) {
        const r = rng(1000 + epoch);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      for (let start = 0; start < n; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        const bx = new Float32Array(idx.length * dim);
        const by = new Int32Array(idx.length);
        idx.forEach((k, i) => {
          bx.set(x.subarray(k * dim, (k + 1) * dim), i * dim);
          by[i] = y[k];
        });
        yield { input: tg.tensor(bx, [idx.length, dim]), target: tg.tensor(by, [idx.length]) };
      }
    },
  };
}

const mlp = () => new tg.nn.Sequential(new tg.nn.Linear(2, 32), new tg.nn.ReLU(), new tg.nn.Linear(32, 32), new tg.nn.ReLU(), new tg.nn.Linear(32, 3));

// Linear -> BatchNorm blocks and a head: parameters 0.* 1.* (BN) 3.* 4.* (BN) 6.*.
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

const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const snapshot = async (model) => Object.fromEntries(Object.entries(await model.stateDict()).map(([k, t]) => [k, [...t.data]]));

test('fine-tuning a pretrained backbone: a new head on a new task reaches >= 95% validation accuracy', async () => {
  tg.manualSeed(11);
  const net = mlp();
  // "Pretraining" on the original labels.
  await new Trainer(net, { optimizer: tg.optim.adamw({ lr: 1e-2 }), progress: false }).fit(source(blobs(300, 1), 30), { epochs: 6 });
  const backbone = await snapshot(net);
  // The target task: the same inputs, permuted classes; only the head trains.
  const relabel = (c) => (c + 1) % 3;
  const trainer = new Trainer(net, {
    optimizer: tg.optim.adamw({ lr: 2e-2 }),
    freeze: '*',
    unfreeze: '4.*',
    metrics: ['accuracy', 'top2', 'f1'],
    progress: false,
  });
  assert.equal(net.trainableParameters(), ['4.weight', '4.bias']);
  const val = source(blobs(150, 3, relabel), 50, { shuffle: false });
  const history = await trainer.fit(source(blobs(300, 2, relabel), 30), { epochs: 8, validation: val });
  assert.is(history.epochs.length, 8);
  assert.is(history.stoppedEarly, false);
  const first = history.epochs[0];
  const last = history.epochs.at(-1);
  assert.ok(last.loss < first.loss / 2, `training loss fell from ${first.loss} to ${last.loss}`);
  assert.ok(last.metrics.val_accuracy >= 0.95, `validation accuracy ${last.metrics.val_accuracy}`);
  assert.ok(last.metrics.val_top2 >= last.metrics.val_accuracy);
  assert.ok(last.metrics.val_f1 > 0.9, `macro F1 ${last.metrics.val_f1}`);
  assert.ok(last.time > 0 && last.steps === 10 && last.trainable === 2);
  const after = await snapshot(net);
  for (const name of ['0.weight', '0.bias', '2.weight', '2.bias']) assert.ok(same(after[name], backbone[name]), `${name} is frozen`);
  assert.not.ok(same(after['4.weight'], backbone['4.weight']), 'the head trained');

  const ev = await trainer.evaluate(val);
  assert.is(ev.samples, 150);
  assert.is(ev.accuracy, last.metrics.val_accuracy);
  assert.is(ev.loss, last.metrics.val_loss);
  assert.is(ev.confusionMatrix.flat().reduce((a, b) => a + b, 0), 150);
  assert.is(ev.perClass.precision.length, 3);
  assert.is(ev.top5, 1);
  assert.equal(ev.classes, ['a', 'b', 'c']);
  const logits = await trainer.predict(val);
  assert.equal(logits.shape, [150, 3]);
  const one = await trainer.predict(tg.tensor(blobs(150, 3).x.slice(0, 10), [5, 2]));
  assert.equal([...one.data], [...logits.data.slice(0, 15)], 'predict(tensor) matches predict(source)');
});

test('discriminative learning rates: per-glob groups follow the schedule in proportion', async () => {
  tg.manualSeed(12);
  const net = mlp();
  const before = await snapshot(net);
  const seen = [];
  const trainer = new Trainer(net, {
    optimizer: tg.optim.sgd({ lr: 0.1, momentum: 0.9 }),
    groups: { '4.*': 0.2, '0.*': 0 },
    schedule: { type: 'stepDecay', stepSize: 1, gamma: 0.5, per: 'epoch' },
    progress: false,
  });
  trainer.on('batchEnd', (e) => seen.push(e.lr));
  const history = await trainer.fit(source(blobs(60, 4), 20), { epochs: 3 });
  assert.equal(seen, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]);
  // Groups: '4.*', '0.*', then the default group.
  const near = (got, want, label) => want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 1e-12 * w, `${label}[${i}]: ${got[i]}, expected ${w}`));
  near(trainer.session.optimizerState().lrs, [0.05, 0, 0.025], 'session lrs');
  [[0.2, 0, 0.1], [0.1, 0, 0.05], [0.05, 0, 0.025]].forEach((want, e) => near(history.epochs[e].lrs, want, `epoch ${e} lrs`));
  const after = await snapshot(net);
  assert.ok(same(after['0.weight'], before['0.weight']), 'a group at lr 0 does not move although it trains');
  assert.not.ok(same(after['2.weight'], before['2.weight']));
  assert.ok(trainer.session.trainable.includes('0.weight'));
});

test('warm-up + cosine per step, built from the run length', async () => {
  tg.manualSeed(13);
  const lrs = [];
  const trainer = new Trainer(mlp(), {
    optimizer: tg.optim.adamw({ lr: 1e-2 }),
    schedule: { type: 'cosine', warmup: 2 },
    progress: false,
  });
  trainer.on('batchEnd', (e) => lrs.push(e.lr));
  await trainer.fit(source(blobs(60, 5), 15), { epochs: 2 });
  const want = tg.schedules.cosine(1e-2, { totalSteps: 8, warmupSteps: 2 });
  assert.equal(lrs, [0, 1, 2, 3, 4, 5, 6, 7].map(want));
  assert.is(lrs[0], 5e-3);
  assert.is(lrs[1], 1e-2);
});

test('gradual unfreezing: one stage per epoch, optimizer state kept, frozen BatchNorm on running statistics', async () => {
  tg.manualSeed(14);
  const net = bnNet();
  const stats = (model, name) => [...model.namedBuffers().find(([n]) => n === name)[1].data];
  const trainer = new Trainer(net, {
    optimizer: tg.optim.adamw({ lr: 1e-2 }),
    freeze: '*',
    unfreeze: '6.*',
    gradualUnfreeze: { stages: [['3.*', '4.*'], '0.*'], everyEpochs: 1 },
    progress: false,
  });
  const events = [];
  const perEpoch = [];
  let headState;
  trainer.on('unfreeze', (e) => {
    events.push(e);
    // The trainable set changed: the session rebuilds, keeping the head's moments.
    const s = trainer.session.optimizerState();
    assert.equal([...s.tensors['6.weight.exp_avg'].data], [...headState.tensors['6.weight.exp_avg'].data]);
    assert.is(s.steps, headState.steps);
  });
  trainer.on('epochStart', () => perEpoch.push({ start: { bn1: stats(net, '1.running_mean'), bn4: stats(net, '4.running_mean') } }));
  trainer.on('epochEnd', () => {
    Object.assign(perEpoch.at(-1), { end: { bn1: stats(net, '1.running_mean'), bn4: stats(net, '4.running_mean') }, trainable: [...net.trainableParameters()] });
    headState = trainer.session.optimizerState();
  });
  await trainer.fit(source(blobs(60, 6), 20), { epochs: 3 });
  assert.equal(events.map((e) => [e.epoch, e.stage, e.globs]), [[1, 0, ['3.*', '4.*']], [2, 1, ['0.*']]]);
  assert.equal(perEpoch.map((e) => e.trainable.length), [2, 6, 8]);
  assert.ok(!perEpoch[2].trainable.includes('1.weight'), 'BatchNorm 1 is never unfrozen');
  const moved = (e, k) => !same(e.start[k], e.end[k]);
  assert.equal([moved(perEpoch[0], 'bn4'), moved(perEpoch[1], 'bn4'), moved(perEpoch[2], 'bn4')], [false, true, true], 'BN 4 trains from epoch 1');
  assert.equal([moved(perEpoch[0], 'bn1'), moved(perEpoch[1], 'bn1'), moved(perEpoch[2], 'bn1')], [false, false, false], 'frozen BN 1 stays in eval mode');
  const tracked = Object.fromEntries(net.namedBuffers().filter(([n]) => n.endsWith('num_batches_tracked')).map(([n, t]) => [n, t.data[0]]));
  assert.equal(tracked, { '1.num_batches_tracked': 0n, '4.num_batches_tracked': 6n });
});

test('early stopping stops after `patience` epochs without improvement', async () => {
  tg.manualSeed(15);
  const data = blobs(60, 7);
  const val = source(data, 30, { shuffle: false });
  // lr 0: the validation loss never improves after the first epoch.
  const stuck = new Trainer(mlp(), { optimizer: tg.optim.sgd({ lr: 0 }), earlyStopping: { monitor: 'val_loss', patience: 2 }, progress: false });
  const h = await stuck.fit(source(data, 20), { epochs: 10, validation: val });
  assert.is(h.epochs.length, 3);
  assert.is(h.stoppedEarly, true);
  assert.equal(h.best, { monitor: 'val_loss', value: h.epochs[0].metrics.val_loss, epoch: 0 });
  // A model that keeps improving runs all its epochs.
  const learning = new Trainer(mlp(), { optimizer: tg.optim.adamw({ lr: 1e-2 }), earlyStopping: { monitor: 'val_accuracy', patience: 5 }, progress: false });
  const h2 = await learning.fit(source(data, 20), { epochs: 4, validation: val });
  assert.is(h2.epochs.length, 4);
  assert.is(h2.stoppedEarly, false);
});

test('events and progress callbacks see every epoch and batch', async () => {
  tg.manualSeed(16);
  const seen = [];
  const trainer = new Trainer(mlp(), { progress: (e) => seen.push(e.type), epochs: 2 });
  const ends = [];
  trainer.on('epochEnd', (e) => ends.push(e));
  let refused;
  trainer.once('epochStart', () => trainer.evaluate(source(blobs(30, 9), 30)).catch((err) => (refused = err)));
  await trainer.fit(source(blobs(40, 8), 20), { validation: source(blobs(30, 9), 30) });
  assert.equal(seen, ['epochStart', 'batchEnd', 'batchEnd', 'epochEnd', 'epochStart', 'batchEnd', 'batchEnd', 'epochEnd']);
  assert.equal(Object.keys(ends[1].metrics), ['loss', 'val_loss', 'val_accuracy']);
  assert.is(ends[1].epoch, 1);
  assert.match(refused.message, /Trainer\.evaluate: fit is running/);
});

test('abort without checkpoints: the current step finishes, then an AbortError', async () => {
  tg.manualSeed(17);
  const controller = new AbortController();
  const trainer = new Trainer(mlp(), { signal: controller.signal, progress: false });
  let steps = 0;
  trainer.on('batchEnd', (e) => {
    steps++;
    if (e.step === 3) controller.abort();
  });
  const err = await rejection(() => trainer.fit(source(blobs(60, 10), 10), { epochs: 5 }));
  assert.is(err.name, 'AbortError');
  assert.is(err.code, 'ABORT_ERR');
  assert.is(err.checkpoint, undefined);
  assert.is(steps, 3);
  assert.match(err.message, /epoch 0, batch 2/);
  const early = await rejection(() => trainer.fit(source(blobs(60, 10), 10), { epochs: 1 }));
  assert.is(early.code, 'ABORT_ERR', 'an aborted signal stops fit before any step');
  assert.is(steps, 3);
});

test('bad options are refused with what was expected', async () => {
  const net = mlp();
  const code = async (fn, re) => {
    const err = await rejection(fn);
    assert.is(err.code, 'ERR_TG_ARG');
    assert.match(err.message, re);
  };
  await code(() => new Trainer(net, { metrics: ['acc'] }), /metrics must be names among/);
  await code(() => new Trainer(net, { groups: { 'fc.*': 1e-3 } }), /groups pattern "fc\.\*" matches no parameter/);
  await code(() => new Trainer(net, { gradualUnfreeze: { stages: ['0.*'], everyEpochs: 0 } }), /everyEpochs must be an integer >= 1/);
  await code(() => new Trainer(net, { optimizer: tg.optim.sgd({ lr: 0.1, groups: [{ params: ['0.*'] }] }), groups: { '2.*': 1 } }), /either in groups or in the optimizer/);
  const t = new Trainer(net, { earlyStopping: { monitor: 'val_loss' }, progress: false });
  await code(() => t.fit(source(blobs(30, 1), 10), { epochs: 1 }), /needs validation data/);
  await code(() => t.fit({ batchesPerEpoch: 1 }, { epochs: 1 }), /train must be a BatchSource/);
  await code(() => new Trainer(net, { progress: false }).fit(source(blobs(30, 1), 10)), /epochs must be an integer/);
  await code(() => new Trainer(net, { progress: false }).fit(source(blobs(30, 1), 10), { epochs: 1, resume: 'latest' }), /needs the checkpoint option's dir/);
});

test.run();
