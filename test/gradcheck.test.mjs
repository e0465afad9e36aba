// Every differentiable case (grad: true) in test/cases/*.mjs: the gradient
// from the op's backward rule against central finite differences of
// sum(g * f(x)) for a random upstream gradient g. The ops compute in f32; the
// objective is accumulated in float64 and the step is sized for f32 rounding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { native } from '../dist/native.js';
import { randomF32 } from './helpers.mjs';
import { caseLabel, loadCaseTables, makeInput } from './op-harness.mjs';

const EPS = 1e-3;
const RTOL = 1e-2;
const ATOL = 2e-3;

const tables = await loadCaseTables();

/** sum_k sum_j g_k[j] * f(x)_k[j], in float64. */
async function objective(c, inputs, seeds) {
  const outs = await native().runOp(c.op, inputs, c.attrs ?? {}, c.options ?? {});
  let s = 0;
  outs.forEach((o, k) => {
    if (!seeds[k]) return;
    for (let j = 0; j < o.data.length; j++) s += seeds[k].data[j] * o.data[j];
  });
  return s;
}

// Moves values off kinks (relu at 0, ...) by more than the FD step.
function avoidKinks(t, kinks) {
  for (let i = 0; i < t.data.length; i++) {
    for (const k of kinks) {
      if (Math.abs(t.data[i] - k) < 10 * EPS) t.data[i] = k + (t.data[i] >= k ? 10 * EPS : -10 * EPS);
    }
  }
}

for (const { file, cases } of tables) {
  const gradCases = cases.filter((c) => c.grad);
  if (!gradCases.length) continue;
  test(`${file}: backward rules against finite differences`, async () => {
    for (const [i, c] of gradCases.entries()) {
      const label = `${file} ${caseLabel(c, i)}`;
      const inputs = c.inputs.map((d, j) => makeInput(d, 7000 * i + j + 3));
      for (const t of inputs) if (t.dtype === 'f32' && c.avoid) avoidKinks(t, c.avoid);
      const outs = await native().runOp(c.op, inputs, c.attrs ?? {}, c.options ?? {});
      const seeds = outs.map((o, k) =>
        o.dtype === 'f32' ? { data: randomF32(o.data.length, 99 + k), shape: o.shape, dtype: 'f32' } : null,
      );
      const { grads } = await native().vjp(c.op, inputs, c.attrs ?? {}, seeds, c.options ?? {});
      let checked = 0;
      for (const [j, x] of inputs.entries()) {
        if (x.dtype !== 'f32' || grads[j] === null) continue;
        assert.equal(grads[j].shape, x.shape, `${label}: gradient shape of input ${j}`);
        for (let e = 0; e < x.data.length; e++) {
          const orig = x.data[e];
          x.data[e] = orig + EPS;
          const up = await objective(c, inputs, seeds);
          x.data[e] = orig - EPS;
          const down = await objective(c, inputs, seeds);
          x.data[e] = orig;
          const numeric = (up - down) / (2 * EPS);
          const analytic = grads[j].data[e];
          if (!(Math.abs(numeric - analytic) <= RTOL * Math.abs(numeric) + ATOL)) {
            assert.unreachable(`${label}: d/d input ${j}[${e}] is ${analytic}, finite differences say ${numeric}`);
          }
          checked++;
        }
      }
      assert.ok(checked > 0, `${label}: no gradient was checked`);
    }
  });
}


test('every differentiable op has a gradient check', async () => {
  const checked = new Set(tables.flatMap((t) => t.cases.filter((c) => c.grad).map((c) => c.op)));
  const missing = native()
    .listOps()
    .filter((o) => o.differentiable && !checked.has(o.name))
    .map((o) => o.name);
  assert.equal(missing, [], `no gradient check for: ${missing.join(', ')}`);
});

test.run();
