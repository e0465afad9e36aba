// Every op in the case tables (test/cases/*.mjs), on every backend compiled in
// and present, against its float64 JS reference; results must be finite where
// the reference is. Backends other than the CPU are compared with the CPU
// result; without a GPU those runs are skipped, not faked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { native } from '../dist/native.js';
import { randomF32, rejection } from './helpers.mjs';
import { caseLabel, compare, loadCaseTables, makeInput, refView } from './op-harness.mjs';

const tables = await loadCaseTables();
const hasCuda = tg.devices().some((d) => d.type === 'cuda');
const cudaOps = new Set(
  native()
    .listOps()
    .filter((o) => o.cuda)
    .map((o) => o.name),
);
const CUDA_TOLERANCE = { rtol: 1e-4, atol: 1e-5 };

/** Runs one case on the CPU and on CUDA and compares; for grad cases the vjp too. */
async function cudaAgainstCpu(file, c, i, skip) {
  const label = `${file} ${caseLabel(c, i)} cuda`;
  const inputs = c.inputs.map((d, j) => makeInput(d, 1000 * i + j + 1));
  const attrs = c.attrs ?? {};
  const opts = c.options ?? {};
  const cpu = await native().runOp(c.op, inputs, attrs, { ...opts, device: 'cpu' });
  const gpu = await native().runOp(c.op, inputs, attrs, { ...opts, device: 'cuda' });
  assert.is(gpu.length, cpu.length, `${label}: number of outputs`);
  cpu.forEach((o, k) => {
    assert.is(gpu[k].dtype, o.dtype, `${label} output ${k}: dtype`);
    compare(gpu[k], o, CUDA_TOLERANCE, `${label} output ${k}`);
  });
  if (!c.grad) return 0;
  const seeds = cpu.map((o, k) => (o.dtype === 'f32' ? { data: randomF32(o.data.length, 99 + k), shape: o.shape, dtype: 'f32' } : null));
  const ref = await native().vjp(c.op, inputs, attrs, seeds, { ...opts, device: 'cpu' });
  const missing = ref.ops.find((op) => !cudaOps.has(op));
  if (missing) {
    skip(`${missing} (in the gradient of ${c.op})`);
    return 0;
  }
  const got = await native().vjp(c.op, inputs, attrs, seeds, { ...opts, device: 'cuda' });
  ref.grads.forEach((g, j) => {
    if (g === null) assert.is(got.grads[j], null, `${label}: input ${j} gets no gradient`);
    else compare(got.grads[j], g, CUDA_TOLERANCE, `${label} gradient of input ${j}`);
  });
  return 1;
}

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

  // Cases of ops without a CUDA kernel yet (or whose gradient needs one) are
  // skipped and counted on a "CUDA coverage:" line, which gpu-check reports.
  (hasCuda ? test : test.skip)(`${file}: CUDA against the CPU`, async () => {
    const skipped = {};
    const skip = (what) => (skipped[what] = (skipped[what] ?? 0) + 1);
    let ran = 0;
    let gradients = 0;
    for (const [i, c] of cases.entries()) {
      if (!cudaOps.has(c.op)) {
        skip(c.op);
        continue;
      }
      gradients += await cudaAgainstCpu(file, c, i, skip);
      ran++;
    }
    let errorsChecked = 0;
    for (const e of errors) {
      if (!cudaOps.has(e.op)) continue;
      const inputs = e.inputs.map((d, j) => makeInput(d, j + 1));
      const err = await rejection(() => native().runOp(e.op, inputs, e.attrs ?? {}, { device: 'cuda' }));
      assert.is(err.code, e.code, `${e.op} on CUDA: ${err.message}`);
      assert.ok(err.message.includes(e.message), `"${err.message}" (CUDA) should mention "${e.message}"`);
      errorsChecked++;
    }
    console.log(`CUDA coverage: ${JSON.stringify({ file, cases: cases.length, ran, gradients, errors: errorsChecked, skipped })}`);
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

test('listOps says which ops have a CUDA kernel in this build', () => {
  const ops = native().listOps();
  assert.ok(ops.every((o) => typeof o.cuda === 'boolean'), 'every op has a boolean cuda field');
  if (!tg.buildInfo().cuda.compiled) {
    assert.is(cudaOps.size, 0, 'a build without CUDA has no CUDA kernels');
    return;
  }
  for (const op of ['add', 'relu', 'sum', 'softmax', 'cross_entropy', 'layer_norm', 'matmul', 'embedding', 'dropout']) {
    assert.ok(cudaOps.has(op), `${op} has a CUDA kernel`);
  }
});

test('vjp times repeated runs for benchmarks when asked', async () => {
  const a = makeInput({ shape: [3, 4] }, 1);
  const b = makeInput({ shape: [4, 5] }, 2);
  const plain = await native().vjp('matmul', [a, b], {}, [null], { device: 'cpu' });
  assert.is(plain.ms, undefined, 'no timing unless asked');
  const timed = await native().vjp('matmul', [a, b], {}, [null], { device: 'cpu', repeat: 3 });
  assert.ok(timed.ms > 0, `ms is ${timed.ms}`);
  assert.equal(Array.from(timed.outputs[0].data), Array.from(plain.outputs[0].data));
  const err = await rejection(() => native().vjp('matmul', [a, b], {}, [null], { device: 'cpu', repeat: 1.5 }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.ok(err.message.includes('repeat'), err.message);
});

test('every registered op has a case', () => {
  const covered = new Set(tables.flatMap((t) => t.cases.map((c) => c.op)));
  const missing = native()
    .listOps()
    .map((o) => o.name)
    .filter((name) => !covered.has(name));
  assert.equal(missing, [], `ops without a case: ${missing.join(', ')}`);
});

test.run();
