// tg.models.gpt2 against a plain-torch GPT-2 written from transformers'
// modeling_gpt2.py (fixtures/gpt2.json, written by test/parity/gpt2.py):
// gpt2-124M widths with 2 layers and a 1000-token vocabulary, weights from
// the shared generator in transformers' key layout (loaded with the
// checkpoint's attn.bias buffers and tied lm_head.weight, as published
// files have them). Hidden states, logits, the LM loss and the gradients of
// the unfrozen parameters after one step must match torch's float32 within
// 1e-4 of their scale, or be as close to float64 as torch's float32 is;
// greedy generation, with the KV cache and without, must give torch's
// tokens, and a left-padded batch the same as each prompt alone, its
// first-step logits those of torch for the padded batch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from 'tensorgraft';
import { fromB64, gen } from './parity/hashgen.mjs';
import { Model } from '../dist/nn/module.js';
import { Session } from '../dist/session.js';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/gpt2.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const LR = 1024; // SGD at this rate turns an update back into the gradient

function near(actual, expected, scale, label, expected64 = expected, floor = 0) {
  const tol = Math.max(RTOL * scale, floor);
  if (Math.abs(actual - expected) <= tol) return;
  const torchError = Math.abs(expected - expected64);
  if (Math.abs(actual - expected64) <= Math.max(tol, 2 * torchError)) return;
  assert.unreachable(`${label}: ours ${actual}, torch ${expected} (float64: ${expected64}; tolerance ${tol})`);
}

/** Every element within 1e-4 of the output's scale, or twice torch's own float32 error. */
function compareOutput(actual, expected, label) {
  assert.equal(actual.shape, expected.shape, `${label}: shape`);
  const want = fromB64(expected.data);
  const tol = Math.max(RTOL * expected.maxabs, 2 * expected.err64);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(actual.data[i] - want[i]);
    if (d > worst) [worst, at] = [d, i];
  }
  assert.ok(worst <= tol, `${label}: element ${at} is ${actual.data[at]}, torch ${want[at]} (tolerance ${tol})`);
}

const c = fixture.config;
let shared;

/** The model with the fixture's weights, loaded from a checkpoint-shaped record. */
async function build() {
  const model = tg.models.gpt2({ ...tg.models.gpt2OptionsFromConfig(c), eosTokenId: [] });
  const record = {};
  for (const [name, seed, scale, offset] of fixture.recipe) {
    const shape = model.parameters()[name];
    assert.ok(shape, `no parameter ${name}`);
    record[name] = tg.tensor(gen(shape.reduce((a, b) => a * b, 1), seed, scale, offset), shape);
  }
  record['lm_head.weight'] = record['transformer.wte.weight'];
  for (let i = 0; i < c.n_layer; i++) record[`transformer.h.${i}.attn.bias`] = tg.tensor(new Float32Array(4), [1, 1, 2, 2]);
  const report = await model.loadStateDict(record);
  assert.equal(report.missing, []);
  // The tied head and the mask buffers only (a loose glob would also skip c_attn.bias).
  const skipped = ['lm_head.weight', ...Array.from({ length: c.n_layer }, (_, i) => `transformer.h.${i}.attn.bias`)];
  assert.equal([...report.ignored].sort(), skipped.sort());
  return model;
}

async function model() {
  shared ??= await build();
  return shared;
}

const ids2d = (rows) => tg.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

test('hidden states and logits match torch', async () => {
  const m = await model();
  m.transformer.outputHiddenStates = true;
  const out = await m.compile({ loss: null, training: false }).run({ input_ids: ids2d(fixture.input_ids) });
  m.transformer.outputHiddenStates = false;
  fixture.hidden_states.forEach((h, i) => compareOutput(out[`hidden_states.${i}`], h, `hidden_states.${i}`));
  compareOutput(out.logits, fixture.logits, 'logits');
});

test('the LM loss and the gradients of one partly frozen step match torch', async () => {
  const m = await build();
  const feeds = { input_ids: ids2d(fixture.input_ids), labels: ids2d(fixture.labels) };
  const evalLoss = (await m.compile({ training: false }).run(feeds)).loss.data[0];
  near(evalLoss, fixture.loss, Math.abs(fixture.loss), 'loss', fixture.loss64);

  m.freeze().unfreeze(...fixture.trainable.map((p) => `${p}*`));
  const trainable = new Map(m.namedParameters().filter(([n]) => m.trainableParameters().includes(n)));
  assert.equal([...trainable.keys()].sort(), Object.keys(fixture.grads).sort());
  const before = new Map([...trainable].map(([n, t]) => [n, Float64Array.from(t.data)]));
  const session = m.compile({ optimizer: tg.optim.sgd({ lr: LR }) });
  const { loss } = await session.step(feeds);
  near(loss, fixture.loss, Math.abs(fixture.loss), 'training loss', fixture.loss64);

  const noise = 1e-6 * Math.max(...Object.values(fixture.grads64).map((e) => e.maxabs));
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
    const e = fixture.grads[name];
    const e64 = fixture.grads64[name];
    const n = g.length;
    near(sum, e.sum, e.l1, `${name} grad sum`, e64.sum, noise * n);
    near(l1, e.l1, e.l1, `${name} grad |.|`, e64.l1, noise * n);
    near(sumsq, e.sumsq, e.sumsq, `${name} grad sum of squares`, e64.sumsq, noise * noise * n);
    near(dot, e.dot, e.l1, `${name} grad projection`, e64.dot, noise * n);
    e.head.forEach((v, i) => near(g[i], v, e.maxabs, `${name} grad[${i}]`, e64.head[i], noise));
  }
  session.dispose();
});

test('greedy generation with the KV cache gives torch tokens', async () => {
  const m = await model();
  const n = fixture.generation.max_new_tokens;
  for (const { prompt, tokens } of fixture.generation.cases) {
    const out = await m.generate(prompt, { maxNewTokens: n });
    assert.equal(out.shape, [1, prompt.length + n]);
    assert.equal(Array.from(out.data.subarray(prompt.length)), tokens, `prompt ${prompt}`);
  }
});

/** The generation graph without a cache, as generate() runs its first step. */
class Prefill extends Model {
  constructor(lm) {
    super();
    this.lm = lm;
  }
  build() {}
  inputSpecs() {
    return ['input_ids', 'position_ids', 'attention_mask'].map((name) => ({ name, shape: [-1, -1], dtype: null }));
  }
  forward(g, inputs) {
    return { logits: this.lm.decoderStep(g, inputs, { past: false, tokensFirst: false }).logits };
  }
  namedParameters() {
    return this.lm.namedParameters();
  }
  namedBuffers() {
    return [];
  }
  trainableParameters() {
    return [];
  }
}

test('a left-padded batch generates as each prompt alone, and its logits match torch', async () => {
  const m = await model();
  const { cases, pad_token_id: pad, padded_last_logits } = fixture.generation;
  const n = fixture.generation.max_new_tokens;
  const prompts = cases.map((x) => x.prompt);
  // Ragged prompts are left-padded and masked by generate itself...
  const out = await m.generate(prompts, { maxNewTokens: n, padTokenId: pad });
  const width = out.shape[1];
  const T = Math.max(...prompts.map((p) => p.length));
  cases.forEach(({ prompt, tokens }, b) => {
    const row = Array.from(out.data.subarray(b * width, (b + 1) * width));
    assert.equal(row.slice(0, T), [...new Array(T - prompt.length).fill(pad), ...prompt]);
    assert.equal(row.slice(T), tokens, `row ${b}`);
  });
  // ...and an explicit mask does the same, here without the cache (the whole sequence every step).
  const mask = prompts.map((p) => [...new Array(T - p.length).fill(0), ...new Array(p.length).fill(1)]);
  const ids = ids2d(prompts.map((p) => [...new Array(T - p.length).fill(pad), ...p]));
  const again = await m.generate(ids, { maxNewTokens: n, attentionMask: mask, useCache: false });
  assert.equal(Array.from(again.data), Array.from(out.data));

  // The first step's logits against torch's, with HF's positions: cumsum(mask) - 1, 1 under padding.
  const positions = mask.map((row) => {
    let k = 0;
    return row.map((v) => (v ? k++ : 1));
  });
  const s = new Session(new Prefill(m), { loss: null, training: false });
  const { logits } = await s.run({
    input_ids: ids,
    position_ids: ids2d(positions),
    attention_mask: tg.tensor(Uint8Array.from(mask.flat()), [2, T], 'u8'),
  });
  s.dispose();
  const want = fromB64(padded_last_logits);
  const scale = Math.max(...want.map(Math.abs));
  want.forEach((v, i) => near(logits.data[i], v, scale, `padded logits[${i}]`, v, 4 * fixture.generation.padded_vs_alone));
});

test.run();
