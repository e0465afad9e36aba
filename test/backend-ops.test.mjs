// Every op in the case tables (test/cases/*.mjs), on every backend compiled in
// and present, against its float64 JS reference; results must be finite where
// the reference is. Backends other than the CPU are compared with the CPU
// result; without a GPU those runs are skipped, not faked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { native } from '../dist/native.js';
import { caseLabel, compare, loadCaseTables, makeInput, refView } from './op-harness.mjs';

const tables = await loadCaseTables();
const hasCuda = tg.devices().some((d) => d.type === 'cuda');

for (const { file, cases, errors } of tables) {
  test(`${file}: forward against the reference on the CPU`, async () => {
    for (const [i, c] of cases.entries()) {
      const label = `${file} ${caseLabel(c, i)}`;
      const inputs = c.inputs.map((d, j) => makeInput(d, 1000 * i + j + 1));
      const outputs = await native().runOp(c.op, inputs, c.attrs ?? {}, { device: 'cpu', ...(c.options ?? {}) });
      if (c.check) {
        c.check(outputs, inputs.map(refView), c.attrs ?? {});
        continue;
      }
      assert.ok(c.ref, `${label}: a case needs ref or check`);
      const expected = c.ref(inputs.map(refView), c.attrs ?? {});
      assert.is(outputs.length, expected.length, `${label}: number of outputs`);
      outputs.forEach((o, k) => compare(o, expected[k], c, `${label} output ${k}`));
    }
  });

  (hasCuda ? test : test.skip)(`${file}: CUDA against the CPU`, async () => {
    for (const [i, c] of cases.entries()) {
      const inputs = c.inputs.map((d, j) => makeInput(d, 1000 * i + j + 1));
      const opts = c.options ?? {};
      const cpu = await native().runOp(c.op, inputs, c.attrs ?? {}, { ...opts, device: 'cpu' });
      const gpu = await native().runOp(c.op, inputs, c.attrs ?? {}, { ...opts, device: 'cuda' });
      cpu.forEach((o, k) => compare(gpu[k], o, { rtol: 1e-4, atol: 1e-5 }, `${file} ${caseLabel(c, i)} cuda output ${k}`));
    }
  });

  if (errors.length) {
    test(`${file}: bad inputs are rejected with a clear error`, async () => {
      for (const e of errors) {
        const inputs = e.inputs.map((d, j) => makeInput(d, j + 1));
        try {
          await native().runOp(e.op, inputs, e.attrs ?? {}, {});
        } catch (err) {
          assert.is(err.code, e.code, `${e.op}: ${err.message}`);
          assert.ok(err.message.includes(e.message), `"${err.message}" should mention "${e.message}"`);
          continue;
        }
        assert.unreachable(`${e.op} with ${JSON.stringify(e.attrs)} should have failed`);
      }
    });
  }
}

test('every registered op has a case', () => {
  const covered = new Set(tables.flatMap((t) => t.cases.map((c) => c.op)));
  const missing = native()
    .listOps()
    .map((o) => o.name)
    .filter((name) => !covered.has(name));
  assert.equal(missing, [], `ops without a case: ${missing.join(', ')}`);
});

test.run();
