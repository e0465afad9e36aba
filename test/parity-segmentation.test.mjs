// tg's segmentation models against PyTorch (fixtures/segmentation.json,
// written by test/parity/segmentation.py): smp's Unet with a resnet34 encoder,
// milesial's UNet (transposed convolutions, bilinear, and a 72×56 input whose
// skips need F.pad) and torchvision 0.14's deeplabv3_resnet50 with its
// auxiliary head, at full architecture with the same weights and calibrated
// BatchNorm statistics. The state dicts must have the reference's keys and
// shapes, in its order (resnet50 Unet and deeplabv3_resnet101 too).
//
// The eval outputs (every stride-th value and whole-tensor sums) and, after one
// training step with the early layers frozen (cross-entropy with ignore_index
// 255 on (N, H, W) class ids; DeepLab: out + 0.5·aux), the loss and the
// updated running statistics must be within 1e-4 of their scale of torch's
// float32 values, or as close to torch's float64 values as torch's float32 is
// (within 2x; that error measured over the whole tensor: the largest element
// error for an element, the summed one for a sum).
//
// Gradients (per trainable parameter: sum, |.|, sum of squares, a projection
// on a fixed vector, first values) are held to 1e-2 of their scale (elements
// 2e-2), or to 2x torch's own float32 error over the case. A training-mode
// step through these decoders is chaotic in float32: a ReLU whose input
// rounds to the other side of 0 moves a weight-gradient element by about
// 1/sqrt(positions) of its scale, and torch's own float32 gradients differ
// from its float64 ones by up to 1.5e-2 (Unet), 3e-2 (UNet) and 2e-1
// (DeepLab) of the scale, element-wise, 4e-3 to 1.5e-2 in sums; in the 72×56
// case, by chance, torch's float32 step flips nothing and ours does.
// TG_PARITY_VERBOSE=1 prints each case's time and largest errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from 'tensorgraft';
import { gen } from './parity/hashgen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/segmentation.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const GRAD_RTOL = 1e-2;
const GRAD_ELEMENT_RTOL = 2e-2;
const FACTOR = 2; // how many times torch's float32 error ours may be, against float64
// SGD with this learning rate turns an update back into the gradient:
// g = (before - after) / LR, exact enough for a 1e-4 comparison.
const LR = 1024;
const IGNORE = 255;
const BUFFER = /\.(running_mean|running_var|num_batches_tracked)$/;
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const verbose = !!process.env.TG_PARITY_VERBOSE;

/** Per kind of quantity, the largest |ours - torch float32| / scale of the case. */
let worst = {};

/**
 * Within RTOL·scale (or `floor`, rounding noise on a quantity that is zero in
 * exact arithmetic) of torch's float32 value e32, or within FACTOR times
 * torch's own float32 error of its float64 value e64.
 */
function near(actual, e32, e64, { scale, torchError, floor = 0, rtol = RTOL, label, kind }) {
  const tol = Math.max(rtol * scale, floor);
  const err = Math.abs(actual - e32);
  worst[kind] = Math.max(worst[kind] ?? 0, err / Math.max(scale, Number.MIN_VALUE));
  if (err <= tol) return;
  if (Math.abs(actual - e64) <= Math.max(tol, FACTOR * torchError)) return;
  assert.unreachable(`${label}: ours ${actual}, torch ${e32} (float64: ${e64}; tolerance ${tol}, torch's float32 error ${torchError})`);
}

/** The same statistics as the script's stats(). */
function stats(values) {
  const probe = gen(values.length, 4242, 1);
  let sum = 0, l1 = 0, sumsq = 0, dot = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v;
    l1 += Math.abs(v);
    sumsq += v * v;
    dot += v * probe[i];
  }
  return { sum, l1, sumsq, dot, head: Array.from(values.subarray(0, 8)) };
}

/**
 * Every statistic of `values` against the script's, e (float32) and e64, with
 * torch's float32 errors err (absolute) or, where larger, rel (relative to
 * each statistic's scale); rtol and elementRtol for sums and elements.
 */
function compareStats(values, e, e64, err, { label, kind, floor = 0, rtol = RTOL, elementRtol = RTOL, rel = { max: 0, l1: 0, sq: 0 } }) {
  const s = stats(values);
  const n = values.length;
  const opts = (scale, torchError, f) => ({ scale, torchError, floor: f, rtol, kind });
  near(s.sum, e.sum, e64.sum, { ...opts(e.l1, Math.max(err.l1, rel.l1 * e.l1), floor * n), label: `${label} sum` });
  near(s.l1, e.l1, e64.l1, { ...opts(e.l1, Math.max(err.l1, rel.l1 * e.l1), floor * n), label: `${label} |.|` });
  near(s.sumsq, e.sumsq, e64.sumsq, { ...opts(e.sumsq, Math.max(err.sq, rel.sq * e.sumsq), floor * floor * n), label: `${label} sum of squares` });
  near(s.dot, e.dot, e64.dot, { ...opts(e.l1, Math.max(err.l1, rel.l1 * e.l1), floor * n), label: `${label} projection` });
  const element = { ...opts(e.maxabs, Math.max(err.max, rel.max * e.maxabs), floor), rtol: elementRtol, kind: `${kind} elements` };
  e.head.forEach((v, i) => near(s.head[i], v, e64.head[i], { ...element, label: `${label}[${i}]` }));
}

/** torch's largest relative float32 error over a case's gradients, per statistic. */
function caseErrors(t) {
  const rel = { max: 0, l1: 0, sq: 0 };
  for (const [name, err] of Object.entries(t.gradErrors)) {
    const g = t.grads64[name];
    rel.max = Math.max(rel.max, err.max / g.maxabs);
    rel.l1 = Math.max(rel.l1, err.l1 / g.l1);
    rel.sq = Math.max(rel.sq, err.sq / g.sumsq);
  }
  return rel;
}

const keyName = (entry) => entry.slice(0, entry.indexOf(' '));

function float16(b64) {
  const buf = Buffer.from(b64, 'base64');
  const bits = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return tg.weights.toDType({ data: bits, shape: [bits.length], dtype: 'f16' }, 'f32').data;
}

/** The factory's model with the script's weights (fill()), running statistics and dropouts off. */
function build(c) {
  const model = tg.models[c.factory](c.options);
  const params = new Map(model.namedParameters());
  const torchParams = c.keys.map(keyName).filter((k) => !BUFFER.test(k));
  assert.equal([...params.keys()].sort(), [...torchParams].sort(), `${c.name}: parameter names`);
  torchParams.forEach((name, i) => {
    const p = params.get(name);
    const [scale, offset] =
      p.rank > 1 ? [Math.sqrt(6 / (p.size / p.shape[0])) / (c.heads.includes(name) ? 20 : 1), 0] : name.endsWith('weight') ? [0.2, 1] : [0.1, 0];
    p.data.set(gen(p.size, i + 1, scale, offset));
  });
  const running = c.running ?? fixture.cases.find((other) => other.name === c.runningFrom).running;
  const buffers = new Map(model.namedBuffers());
  for (const [name, b64] of Object.entries(running)) buffers.get(name).data.set(float16(b64));
  if (model instanceof tg.models.DeepLabV3) {
    model.classifier.layers[0].project.replaceLayer(3, new tg.nn.Dropout(0));
    model.aux_classifier?.replaceLayer(3, new tg.nn.Dropout(0));
  }
  return model;
}

function targetOf(shape, classes) {
  const [n, , h, w] = shape;
  const ids = Int32Array.from(gen(n * h * w, 13, 1), (v, i) => (i % 17 === 0 ? IGNORE : Math.floor(((v + 1) / 2) * classes)));
  return tg.tensor(ids, [n, h, w]);
}

function checkOutput(c, name, ours) {
  const e = c.outputs[name];
  const e64 = c.outputs64[name];
  const err = c.outputErrors[name];
  const label = `${c.name} ${name}`;
  assert.equal(ours.shape.slice(2), c.input.shape.slice(2), `${label}: input resolution`);
  assert.is(Math.ceil(ours.data.length / c.stride), e.sample.length, `${label}: size`);
  e.sample.forEach((v, i) =>
    near(ours.data[i * c.stride], v, e64.sample[i], { scale: e.maxabs, torchError: err.max, label: `${label}[${i * c.stride}]`, kind: 'outputs' }),
  );
  compareStats(ours.data, { ...e, head: [] }, e64, err, { label, kind: 'outputs' });
}

for (const c of fixture.cases) {
  test(`${c.name}: outputs and one partly frozen training step match PyTorch ${fixture.torch}`, async () => {
    worst = {};
    const started = Date.now();
    const model = build(c);
    assert.equal(await stateDictKeys(model), c.keys, `${c.name}: state dict keys and shapes, in torch's order`);
    const { shape, seed, scale } = c.input;
    const input = tg.tensor(gen(numel(shape), seed, scale), shape);

    const outputs = await model.predictAll(input);
    assert.equal(Object.keys(outputs).sort(), Object.keys(c.outputs).sort(), `${c.name}: outputs`);
    for (const name of Object.keys(c.outputs)) checkOutput(c, name, outputs[name]);

    const t = c.train;
    model.freeze().unfreeze(...t.trainable.map((p) => `${p}*`));
    if (t.frozen.length) model.freeze(...t.frozen.map((p) => `${p}*`));
    const session = model.compile({ loss: { type: 'cross_entropy', ignoreIndex: IGNORE }, optimizer: tg.optim.sgd({ lr: LR }) });
    const trainable = new Map(model.namedParameters().filter(([n]) => model.trainableParameters().includes(n)));
    assert.equal([...trainable.keys()].sort(), Object.keys(t.grads).sort(), `${c.name}: trainable parameters`);
    const before = new Map([...trainable].map(([n, p]) => [n, Float64Array.from(p.data)]));
    const { loss } = await session.step({ input, target: targetOf(shape, t.classes) });
    const lossError = Math.abs(t.loss - t.loss64);
    near(loss, t.loss, t.loss64, { scale: Math.abs(t.loss), torchError: lossError, label: `${c.name} loss`, kind: 'loss' });

    // Float32 rounding noise relative to the largest gradient of the model.
    const noise = 1e-6 * Math.max(...Object.values(t.grads64).map((e) => e.maxabs));
    const rel = caseErrors(t);
    for (const [name, p] of trainable) {
      const g = before.get(name); // becomes the gradient, in place
      for (let i = 0; i < g.length; i++) g[i] = (g[i] - p.data[i]) / LR;
      const label = `${c.name} ${name} grad`;
      compareStats(g, t.grads[name], t.grads64[name], t.gradErrors[name], { label, kind: 'grads', floor: noise, rtol: GRAD_RTOL, elementRtol: GRAD_ELEMENT_RTOL, rel });
    }
    const buffers = new Map(model.namedBuffers());
    for (const [name, [sum, sumsq]] of Object.entries(t.running)) {
      const [sum64, sumsq64] = t.running64[name];
      const err = t.runningErrors[name];
      const d = buffers.get(name).data;
      let s = 0, s2 = 0;
      for (const v of d) {
        s += v;
        s2 += v * v;
      }
      near(s, sum, sum64, { scale: Math.sqrt(sumsq * d.length), torchError: err.l1, label: `${c.name} ${name} sum after the step`, kind: 'running' });
      near(s2, sumsq, sumsq64, { scale: sumsq, torchError: err.sq, label: `${c.name} ${name} sum of squares after the step`, kind: 'running' });
    }
    session.dispose();
    if (verbose) console.log(`${c.name}: ${Date.now() - started} ms, largest |ours - torch| / scale: ${JSON.stringify(worst)}`);
  });
}

async function stateDictKeys(model) {
  return Object.entries(await model.stateDict()).map(([k, t]) => `${k} ${t.shape.join(',')}`);
}

test('state dicts of further models have the reference keys and shapes, in its order', async () => {
  for (const c of fixture.keyCases) assert.equal(await stateDictKeys(tg.models[c.factory](c.options)), c.keys, `${c.name}: state dict`);
});

test.run();
