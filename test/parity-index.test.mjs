// Parity with PyTorch 1.13 for embedding, gather, index_select, concat, huber
// and smooth_l1: forward outputs and input gradients (our vjp with the same
// upstream gradient) against test/parity/fixtures/index.json, written by
// test/parity/index.py. Tolerance: |ours - torch| <= 1e-4 |torch| + 1e-6
// (the copies are exact; sums of repeated indices and the loss reductions
// differ from torch's float32 order only in rounding).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { native } from '../dist/native.js';
import { values } from './parity/gen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/index.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const ATOL = 1e-6;

const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/** A tensor from a fixture spec: generated floats ({seed, scale}) or stored integers. */
function tensor(spec) {
  if (spec.dtype === 'f32') return { data: values(numel(spec.shape), spec.seed, spec.scale), shape: spec.shape, dtype: 'f32' };
  const data = spec.dtype === 'i64' ? BigInt64Array.from(spec.data, BigInt) : Int32Array.from(spec.data);
  return { data, shape: spec.shape, dtype: spec.dtype };
}

function close(actual, expected, label) {
  assert.equal(actual.shape, expected.shape, `${label}: shape`);
  assert.is(actual.data.length, expected.data.length, `${label}: length`);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (!(Math.abs(a - e) <= RTOL * Math.abs(e) + ATOL)) {
      assert.unreachable(`${label}: element ${i} is ${a}, torch says ${e}`);
    }
  }
}

test('the fixture covers every op of the family', () => {
  const ops = new Set(fixture.cases.map((c) => c.op));
  for (const op of ['embedding', 'gather', 'index_select', 'concat', 'huber', 'smooth_l1']) assert.ok(ops.has(op), op);
});

for (const c of fixture.cases) {
  test(`${c.name}: forward and gradients match PyTorch`, async () => {
    const inputs = c.inputs.map(tensor);
    const { outputs, grads } = await native().vjp(c.op, inputs, c.attrs, [tensor(c.dy)], {});
    close(outputs[0], c.output, `${c.name} output`);
    assert.ok(c.compare_grads.length > 0, `${c.name}: no gradient to compare`);
    for (const i of c.compare_grads) {
      assert.ok(grads[i], `${c.name}: no gradient for input ${i}`);
      close(grads[i], c.grads[i], `${c.name} gradient of input ${i}`);
    }
  });
}

test.run();
