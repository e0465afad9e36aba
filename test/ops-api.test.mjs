// The public door to the kernels: tg.ops.<name>(...tensors, attrs, options)
// for every registered op, the generic run/vjp, and the op list.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';

test('every registered op has a tg.ops function', () => {
  const missing = tg.ops.list().filter((o) => typeof tg.ops[o.name] !== 'function').map((o) => o.name);
  assert.equal(missing, [], `no tg.ops function for: ${missing.join(', ')}`);
  for (const o of tg.ops.list()) assert.ok(o.doc.length > 0, `${o.name} has a doc line`);
});

test('ops take tensors, then attributes, then options', async () => {
  const x = tg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const s = await tg.ops.softmax(x, { axis: -1 }, { device: 'cpu' });
  assert.instance(s, tg.Tensor);
  assert.equal(s.shape, [2, 3]);
  const rowSum = s.data[0] + s.data[1] + s.data[2];
  assert.ok(Math.abs(rowSum - 1) < 1e-6);
  const sum = await tg.ops.add(x, tg.tensor(new Float32Array([10, 20, 30]), [3]));
  assert.equal([...sum.data], [11, 22, 33, 14, 25, 36]);
  const [y, mask] = await tg.ops.dropout(x, { p: 0.5, seed: 1 }, { training: false });
  assert.equal([...y.data], [...x.data]);
  assert.equal([...mask.data], [1, 1, 1, 1, 1, 1]);
  const viaRun = await tg.ops.run('relu', [tg.tensor(new Float32Array([-1, 2]), [2])]);
  assert.equal([...viaRun.data], [0, 2]);
});

test('vjp returns the outputs and one gradient per input', async () => {
  const logits = tg.tensor(new Float32Array([2, 0, 0, 0, 2, 0]), [2, 3]);
  const target = tg.tensor(new Int32Array([0, 1]), [2]);
  const { outputs, grads } = await tg.ops.vjp('cross_entropy', [logits, target], [tg.tensor(new Float32Array([1]), [])]);
  const p = Math.exp(2) / (Math.exp(2) + 2);
  assert.ok(Math.abs(outputs[0].data[0] + Math.log(p)) < 1e-6);
  assert.is(grads[1], null, 'integer targets get no gradient');
  assert.ok(Math.abs(grads[0].data[0] - (p - 1) / 2) < 1e-6);
});

test('unknown ops and bad arguments are named', async () => {
  const err = await rejection(() => tg.ops.run('softmx', []));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, /unknown op 'softmx'.*softmax/);
  const arity = await rejection(() => tg.ops.add(tg.tensor(new Float32Array(1), [1])));
  assert.match(arity.message, /expected 2 inputs, got 1/);
  const attr = await rejection(() => tg.ops.softmax(tg.tensor(new Float32Array(2), [2]), { axis: 'x' }));
  assert.is(attr.code, 'ERR_TG_ARG');
  assert.match(attr.message, /axis/);
});

test.run();
