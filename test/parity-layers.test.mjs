// tg.nn layers against torch.nn on the same weights and inputs (fixture from
// test/parity/layers.py): a small CNN through one SGD step in training mode
// (BatchNorm batch statistics and running-statistics update) and a forward in
// eval mode; MultiheadAttention in both layouts through one SGD step.
// Tolerance: 1e-4, relative to max(1, |value|).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from 'tensorgraft';
import { values } from './parity/gen.mjs';

const fx = JSON.parse(readFileSync(new URL('./parity/fixtures/layers.json', import.meta.url), 'utf8'));

function close(got, want, label, tol = 1e-4) {
  assert.is(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) {
      assert.unreachable(`${label}[${i}]: ${got[i]}, PyTorch ${want[i]}`);
    }
  }
}

async function fill(model) {
  const record = {};
  Object.entries(model.parameters()).forEach(([name, shape], seed) => {
    record[name] = tg.tensor(values(shape.reduce((a, b) => a * b, 1), seed + 1, 0.5), shape);
  });
  await model.loadStateDict(record, { strict: false });
}

async function checkAfter(model, after, label) {
  const state = await model.stateDict();
  for (const [name, want] of Object.entries(after)) {
    assert.ok(state[name], `${label}: ${name} is in the state dict`);
    close(state[name].data, want, `${label} ${name}`);
  }
}

test('a small CNN: one SGD step in training mode, then eval, as in PyTorch', async () => {
  const nn = tg.nn;
  const model = new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { stride: 2, groups: 2 }),
    new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(),
    new nn.Linear(6, 3),
  );
  await fill(model);
  const x = tg.tensor(Float32Array.from(fx.cnn.x), [2, 3, 10, 10]);
  const session = model.compile({ optimizer: tg.optim.sgd({ lr: 0.1 }) });
  const { logits } = await session.run({ input: x });
  close(logits.data, fx.cnn.train_logits, 'training-mode logits');
  // run() in training mode updated the running statistics once; restore them
  // so the step below sees what PyTorch's single forward saw.
  await model.loadStateDict({ '1.running_mean': tg.tensor(new Float32Array(4), [4]), '1.running_var': tg.tensor(new Float32Array(4).fill(1), [4]) }, { strict: false });
  const { loss } = await session.step({ input: x, target: tg.tensor(new Int32Array([0, 2]), [2]) });
  assert.ok(Math.abs(loss - fx.cnn.loss) <= 1e-4 * Math.abs(fx.cnn.loss), `loss ${loss}, PyTorch ${fx.cnn.loss}`);
  await checkAfter(model, fx.cnn.after, 'cnn');
  const state = await model.stateDict();
  assert.equal(state['1.num_batches_tracked'].data[0], 2n, 'one run and one step in training mode');
  close((await model.predict(x)).data, fx.cnn.eval_logits, 'eval-mode logits');
});

for (const [key, batchFirst] of [['mha', false], ['mha_batch_first', true]]) {
  test(`MultiheadAttention (batchFirst: ${batchFirst}): output and one SGD step, as in PyTorch`, async () => {
    const model = new tg.nn.MultiheadAttention(8, 2, { batchFirst });
    await fill(model);
    const shape = batchFirst ? [2, 5, 8] : [5, 2, 8];
    const x = tg.tensor(Float32Array.from(fx[key].x), shape);
    close((await model.predict(x)).data, fx[key].out, 'attention output');
    const session = model.compile({ loss: 'mse', optimizer: tg.optim.sgd({ lr: 0.5 }) });
    const { loss } = await session.step({ input: x, target: tg.tensor(Float32Array.from(fx[key].target), shape) });
    assert.ok(Math.abs(loss - fx[key].loss) <= 1e-4 * Math.abs(fx[key].loss), `loss ${loss}, PyTorch ${fx[key].loss}`);
    await checkAfter(model, fx[key].after, key);
  });
}

test('a frozen BatchNorm uses and keeps its running statistics', async () => {
  const bn = new tg.nn.BatchNorm2d(3);
  await bn.loadStateDict(
    { running_mean: tg.tensor(new Float32Array([1, 2, 3]), [3]), running_var: tg.tensor(new Float32Array([4, 4, 4]), [3]) },
    { strict: false },
  );
  bn.freeze();
  const x = tg.tensor(new Float32Array(2 * 3 * 2 * 2).fill(5), [2, 3, 2, 2]);
  const session = bn.compile({ loss: null, training: true });
  const { logits } = await session.run({ input: x });
  // (5 - mean) / sqrt(4 + 1e-5), not the batch statistics (which would give 0).
  close([logits.data[0], logits.data[4], logits.data[8]], [2, 1.5, 1].map((v) => v / Math.sqrt(1 + 1e-5 / 4)), 'frozen output');
  const state = await bn.stateDict();
  assert.equal([...state.running_mean.data], [1, 2, 3]);
  assert.equal(state.num_batches_tracked.data[0], 0n);
});

test.run();
