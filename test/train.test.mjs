// The graph engine end to end: training an MLP, parity with PyTorch's SGD and
// AdamW on the same weights and data, freezing, shared parameters, optimizer
// state, schedules and bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from 'tensorgraft';
import { values } from './parity/gen.mjs';
import { rejection, rng } from './helpers.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/mlp_optim.json', import.meta.url), 'utf8'));

// Three Gaussian blobs in 2-D, separable but not trivially.
function blobs(n, seed) {
  const r = rng(seed);
  const centers = [[0, 2], [2, -1], [-2, -1]];
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    for (let d = 0; d < 2; d++) {
      // Box-Muller for a normal sample with sd 0.6.
      const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
      x[i * 2 + d] = centers[c][d] + 0.6 * g;
    }
  }
  return { x: tg.tensor(x, [n, 2]), y: tg.tensor(y, [n]) };
}

function accuracy(logits, y) {
  const [n, c] = logits.shape;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (logits.data[i * c + k] > logits.data[i * c + best]) best = k;
    if (best === y.data[i]) ok++;
  }
  return ok / n;
}

function mlp() {
  return new tg.nn.Sequential(new tg.nn.Linear(2, 32), new tg.nn.ReLU(), new tg.nn.Linear(32, 32), new tg.nn.ReLU(), new tg.nn.Linear(32, 3));
}

test('an MLP learns a generated 3-class task to >= 95% accuracy', async () => {
  tg.manualSeed(3);
  const net = mlp();
  const train = blobs(300, 1);
  const held = blobs(300, 2);
  const session = net.compile({ optimizer: tg.optim.adamw({ lr: 1e-2 }) });
  let first;
  let last;
  for (let epoch = 0; epoch < 150; epoch++) {
    const { loss } = await session.step({ input: train.x, target: train.y });
    first ??= loss;
    last = loss;
  }
  assert.ok(last < first / 4, `loss fell from ${first} to ${last}`);
  const acc = accuracy(await net.predict(held.x), held.y);
  assert.ok(acc >= 0.95, `held-out accuracy ${acc}`);
});

function parityModel() {
  const { D_IN, H, C } = fixture;
  const net = new tg.nn.Sequential(new tg.nn.Linear(D_IN, H), new tg.nn.GELU(), new tg.nn.Linear(H, H), new tg.nn.Tanh(), new tg.nn.Linear(H, C));
  const record = {};
  Object.entries(net.parameters()).forEach(([name, shape], seed) => {
    record[name] = tg.tensor(values(shape.reduce((a, b) => a * b, 1), seed + 1, 0.5), shape);
  });
  return net.loadStateDict(record).then(() => net);
}

function parityData() {
  const { N, D_IN, C } = fixture;
  const y = new BigInt64Array(N);
  for (let i = 0; i < N; i++) y[i] = BigInt((i * 7) % C);
  return { input: tg.tensor(values(N * D_IN, 100, 2), [N, D_IN]), target: tg.tensor(y, [N]) };
}

async function checkParity(net, session, expected, label) {
  const feeds = parityData();
  for (let i = 0; i < expected.losses.length; i++) {
    const { loss } = await session.step(feeds);
    const want = expected.losses[i];
    assert.ok(Math.abs(loss - want) <= 1e-4 * Math.abs(want), `${label} step ${i + 1}: loss ${loss}, PyTorch ${want}`);
  }
  const state = await net.stateDict();
  for (const [name, want] of Object.entries(expected.params)) {
    const got = state[name].data;
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= 1e-4)) assert.unreachable(`${label} ${name}[${i}]: ${got[i]}, PyTorch ${want[i]}`);
    }
  }
}

test('parity with PyTorch: 20 steps of SGD with Nesterov momentum and weight decay', async () => {
  const net = await parityModel();
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) });
  await checkParity(net, session, fixture.sgd, 'sgd');
});

test('parity with PyTorch: 20 steps of AdamW with groups, clipping and label smoothing', async () => {
  const net = await parityModel();
  const session = net.compile({
    loss: { type: 'cross_entropy', labelSmoothing: 0.1 },
    optimizer: tg.optim.adamw({
      lr: 1e-2,
      betas: [0.9, 0.99],
      eps: 1e-8,
      weightDecay: 0.05,
      clipGradNorm: 1,
      groups: [{ params: ['0.*'], lr: 5e-3 }],
    }),
  });
  await checkParity(net, session, fixture.adamw, 'adamw');
});

test('freezing the first layers removes their backward nodes and lowers the planned peak', async () => {
  const feeds = { input: { shape: [256, 2] }, target: { shape: [256], dtype: 'i32' } };
  const net = mlp();
  const all = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1 }) }).stepInfo(feeds);
  net.freeze('0.*', '2.*');
  const frozen = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1 }) }).stepInfo(feeds);
  assert.equal(frozen.trainable, ['4.weight', '4.bias']);
  assert.ok(all.backwardOps.some((n) => n.startsWith('0.')), 'the unfrozen model differentiates layer 0');
  const upstream = frozen.backwardOps.filter((n) => /^[0-3]\./.test(n));
  assert.equal(upstream, [], `frozen layers got backward nodes: ${upstream.join(', ')}`);
  assert.ok(frozen.backwardNodes < all.backwardNodes, `${frozen.backwardNodes} < ${all.backwardNodes} backward nodes`);
  assert.ok(frozen.peakBytes < all.peakBytes, `peak ${frozen.peakBytes} < ${all.peakBytes} bytes`);
  assert.ok(frozen.plannedBytes < all.plannedBytes, `planned ${frozen.plannedBytes} < ${all.plannedBytes} bytes`);
  assert.ok(all.plannedBytes < all.naiveBytes, 'the planner reuses buffers');
});

test('frozen parameters do not change; trainable ones do; unfreezing after compile recompiles', async () => {
  tg.manualSeed(5);
  const net = mlp();
  const data = blobs(60, 4);
  const before = await net.stateDict();
  net.freeze('*').unfreeze('4.*');
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1, momentum: 0.9 }) });
  assert.equal(session.trainable, ['4.weight', '4.bias']);
  for (let i = 0; i < 3; i++) await session.step({ input: data.x, target: data.y });
  const after = await net.stateDict();
  assert.equal([...after['0.weight'].data], [...before['0.weight'].data]);
  assert.equal([...after['2.bias'].data], [...before['2.bias'].data]);
  assert.not.equal([...after['4.weight'].data], [...before['4.weight'].data]);
  net.unfreeze('2.*');
  await session.step({ input: data.x, target: data.y });
  assert.equal(session.trainable, ['2.weight', '2.bias', '4.weight', '4.bias']);
  assert.not.equal([...(await net.stateDict())['2.bias'].data], [...before['2.bias'].data]);
  // The momentum of the head survived the recompile.
  assert.ok('4.weight.momentum_buffer' in session.optimizerState().tensors);
});

test('sessions share parameters with the model: no copy-back', async () => {
  tg.manualSeed(6);
  const net = mlp();
  const data = blobs(30, 5);
  const p0 = await net.predict(data.x);
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0.5 }) });
  await session.step({ input: data.x, target: data.y });
  const p1 = await net.predict(data.x);
  assert.not.equal([...p1.data], [...p0.data], 'predict sees the trained weights');
  const w = session.getParameter('4.bias');
  assert.equal([...w.data], [...(await net.stateDict())['4.bias'].data]);
  session.setParameter('4.bias', tg.tensor(new Float32Array([1, 2, 3]), [3]));
  assert.equal([...(await net.stateDict())['4.bias'].data], [1, 2, 3]);
});

test('optimizer state saves and restores: a resumed run matches an uninterrupted one', async () => {
  const data = blobs(45, 6);
  const feeds = { input: data.x, target: data.y };
  tg.manualSeed(7);
  const a = mlp();
  const sa = a.compile({ optimizer: tg.optim.adamw({ lr: 1e-2 }) });
  for (let i = 0; i < 4; i++) await sa.step(feeds);
  const params = await a.stateDict();
  const state = sa.optimizerState();
  assert.is(state.steps, 4);
  const straight = [];
  for (let i = 0; i < 4; i++) straight.push((await sa.step(feeds)).loss);

  const b = mlp();
  await b.loadStateDict(params);
  const sb = b.compile({ optimizer: tg.optim.adamw({ lr: 1e-2 }) });
  sb.loadOptimizerState(state);
  const resumed = [];
  for (let i = 0; i < 4; i++) resumed.push((await sb.step(feeds)).loss);
  assert.equal(resumed, straight);
});

test('learning rates: setLr, per-group rates and schedules', async () => {
  tg.manualSeed(8);
  const net = mlp();
  const data = blobs(30, 7);
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1, groups: [{ params: ['0.*'], lr: 0 }] }) });
  const before = await net.stateDict();
  await session.step({ input: data.x, target: data.y });
  let after = await net.stateDict();
  assert.equal([...after['0.weight'].data], [...before['0.weight'].data], 'a group with lr 0 does not move');
  assert.not.equal([...after['2.weight'].data], [...before['2.weight'].data]);
  session.setLr(0);
  const frozenNow = await net.stateDict();
  await session.step({ input: data.x, target: data.y });
  after = await net.stateDict();
  assert.equal([...after['2.weight'].data], [...frozenNow['2.weight'].data], 'setLr(0) stops all updates');
  const err = await rejection(() => session.setLr(0.1, 5));
  assert.is(err.code, 'ERR_TG_ARG');

  // Schedules follow PyTorch's curves.
  const cos = tg.schedules.cosine(1, { totalSteps: 110, warmupSteps: 10 });
  assert.ok(Math.abs(cos(4) - 0.5) < 1e-12);
  assert.ok(Math.abs(cos(10) - 1) < 1e-12);
  assert.ok(Math.abs(cos(60) - 0.5) < 1e-12);
  assert.ok(Math.abs(cos(110)) < 1e-12);
  const one = tg.schedules.oneCycle(1, { totalSteps: 100 });
  assert.ok(Math.abs(one(0) - 0.04) < 1e-12);
  assert.ok(Math.abs(one(29) - 1) < 1e-12);
  assert.ok(Math.abs(one(99) - 0.04 / 1e4) < 1e-12);
  const stepped = tg.schedules.stepDecay(1, { stepSize: 10, gamma: 0.5 });
  assert.equal([stepped(9), stepped(10), stepped(25)], [1, 0.5, 0.25]);
  const sched = new tg.LRScheduler(session, tg.schedules.stepDecay(0.2, { stepSize: 1, gamma: 0.5 }));
  assert.is(sched.step(), 0.1);
});

test('a NaN loss stops the step before any parameter changes', async () => {
  const net = mlp();
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1 }) });
  const before = await net.stateDict();
  const x = new Float32Array(8).fill(1);
  x[3] = NaN;
  const err = await rejection(() => session.step({ input: tg.tensor(x, [4, 2]), target: tg.tensor(new Int32Array(4), [4]) }));
  assert.is(err.code, 'ERR_TG_NAN');
  assert.match(err.message, /not updated/);
  const after = await net.stateDict();
  for (const name of Object.keys(before)) assert.equal([...after[name].data], [...before[name].data], name);
});

test('shape errors name the node, the op and the shapes', async () => {
  const net = mlp();
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0.1 }) });
  const err = await rejection(() => session.step({ input: tg.tensor(new Float32Array(15), [5, 3]), target: tg.tensor(new Int32Array(5), [5]) }));
  assert.is(err.code, 'ERR_TG_SHAPE');
  assert.match(err.message, /node '0' \(linear\)/);
  assert.match(err.message, /\(5, 3\)/);
  assert.match(err.message, /\(32, 2\)/);
  const bad = await rejection(() => net.loadStateDict({ ...Object.fromEntries(Object.entries(net.parameters()).map(([k, s]) => [k, tg.tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s)])), '0.weight': tg.tensor(new Float32Array(3), [3]) }));
  assert.is(bad.code, 'ERR_TG_SHAPE');
  assert.match(bad.message, /0\.weight/);
  const missing = await rejection(() => net.loadStateDict({}));
  assert.match(missing.message, /missing 0\.weight/);
});

test('dropout is active in training and the identity in eval mode', async () => {
  tg.manualSeed(9);
  const net = new tg.nn.Sequential(new tg.nn.Linear(2, 64), new tg.nn.Dropout(0.5), new tg.nn.Linear(64, 3));
  const data = blobs(16, 8);
  const a = await net.predict(data.x);
  const b = await net.predict(data.x);
  assert.equal([...a.data], [...b.data], 'eval mode is deterministic');
  const session = net.compile({ loss: null, training: true });
  const t1 = (await session.run(data.x)).logits;
  assert.not.equal([...t1.data], [...a.data], 'training mode drops units');
  session.eval();
  assert.equal([...(await session.run(data.x)).logits.data], [...a.data]);
});

test('tg.nn mirrors PyTorch names and arguments', () => {
  const net = new tg.nn.Sequential(new tg.nn.Linear(4, 16), new tg.nn.ReLU(), new tg.nn.Linear(16, 3, { bias: false }));
  assert.equal(net.parameters(), { '0.weight': [16, 4], '0.bias': [16], '2.weight': [3, 16] });
  assert.throws(() => new tg.nn.Linear(0, 3), /inFeatures/);
  assert.throws(() => net.freeze('nothing.*'), /no parameter matches/);
});

test.run();
