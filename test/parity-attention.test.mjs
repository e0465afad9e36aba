// attention against PyTorch (test/parity/attention.py, float64): out, lse and
// dq, dk, dv for no mask, causal, a bool padding mask, an additive mask and a
// causal Tq != Tk case with an lse gradient, within |ours - torch| <=
// 1e-4 * |torch| + 1e-5. Then what needs several runs: dropout is reproducible
// for one (seed, step), changes with the step and is off in eval mode, and the
// forward and backward results are bit-identical for any thread count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { native } from '../dist/native.js';
import { values } from './parity/gen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/attention.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const ATOL = 1e-5;

const f32 = (data, shape) => ({ data, shape, dtype: 'f32' });

function inputsOf(cfg) {
  const { B, E, Tq, Tk, D, Dv } = cfg.dims;
  const s = fixture.seeds;
  const inputs = [
    f32(values(B * E * Tq * D, s.q), [B, E, Tq, D]),
    f32(values(B * E * Tk * D, s.k), [B, E, Tk, D]),
    f32(values(B * E * Tk * Dv, s.v), [B, E, Tk, Dv]),
  ];
  if (cfg.mask === 'padding') {
    const keep = new Uint8Array(B * Tk);
    fixture.padding_lengths.slice(0, B).forEach((len, b) => keep.fill(1, b * Tk, b * Tk + len));
    inputs.push({ data: keep, shape: [B, 1, 1, Tk], dtype: 'bool' });
  } else if (cfg.mask === 'additive') {
    inputs.push(f32(values(Tq * Tk, s.mask), [1, 1, Tq, Tk]));
  }
  const grads = [f32(values(B * E * Tq * Dv, s.dout), [B, E, Tq, Dv]), cfg.dlse ? f32(values(B * E * Tq, s.dlse), [B, E, Tq]) : null];
  return { inputs, grads };
}

function assertNear(actual, expected, label) {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tol = RTOL * Math.abs(expected[i]) + ATOL;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.unreachable(`${label}[${i}] is ${actual[i]}, torch says ${expected[i]} (tolerance ${tol})`);
    }
  }
}

for (const cfg of fixture.configs) {
  test(`attention parity with torch: ${cfg.name}`, async () => {
    const { inputs, grads } = inputsOf(cfg);
    const attrs = cfg.attrs;
    const [out, lse] = await native().runOp('attention', inputs, attrs, {});
    assertNear(out.data, cfg.out, `${cfg.name} out`);
    assertNear(lse.data, cfg.lse, `${cfg.name} lse`);
    const r = await native().vjp('attention', inputs, attrs, grads, {});
    assert.ok(r.ops.includes('attention_backward'), `${cfg.name}: backward ops ${r.ops}`);
    ['dq', 'dk', 'dv'].forEach((name, i) => assertNear(r.grads[i].data, cfg[name], `${cfg.name} ${name}`));
    if (inputs.length > 3) assert.is(r.grads[3], null, `${cfg.name}: the mask gets no gradient`);
  });
}

// B=1, E=2, T=300: several query and key blocks, and the backward splits the
// key blocks of each head over tasks, summing dq partials.
const big = (() => {
  const [B, E, T, D] = [1, 2, 300, 16];
  const n = B * E * T * D;
  return {
    inputs: [f32(values(n, 11), [B, E, T, D]), f32(values(n, 12), [B, E, T, D]), f32(values(n, 13), [B, E, T, D])],
    grads: [f32(values(n, 14), [B, E, T, D]), f32(values(B * E * T, 15), [B, E, T])],
  };
})();
const dropAttrs = { causal: true, dropout_p: 0.25, seed: 9 };

test('attention dropout: same seed and step give the same result, another step another, eval none', async () => {
  const run = (options, attrs = dropAttrs) => native().runOp('attention', big.inputs, attrs, options);
  const [a] = await run({ training: true, step: 5 });
  const [b] = await run({ training: true, step: 5 });
  const [c] = await run({ training: true, step: 6 });
  const [evalOut] = await run({ training: false, step: 5 });
  const [plain] = await run({ training: true, step: 5 }, { causal: true });
  assert.equal(Array.from(a.data), Array.from(b.data), 'same seed and step');
  assert.ok(a.data.some((x, i) => x !== c.data[i]), 'another step draws another mask');
  assert.equal(Array.from(evalOut.data), Array.from(plain.data), 'eval mode is p = 0');
  assert.ok(a.data.some((x, i) => x !== plain.data[i]), 'training mode drops');
  const g1 = await native().vjp('attention', big.inputs, dropAttrs, big.grads, { training: true, step: 5 });
  const g2 = await native().vjp('attention', big.inputs, dropAttrs, big.grads, { training: true, step: 5 });
  g1.grads.forEach((g, i) => assert.equal(Array.from(g.data), Array.from(g2.grads[i].data), `gradient ${i} reproduces`));
});

// sha256 of every output and gradient of the big dropout case, in this process.
async function digests() {
  const options = { training: true, step: 3 };
  const outs = await native().runOp('attention', big.inputs, dropAttrs, options);
  const { grads } = await native().vjp('attention', big.inputs, dropAttrs, big.grads, options);
  return [...outs, ...grads].map((t) => createHash('sha256').update(Buffer.from(t.data.buffer)).digest('hex'));
}

test('attention forward and backward do not depend on the thread count', async () => {
  const here = await digests();
  const self = fileURLToPath(import.meta.url);
  for (const threads of ['1', '3']) {
    const child = spawnSync(process.execPath, [self], {
      env: { ...process.env, TG_NUM_THREADS: threads, TG_ATTENTION_DIGESTS: '1' },
      encoding: 'utf8',
    });
    assert.is(child.status, 0, child.stderr);
    assert.equal(JSON.parse(child.stdout.trim().split('\n').pop()), here, `${threads} thread(s)`);
  }
});

if (process.env.TG_ATTENTION_DIGESTS) {
  console.log(JSON.stringify(await digests()));
} else {
  test.run();
}
