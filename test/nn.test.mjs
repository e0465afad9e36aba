// tg.nn layers: PyTorch's names, shapes and defaults, and a small CNN that
// learns a generated image task.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { rng } from './helpers.mjs';

const nn = tg.nn;

test('parameter and buffer names and shapes follow torch.nn', async () => {
  assert.equal(new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }).parameters(), { weight: [8, 3, 3, 3], bias: [8] });
  assert.equal(new nn.Conv2d(8, 8, [3, 5], { groups: 8, bias: false }).parameters(), { weight: [8, 1, 3, 5] });
  assert.equal(new nn.ConvTranspose2d(8, 4, 2, { stride: 2, groups: 2 }).parameters(), { weight: [8, 2, 2, 2], bias: [4] });
  const bn = new nn.BatchNorm2d(5);
  assert.equal(bn.parameters(), { weight: [5], bias: [5] });
  assert.equal(Object.keys(await bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.equal(new nn.LayerNorm([4, 6]).parameters(), { weight: [4, 6], bias: [4, 6] });
  assert.equal(new nn.GroupNorm(2, 6).parameters(), { weight: [6], bias: [6] });
  assert.equal(new nn.Embedding(10, 3).parameters(), { weight: [10, 3] });
  assert.equal(new nn.MultiheadAttention(8, 2).parameters(), {
    in_proj_weight: [24, 8],
    in_proj_bias: [24],
    'out_proj.weight': [8, 8],
    'out_proj.bias': [8],
  });
  assert.equal(new nn.MaxPool2d(3, { stride: 2, padding: 1 }).parameters(), {});
});

test('BatchNorm2d without running statistics: batch statistics in eval mode too, no buffers saved', async () => {
  const bn = new nn.BatchNorm2d(2, { trackRunningStats: false });
  assert.equal(Object.keys(await bn.stateDict()), ['weight', 'bias'], 'as torch: no running_mean, running_var or counter');
  // Channel 0 holds 10..13 and channel 1 holds -3..0, far from running stats of (0, 1).
  const x = tg.tensor(new Float32Array([10, 11, 12, 13, -3, -2, -1, 0]), [1, 2, 2, 2]);
  const y = (await bn.predict(x)).data;
  const invstd = 1 / Math.sqrt(1.25 + 1e-5);
  const expected = [-1.5, -0.5, 0.5, 1.5, -1.5, -0.5, 0.5, 1.5].map((v) => v * invstd);
  y.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `y[${i}] = ${v}, expected ${expected[i]}`));
  assert.throws(() => new nn.BatchNorm2d(2, { momentum: null }), /momentum must be a number in \[0, 1\]/);
});

test('initial values follow torch.nn defaults', async () => {
  tg.manualSeed(1);
  const conv = new nn.Conv2d(4, 6, 3);
  const bound = 1 / Math.sqrt(4 * 9);
  const w = (await conv.stateDict()).weight.data;
  assert.ok(w.every((v) => Math.abs(v) <= bound) && w.some((v) => Math.abs(v) > bound / 2), 'kaiming-uniform bound');
  const emb = new nn.Embedding(5, 4, { paddingIdx: 2 });
  const e = (await emb.stateDict()).weight.data;
  assert.equal([...e.subarray(8, 12)], [0, 0, 0, 0], 'the padding row starts at zero');
  const ln = await new nn.LayerNorm(3).stateDict();
  assert.equal([...ln.weight.data, ...ln.bias.data], [1, 1, 1, 0, 0, 0]);
});

test('bad layer arguments are named', () => {
  assert.throws(() => new nn.Conv2d(3, 8, 3, { groups: 2 }), /groups/);
  assert.throws(() => new nn.Conv2d(3, 8, 3, { padding: 'same', stride: 2 }), /same/);
  assert.throws(() => new nn.GroupNorm(4, 6), /numChannels/);
  assert.throws(() => new nn.MultiheadAttention(10, 3), /numHeads/);
  assert.throws(() => new nn.Upsample({ mode: 'bilinear' }), /size and scaleFactor/);
  assert.throws(() => new nn.Embedding(5, 2, { paddingIdx: 9 }), /paddingIdx/);
});

// 8x8 single-channel images: a bright 3x3 blob in one of four quadrants.
function quadrants(n, seed) {
  const r = rng(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const q = i % 4;
    y[i] = q;
    for (let p = 0; p < 64; p++) x[i * 64 + p] = 0.3 * (r() - 0.5);
    const top = (q >> 1) * 4 + Math.floor(r() * 2);
    const left = (q & 1) * 4 + Math.floor(r() * 2);
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) x[i * 64 + (top + dy) * 8 + left + dx] += 1;
  }
  return { x: tg.tensor(x, [n, 1, 8, 8]), y: tg.tensor(y, [n]) };
}

test('a small CNN learns where the blob is', async () => {
  tg.manualSeed(2);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }),
    new nn.BatchNorm2d(8),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(8, 8, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.Flatten(),
    new nn.Linear(8 * 4 * 4, 4),
  );
  const train = quadrants(64, 1);
  const held = quadrants(64, 2);
  const session = model.compile({ optimizer: tg.optim.adamw({ lr: 1e-2 }) });
  for (let i = 0; i < 40; i++) await session.step({ input: train.x, target: train.y });
  const logits = await model.predict(held.x);
  let ok = 0;
  for (let i = 0; i < 64; i++) {
    let best = 0;
    for (let k = 1; k < 4; k++) if (logits.data[i * 4 + k] > logits.data[i * 4 + best]) best = k;
    if (best === held.y.data[i]) ok++;
  }
  assert.ok(ok / 64 >= 0.95, `held-out accuracy ${ok / 64}`);
});

test('Embedding, LayerNorm and Upsample compose', async () => {
  tg.manualSeed(3);
  const model = new nn.Sequential(new nn.Embedding(7, 4), new nn.LayerNorm(4));
  const ids = tg.tensor(new Int32Array([1, 2, 6, 0]), [2, 2]);
  const out = await model.predict(ids);
  assert.equal(out.shape, [2, 2, 4]);
  for (let row = 0; row < 4; row++) {
    const v = out.data.subarray(row * 4, row * 4 + 4);
    const mean = v.reduce((a, b) => a + b, 0) / 4;
    assert.ok(Math.abs(mean) < 1e-5, 'layer norm centres each row');
  }
  const up = await new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }).predict(tg.tensor(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]));
  assert.equal([...up.data.subarray(0, 4)], [1, 1, 2, 2]);
});

test.run();
