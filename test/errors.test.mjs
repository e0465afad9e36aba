// Bad input gets an Error with a code and a message that names the argument
// and the values, whether TypeScript or native code catches it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';

const f32 = (shape) => tg.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
const hasCuda = tg.devices().some((d) => d.type === 'cuda');

function expectError(err, code, ...fragments) {
  assert.instance(err, Error);
  assert.is(err.code, code, `code of: ${err.message}`);
  for (const f of fragments) assert.ok(err.message.includes(f), `message "${err.message}" should mention "${f}"`);
}

test('tg.tensor: shape and dtype mistakes', async () => {
  expectError(await rejection(() => tg.tensor(new Float32Array(5), [2, 3])), 'ERR_TG_SHAPE', '[2, 3]', '6', '5');
  expectError(await rejection(() => tg.tensor(new Float32Array(4), [2, -2])), 'ERR_TG_SHAPE', 'shape', '-2');
  expectError(await rejection(() => tg.tensor(new Float32Array(4), [2, 2.5])), 'ERR_TG_SHAPE', 'shape');
  expectError(await rejection(() => tg.tensor(new Float32Array(4), [4], 'i32')), 'ERR_TG_DTYPE', 'Int32Array', 'Float32Array');
  expectError(await rejection(() => tg.tensor(new Uint16Array(4), [4])), 'ERR_TG_DTYPE', "'f16' or 'bf16'");
  expectError(await rejection(() => tg.tensor(new Float32Array(4), [4], 'f64')), 'ERR_TG_DTYPE', 'f64');
  expectError(await rejection(() => tg.tensor(new Float64Array(4), [4])), 'ERR_TG_DTYPE', 'dtype');
  expectError(await rejection(() => tg.tensor('abc', [3])), 'ERR_TG_ARG', 'data', '"abc"');
});

test('native checks catch malformed tensors that bypass tg.tensor', async () => {
  const good = f32([2, 2]);
  expectError(
    await rejection(() => tg.ops.gemm({ data: new Float32Array(5), shape: [2, 3], dtype: 'f32' }, good)),
    'ERR_TG_SHAPE', 'a:', '(2, 3)', '6 elements', 'data has 5',
  );
  expectError(
    await rejection(() => tg.ops.gemm(good, { data: new Int32Array(4), shape: [2, 2], dtype: 'f32' })),
    'ERR_TG_DTYPE', 'b:', 'Float32Array', 'Int32Array',
  );
  expectError(
    await rejection(() => tg.ops.gemm(good, { data: new Float32Array(4), shape: [2, 'x'], dtype: 'f32' })),
    'ERR_TG_SHAPE', 'b.shape[1]', 'x',
  );
  expectError(
    await rejection(() => tg.ops.gemm(good, { data: new Float32Array(4), shape: [4], dtype: 'half' })),
    'ERR_TG_DTYPE', 'b.dtype', "'half'",
  );
  expectError(await rejection(() => tg.ops.gemm(good, 42)), 'ERR_TG_ARG', 'b', '42');
});

test('gemm: shape errors name both operands', async () => {
  expectError(await rejection(() => tg.ops.gemm(f32([2, 3]), f32([4, 5]))), 'ERR_TG_SHAPE', '(2, 3)', '(4, 5)', 'inner');
  expectError(
    await rejection(() => tg.ops.gemm(f32([2, 3]), f32([5, 4]), { transB: true })),
    'ERR_TG_SHAPE', '(5, 4)', 'transB',
  );
  expectError(await rejection(() => tg.ops.gemm(f32([2, 3, 4]), f32([3, 4, 5]))), 'ERR_TG_SHAPE', 'batch', '(2, 3, 4)', '(3, 4, 5)');
  expectError(await rejection(() => tg.ops.gemm(f32([1, 2, 3, 4]), f32([4, 5]))), 'ERR_TG_SHAPE', 'a must have shape', '(1, 2, 3, 4)');
  expectError(await rejection(() => tg.ops.gemm(f32([7]), f32([7, 1]))), 'ERR_TG_SHAPE', '(7,)');
  expectError(
    await rejection(() => tg.ops.gemm(f32([2, 3]), f32([3, 4]), f32([4, 2]), { beta: 1 })),
    'ERR_TG_SHAPE', 'c must have the output shape (2, 4)', '(4, 2)',
  );
  expectError(await rejection(() => tg.ops.gemm(f32([2, 3]), f32([3, 4]), { beta: 1 })), 'ERR_TG_ARG', 'beta=1', 'needs an input c');
  const ints = tg.tensor(new Int32Array(6), [2, 3]);
  expectError(await rejection(() => tg.ops.gemm(ints, f32([3, 2]))), 'ERR_TG_DTYPE', 'a must be f32', 'i32');
  expectError(await rejection(() => tg.ops.gemm(f32([2, 2]), f32([2, 2]), { alpha: NaN })), 'ERR_TG_ARG', 'alpha', 'finite');
  expectError(await rejection(() => tg.ops.gemm(f32([2, 2]), f32([2, 2]), { transA: 1 })), 'ERR_TG_ARG', 'transA', 'boolean');
});

test('devices: unknown, malformed and unavailable devices', async () => {
  const a = f32([2, 2]);
  expectError(await rejection(() => tg.ops.gemm(a, a, {}, { device: 'gpu' })), 'ERR_TG_DEVICE', "'gpu'", 'cuda:N');
  expectError(await rejection(() => tg.ops.gemm(a, a, {}, { device: 'cuda:x' })), 'ERR_TG_DEVICE', "malformed device 'cuda:x'");
  expectError(await rejection(() => tg.ops.gemm(a, a, {}, { device: 3 })), 'ERR_TG_DEVICE', 'options.device', '3');
  expectError(await rejection(() => tg.ops.cast(a, { dtype: 'f32' }, { device: 'tpu' })), 'ERR_TG_DEVICE', "'tpu'");
  if (!hasCuda) {
    expectError(await rejection(() => tg.ops.gemm(a, a, {}, { device: 'cuda' })), 'ERR_TG_DEVICE', "'cuda'", 'no CUDA device');
    expectError(await rejection(() => tg.ops.gemm(a, a, {}, { device: 'cuda:1' })), 'ERR_TG_DEVICE', 'no CUDA device');
    // 'auto' falls back to the CPU without a GPU.
    const out = await tg.ops.gemm(tg.tensor(new Float32Array([2]), [1, 1]), tg.tensor(new Float32Array([3]), [1, 1]), {}, { device: 'auto' });
    assert.equal([...out.data], [6]);
  } else {
    expectError(await rejection(() => tg.ops.gemm(a, a, {}, { device: 'cuda:99' })), 'ERR_TG_DEVICE', "'cuda:99' does not exist");
  }
});

test('cast and setSimd: bad arguments', async () => {
  const a = f32([2]);
  expectError(await rejection(() => tg.ops.cast(a, { dtype: 'f64' })), 'ERR_TG_DTYPE', 'attrs.dtype', 'f64');
  expectError(await rejection(() => tg.ops.cast(a)), 'ERR_TG_DTYPE', 'attrs.dtype');
  expectError(await rejection(() => tg.setSimd('sse9')), 'ERR_TG_ARG', "'sse9'");
  if (!tg.buildInfo().simdSupported.includes('avx512')) {
    expectError(await rejection(() => tg.setSimd('avx512')), 'ERR_TG_ARG', 'does not support avx512');
  }
});

test.run();
