// Mapping checkpoints onto models: strict and non-strict loads, the reports,
// the built-in renames (DDP "module.", a Hugging Face base-model prefix,
// gamma/beta), user renames, ignored heads, dtype conversion, and Model.save /
// Model.load through safetensors files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';
import { values } from './parity/gen.mjs';

const nn = tg.nn;
const dir = mkdtempSync(join(tmpdir(), 'tg-mapping-'));

/** A model with named children, as a model file builds one (parameters "<child>.<name>"). */
class Named extends tg.Model {
  constructor(children) {
    super();
    this.layers = Object.entries(children).map(([name, m]) => [name, this.registerModule(name, m)]);
  }
  build(g, x, prefix) {
    return this.layers.reduce((v, [name, m]) => m.build(g, v, `${prefix}${name}.`), x);
  }
}

const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/** A state dict for `model` with distinct deterministic values (buffers included). */
async function recordFor(model, seed = 1) {
  const out = {};
  for (const [name, t] of Object.entries(await model.stateDict())) {
    if (t.dtype === 'i64') out[name] = tg.tensor(BigInt64Array.from([BigInt(seed + 6)]), t.shape);
    else if (name.endsWith('running_var')) out[name] = tg.tensor(values(numel(t.shape), seed++, 0.5).map((v) => v + 1), t.shape);
    else out[name] = tg.tensor(values(numel(t.shape), seed++, 0.5), t.shape);
  }
  return out;
}

function cnn() {
  return new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Linear(16, 3));
}

async function assertState(model, record, label) {
  const state = await model.stateDict();
  for (const [name, t] of Object.entries(record)) assert.equal([...state[name].data], [...t.data], `${label}: ${name}`);
}

test('a strict load fills every entry in place and reports nothing left over', async () => {
  const net = cnn();
  const record = await recordFor(net);
  const x = tg.tensor(values(2 * 3 * 4 * 4, 9), [2, 3, 4, 4]);
  const before = await net.predict(x); // the predict session now shares the parameter tensors
  const report = await net.loadStateDict(record);
  assert.equal(report, { missing: [], unexpected: [], mismatched: [], ignored: [], renamed: {}, notes: [] });
  await assertState(net, record, 'loaded');
  assert.equal((await net.stateDict())['1.num_batches_tracked'].dtype, 'i64');
  assert.not.equal([...(await net.predict(x)).data], [...before.data], 'the compiled session sees the new values');
});

test('strict: missing, unexpected and mismatched keys are all listed, with near misses, and nothing changes', async () => {
  const net = new Named({ layer1: new Named({ 0: new Named({ conv1: new nn.Conv2d(2, 2, 1), bn1: new nn.BatchNorm2d(2) }) }), fc: new nn.Linear(2, 3) });
  const before = await net.stateDict();
  const good = await recordFor(net);
  const record = { ...good };
  record['layer1.0.conv.weight'] = record['layer1.0.conv1.weight'];
  delete record['layer1.0.conv1.weight'];
  record['fc.bias'] = tg.tensor(new Float32Array(5), [5]);
  record['extra.thing'] = tg.tensor(new Float32Array(1), [1]);
  const err = await rejection(() => net.loadStateDict(record));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, 'missing layer1.0.conv1.weight (did you mean layer1.0.conv.weight?)');
  assert.match(err.message, 'unexpected layer1.0.conv.weight (did you mean layer1.0.conv1.weight?), extra.thing');
  assert.match(err.message, 'shape mismatch fc.bias: checkpoint [5], model [3]');
  assert.match(err.message, /\d+ of \d+ entries match/);
  const after = await net.stateDict();
  for (const [name, t] of Object.entries(before)) assert.equal([...after[name].data], [...t.data], `${name} unchanged`);
});

test('strict: shape mismatches alone are ERR_TG_SHAPE', async () => {
  const net = cnn();
  const record = await recordFor(net);
  record['4.weight'] = tg.tensor(new Float32Array(3 * 8), [3, 8]);
  const err = await rejection(() => net.loadStateDict(record));
  assert.is(err.code, 'ERR_TG_SHAPE');
  assert.match(err.message, '4.weight: checkpoint [3, 8], model [3, 16]');
});

test('non-strict: loads what fits and reports the rest', async () => {
  const net = cnn();
  const before = await net.stateDict();
  const record = await recordFor(net);
  delete record['0.bias'];
  record['4.weight'] = tg.tensor(new Float32Array(3 * 8), [3, 8]);
  record['5.weight'] = tg.tensor(new Float32Array(2), [2]);
  const report = await net.loadStateDict(record, { strict: false });
  assert.equal(report.missing, ['0.bias']);
  assert.equal(report.unexpected, ['5.weight']);
  assert.equal(report.mismatched, [{ key: '4.weight', source: '4.weight', checkpoint: [3, 8], model: [3, 16] }]);
  const state = await net.stateDict();
  assert.equal([...state['0.weight'].data], [...record['0.weight'].data]);
  assert.equal([...state['0.bias'].data], [...before['0.bias'].data], 'missing keeps its value');
  assert.equal([...state['4.weight'].data], [...before['4.weight'].data], 'mismatched is not loaded');
});

test("DDP's module. prefix is stripped and reported as renamed", async () => {
  const net = cnn();
  const record = Object.fromEntries(Object.entries(await recordFor(net)).map(([k, v]) => [`module.${k}`, v]));
  const report = await net.loadStateDict(record);
  assert.is(report.renamed['module.0.weight'], '0.weight');
  assert.is(Object.keys(report.renamed).length, Object.keys(record).length);
  await assertState(net, Object.fromEntries(Object.entries(record).map(([k, v]) => [k.slice(7), v])), 'stripped');
});

function tinyBert() {
  return new Named({
    embeddings: new Named({ word_embeddings: new nn.Embedding(10, 4), LayerNorm: new nn.LayerNorm(4) }),
    encoder: new Named({ dense: new nn.Linear(4, 4) }),
  });
}

test('a base-model prefix present in the checkpoint only is removed (bert.encoder... into encoder...)', async () => {
  const base = tinyBert();
  const plain = await recordFor(base);
  const record = Object.fromEntries(Object.entries(plain).map(([k, v]) => [`bert.${k}`, v]));
  record['cls.predictions.bias'] = tg.tensor(new Float32Array(10), [10]);
  const report = await base.loadStateDict(record, { strict: false });
  assert.equal(report.missing, []);
  assert.equal(report.unexpected, ['cls.predictions.bias']);
  assert.is(report.renamed['bert.encoder.dense.weight'], 'encoder.dense.weight');
  await assertState(base, plain, 'stripped');
  const strictErr = await rejection(() => tinyBert().loadStateDict(record));
  assert.match(strictErr.message, 'unexpected cls.predictions.bias');
});

test('a base-model prefix present in the model only is added (encoder... into bert.encoder...)', async () => {
  const task = new Named({ bert: tinyBert(), classifier: new nn.Linear(4, 2) });
  const plain = await recordFor(tinyBert());
  const report = await task.loadStateDict(plain, { strict: false });
  assert.equal(report.missing, ['classifier.weight', 'classifier.bias']);
  assert.equal(report.unexpected, []);
  assert.is(report.renamed['embeddings.word_embeddings.weight'], 'bert.embeddings.word_embeddings.weight');
  await assertState(task, Object.fromEntries(Object.entries(plain).map(([k, v]) => [`bert.${k}`, v])), 'prefixed');
});

test('old LayerNorm gamma/beta load as weight/bias', async () => {
  const model = tinyBert();
  const record = await recordFor(model);
  record['embeddings.LayerNorm.gamma'] = record['embeddings.LayerNorm.weight'];
  record['embeddings.LayerNorm.beta'] = record['embeddings.LayerNorm.bias'];
  delete record['embeddings.LayerNorm.weight'];
  delete record['embeddings.LayerNorm.bias'];
  const report = await model.loadStateDict(record);
  assert.equal(report.renamed, { 'embeddings.LayerNorm.gamma': 'embeddings.LayerNorm.weight', 'embeddings.LayerNorm.beta': 'embeddings.LayerNorm.bias' });
  const state = await model.stateDict();
  assert.equal([...state['embeddings.LayerNorm.weight'].data], [...record['embeddings.LayerNorm.gamma'].data]);
  // Where the model has no weight/bias, gamma stays a plain unexpected key.
  const noAffine = new Named({ ln: new nn.LayerNorm(4, { elementwiseAffine: false }) });
  const r2 = await noAffine.loadStateDict({ 'ln.gamma': tg.tensor(new Float32Array(4), [4]) }, { strict: false });
  assert.equal(r2.unexpected, ['ln.gamma']);
});

test('user renames: a function, an object of literal strings, rules with RegExp; null skips a key', async () => {
  const net = cnn();
  const plain = await recordFor(net);
  const record = Object.fromEntries(Object.entries(plain).map(([k, v]) => [`backbone.features.${k}`, v]));
  record['backbone.aux.weight'] = tg.tensor(new Float32Array(1), [1]);
  const fn = await net.loadStateDict(record, { rename: (k) => (k.startsWith('backbone.aux') ? null : k.replace('backbone.features.', '')) });
  assert.equal(fn.ignored, ['backbone.aux.weight']);
  assert.is(fn.renamed['backbone.features.0.weight'], '0.weight');
  await assertState(net, plain, 'function');

  const obj = await cnn().loadStateDict(record, { rename: { 'backbone.features.': '' }, ignore: 'backbone.aux.*' });
  assert.equal(obj.ignored, ['backbone.aux.weight']);
  const rules = await cnn().loadStateDict(record, { rename: [[/^backbone\.features\./, ''], [/^backbone\.aux\..*/, '']] });
  assert.equal(rules.missing, []);
  assert.equal(rules.ignored, ['backbone.aux.weight']);
  const bad = await rejection(() => cnn().loadStateDict(record, { rename: [['a']] }));
  assert.is(bad.code, 'ERR_TG_ARG');
  assert.match(bad.message, 'rename rule 0');
});

test('ignore: a head being replaced is skipped on purpose, not reported as mismatched or missing', async () => {
  const source = new Named({ body: new nn.Linear(4, 4), fc: new nn.Linear(4, 10) });
  const target = new Named({ body: new nn.Linear(4, 4), fc: new nn.Linear(4, 3) });
  const record = await recordFor(source);
  const freshHead = (await target.stateDict())['fc.weight'];
  const report = await target.loadStateDict(record, { ignore: ['fc.*'] });
  assert.equal(report.ignored.sort(), ['fc.bias', 'fc.weight']);
  assert.equal(report.mismatched, []);
  assert.equal(report.missing, []);
  const state = await target.stateDict();
  assert.equal([...state['fc.weight'].data], [...freshHead.data], 'the new head keeps its initialisation');
  assert.equal([...state['body.weight'].data], [...record['body.weight'].data]);
  // A checkpoint without the head at all: the ignored model keys are not missing.
  delete record['fc.weight'];
  delete record['fc.bias'];
  assert.equal((await target.loadStateDict(record, { ignore: 'fc.*' })).ignored.sort(), ['fc.bias', 'fc.weight']);
});

test('values are converted to the model dtype: f16 and bf16 into f32, i64 counters stay i64', async () => {
  const bn = new nn.BatchNorm2d(3);
  // 1, -2, 0.5 in f16 and bf16 bit patterns.
  const record = {
    weight: tg.tensor(new Uint16Array([0x3c00, 0xc000, 0x3800]), [3], 'f16'),
    bias: tg.tensor(new Uint16Array([0x3f80, 0xc000, 0x3f00]), [3], 'bf16'),
    running_mean: tg.tensor(new Float32Array([0.25, 0.5, 0.75]), [3]),
    running_var: tg.tensor(new Float32Array([1, 2, 3]), [3]),
    num_batches_tracked: tg.tensor(BigInt64Array.from([123n]), []),
  };
  await bn.loadStateDict(record);
  const state = await bn.stateDict();
  assert.is(state.weight.dtype, 'f32');
  assert.equal([...state.weight.data], [1, -2, 0.5]);
  assert.equal([...state.bias.data], [1, -2, 0.5]);
  assert.is(state.num_batches_tracked.dtype, 'i64');
  assert.is(state.num_batches_tracked.data[0], 123n);
});

test('a checkpoint from before num_batches_tracked existed loads strictly', async () => {
  const net = cnn();
  const record = await recordFor(net);
  delete record['1.num_batches_tracked'];
  const report = await net.loadStateDict(record);
  assert.equal(report.missing, ['1.num_batches_tracked']);
});

test('a record entry that is not a tensor is named', async () => {
  const err = await rejection(() => cnn().loadStateDict({ '0.weight': { data: [1, 2], shape: [2], dtype: 'f32' } }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, "'0.weight' is not a tensor");
});

test('Model.save writes PyTorch state_dict keys and dtypes; Model.load reads them back exactly', async () => {
  const net = cnn();
  const record = await recordFor(net, 3);
  await net.loadStateDict(record);
  const path = join(dir, 'cnn.safetensors');
  await net.save(path, { metadata: { note: 'test' } });
  const file = await tg.weights.readSafetensors(path);
  assert.equal(Object.keys(file.tensors).sort(), Object.keys(record).sort());
  assert.is(file.tensors['1.num_batches_tracked'].dtype, 'i64');
  assert.equal(file.tensors['1.num_batches_tracked'].shape, []);
  assert.is(file.metadata.format, 'pt');
  assert.is(file.metadata.note, 'test');
  const copy = cnn();
  const report = await copy.load(path);
  assert.equal(report.missing, []);
  await assertState(copy, record, 'reloaded');
});

test('Model.load names the path it cannot read, and fails strictly without changing the model', async () => {
  const missing = await rejection(() => cnn().load(join(dir, 'nope.safetensors')));
  assert.is(missing.code, 'ERR_TG_IO');
  assert.match(missing.message, 'nope.safetensors');
  const other = new nn.Sequential(new nn.Linear(2, 2));
  const path = join(dir, 'other.safetensors');
  await other.save(path);
  const net = cnn();
  const before = await net.stateDict();
  const err = await rejection(() => net.load(path));
  assert.match(err.message, `Model.load(${path})`);
  assert.match(err.message, 'missing 1.weight');
  assert.match(err.message, '0.weight: checkpoint [2, 2], model [4, 3, 3, 3]');
  const after = await net.stateDict();
  for (const [k, v] of Object.entries(before)) assert.equal([...after[k].data], [...v.data], k);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
