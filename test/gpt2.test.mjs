// tg.models.gpt2: transformers' module names and state dict, checkpoints in
// every published layout (with or without the transformer. prefix, with the
// attn.bias buffers, with or without lm_head), a folder saved by torch
// (fixtures/gpt2-tiny, from test/parity/gpt2.py) through loadGpt2 and
// tg.fromPretrained, causal masking, the shifted LM loss with -100 ignored,
// fine-tuning through compile + step, and argument errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tg from 'tensorgraft';

const TINY = fileURLToPath(new URL('./parity/fixtures/gpt2-tiny', import.meta.url));
const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/gpt2.json', import.meta.url), 'utf8'));
const SMALL = { vocabSize: 30, nPositions: 16, nEmbd: 8, nLayer: 2, nHead: 2, residPdrop: 0, embdPdrop: 0, attnPdrop: 0 };

/** uvu's assert has no rejects. */
async function rejects(promise, pattern) {
  try {
    await promise;
  } catch (err) {
    assert.match(err.message, pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

const ids2d = (rows) => tg.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

function blockNames(prefix, i) {
  const p = `${prefix}h.${i}.`;
  return [
    'ln_1.weight', 'ln_1.bias', 'attn.c_attn.weight', 'attn.c_attn.bias', 'attn.c_proj.weight', 'attn.c_proj.bias',
    'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias',
  ].map((n) => p + n);
}

test('parameters and state dict are those of transformers GPT2LMHeadModel', async () => {
  const m = tg.models.gpt2(SMALL);
  const params = m.parameters();
  const names = ['transformer.wte.weight', 'transformer.wpe.weight', ...blockNames('transformer.', 0), ...blockNames('transformer.', 1), 'transformer.ln_f.weight', 'transformer.ln_f.bias'];
  assert.equal(Object.keys(params), names);
  assert.equal(params['transformer.h.0.attn.c_attn.weight'], [8, 24]); // Conv1D: (in, out)
  assert.equal(params['transformer.h.0.mlp.c_fc.weight'], [8, 32]);
  assert.equal(params['transformer.h.1.mlp.c_proj.weight'], [32, 8]);
  assert.equal(params['transformer.wpe.weight'], [16, 8]);
  const sd = await m.stateDict();
  assert.equal(Object.keys(sd), [...names, 'lm_head.weight']);
  assert.equal(Array.from(sd['lm_head.weight'].data), Array.from(sd['transformer.wte.weight'].data));
  // transformers' initialisation: N(0, 0.02), the residual projections N(0, 0.02 / sqrt(2 n_layer)), zero biases.
  const big = tg.models.gpt2({ ...SMALL, nEmbd: 64, nHead: 4, vocabSize: 500 });
  const std = (name) => {
    const d = big.namedParameters().find(([n]) => n === name)[1].data;
    return Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
  };
  assert.ok(Math.abs(std('transformer.wte.weight') - 0.02) < 0.002);
  assert.ok(Math.abs(std('transformer.h.0.attn.c_proj.weight') - 0.01) < 0.001);
  assert.is(std('transformer.h.0.attn.c_attn.bias'), 0);
  assert.is(std('transformer.ln_f.weight'), 1);
});

test('checkpoints load with or without the transformer. prefix, the attn buffers and lm_head', async () => {
  const src = tg.models.gpt2(SMALL);
  const sd = await src.stateDict();
  const input = ids2d([[1, 2, 3, 4, 5]]);
  const want = (await src.predict(input)).data;
  // transformers' GPT2Model layout: no prefix, the mask buffers of older releases, no head.
  const base = {};
  for (const [k, v] of Object.entries(sd)) if (k !== 'lm_head.weight') base[k.slice('transformer.'.length)] = v;
  for (const i of [0, 1]) {
    base[`h.${i}.attn.bias`] = tg.tensor(new Uint8Array(256).fill(1), [1, 1, 16, 16], 'u8');
    base[`h.${i}.attn.masked_bias`] = tg.tensor(Float32Array.of(-1e4), []);
  }
  for (const record of [sd, base]) {
    const m = tg.models.gpt2(SMALL);
    const report = await m.loadStateDict(record);
    assert.equal(report.missing, []);
    assert.equal(report.unexpected, []);
    assert.equal(Array.from((await m.predict(input)).data), Array.from(want));
  }
  // The bare transformer takes an LM checkpoint.
  const body = new tg.models.GPT2Model(SMALL);
  const report = await body.loadStateDict(sd);
  assert.equal(report.missing, []);
  assert.ok(report.ignored.includes('lm_head.weight'));
  const hidden = await body.predictAll(input);
  assert.equal(Object.keys(hidden), ['last_hidden_state']);
  assert.equal(hidden.last_hidden_state.shape, [1, 5, 8]);
});

test('save writes a file that loads back, lm_head included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-gpt2-'));
  try {
    const m = tg.models.gpt2(SMALL);
    const path = join(dir, 'model.safetensors');
    await m.save(path);
    const file = await tg.weights.readWeights(path);
    assert.ok('lm_head.weight' in file.tensors);
    const back = tg.models.gpt2(SMALL);
    await back.load(path);
    const input = ids2d([[7, 8, 9]]);
    assert.equal(Array.from((await back.predict(input)).data), Array.from((await m.predict(input)).data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadGpt2 and tg.fromPretrained read a folder saved by torch and match its logits', async () => {
  for (const load of [() => tg.models.loadGpt2(TINY), () => tg.fromPretrained(TINY)]) {
    const m = await load();
    assert.instance(m, tg.models.GPT2LMHeadModel);
    assert.is(m.config.nEmbd, 16);
    assert.equal(m.config.eosTokenId, [39]);
    assert.equal(m.loadReport.missing, []);
    assert.is(m.loadReport.modelType, 'gpt2');
    assert.ok(m.loadReport.ignored.includes('h.0.attn.masked_bias'));
    const logits = (await m.predict(ids2d(fixture.tiny.input_ids))).data;
    const scale = Math.max(...fixture.tiny.logits.map(Math.abs));
    fixture.tiny.logits.forEach((v, i) => assert.ok(Math.abs(logits[i] - v) <= 1e-5 * scale, `logits[${i}]: ${logits[i]} vs ${v}`));
  }
  const features = await tg.models.loadGpt2(TINY, { task: 'feature-extraction' });
  const out = await features.predictAll(ids2d(fixture.tiny.input_ids));
  assert.equal(Object.keys(out), ['last_hidden_state']);
  await rejects(features.generate([1, 2]), /feature-extraction/);
});

test('attention is causal and the attention mask hides keys', async () => {
  const m = tg.models.gpt2(SMALL);
  const a = (await m.predict(ids2d([[1, 2, 3, 4, 5]]))).data;
  const b = (await m.predict(ids2d([[1, 2, 3, 9, 9]]))).data;
  assert.equal(Array.from(a.subarray(0, 3 * 30)), Array.from(b.subarray(0, 3 * 30)));
  assert.not.equal(Array.from(a.subarray(3 * 30)), Array.from(b.subarray(3 * 30)));
  // Right padding masked out leaves the tokens before it as they are.
  const masked = await m.predictAll({ input_ids: ids2d([[1, 2, 3, 9, 9]]), attention_mask: ids2d([[1, 1, 1, 0, 0]]) });
  assert.equal(Array.from(masked.logits.data.subarray(0, 3 * 30)), Array.from(a.subarray(0, 3 * 30)));
  const ones = await m.predictAll({ input_ids: ids2d([[1, 2, 3, 4, 5]]), attention_mask: tg.tensor(new BigInt64Array(5).fill(1n), [1, 5]) });
  assert.equal(Array.from(ones.logits.data), Array.from(a));
});

test('the loss predicts the next token, ignoring -100, as GPT2LMHeadModel', async () => {
  const m = tg.models.gpt2(SMALL);
  const rows = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]];
  const labels = [[1, 2, 3, 4, 5], [-100, -100, 8, 9, -100]];
  const { logits, loss } = await m.compile({ training: false }).run({ input_ids: ids2d(rows), labels: ids2d(labels) });
  let sum = 0, count = 0;
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < 4; t++) {
      const target = labels[b][t + 1];
      if (target === -100) continue;
      const row = Array.from(logits.data.subarray((b * 5 + t) * 30, (b * 5 + t + 1) * 30));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      sum += lse - row[target];
      count++;
    }
  }
  assert.ok(Math.abs(loss.data[0] - sum / count) < 1e-5, `${loss.data[0]} vs ${sum / count}`);
});

test('fine-tuning through compile and step lowers the loss, the tied head training with wte', async () => {
  tg.manualSeed(1);
  const m = tg.models.gpt2(SMALL);
  m.freeze('transformer.h.0.*');
  const session = m.compile({ optimizer: tg.optim.adamw({ lr: 1e-2, weightDecay: 0 }) });
  const rows = [[1, 2, 3, 4, 1, 2, 3, 4], [5, 6, 7, 8, 5, 6, 7, 8]];
  const frozen = Float32Array.from(m.namedParameters().find(([n]) => n === 'transformer.h.0.attn.c_attn.weight')[1].data);
  const first = (await session.step({ input_ids: ids2d(rows), labels: ids2d(rows) })).loss;
  let last = first;
  for (let i = 0; i < 30; i++) last = (await session.step({ input_ids: ids2d(rows), labels: ids2d(rows) })).loss;
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
  assert.equal(Array.from(m.namedParameters().find(([n]) => n === 'transformer.h.0.attn.c_attn.weight')[1].data), Array.from(frozen));
  assert.ok(session.trainable.includes('transformer.wte.weight'));
  session.dispose();
});

test('other activations and scalings from config.json', async () => {
  const opts = tg.models.gpt2OptionsFromConfig({ n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 11, n_ctx: 6, activation_function: 'relu', scale_attn_by_inverse_layer_idx: true, eos_token_id: [3, 4] });
  const m = tg.models.gpt2(opts);
  assert.is(m.config.nPositions, 6);
  assert.equal(m.config.eosTokenId, [3, 4]);
  assert.is(m.transformer.blocks[0].attn.scale, 0.5);
  assert.equal((await m.predict(ids2d([[1, 2]]))).shape, [1, 2, 11]);
});

test('bad options fail with the parameter named', () => {
  assert.throws(() => tg.models.gpt2({ nEmbd: 10, nHead: 3 }), /nHead must be a divisor of nEmbd/);
  assert.throws(() => tg.models.gpt2({ activationFunction: 'quick_gelu' }), /activationFunction must be one of/);
  assert.throws(() => tg.models.gpt2({ attnPdrop: 1 }), /attnPdrop must be a probability/);
  assert.throws(() => tg.models.gpt2({ numClasses: 2 }), /numClasses/);
  assert.throws(() => tg.models.gpt2({ task: 'fill-mask' }), /task must be one of/);
});

test('loadGpt2 refuses other model types and reports bad folders', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-gpt2-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
    writeFileSync(join(dir, 'model.safetensors'), readFileSync(join(TINY, 'pytorch_model.bin')));
    await rejects(tg.models.loadGpt2(dir), /'bert' model, not gpt2/);
    await rejects(tg.models.loadGpt2(join(dir, 'nowhere')), /not a folder/);
    await rejects(tg.models.loadGpt2(TINY, { task: 'fill-mask' }), /task must be one of/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
