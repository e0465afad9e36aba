// model.generate / model.stream on a small random GPT-2: the KV cache gives
// the tokens of recomputing the whole sequence, with one compiled decode plan
// however long the sequence grows; left-padded batches give each prompt's
// tokens; sampling is reproducible with a seed and stays inside top-k /
// top-p; transformers' logits processors (repetition penalty, temperature,
// top-k, top-p) on known scores; stop ids and sequences; streaming, aborting,
// training in between, and argument errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { warpLogits } from '../dist/models/generate.js';
import { Session } from '../dist/session.js';

const SMALL = { vocabSize: 64, nPositions: 128, nEmbd: 32, nLayer: 2, nHead: 4, initializerRange: 0.3, eosTokenId: [] };

function build(extra = {}) {
  tg.manualSeed(7);
  return tg.models.gpt2({ ...SMALL, ...extra });
}

const model = build();
const A = [5, 9, 13, 2, 40];
const B = [7, 1];

const tail = (t, start) => Array.from(t.data.subarray(start), Number);
const rowOf = (t, b) => Array.from(t.data.subarray(b * t.shape[1], (b + 1) * t.shape[1]), Number);

async function greedy(prompt, n, options = {}) {
  return tail(await model.generate(prompt, { maxNewTokens: n, ...options }), prompt.length);
}

async function rejects(promise, pattern) {
  try {
    await promise;
  } catch (err) {
    assert.match(err.message, pattern);
    return err;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

test('greedy decoding with the KV cache gives the tokens of recomputing the whole sequence', async () => {
  for (const prompt of [A, B]) {
    const cached = await greedy(prompt, 40);
    assert.equal(cached, await greedy(prompt, 40, { useCache: false }));
    assert.ok(new Set(cached).size > 3, `a varied continuation: ${cached}`);
  }
  const batch = await model.generate([A, B], { maxNewTokens: 25 });
  assert.equal(Array.from(batch.data), Array.from((await model.generate([A, B], { maxNewTokens: 25, useCache: false })).data));
});

test('decoding runs one plan: its feeds keep their shapes as the sequence grows', async () => {
  const calls = [];
  const run = Session.prototype.run;
  Session.prototype.run = function (feeds) {
    if (feeds && 'position_ids' in feeds) {
      calls.push({ decode: 'past_key_values.0.key' in feeds, shapes: JSON.stringify(Object.entries(feeds).map(([k, v]) => [k, v.shape])) });
    }
    return run.call(this, feeds);
  };
  try {
    await greedy(A, 40);
    await greedy([1, 2, 3, 4, 5, 6], 20);
  } finally {
    Session.prototype.run = run;
  }
  const decode = calls.filter((c) => c.decode);
  assert.is(decode.length, 39 + 19);
  assert.is(new Set(decode.map((c) => c.shapes)).size, 1, 'one set of decode shapes for both calls');
  assert.match(decode[0].shapes, /"past_key_values.0.key",\[1,4,64,8\]/);
  assert.is(calls.filter((c) => !c.decode).length, 2, 'one prefill per call');
});

test('a left-padded batch gives each prompt the tokens it gets alone', async () => {
  const alone = [await greedy(A, 15), await greedy(B, 15)];
  const batch = await model.generate([A, B], { maxNewTokens: 15, padTokenId: 63 });
  assert.equal(batch.shape, [2, 5 + 15]);
  assert.equal(rowOf(batch, 1).slice(0, 5), [63, 63, 63, 7, 1]);
  alone.forEach((tokens, b) => assert.equal(rowOf(batch, b).slice(5), tokens, `row ${b}`));
  // The same from a tensor and an explicit (i64) mask; the output keeps the ids' dtype.
  const ids = tg.tensor(BigInt64Array.from([...A, 0, 0, 0, ...B].map(BigInt)), [2, 5]);
  const mask = tg.tensor(BigInt64Array.from([1, 1, 1, 1, 1, 0, 0, 0, 1, 1].map(BigInt)), [2, 5]);
  const again = await model.generate(ids, { maxNewTokens: 15, attentionMask: mask });
  assert.is(again.dtype, 'i64');
  alone.forEach((tokens, b) => assert.equal(rowOf(again, b).slice(5), tokens, `row ${b}`));
});

test('sampling is reproducible with a seed', async () => {
  const opts = { maxNewTokens: 30, temperature: 1.5 };
  const first = await greedy(A, 30, { ...opts, seed: 11 });
  assert.equal(await greedy(A, 30, { ...opts, seed: 11 }), first);
  assert.not.equal(await greedy(A, 30, { ...opts, seed: 12 }), first);
  assert.equal(await greedy(A, 30, { ...opts, seed: 11, useCache: false }), first);
  // A batch draws per sequence in order: reproducible too.
  const b1 = await model.generate([A, B], { ...opts, seed: 5 });
  assert.equal(Array.from((await model.generate([A, B], { ...opts, seed: 5 })).data), Array.from(b1.data));
  // top-k of 1 is greedy; so is temperature 0 whatever else is asked.
  const g = await greedy(A, 30);
  assert.equal(await greedy(A, 30, { topK: 1, seed: 3 }), g);
  assert.equal(await greedy(A, 30, { temperature: 0, topK: 5, topP: 0.5, seed: 3 }), g);
});

test('samples stay inside top-k and top-p', async () => {
  const logits = Array.from((await model.predict(tg.tensor(Int32Array.from(A), [1, 5]))).data.subarray(4 * 64));
  const order = logits.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  const max = Math.max(...logits);
  const z = logits.reduce((a, v) => a + Math.exp(v - max), 0);
  const p = logits.map((v) => Math.exp(v - max) / z);
  const nucleus = [];
  for (let mass = 0; mass < 0.6; mass += p[order[nucleus.length]]) nucleus.push(order[nucleus.length]);
  for (const [options, allowed] of [[{ topK: 3 }, order.slice(0, 3)], [{ topP: 0.6 }, nucleus]]) {
    const seen = new Set();
    for (let seed = 0; seed < 40; seed++) seen.add((await greedy(A, 1, { ...options, seed }))[0]);
    for (const t of seen) assert.ok(allowed.includes(t), `${JSON.stringify(options)}: sampled ${t}, allowed ${allowed}`);
    assert.ok(seen.size > 1, `${JSON.stringify(options)} samples more than one token`);
  }
});

test('the logits processors follow transformers: repetition penalty, temperature, top-k, top-p', () => {
  // Penalty: positive scores divided, negative multiplied, once per id however often it occurs.
  assert.equal(Array.from(warpLogits([2, -2, 1, 0.5], [0, 1, 1], { repetitionPenalty: 2 })), [1, -4, 1, 0.5]);
  // Greedy ignores the sampling warpers.
  assert.equal(Array.from(warpLogits([1, 2, 3], [], { temperature: 2, topK: 1 })), [1, 2, 3]);
  assert.equal(Array.from(warpLogits([1, 2, 3], [], { sample: true, temperature: 2 })), [0.5, 1, 1.5]);
  // top-k keeps ties with the k-th score.
  assert.equal(Array.from(warpLogits([1, 3, 3, 2], [], { sample: true, topK: 2 })), [-Infinity, 3, 3, -Infinity]);
  assert.equal(Array.from(warpLogits([1, 3, 3, 2], [], { sample: true, topK: 3 })), [-Infinity, 3, 3, 2]);
  // top-p keeps the smallest set of likeliest tokens whose probability reaches p, never none.
  const probs = [0.05, 0.5, 0.15, 0.3];
  const logits = probs.map(Math.log);
  const kept = (topP) => Array.from(warpLogits(logits, [], { sample: true, topP })).map((v, i) => (v > -Infinity ? i : -1)).filter((i) => i >= 0);
  assert.equal(kept(0.75), [1, 3]);
  assert.equal(kept(0.85), [1, 2, 3]);
  assert.equal(kept(0.1), [1]);
  assert.equal(kept(1), [0, 1, 2, 3]);
  // The warpers compose in transformers' order: temperature, then top-k, then top-p.
  const keptAt = (temperature, topP) => Array.from(warpLogits(logits, [], { sample: true, temperature, topP })).map((v, i) => (v > -Infinity ? i : -1)).filter((i) => i >= 0);
  assert.equal(keptAt(0.5, 0.75), [1, 3]);
  assert.equal(keptAt(3, 0.75), [1, 2, 3]);
  const both = Array.from(warpLogits(logits, [], { sample: true, topK: 1, topP: 0.99 })).map((v) => v > -Infinity);
  assert.equal(both, [false, true, false, false]);
});

/** The new tokens up to where `stop` (ids or sequences over prompt + tokens) first ends them. */
function cut(prompt, tokens, stopIds, sequences = []) {
  const history = [...prompt];
  for (let i = 0; i < tokens.length; i++) {
    history.push(tokens[i]);
    const ends = (s) => s.every((id, j) => history[history.length - s.length + j] === id);
    if (stopIds.includes(tokens[i]) || sequences.some(ends)) return tokens.slice(0, i + 1);
  }
  return tokens;
}

test('stop ids and sequences end a sequence (keeping the stop token); the rest of a batch goes on', async () => {
  const g = await greedy(A, 30);
  const byId = await greedy(A, 30, { stop: g[3] });
  assert.equal(byId, cut(A, g, [g[3]]));
  const seq = [g[4], g[5]];
  assert.equal(await greedy(A, 30, { stop: [seq] }), cut(A, g, [], [seq]));
  assert.equal(await greedy(A, 30, { stop: [[g[2]], 999] }), cut(A, g, [g[2]]));
  // The model's eos is the default stop.
  tg.manualSeed(7);
  const withEos = build({ eosTokenId: g[6] });
  assert.equal(tail(await withEos.generate(A, { maxNewTokens: 30 }), 5), cut(A, g, [g[6]]));
  assert.equal(tail(await withEos.generate(A, { maxNewTokens: 30, stop: [] }), 5), g);
  // In a batch the stopped row is padded while the other continues.
  const gb = await greedy(B, 30);
  const stop = g.find((t) => !gb.includes(t));
  assert.ok(stop !== undefined, 'a token only the first row produces');
  const batch = await model.generate([A, B], { maxNewTokens: 30, stop, padTokenId: 0 });
  const firstRow = cut(A, g, [stop]);
  assert.equal(rowOf(batch, 0).slice(5), [...firstRow, ...new Array(30 - firstRow.length).fill(0)]);
  assert.equal(rowOf(batch, 1).slice(5), gb);
});

test('stream yields the tokens generate returns, and can be left early', async () => {
  const g = await greedy(A, 12);
  const single = [];
  for await (const t of model.stream(A, { maxNewTokens: 12 })) single.push(t);
  assert.equal(single, g);
  const batch = [];
  for await (const step of model.stream([A, B], { maxNewTokens: 12 })) batch.push(step);
  assert.equal(batch.map((s) => s[0]), g);
  assert.equal(batch.map((s) => s[1]), await greedy(B, 12));
  const early = [];
  for await (const t of model.stream(A, { maxNewTokens: 12 })) {
    early.push(t);
    if (early.length === 3) break;
  }
  assert.equal(early, g.slice(0, 3));
  assert.equal(await greedy(A, 12), g);
});

test('an AbortSignal stops generation between tokens', async () => {
  const controller = new AbortController();
  const got = [];
  const err = await rejects(
    (async () => {
      for await (const t of model.stream(A, { maxNewTokens: 20, signal: controller.signal })) {
        got.push(t);
        if (got.length === 2) controller.abort();
      }
    })(),
    /abort/i,
  );
  assert.is(err.name, 'AbortError');
  assert.is(got.length, 2);
});

test('fine-tuning, then generating: the sessions see the trained weights', async () => {
  const m = build({ initializerRange: 0.02 });
  const pattern = [3, 14, 15, 9, 26, 53, 58, 9, 7, 32];
  const rows = [[...pattern, ...pattern]];
  const before = tail(await m.generate([3, 14, 15], { maxNewTokens: 7 }), 3);
  const session = m.compile({ optimizer: tg.optim.adamw({ lr: 3e-3, weightDecay: 0 }) });
  const ids = tg.tensor(Int32Array.from(rows.flat()), [1, 20]);
  for (let i = 0; i < 60; i++) await session.step({ input_ids: ids, labels: ids });
  session.dispose();
  const after = tail(await m.generate([3, 14, 15], { maxNewTokens: 7 }), 3);
  assert.equal(after, pattern.slice(3), `before training: ${before}`);
});

test('bad arguments fail with the parameter named', async () => {
  await rejects(model.generate(A, { max_new_tokens: 3 }), /unknown option max_new_tokens/);
  await rejects(model.generate(A, { maxNewTokens: 0 }), /maxNewTokens must be an integer >= 1/);
  await rejects(model.generate(A, { topP: 0 }), /topP must be a number in \(0, 1\]/);
  await rejects(model.generate(A, { temperature: -1 }), /temperature must be a number >= 0/);
  await rejects(model.generate(A, { repetitionPenalty: 0 }), /repetitionPenalty must be a number > 0/);
  await rejects(model.generate(A, { stop: 'x' }), /stop must be/);
  await rejects(model.generate(A, { stop: [[]] }), /stop must be/);
  await rejects(model.generate([1, 64]), /inputIds\[0\]\[1\] must be a token id in \[0, 64\)/);
  await rejects(model.generate('hello'), /inputIds must be token ids/);
  await rejects(model.generate([[1, 2], [3, 4]], { attentionMask: [[0, 0], [1, 1]] }), /inputIds\[0\] must be at least one token/);
  await rejects(model.generate([[1, 2], [3]], { attentionMask: [[1, 1], [1]] }), /one shape/);
  await rejects(model.generate(A, { maxNewTokens: 125 }), /needs 129 positions; the model has 128/);
  assert.ok((await model.generate(A, { maxNewTokens: 124 })).shape[1] === 129);
});

test.run();
