// Parity with PyTorch 1.13 for conv2d and conv_transpose2d: forward outputs
// and the input, weight and bias gradients for the fixture's upstream
// gradient, from test/parity/conv.py (groups, depthwise, dilation, strides,
// 'same' and asymmetric padding, 1x1, output_padding). Values must agree
// within 1e-4 relative plus 1e-4 absolute (sums of up to ~150 f32 products
// of magnitude <= 1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { native } from '../dist/native.js';
import { values } from './parity/gen.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/conv.json', import.meta.url), 'utf8'));
const RTOL = 1e-4;
const ATOL = 1e-4;

function close(actual, expected, label) {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= RTOL * Math.abs(expected[i]) + ATOL)) {
      assert.unreachable(`${label}[${i}]: ${actual[i]}, PyTorch ${expected[i]}`);
    }
  }
}

const tensor = ({ shape, seed, scale }) => ({
  data: values(shape.reduce((a, b) => a * b, 1), seed, scale),
  shape,
  dtype: 'f32',
});

for (const c of fixture.cases) {
  test(`parity with PyTorch: ${c.name}`, async () => {
    const inputs = [tensor(c.x), tensor(c.weight), ...(c.bias ? [tensor(c.bias)] : [])];
    const dy = { data: values(c.y.data.length, c.dy_seed, 1), shape: c.y.shape, dtype: 'f32' };
    const { outputs, grads } = await native().vjp(c.op, inputs, c.attrs, [dy], {});
    assert.equal(outputs[0].shape, c.y.shape, `${c.name}: output shape`);
    close(outputs[0].data, c.y.data, `${c.name} y`);
    ['dx', 'dweight', 'dbias'].slice(0, inputs.length).forEach((what, i) => {
      assert.equal(grads[i].shape, inputs[i].shape, `${c.name}: ${what} shape`);
      close(grads[i].data, c.grads[i], `${c.name} ${what}`);
    });
  });
}

test.run();
