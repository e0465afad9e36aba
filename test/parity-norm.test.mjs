// batch_norm, layer_norm and group_norm against PyTorch 1.13 (fixtures/norm.json,
// written by test/parity/norm.py): outputs, including the statistics and the
// updated running buffers, and the gradients of x, weight and bias for the
// same upstream gradient on y. Tolerance: |ours - torch| <= 1e-4 |torch| + 1e-5.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { native } from '../dist/native.js';
import { values } from './parity/gen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/norm.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const ATOL = 1e-5;

const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/** The tensor norm.py builds from { shape, seed, scale, offset }. */
function make({ shape, seed, scale, offset }) {
  const data = values(numel(shape), seed, scale).map((v) => v + offset);
  return { data, shape, dtype: 'f32' };
}

function close(actual, expected, label) {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tol = RTOL * Math.abs(expected[i]) + ATOL;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.unreachable(`${label}[${i}] is ${actual[i]}, torch says ${expected[i]} (tolerance ${tol})`);
    }
  }
}

for (const c of fixture.cases) {
  test(`${c.name}: forward and gradients match torch ${fixture.torch}`, async () => {
    const names = c.inputs.map(([name]) => name);
    const inputs = c.inputs.map(([, spec]) => make(spec));
    const options = { training: c.training };
    const outputs = await native().runOp(c.op, inputs, c.attrs, options);
    assert.is(outputs.length, c.outputs.length, 'number of outputs');
    outputs.forEach((o, k) => close(o.data, c.outputs[k], `${c.name} output ${k}`));

    const seeds = outputs.map((o, k) => (k === 0 ? make(c.dy) : null));
    const { grads } = await native().vjp(c.op, inputs, c.attrs, seeds, options);
    for (const [name, expected] of Object.entries(c.grads)) {
      const g = grads[names.indexOf(name)];
      assert.ok(g, `${c.name}: no gradient for ${name}`);
      close(g.data, expected, `${c.name} d${name}`);
    }
    // The running statistics are buffers: no gradient flows to them.
    for (const buffer of ['running_mean', 'running_var']) {
      if (names.includes(buffer)) assert.is(grads[names.indexOf(buffer)], null, `${c.name}: gradient for ${buffer}`);
    }
  });
}

test.run();
