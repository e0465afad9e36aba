// tg.fromPretrained's BERT against transformers' modeling_bert.py math
// (fixtures/bert.json, written by test/parity/bert.py): bert-base widths
// (768 hidden, 12 heads, 3072 intermediate), 2 layers, a padded batch of two
// sequences with two segments. Each case's weights are rebuilt from the shared
// generator, written as a Hugging Face folder (config.json and
// model.safetensors, transformers' key layout) and loaded with
// tg.fromPretrained, which must report nothing missing, unused or new. Then:
// the encoder's last hidden states and pooler output, each sequence alone
// against its padded row; sequence-classification logits, loss and the
// gradient of every parameter after one step with all of them training;
// token-classification logits and loss with -100 labels and the gradients of
// the last layer and classifier; masked-LM logits at bert-base-uncased's full
// 30522-word vocabulary through the decoder tied to the word embeddings, its
// loss, and the gradients of the head and of the tied table. Values must be
// within 1e-4 of their scale of torch's float32 result, or as close to its
// float64 result as torch's float32 is (see near()).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { fromB64, gen } from './parity/hashgen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/bert.json', import.meta.url), 'utf8'));
const cases = Object.fromEntries(fixture.cases.filter((c) => c.family === 'bert').map((c) => [c.name, c]));
const RTOL = 1e-4;
// SGD with this learning rate turns an update back into the gradient.
const LR = 1024;

/**
 * bert.py's grad_stats of the gradient an SGD step took, g = (before - after) / LR:
 * sum, |.|, sum of squares, projection on gen(n, 4242, 1), first values. One
 * pass with the probe hashed inline (the word embeddings have 23M entries).
 */
function gradStats(before, after) {
  let sum = 0, l1 = 0, sumsq = 0, dot = 0;
  const head = [];
  const s = Math.imul(4242, 0x632be5ab) >>> 0;
  for (let i = 0; i < before.length; i++) {
    const g = (before[i] - after[i]) / LR;
    let h = (Math.imul(i, 0x9e3779b1) + s) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    sum += g;
    l1 += Math.abs(g);
    sumsq += g * g;
    dot += g * Math.fround((h >>> 8) / 8388608 - 1);
    if (i < 8) head.push(g);
  }
  return { sum, l1, sumsq, dot, head };
}

/** Within RTOL of `scale` of torch's float32 value, or as close to its float64 value as float32 torch is. */
function near(actual, expected, scale, label, expected64 = expected, floor = 0) {
  const tol = Math.max(RTOL * scale, floor);
  if (Math.abs(actual - expected) <= tol) return;
  const torchError = Math.abs(expected - expected64);
  if (Math.abs(actual - expected64) <= Math.max(tol, 2 * torchError)) return;
  assert.unreachable(`${label}: ours ${actual}, torch ${expected} (float64: ${expected64}; tolerance ${tol})`);
}

function allNear(actual, expected, expected64, label) {
  assert.is(actual.length, expected.length, `${label}: length`);
  const scale = Math.max(...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) near(actual[i], expected[i], scale, `${label}[${i}]`, expected64[i]);
}

const i32 = (rows) => tg.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);
const feedsOf = (f) => ({ input_ids: i32(f.input_ids), attention_mask: i32(f.attention_mask), token_type_ids: i32(f.token_type_ids) });

/** The case's weights as a Hugging Face folder, loaded for its task. */
async function load(c, task) {
  const dir = mkdtempSync(join(tmpdir(), 'tg-bert-parity-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(c.config));
    const tensors = {};
    for (const [name, shape, seed, scale, offset] of c.recipe) {
      tensors[name] = tg.tensor(gen(shape.reduce((a, b) => a * b, 1), seed, scale, offset), shape);
    }
    await tg.weights.writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    const model = await tg.fromPretrained(dir, { task });
    const r = model.loadReport;
    assert.equal(r.missing, [], `${task}: missing`);
    assert.equal(r.unexpected, [], `${task}: unexpected`);
    assert.equal(r.newlyInitialized, [], `${task}: newly initialised`);
    assert.is(r.task, task);
    assert.equal(Object.keys(model.parameters()).sort(), c.recipe.map(([n]) => n).sort(), `${task}: parameter names`);
    return model;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Labels (N) for a sequence's class or (N, T) for its tokens. */
function labelsTensor(labels) {
  return Array.isArray(labels[0]) ? i32(labels) : tg.tensor(Int32Array.from(labels), [labels.length]);
}

/** One SGD step; every trainable parameter's gradient against torch's statistics. */
async function checkStep(model, c, feeds, label) {
  model.freeze().unfreeze(...c.train.trainable.map((p) => `${p}*`));
  const trainable = new Map(model.namedParameters().filter(([n]) => model.trainableParameters().includes(n)));
  assert.equal([...trainable.keys()].sort(), Object.keys(c.train.grads).sort(), `${label}: trainable parameters`);
  const before = new Map([...trainable].map(([n, t]) => [n, t.data.slice()]));
  const session = model.compile({ optimizer: tg.optim.sgd({ lr: LR }) });
  const { loss } = await session.step({ ...feeds, labels: labelsTensor(c.labels) });
  session.dispose();
  near(loss, c.train.loss, Math.abs(c.train.loss), `${label} loss`, c.train64.loss);
  // Float32 rounding noise relative to the largest gradient of the model.
  const noise = 1e-6 * Math.max(...Object.values(c.train64.grads).map((e) => e.maxabs));
  for (const [name, t] of trainable) {
    const g = gradStats(before.get(name), t.data);
    const e = c.train.grads[name];
    const e64 = c.train64.grads[name];
    const n = t.size;
    near(g.sum, e.sum, e.l1, `${label} ${name} grad sum`, e64.sum, noise * n);
    near(g.l1, e.l1, e.l1, `${label} ${name} grad |.|`, e64.l1, noise * n);
    near(g.sumsq, e.sumsq, e.sumsq, `${label} ${name} grad sum of squares`, e64.sumsq, noise * noise * n);
    near(g.dot, e.dot, e.l1, `${label} ${name} grad projection`, e64.dot, noise * n);
    e.head.forEach((v, i) => near(g.head[i], v, e.maxabs, `${label} ${name} grad[${i}]`, e64.head[i], noise));
  }
  return loss;
}

test('feature-extraction: last hidden states and pooler output; each sequence alone matches its padded row', async () => {
  const c = cases['feature-extraction'];
  const model = await load(c, 'feature-extraction');
  assert.instance(model, tg.models.BertModel);
  const out = await model.predictAll(feedsOf(c.feeds));
  assert.equal(out.last_hidden_state.shape, c.last_hidden_state.shape);
  const mask = c.feeds.attention_mask.flat();
  const D = c.last_hidden_state.shape[2];
  // Padded positions are not compared: nothing reads them (transformers leaves them arbitrary too).
  const keep = (a) => Float32Array.from(a).filter((_, i) => mask[Math.floor(i / D)] === 1);
  allNear(keep(out.last_hidden_state.data), keep(fromB64(c.last_hidden_state.f32)), keep(fromB64(c.last_hidden_state.f64)), 'last_hidden_state');
  allNear(out.pooler_output.data, fromB64(c.pooler_output.f32), fromB64(c.pooler_output.f64), 'pooler_output');

  for (const [r, alone] of c.alone.entries()) {
    const one = await model.predictAll(feedsOf(alone.feeds));
    const n = alone.feeds.input_ids[0].length;
    const row = out.last_hidden_state.data.subarray(r * c.feeds.input_ids[0].length * D, (r * c.feeds.input_ids[0].length + n) * D);
    const pooledRow = out.pooler_output.data.subarray(r * D, (r + 1) * D);
    // Ours alone against ours padded: the same up to float32 summation order.
    const scale = Math.max(...Array.from(row, Math.abs));
    one.last_hidden_state.data.forEach((v, i) => assert.ok(Math.abs(v - row[i]) <= 1e-5 * scale, `sequence ${r} alone, hidden[${i}]: ${v} vs padded ${row[i]}`));
    one.pooler_output.data.forEach((v, i) => assert.ok(Math.abs(v - pooledRow[i]) <= 1e-5, `sequence ${r} alone, pooler[${i}]: ${v} vs padded ${pooledRow[i]}`));
    // And against torch on the sequence alone.
    const torchHidden = fromB64(alone.last_hidden_state);
    allNear(one.last_hidden_state.data, torchHidden, torchHidden, `sequence ${r} alone: last_hidden_state`);
  }
});

test('sequence-classification: logits, loss and every gradient after one step (all parameters training)', async () => {
  const c = cases['sequence-classification'];
  const model = await load(c, 'sequence-classification');
  assert.is(model.numLabels, 3);
  const feeds = feedsOf(c.feeds);
  const { logits } = await model.predictAll(feeds);
  assert.equal(logits.shape, c.logits.shape);
  allNear(logits.data, c.logits.f32, c.logits.f64, 'logits');
  await checkStep(model, c, feeds, 'sequence-classification');
});

test('token-classification: logits, loss with -100 labels, gradients of the last layer and classifier', async () => {
  const c = cases['token-classification'];
  const model = await load(c, 'token-classification');
  const feeds = feedsOf(c.feeds);
  const { logits } = await model.predictAll(feeds);
  assert.equal(logits.shape, c.logits.shape);
  allNear(logits.data, c.logits.f32, c.logits.f64, 'logits');
  await checkStep(model, c, feeds, 'token-classification');
});

test('fill-mask: logits over the 30522-word vocabulary through the tied decoder, loss, gradients of the head and the tied table', async () => {
  const c = cases['fill-mask'];
  const model = await load(c, 'fill-mask');
  assert.not.ok('cls.predictions.decoder.weight' in model.parameters(), 'the decoder has no weight of its own');
  const feeds = feedsOf(c.feeds);
  const { logits } = await model.predictAll(feeds);
  assert.equal(logits.shape, c.logit_rows.shape);
  const V = logits.shape[2];
  const probe = gen(V, 77, 1);
  c.logit_rows.f32.forEach((e, r) => {
    const e64 = c.logit_rows.f64[r];
    const row = logits.data.subarray(r * V, (r + 1) * V);
    let sum = 0, sumsq = 0, dot = 0, max = -Infinity, argmax = -1;
    for (let j = 0; j < V; j++) {
      sum += row[j];
      sumsq += row[j] * row[j];
      dot += row[j] * probe[j];
      if (row[j] > max) [max, argmax] = [row[j], j];
    }
    const rms = Math.sqrt(e.sumsq / V);
    near(sum, e.sum, rms * V, `row ${r} sum`, e64.sum);
    near(sumsq, e.sumsq, e.sumsq, `row ${r} sum of squares`, e64.sumsq);
    near(dot, e.dot, rms * V, `row ${r} projection`, e64.dot);
    near(max, e.max, Math.abs(e.max), `row ${r} max`, e64.max);
    assert.is(argmax, e.argmax, `row ${r} argmax`);
    e.head.forEach((v, j) => near(row[j], v, Math.abs(e.max), `row ${r} logit ${j}`, e64.head[j]));
  });
  await checkStep(model, c, feeds, 'fill-mask');
});

// RoBERTa (positions counted from its padding id 1, the classification head
// on <s>, lm_head) and DistilBERT (its own blocks, pre_classifier, the
// vocab_projector tie) at small widths: logits, loss and gradients.
for (const c of fixture.cases.filter((x) => x.family !== 'bert')) {
  test(`${c.name}: logits, loss and gradients after one step`, async () => {
    const task = c.name.split(' ').pop();
    const model = await load(c, task);
    assert.ok(model.constructor.name.toLowerCase().startsWith(c.family), model.constructor.name);
    const declared = new Set(model.inputSpecs().map((s) => s.name));
    const feeds = Object.fromEntries(Object.entries(feedsOf(c.feeds)).filter(([k]) => declared.has(k)));
    const { logits } = await model.predictAll(feeds);
    assert.equal(logits.shape, c.logits.shape);
    allNear(logits.data, c.logits.f32, c.logits.f64, `${c.name} logits`);
    await checkStep(model, c, feeds, c.name);
  });
}

test.run();
