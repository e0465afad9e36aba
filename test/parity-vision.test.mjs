// tg.models against torchvision 0.14 (fixtures/vision.json, written by
// test/parity/vision.py): resnet18, resnet50 and vgg11_bn at full
// architecture with the same weights and BatchNorm statistics. Eval logits
// must match torch's within 1e-4 of the logits' scale, or, where torch's own
// float32 result is further than that from its float64 one (50 layers deep),
// // be as close to the float64 result as torch's float32 is (within 2x). After
// one training step with the early layers frozen, the loss, every trainable
// parameter's gradient (sum, |.|, sum of squares, a projection on a fixed
// vector and its first values) and the updated running statistics are held
// to the same rule against torch's float32 and float64 steps. That is at
// float32 precision 'highest' (the default: direct convolutions, as PyTorch's);
// at 'high' (Winograd for 3x3 convolutions) the same comparisons hold within
// 2e-2 of the scale or 100x torch's own float32 error: a train step through
// BatchNorm on 8 values per channel amplifies Winograd's rounding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from 'tensorgraft';
import { fromB64, gen } from './parity/hashgen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/vision.json', import.meta.url), 'utf8'));
let RTOL = 1e-4;
let FACTOR = 2; // how many times torch's float32 error ours may be, against float64
// SGD with this learning rate turns an update back into the gradient:
// g = (before - after) / LR, exact enough for a 1e-4 comparison.
const LR = 1024;

/**
 * Within 1e-4 of `scale` of torch's float32 value, or as close to its float64
 * value as float32 torch is; `floor` is rounding noise on a quantity that is
 * zero in exact arithmetic (a convolution bias before a BatchNorm).
 */
function near(actual, expected, scale, label, expected64 = expected, floor = 0) {
  const tol = Math.max(RTOL * scale, floor);
  if (Math.abs(actual - expected) <= tol) return;
  const torchError = Math.abs(expected - expected64);
  if (Math.abs(actual - expected64) <= Math.max(tol, FACTOR * torchError)) return;
  assert.unreachable(`${label}: ours ${actual}, torch ${expected} (float64: ${expected64}; tolerance ${tol})`);
}

function build(c) {
  const model = tg.models[c.arch](c.arch.startsWith('vgg') ? { dropout: 0 } : {});
  const params = new Map(model.namedParameters());
  const buffers = new Map(model.namedBuffers());
  assert.equal([...params.keys()].sort(), c.recipe.map(([name]) => name).sort(), `${c.arch}: parameter names`);
  for (const [name, seed, scale, offset] of c.recipe) {
    const p = params.get(name);
    p.data.set(gen(p.size, seed, scale, offset));
  }
  for (const [name, data] of Object.entries(c.running)) buffers.get(name).data.set(fromB64(data));
  return model;
}

const PRECISIONS = [
  ['highest', 1e-4, 2],
  ['high', 2e-2, 100],
];

for (const [precision, rtol, factor] of PRECISIONS) for (const c of fixture.cases) {
  test(`${c.arch}, float32 precision '${precision}': logits and one partly frozen training step match torchvision ${fixture.torchvision}`, async () => {
    const previous = tg.setFloat32Precision(precision);
    [RTOL, FACTOR] = [rtol, factor];
    try {
      await check(c);
    } finally {
      tg.setFloat32Precision(previous);
    }
  });
}

async function check(c) {
  {
    const model = build(c);
    const { shape, seed, scale } = c.input;
    const input = tg.tensor(gen(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

    const logits = (await model.predict(input)).data;
    const logitScale = Math.max(...c.logits.map(Math.abs));
    assert.is(logits.length, c.logits.length);
    const torchError = Math.max(...c.logits.map((v, i) => Math.abs(v - c.logits64[i])));
    if (torchError <= RTOL * logitScale) c.logits.forEach((v, i) => near(logits[i], v, logitScale, `${c.arch} logits[${i}]`));
    else {
      const ours = Math.max(...c.logits64.map((v, i) => Math.abs(logits[i] - v)));
      assert.ok(ours <= FACTOR * torchError, `${c.arch}: our largest logit error against float64 is ${ours}, torch float32's is ${torchError}`);
    }

    model.freeze().unfreeze(...c.train.trainable.map((p) => `${p}*`));
    const session = model.compile({ optimizer: tg.optim.sgd({ lr: LR }) });
    const trainable = new Map(model.namedParameters().filter(([n]) => model.trainableParameters().includes(n)));
    assert.equal([...trainable.keys()].sort(), Object.keys(c.train.grads).sort(), `${c.arch}: trainable parameters`);
    const before = new Map([...trainable].map(([n, t]) => [n, Float64Array.from(t.data)]));
    const target = tg.tensor(Int32Array.from(c.train.target), [c.train.target.length]);
    const { loss } = await session.step({ input, target });
    near(loss, c.train.loss, Math.abs(c.train.loss), `${c.arch} loss`, c.train64.loss);

    // Float32 rounding noise relative to the largest gradient of the model.
    const noise = 1e-6 * Math.max(...Object.values(c.train64.grads).map((e) => e.maxabs));
    for (const [name, t] of trainable) {
      const old = before.get(name);
      const g = Float64Array.from(t.data, (v, i) => (old[i] - v) / LR);
      const probe = gen(g.length, 4242, 1);
      let sum = 0, l1 = 0, sumsq = 0, dot = 0;
      for (let i = 0; i < g.length; i++) {
        sum += g[i];
        l1 += Math.abs(g[i]);
        sumsq += g[i] * g[i];
        dot += g[i] * probe[i];
      }
      const e = c.train.grads[name];
      const e64 = c.train64.grads[name];
      const n = g.length;
      near(sum, e.sum, e.l1, `${c.arch} ${name} grad sum`, e64.sum, noise * n);
      near(l1, e.l1, e.l1, `${c.arch} ${name} grad |.|`, e64.l1, noise * n);
      near(sumsq, e.sumsq, e.sumsq, `${c.arch} ${name} grad sum of squares`, e64.sumsq, noise * noise * n);
      near(dot, e.dot, e.l1, `${c.arch} ${name} grad projection`, e64.dot, noise * n);
      e.head.forEach((v, i) => near(g[i], v, e.maxabs, `${c.arch} ${name} grad[${i}]`, e64.head[i], noise));
    }
    const buffers = new Map(model.namedBuffers());
    for (const [name, [sum, sumsq]] of Object.entries(c.train.running_after)) {
      const [sum64, sumsq64] = c.train64.running_after[name];
      const d = buffers.get(name).data;
      let s = 0, s2 = 0;
      for (const v of d) {
        s += v;
        s2 += v * v;
      }
      near(s, sum, Math.sqrt(sumsq * d.length), `${c.arch} ${name} sum after the step`, sum64);
      near(s2, sumsq, sumsq, `${c.arch} ${name} sum of squares after the step`, sumsq64);
    }
    session.dispose();
  }
}

test.run();
