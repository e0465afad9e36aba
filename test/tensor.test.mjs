// Host tensors across the boundary: every dtype round-trips bit for bit
// through native memory, and conversions between dtypes round correctly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { rng } from './helpers.mjs';

const SAMPLES = {
  f32: () => new Float32Array([0, -0, 1.5, -2.25, 3.4028234663852886e38, 1e-45, Infinity, -Infinity, NaN]),
  f16: () => new Uint16Array([0x0000, 0x8000, 0x3c00, 0x0001, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7d01]),
  bf16: () => new Uint16Array([0x0000, 0x8000, 0x3f80, 0x0001, 0x7f7f, 0x7f80, 0xff80, 0x7fc0, 0x7f81]),
  i32: () => new Int32Array([0, 1, -1, 2147483647, -2147483648, 12345]),
  i64: () => new BigInt64Array([0n, 1n, -1n, 9223372036854775807n, -9223372036854775808n, 9007199254740993n]),
  u8: () => new Uint8Array([0, 1, 127, 128, 255, 7]),
  bool: () => new Uint8Array([0, 1, 1, 0, 1, 0]),
};

for (const dtype of tg.DTYPES) {
  test(`${dtype}: round trip through native memory is exact`, async () => {
    const data = SAMPLES[dtype]();
    const x = tg.tensor(data, [data.length], dtype);
    const y = await tg.ops.cast(x, { dtype });
    assert.is(y.dtype, dtype);
    assert.equal(y.shape, [data.length]);
    assert.is(y.data.constructor, data.constructor);
    assert.ok(y.data.buffer !== data.buffer, 'the result owns new memory');
    const bytes = (t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    assert.equal([...bytes(y.data)], [...bytes(data)]);
    // Shapes of any rank, and empty tensors.
    const empty = await tg.ops.cast(tg.tensor(data.subarray(0, 0), [0, 3], dtype), { dtype });
    assert.equal(empty.shape, [0, 3]);
    assert.is(empty.data.length, 0);
  });
}

test('results are zero-copy views of native memory that outlive the call', async () => {
  const out = await tg.ops.cast(tg.tensor(new Float32Array(1 << 16).fill(3), [256, 256]), { dtype: 'f32' });
  assert.is(out.data.byteOffset, 0);
  assert.is(out.data.buffer.byteLength, (1 << 16) * 4);
  global.gc?.();
  assert.is(out.data[65535], 3);
  out.data[0] = 5; // writable like any TypedArray
  assert.is(out.data[0], 5);
});

function f16ToNumber(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

test('f16 -> f32 is exact for all 65536 patterns, and f32 -> f16 inverts it', async () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const wide = await tg.ops.cast(tg.tensor(all, [65536], 'f16'), { dtype: 'f32' });
  for (let i = 0; i < 65536; i++) {
    const want = f16ToNumber(i);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(wide.data[i]), `pattern ${i} should be NaN`);
    else if (wide.data[i] !== want) assert.unreachable(`f16 0x${i.toString(16)}: got ${wide.data[i]}, want ${want}`);
  }
  const back = await tg.ops.cast(wide, { dtype: 'f16' });
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNaN) assert.ok((back.data[i] & 0x7c00) === 0x7c00 && (back.data[i] & 0x3ff) !== 0, 'NaN stays NaN');
    else if (back.data[i] !== i) assert.unreachable(`f16 0x${i.toString(16)} came back as 0x${back.data[i].toString(16)}`);
  }
});

// Checks that `got` is the nearest representable value to x, ties to even.
function assertNearest(x, got, decode, label) {
  const v = decode(got);
  const up = decode(got + 1);
  const down = got & 0x7fff ? decode(got - 1) : -v; // below +0 lies -0's mirror
  const err = Math.abs(x - v);
  const ok = err < Math.abs(x - up) || (err === Math.abs(x - up) && (got & 1) === 0);
  const okDown = err < Math.abs(x - down) || (err === Math.abs(x - down) && (got & 1) === 0);
  if (!(ok && okDown)) assert.unreachable(`${label}: ${x} -> 0x${got.toString(16)} (${v}) is not the nearest`);
}

test('f32 -> f16 and f32 -> bf16 round to nearest, ties to even', async () => {
  const r = rng(5);
  const n = 20000;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 40 - 26); // spans f16 subnormals to 2^14
  // Exact ties: halfway between neighbouring f16 values 1 + 1/1024 apart, and in bf16.
  x.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8], 0);
  const h = await tg.ops.cast(tg.tensor(x, [n]), { dtype: 'f16' });
  const bf = await tg.ops.cast(tg.tensor(x, [n]), { dtype: 'bf16' });
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const bfDecode = (b) => {
    u32[0] = (b & 0xffff) << 16;
    return f32[0];
  };
  for (let i = 0; i < n; i++) {
    const v = Math.abs(x[i]);
    const sign = x[i] < 0 ? 0x8000 : 0;
    assert.is(h.data[i] & 0x8000, v === 0 ? h.data[i] & 0x8000 : sign, 'f16 sign');
    assertNearest(v, h.data[i] & 0x7fff, f16ToNumber, 'f16');
    assertNearest(v, bf.data[i] & 0x7fff, bfDecode, 'bf16');
  }
  assert.equal([...h.data.subarray(0, 2)], [0x3c00, 0x3c02]); // ties go to the even mantissa
  assert.equal([...bf.data.subarray(2, 4)], [0x3f80, 0x3f82]);
  // Overflow and specials.
  const special = await tg.ops.cast(tg.tensor(new Float32Array([65504, 65519, 65520, 1e6, -1e6, NaN]), [6]), { dtype: 'f16' });
  assert.equal([...special.data.subarray(0, 5)], [0x7bff, 0x7bff, 0x7c00, 0x7c00, 0xfc00]);
  assert.ok((special.data[5] & 0x7c00) === 0x7c00 && (special.data[5] & 0x3ff) !== 0);
});

test('integer, bool and float conversions', async () => {
  const f = tg.tensor(new Float32Array([1.7, -1.7, 0, NaN, 3e9, -3e9, 255.9]), [7]);
  assert.equal([...(await tg.ops.cast(f, { dtype: 'i32' })).data], [1, -1, 0, 0, 2147483647, -2147483648, 255]);
  assert.equal([...(await tg.ops.cast(f, { dtype: 'bool' })).data], [1, 1, 0, 1, 1, 1, 1]);
  assert.equal([...(await tg.ops.cast(f, { dtype: 'u8' })).data], [1, 0, 0, 0, 255, 0, 255]);
  const u = tg.tensor(new Uint8Array([0, 1, 2, 255]), [4]);
  assert.equal([...(await tg.ops.cast(u, { dtype: 'bool' })).data], [0, 1, 1, 1]);
  assert.equal([...(await tg.ops.cast(u, { dtype: 'f32' })).data], [0, 1, 2, 255]);
  const big = tg.tensor(new BigInt64Array([2n ** 40n + 1n, -5n]), [2]);
  assert.equal([...(await tg.ops.cast(big, { dtype: 'f32' })).data], [2 ** 40, -5]);
  assert.equal([...(await tg.ops.cast(tg.tensor(new Int32Array([-7, 9]), [2]), { dtype: 'i64' })).data], [-7n, 9n]);
  // bf16 of 1/3 rounds up its dropped bits 0xaaab.
  assert.equal([...(await tg.ops.cast(tg.tensor(new Float32Array([1 / 3]), [1]), { dtype: 'bf16' })).data], [0x3eab]);
});

test('tg.tensor infers dtypes, keeps data as is, and accepts number arrays', () => {
  const data = new Float32Array([1, 2, 3, 4]);
  const t = tg.tensor(data, [2, 2]);
  assert.is(t.dtype, 'f32');
  assert.is(t.data, data);
  assert.is(t.size, 4);
  assert.is(tg.tensor(new Int32Array(2), [2]).dtype, 'i32');
  assert.is(tg.tensor(new BigInt64Array(2), [2, 1]).dtype, 'i64');
  assert.is(tg.tensor(new Uint8Array(1), []).dtype, 'u8');
  assert.is(tg.tensor(new Uint8Array(1), [1], 'bool').dtype, 'bool');
  assert.is(tg.tensor(new Uint16Array(1), [1], 'bf16').dtype, 'bf16');
  const fromArray = tg.tensor([1, 2, 3], [3]);
  assert.ok(fromArray.data instanceof Float32Array);
  assert.equal([...fromArray.data], [1, 2, 3]);
});

test.run();
