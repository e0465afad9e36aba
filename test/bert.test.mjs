// BERT's structure, feeds and loading at toy widths (the numbers are checked
// against transformers' math in parity-bert.test.mjs): Hugging Face module
// names, transformers' defaults for the optional feeds, padding, the
// published checkpoint layouts tg.fromPretrained must read (bert. prefix or
// none, LayerNorm gamma/beta, position_ids buffers, pretraining heads the task
// does not use, fine-tuned heads of another size), what it reports, and its
// errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { randomF32, rejection } from './helpers.mjs';

const TINY = { vocabSize: 40, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 24, maxPositionEmbeddings: 12 };
const HF_CONFIG = {
  model_type: 'bert',
  architectures: ['BertForPreTraining'],
  vocab_size: 40,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 24,
  max_position_embeddings: 12,
  type_vocab_size: 2,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  pad_token_id: 0,
};

const scratch = mkdtempSync(join(tmpdir(), 'tg-bert-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

let folders = 0;
/** A Hugging Face folder holding config.json and the tensors as model.safetensors. */
async function hfFolder(config, tensors) {
  const dir = join(scratch, `m${folders++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  await tg.weights.writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

/** transformers' BertForPreTraining state dict as old checkpoints have it: gamma/beta, position_ids, both pretraining heads, the tied decoder copy. */
function pretrainingCheckpoint(seed = 1) {
  const model = tg.models.bert({ ...TINY, task: 'fill-mask' });
  const out = {};
  let s = seed;
  for (const [name, shape] of Object.entries(model.parameters())) {
    const key = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    out[key] = tg.tensor(randomF32(shape.reduce((a, b) => a * b, 1), s++, -0.5, 0.5), shape);
  }
  out['cls.predictions.decoder.weight'] = out['bert.embeddings.word_embeddings.weight'];
  out['cls.seq_relationship.weight'] = tg.tensor(randomF32(2 * 16, 900), [2, 16]);
  out['cls.seq_relationship.bias'] = tg.tensor(randomF32(2, 901), [2]);
  out['bert.pooler.dense.weight'] = tg.tensor(randomF32(16 * 16, 902), [16, 16]);
  out['bert.pooler.dense.bias'] = tg.tensor(randomF32(16, 903), [16]);
  out['bert.embeddings.position_ids'] = tg.tensor(BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i)), [1, 12], 'i64');
  return out;
}

const ids = (rows) => tg.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

test('module and parameter names are transformers\' for every task model', () => {
  const base = tg.models.bert(TINY);
  assert.instance(base, tg.models.BertModel);
  const names = Object.keys(base.parameters());
  for (const n of [
    'embeddings.word_embeddings.weight',
    'embeddings.position_embeddings.weight',
    'embeddings.token_type_embeddings.weight',
    'embeddings.LayerNorm.weight',
    'encoder.layer.0.attention.self.query.weight',
    'encoder.layer.0.attention.self.key.bias',
    'encoder.layer.0.attention.self.value.weight',
    'encoder.layer.0.attention.output.dense.weight',
    'encoder.layer.0.attention.output.LayerNorm.bias',
    'encoder.layer.1.intermediate.dense.weight',
    'encoder.layer.1.output.dense.bias',
    'encoder.layer.1.output.LayerNorm.weight',
    'pooler.dense.weight',
  ]) {
    assert.ok(names.includes(n), n);
  }
  assert.is(names.length, 5 + 16 * 2 + 2);
  assert.equal(base.parameters()['encoder.layer.0.intermediate.dense.weight'], [24, 16]);

  const seq = tg.models.bert({ ...TINY, task: 'sequence-classification', numLabels: 3 });
  assert.equal(seq.parameters()['classifier.weight'], [3, 16]);
  assert.ok('bert.pooler.dense.weight' in seq.parameters());
  assert.equal(seq.labels, ['LABEL_0', 'LABEL_1', 'LABEL_2']);
  const tok = tg.models.bert({ ...TINY, task: 'token-classification', numLabels: 4 });
  assert.not.ok('bert.pooler.dense.weight' in tok.parameters(), 'token classification has no pooler');
  const mlm = tg.models.bert({ ...TINY, task: 'fill-mask' });
  const mlmNames = Object.keys(mlm.parameters());
  assert.equal(
    mlmNames.filter((n) => n.startsWith('cls.')).sort(),
    ['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.bias', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.transform.dense.bias', 'cls.predictions.transform.dense.weight'],
  );
});

test('initialisation is transformers\': normal(0, 0.02) weights, zero biases, LayerNorm 1/0, padding row 0', () => {
  tg.manualSeed(3);
  const m = tg.models.bert({ ...TINY, vocabSize: 400, task: 'sequence-classification' });
  const p = Object.fromEntries(m.namedParameters());
  const w = p['bert.embeddings.word_embeddings.weight'].data;
  const rows = w.subarray(16);
  const std = Math.sqrt(rows.reduce((a, v) => a + v * v, 0) / rows.length);
  assert.ok(Math.abs(std - 0.02) < 0.002, `embedding std ${std}`);
  assert.ok(w.subarray(0, 16).every((v) => v === 0), 'padding row (pad_token_id 0) is zero');
  assert.ok(p['bert.encoder.layer.0.attention.self.query.bias'].data.every((v) => v === 0));
  assert.ok(p['bert.encoder.layer.0.output.LayerNorm.weight'].data.every((v) => v === 1));
  assert.ok(p['classifier.bias'].data.every((v) => v === 0));
});

test('a bare input_ids tensor means every token counts and segment 0; padding changes nothing for the real tokens', async () => {
  const m = tg.models.bert(TINY);
  const x = ids([[5, 6, 7, 8, 9]]);
  const bare = await m.predictAll(x);
  const explicit = await m.predictAll({ input_ids: x, attention_mask: ids([[1, 1, 1, 1, 1]]), token_type_ids: ids([[0, 0, 0, 0, 0]]) });
  assert.equal(Array.from(bare.last_hidden_state.data), Array.from(explicit.last_hidden_state.data));
  assert.equal(bare.pooler_output.shape, [1, 16]);
  const types = await m.predictAll({ input_ids: x, token_type_ids: ids([[0, 0, 1, 1, 1]]) });
  assert.not.equal(Array.from(types.last_hidden_state.data), Array.from(bare.last_hidden_state.data), 'token types matter');

  const padded = await m.predictAll({ input_ids: ids([[5, 6, 7, 8, 9, 0, 0], [3, 4, 0, 0, 0, 0, 0]]), attention_mask: ids([[1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0, 0]]) });
  const h = padded.last_hidden_state.data;
  bare.last_hidden_state.data.forEach((v, i) => assert.ok(Math.abs(v - h[i]) < 1e-5, `hidden ${i}: ${v} vs ${h[i]}`));
  bare.pooler_output.data.forEach((v, i) => assert.ok(Math.abs(v - padded.pooler_output.data[i]) < 1e-5, `pooler ${i}`));
  const short = await m.predictAll(ids([[3, 4]]));
  short.last_hidden_state.data.forEach((v, i) => assert.ok(Math.abs(v - h[7 * 16 + i]) < 1e-5, `second sequence, hidden ${i}`));
});

test('fromPretrained reads a pretraining checkpoint with old names for each task, reporting what it ignores and initialises', async () => {
  const ckpt = pretrainingCheckpoint();
  const dir = await hfFolder(HF_CONFIG, ckpt);

  const clf = await tg.fromPretrained(dir, { task: 'sequence-classification', numLabels: 2 });
  assert.instance(clf, tg.models.BertForSequenceClassification);
  const r = clf.loadReport;
  assert.is(r.architecture, 'BertForSequenceClassification');
  assert.equal(r.newlyInitialized.sort(), ['classifier.bias', 'classifier.weight']);
  assert.equal(r.missing, []);
  assert.equal(r.unexpected, []);
  for (const k of ['cls.predictions.bias', 'cls.predictions.decoder.weight', 'cls.seq_relationship.weight', 'bert.embeddings.position_ids']) {
    assert.ok(r.ignored.includes(k), `${k} is reported as ignored`);
  }
  assert.is(r.renamed['bert.embeddings.LayerNorm.gamma'], 'bert.embeddings.LayerNorm.weight');
  assert.equal(r.head, { globs: ['classifier.*'], numClasses: 2, loaded: false });
  assert.ok(r.notes.some((n) => /newly initialised.*classifier/.test(n)), r.notes.join('\n'));
  const p = Object.fromEntries(clf.namedParameters());
  assert.equal(Array.from(p['bert.encoder.layer.1.output.LayerNorm.weight'].data), Array.from(ckpt['bert.encoder.layer.1.output.LayerNorm.gamma'].data));
  assert.equal(Array.from(p['bert.pooler.dense.weight'].data), Array.from(ckpt['bert.pooler.dense.weight'].data));
  assert.ok(p['classifier.bias'].data.every((v) => v === 0), 'new classifier bias is zero');

  const mlm = await tg.fromPretrained(dir); // architectures: BertForPreTraining -> fill-mask
  assert.instance(mlm, tg.models.BertForMaskedLM);
  assert.equal(mlm.loadReport.newlyInitialized, []);
  assert.ok(mlm.loadReport.ignored.includes('cls.seq_relationship.bias'));
  assert.ok(mlm.loadReport.ignored.includes('bert.pooler.dense.weight'), 'no pooler in a masked LM');
  const { logits } = await mlm.predictAll(ids([[2, 3, 4]]));
  assert.equal(logits.shape, [1, 3, 40]);

  const tok = await tg.fromPretrained(dir, { task: 'token-classification', labels: ['O', 'B-PER', 'I-PER'] });
  assert.equal(tok.labels, ['O', 'B-PER', 'I-PER']);
  assert.equal(tok.parameters()['classifier.weight'], [3, 16]);

  const base = await tg.fromPretrained(dir, { task: 'feature-extraction' });
  assert.instance(base, tg.models.BertModel);
  assert.equal(base.loadReport.newlyInitialized, []);
  assert.equal(Array.from(Object.fromEntries(base.namedParameters())['encoder.layer.0.attention.self.query.weight'].data), Array.from(ckpt['bert.encoder.layer.0.attention.self.query.weight'].data));
});

test('fromPretrained: a bare BertModel checkpoint (old config) gets the bert. prefix; a fine-tuned head is kept, or replaced when the size differs', async () => {
  const base = tg.models.bert(TINY);
  // An old config.json without model_type: the architecture's name tells.
  const bare = await hfFolder({ ...HF_CONFIG, model_type: undefined, architectures: ['BertModel'] }, await base.stateDict());
  const clf = await tg.fromPretrained(bare, { task: 'sequence-classification' });
  assert.is(clf.numLabels, 2, 'transformers\' default of 2 labels');
  assert.equal(clf.loadReport.newlyInitialized.sort(), ['classifier.bias', 'classifier.weight']);
  assert.is(clf.loadReport.renamed['embeddings.word_embeddings.weight'], 'bert.embeddings.word_embeddings.weight');

  const tuned = tg.models.bert({ ...TINY, task: 'sequence-classification', labels: ['neg', 'neu', 'pos'] });
  const config = { ...HF_CONFIG, architectures: ['BertForSequenceClassification'], id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, label2id: { neg: 0, neu: 1, pos: 2 } };
  const dir = await hfFolder(config, await tuned.stateDict());
  const again = await tg.fromPretrained(dir);
  assert.instance(again, tg.models.BertForSequenceClassification);
  assert.equal(again.labels, ['neg', 'neu', 'pos']);
  assert.equal(again.loadReport.newlyInitialized, []);
  assert.equal(again.loadReport.head, { globs: ['classifier.*'], checkpointClasses: 3, numClasses: 3, loaded: true });
  const x = ids([[4, 5, 6]]);
  assert.equal(Array.from(await again.predict(x).then((t) => t.data)), Array.from(await tuned.predict(x).then((t) => t.data)));

  const five = await tg.fromPretrained(dir, { numLabels: 5 });
  assert.is(five.numLabels, 5);
  assert.equal(five.loadReport.head, { globs: ['classifier.*'], checkpointClasses: 3, numClasses: 5, loaded: false });
  assert.ok(five.loadReport.notes.some((n) => n.includes('classifier.weight: the checkpoint\'s is [3, 16]')), five.loadReport.notes.join('\n'));
});

test('fine-tuning: token classification with -100 labels learns; save and load round-trip', async () => {
  tg.manualSeed(5);
  const m = tg.models.bert({ ...TINY, task: 'token-classification', numLabels: 3, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 });
  const session = m.compile({ optimizer: tg.optim.adamw({ lr: 1e-2 }) });
  const feeds = {
    input_ids: ids([[2, 5, 9, 11, 0], [3, 7, 8, 0, 0]]),
    attention_mask: ids([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]),
    labels: ids([[-100, 1, 2, 0, -100], [-100, 2, 1, -100, -100]]),
  };
  const first = (await session.step(feeds)).loss;
  let last = first;
  for (let i = 0; i < 15; i++) last = (await session.step(feeds)).loss;
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
  session.dispose();

  const path = join(scratch, 'tok.safetensors');
  await m.save(path);
  const copy = tg.models.bert({ ...TINY, task: 'token-classification', numLabels: 3 });
  const report = await copy.load(path);
  assert.equal(report.missing, []);
  const a = await m.predict(feeds.input_ids);
  const b = await copy.predict(feeds.input_ids);
  assert.equal(Array.from(b.data), Array.from(a.data));
});

test('fromPretrained errors name the folder, the option or the key', async () => {
  let err = await rejection(() => tg.fromPretrained(join(scratch, 'nope')));
  assert.is(err.code, 'ERR_TG_IO');
  assert.match(err.message, /is not a folder/);
  err = await rejection(() => tg.fromPretrained(scratch, { task: 'summarization' }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, /task must be one of/);
  err = await rejection(() => tg.fromPretrained(scratch, { numLabels: 2, labels: ['a', 'b', 'c'] }));
  assert.match(err.message, /numLabels is 2 but labels names 3/);

  const weights = pretrainingCheckpoint();
  const t5 = await hfFolder({ model_type: 't5' }, { x: weights['cls.predictions.bias'] });
  err = await rejection(() => tg.fromPretrained(t5));
  assert.match(err.message, /model_type "t5" is not supported \(known: bert/);

  const dir = await hfFolder(HF_CONFIG, weights);
  err = await rejection(() => tg.fromPretrained(dir, { task: 'causal-lm' }));
  assert.match(err.message, /task 'causal-lm' is not available for bert/);

  const truncated = { ...weights };
  delete truncated['bert.encoder.layer.1.output.dense.weight'];
  const broken = await hfFolder(HF_CONFIG, truncated);
  err = await rejection(() => tg.fromPretrained(broken, { task: 'sequence-classification' }));
  assert.match(err.message, /missing bert\.encoder\.layer\.1\.output\.dense\.weight/);
  const loose = await tg.fromPretrained(broken, { task: 'sequence-classification', strict: false });
  assert.ok(loose.loadReport.newlyInitialized.includes('bert.encoder.layer.1.output.dense.weight'));

  const wide = await hfFolder({ ...HF_CONFIG, hidden_size: 15 }, weights);
  err = await rejection(() => tg.fromPretrained(wide));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.match(err.message, /hidden size 15 is not a multiple of the 2 attention heads/);
});

test('a checkpoint without the pooler (saved from a masked LM) gets a fresh one for sequence classification, as transformers does', async () => {
  const ckpt = pretrainingCheckpoint(7);
  delete ckpt['bert.pooler.dense.weight'];
  delete ckpt['bert.pooler.dense.bias'];
  const dir = await hfFolder({ ...HF_CONFIG, architectures: ['BertForMaskedLM'] }, ckpt);
  const clf = await tg.fromPretrained(dir, { task: 'sequence-classification' });
  assert.equal(clf.loadReport.newlyInitialized.sort(), ['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight']);
  assert.ok(Object.fromEntries(clf.namedParameters())['bert.pooler.dense.bias'].data.every((v) => v === 0));
});

test('RoBERTa and DistilBERT: transformers\' names, and their published layouts load for a new task', async () => {
  const small = { vocabSize: 60, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 20, maxPositionEmbeddings: 20 };
  const rob = tg.models.roberta({ ...small, task: 'fill-mask' });
  const robNames = Object.keys(rob.parameters());
  for (const n of ['roberta.embeddings.token_type_embeddings.weight', 'roberta.encoder.layer.0.attention.self.query.weight', 'lm_head.dense.weight', 'lm_head.layer_norm.weight', 'lm_head.bias']) {
    assert.ok(robNames.includes(n), n);
  }
  assert.equal(rob.inputSpecs().map((x) => x.name), ['input_ids', 'attention_mask'], 'one token type: no token_type_ids feed');
  const p = Object.fromEntries(rob.namedParameters());
  assert.ok(p['roberta.embeddings.position_embeddings.weight'].data.subarray(16, 32).every((v) => v === 0), 'position padding row (1) is zero');

  // roberta-base's file: the encoder with its pooler and the masked-LM head, including the tied decoder copy.
  const ckpt = await rob.stateDict();
  ckpt['roberta.pooler.dense.weight'] = tg.tensor(randomF32(256, 1), [16, 16]);
  ckpt['roberta.pooler.dense.bias'] = tg.tensor(randomF32(16, 2), [16]);
  ckpt['lm_head.decoder.weight'] = ckpt['roberta.embeddings.word_embeddings.weight'];
  const config = { model_type: 'roberta', architectures: ['RobertaForMaskedLM'], vocab_size: 60, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 20, max_position_embeddings: 20, type_vocab_size: 1, pad_token_id: 1, layer_norm_eps: 1e-5 };
  const dir = await hfFolder(config, ckpt);
  const clf = await tg.fromPretrained(dir, { task: 'sequence-classification', numLabels: 4 });
  assert.instance(clf, tg.models.RobertaForSequenceClassification);
  assert.equal(clf.loadReport.newlyInitialized.sort(), ['classifier.dense.bias', 'classifier.dense.weight', 'classifier.out_proj.bias', 'classifier.out_proj.weight']);
  for (const k of ['lm_head.bias', 'lm_head.decoder.weight', 'roberta.pooler.dense.weight']) assert.ok(clf.loadReport.ignored.includes(k), k);
  const { logits } = await clf.predictAll({ input_ids: ids([[0, 5, 6, 2, 1, 1]]), attention_mask: ids([[1, 1, 1, 1, 0, 0]]) });
  assert.equal(logits.shape, [1, 4]);

  const dis = tg.models.distilbert({ ...small, task: 'sequence-classification' });
  const disNames = Object.keys(dis.parameters());
  for (const n of ['distilbert.embeddings.word_embeddings.weight', 'distilbert.transformer.layer.0.attention.q_lin.weight', 'distilbert.transformer.layer.0.sa_layer_norm.weight', 'distilbert.transformer.layer.0.ffn.lin2.bias', 'distilbert.transformer.layer.0.output_layer_norm.bias', 'pre_classifier.weight', 'classifier.weight']) {
    assert.ok(disNames.includes(n), n);
  }
  assert.not.ok(disNames.some((n) => n.includes('token_type')), 'no token types');
  const base = tg.models.distilbert({ ...small, task: 'fill-mask' });
  const dconfig = { model_type: 'distilbert', architectures: ['DistilBertForMaskedLM'], vocab_size: 60, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 20, max_position_embeddings: 20 };
  const ddir = await hfFolder(dconfig, { ...(await base.stateDict()), 'vocab_projector.weight': (await base.stateDict())['distilbert.embeddings.word_embeddings.weight'] });
  const tagger = await tg.fromPretrained(ddir, { task: 'token-classification', labels: ['O', 'X'] });
  assert.instance(tagger, tg.models.DistilBertForTokenClassification);
  assert.equal(tagger.loadReport.newlyInitialized.sort(), ['classifier.bias', 'classifier.weight']);
  assert.ok(tagger.loadReport.ignored.includes('vocab_projector.weight'));
  const mlm = await tg.fromPretrained(ddir);
  assert.instance(mlm, tg.models.DistilBertForMaskedLM);
  assert.equal(mlm.loadReport.newlyInitialized, []);
  const x = ids([[3, 4, 5]]);
  assert.equal(Array.from((await mlm.predict(x)).data), Array.from((await base.predict(x)).data));
});

test('models.bert checks its options', () => {
  assert.throws(() => tg.models.bert({ task: 'translation' }), /task must be one of/);
  assert.throws(() => tg.models.bert({ ...TINY, numAttentionHeads: 3 }), /numAttentionHeads must be a divisor of hiddenSize/);
  assert.throws(() => tg.models.bert({ ...TINY, task: 'sequence-classification', numLabels: 0 }), /numLabels must be a positive integer/);
  const m = tg.models.bert({ ...TINY, task: 'sequence-classification' });
  m.replaceHead({ numClasses: 4 });
  assert.equal(m.parameters()['classifier.weight'], [4, 16]);
  assert.is(m.labels.length, 4);
});

test.run();
