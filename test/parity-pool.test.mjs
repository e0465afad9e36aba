// Parity with PyTorch 1.13 for pooling, upsampling and padding: forward
// outputs (and max-pool indices, exactly) and the input gradient for the
// fixture's upstream gradient, from test/parity/pool.py. Values must agree
// within 1e-4 relative plus 1e-5 absolute.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { native } from '../dist/native.js';
import { values } from './parity/gen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/pool.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const ATOL = 1e-5;

function close(actual, expected, label) {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= RTOL * Math.abs(expected[i]) + ATOL)) {
      assert.unreachable(`${label}[${i}]: ${actual[i]}, PyTorch ${expected[i]}`);
    }
  }
}

for (const c of fixture.cases) {
  test(`parity with PyTorch: ${c.name}`, async () => {
    const n = c.x.shape.reduce((a, b) => a * b, 1);
    const x = { data: values(n, c.x.seed, c.x.scale), shape: c.x.shape, dtype: 'f32' };
    const dy = { data: values(c.y.data.length, c.dy_seed, 1), shape: c.y.shape, dtype: 'f32' };
    const seeds = c.indices ? [dy, null] : [dy];
    const { outputs, grads } = await native().vjp(c.op, [x], c.attrs, seeds, {});
    assert.equal(outputs[0].shape, c.y.shape, `${c.name}: output shape`);
    close(outputs[0].data, c.y.data, `${c.name} y`);
    if (c.indices) {
      assert.equal(Array.from(outputs[1].data, Number), c.indices, `${c.name}: indices`);
    }
    assert.equal(grads[0].shape, c.x.shape, `${c.name}: dx shape`);
    close(grads[0].data, c.dx, `${c.name} dx`);
  });
}

test.run();
