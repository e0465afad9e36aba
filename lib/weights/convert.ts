// Exact element-type conversions between host tensors, with the rounding of
// IEEE 754 (round to nearest, ties to even) and, where PyTorch's Tensor.to(dtype)
// is well defined on x86, its results (c10/util/Half.h, c10/util/BFloat16.h):
//   narrowing floats rounds to nearest even, overflow becomes ±Inf;
//   NaN stays NaN: f32 → f16 gives sign|0x7e00 and f32 → bf16 gives 0x7fc0,
//   as c10's scalar conversions do;
//   float → i32 and → i64 truncate toward zero, and NaN or an out-of-range
//   value gives the most negative integer (what x86's cvtt instructions give);
//   float → u8 truncates through int64 and keeps the low byte (300 → 44, -1 → 255);
//   → bool is x != 0 (NaN is true); integer → integer wraps to the target width.
// Integer → f16/bf16 rounds once, from the exact value; PyTorch goes through
// f32 and can round twice for integers beyond 2^24.
import { invalid, tgError } from '../errors.js';
import { DTYPES, Tensor, type AnyTensorData, type DType, type HostTensorLike } from '../tensor.js';
import type { StoredDType } from './types.js';

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The bits of the nearest f16 to an f32 given by its bits. */
export function f32BitsToF16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const abs = f & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00; // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to Inf
  if (abs < 0x38800000) {
    // Below the smallest normal f16 (2^-14): a multiple of 2^-24, rounded.
    u32Scratch[0] = abs;
    const v = f32Scratch[0] * 16777216; // exact: a power-of-two scaling of an f32
    let r = Math.floor(v);
    const rest = v - r;
    if (rest > 0.5 || (rest === 0.5 && (r & 1) === 1)) r++;
    return sign | r;
  }
  const exp = (abs >>> 23) - 127 + 15;
  let mant = abs & 0x7fffff;
  const dropped = mant & 0x1fff;
  mant >>>= 13;
  let h = (exp << 10) + mant;
  if (dropped > 0x1000 || (dropped === 0x1000 && (mant & 1) === 1)) h++; // a carry may reach the exponent: still right
  return sign | h;
}

/** The f32 bits of an f16 (exact; NaN payloads kept). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  f32Scratch[0] = mant / 16777216; // subnormal f16: exact in f32
  return (sign | u32Scratch[0]) >>> 0;
}

/** The bits of the nearest bf16 to an f32 given by its bits. */
export function f32BitsToBf16Bits(f: number): number {
  if ((f & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return Math.floor(((f >>> 0) + 0x7fff + ((f >>> 16) & 1)) / 65536) & 0xffff;
}

export function f16ToNumber(h: number): number {
  u32Scratch[0] = f16BitsToF32Bits(h);
  return f32Scratch[0];
}

export function bf16ToNumber(b: number): number {
  u32Scratch[0] = (b & 0xffff) << 16;
  return f32Scratch[0];
}

function numberToF32Bits(v: number): number {
  f32Scratch[0] = v;
  return u32Scratch[0];
}

/**
 * The f32 nearest to the exact integer v by rounding to odd: exact below 2^24,
 * otherwise the last kept bit is set when anything was dropped. Rounding that
 * result again to f16/bf16 (11 and 8 significant bits) is then a single
 * correct rounding of v.
 */
function intToF32Odd(v: number): number {
  const a = Math.abs(v);
  if (a < 16777216) return v;
  const shift = Math.floor(Math.log2(a)) - 23; // may be off by one; either way q has <= 25 bits and the check below fixes it
  let scale = 2 ** shift;
  let q = Math.floor(a / scale);
  if (q >= 16777216) {
    scale *= 2;
    q = Math.floor(a / scale);
  }
  if (q * scale !== a) q |= 1;
  return Math.sign(v) * q * scale;
}

/** An int64 as a double rounded to odd at 53 bits (exact when |v| <= 2^53). */
function bigToNumberOdd(v: bigint): number {
  const neg = v < 0n;
  let a = neg ? -v : v;
  if (a <= 9007199254740992n) return Number(v);
  let shift = 0n;
  let sticky = 0n;
  while (a >= 9007199254740992n) {
    sticky |= a & 1n;
    a >>= 1n;
    shift++;
  }
  const q = Number(a | sticky) * 2 ** Number(shift);
  return neg ? -q : q;
}

/** The f32 nearest an int64 (one rounding). */
function bigToF32(v: bigint): number {
  return Math.fround(bigToNumberOdd(v));
}

/** An exact integer (number) reduced to an f32 that rounds correctly once more. */
function bigToF32Odd(v: bigint): number {
  return intToF32Odd(bigToNumberOdd(v));
}

const INT64_MIN = -9223372036854775808n;

/** float → int64: truncated; NaN and values outside int64 give INT64_MIN. */
function floatToBig(x: number): bigint {
  const t = Math.trunc(x);
  return t >= -9223372036854775808 && t < 9223372036854775808 ? BigInt(t) : INT64_MIN;
}

/** float → int32: truncated; NaN and values outside int32 give INT32_MIN. */
function floatToI32(x: number): number {
  const t = Math.trunc(x);
  return t >= -2147483648 && t <= 2147483647 ? t : -2147483648;
}

/** float → u8 through int64: the low byte of the truncated value (0 for NaN and out of range). */
function floatToU8(x: number): number {
  const t = Math.trunc(x);
  return t >= -9223372036854775808 && t < 9223372036854775808 ? t & 0xff : 0; // ToInt32 keeps the low bits exactly
}

const ARRAYS: Record<DType, new (n: number) => AnyTensorData> = {
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i32: Int32Array,
  i64: BigInt64Array,
  u8: Uint8Array,
  bool: Uint8Array,
};

/** A new, zero-filled array for `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): AnyTensorData {
  return new ARRAYS[dtype](n);
}

/** Element `i` of `data` (a `dtype` array) as a number, or a bigint for i64. */
function readNumber(data: AnyTensorData, dtype: DType, i: number): number {
  switch (dtype) {
    case 'f16':
      return f16ToNumber(data[i] as number);
    case 'bf16':
      return bf16ToNumber(data[i] as number);
    case 'bool':
      return data[i] !== 0 ? 1 : 0;
    default:
      return data[i] as number;
  }
}

/**
 * `t` with its elements converted to `dtype`, exactly as described at the top
 * of this file. The same dtype gives a Tensor over the same data (no copy).
 */
export function toDType(t: HostTensorLike, dtype: DType): Tensor {
  const where = 'toDType';
  if (!DTYPES.includes(dtype)) throw invalid('ERR_TG_DTYPE', where, 'dtype', `one of ${DTYPES.join(', ')}`, dtype);
  if (t === null || typeof t !== 'object' || !DTYPES.includes(t.dtype)) {
    throw invalid('ERR_TG_ARG', where, 'tensor', 'a host tensor { data, shape, dtype }', t);
  }
  const src = t.data;
  if (!(src instanceof ARRAYS[t.dtype])) {
    throw tgError('ERR_TG_DTYPE', `${where}: a ${t.dtype} tensor is stored in a ${ARRAYS[t.dtype].name}, got ${src?.constructor?.name ?? typeof src}`);
  }
  const numel = Array.isArray(t.shape) ? t.shape.reduce((a, b) => a * b, 1) : NaN;
  if (numel !== src.length) {
    throw tgError('ERR_TG_SHAPE', `${where}: shape [${String(t.shape)}] has ${numel} elements but data has ${src.length}`);
  }
  const shape = [...t.shape];
  if (dtype === t.dtype) return new Tensor(src, shape, dtype);
  return new Tensor(convertArray(src, t.dtype, dtype), shape, dtype);
}

/** The elements of `src` (a `from` array) converted to a new `to` array. */
export function convertArray(src: AnyTensorData, from: DType, to: DType): AnyTensorData {
  const n = src.length;
  if (from === to) return src.slice();
  // Float formats among themselves go through f32 bits, which is exact for f16/bf16 → f32.
  const isHalf = (d: DType) => d === 'f16' || d === 'bf16';
  if ((from === 'f32' || isHalf(from)) && (to === 'f32' || isHalf(to))) {
    const bits = new Uint32Array(n);
    if (from === 'f32') bits.set(new Uint32Array(src.buffer, src.byteOffset, n));
    else if (from === 'f16') for (let i = 0; i < n; i++) bits[i] = f16BitsToF32Bits(src[i] as number);
    else for (let i = 0; i < n; i++) bits[i] = ((src[i] as number) << 16) >>> 0;
    if (to === 'f32') return new Float32Array(bits.buffer);
    const out = new Uint16Array(n);
    if (to === 'f16') for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(bits[i]);
    else for (let i = 0; i < n; i++) out[i] = f32BitsToBf16Bits(bits[i]);
    return out;
  }
  const out = allocate(to, n);
  if (from === 'i64') {
    const s = src as BigInt64Array;
    if (to === 'f32') for (let i = 0; i < n; i++) out[i] = bigToF32(s[i]);
    else if (to === 'f16') for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(numberToF32Bits(bigToF32Odd(s[i])));
    else if (to === 'bf16') for (let i = 0; i < n; i++) out[i] = f32BitsToBf16Bits(numberToF32Bits(bigToF32Odd(s[i])));
    else if (to === 'i32') for (let i = 0; i < n; i++) out[i] = Number(BigInt.asIntN(32, s[i]));
    else if (to === 'u8') for (let i = 0; i < n; i++) out[i] = Number(BigInt.asUintN(8, s[i]));
    else for (let i = 0; i < n; i++) out[i] = s[i] !== 0n ? 1 : 0; // bool
    return out;
  }
  const fromFloat = from === 'f32' || isHalf(from);
  for (let i = 0; i < n; i++) {
    const v = readNumber(src, from, i);
    switch (to) {
      case 'f32':
        out[i] = v; // integers here are exact in a double; the Float32Array store rounds once
        break;
      case 'f16':
        out[i] = f32BitsToF16Bits(numberToF32Bits(intToF32Odd(v)));
        break;
      case 'bf16':
        out[i] = f32BitsToBf16Bits(numberToF32Bits(intToF32Odd(v)));
        break;
      case 'i64':
        (out as BigInt64Array)[i] = fromFloat ? floatToBig(v) : BigInt(v);
        break;
      case 'i32':
        out[i] = fromFloat ? floatToI32(v) : v | 0;
        break;
      case 'u8':
        out[i] = fromFloat ? floatToU8(v) : v & 0xff;
        break;
      case 'bool':
        out[i] = v !== 0 ? 1 : 0; // NaN !== 0: true, as torch
        break;
    }
  }
  return out;
}

/** f64 → f32, each element rounded to nearest even (Math.fround). */
export function f64ToF32(src: Float64Array): Float32Array {
  return Float32Array.from(src);
}

/** The f16 bits of each FP8 value (both formats are exact in f16). */
export function f8ToF16(src: Uint8Array, format: 'e4m3' | 'e5m2'): Uint16Array {
  const out = new Uint16Array(src.length);
  if (format === 'e5m2') {
    for (let i = 0; i < src.length; i++) out[i] = src[i] << 8; // E5M2 is the top byte of an f16
    return out;
  }
  const table = e4m3Table();
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out;
}

let e4m3: Uint16Array | undefined;

/** F8_E4M3 (the "FN" variant: no Inf, S.1111.111 is NaN) → f16 bits. */
function e4m3Table(): Uint16Array {
  if (e4m3) return e4m3;
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exp = (b >>> 3) & 0xf;
    const mant = b & 7;
    let v: number;
    if (exp === 0xf && mant === 7) v = NaN;
    else if (exp === 0) v = sign * mant * 2 ** -9;
    else v = sign * (1 + mant / 8) * 2 ** (exp - 7);
    t[b] = Number.isNaN(v) ? (b & 0x80 ? 0xfe00 : 0x7e00) : f32BitsToF16Bits(numberToF32Bits(v));
  }
  e4m3 = t;
  return t;
}

/** What each stored dtype is read as; undefined: refused (complex, quantized). */
export const STORED_TARGET: Readonly<Record<StoredDType, DType | undefined>> = {
  f32: 'f32', f16: 'f16', bf16: 'bf16', f64: 'f32',
  i64: 'i64', i32: 'i32', i16: 'i32', i8: 'i32',
  u64: 'i64', u32: 'i64', u16: 'i32', u8: 'u8',
  bool: 'bool', f8_e4m3: 'f16', f8_e5m2: 'f16',
  c32: undefined, c64: undefined, c128: undefined,
  qint8: undefined, quint8: undefined, qint32: undefined, quint4x2: undefined, quint2x4: undefined,
};

export type StoredArray =
  | Float32Array | Float64Array | Uint16Array | Int16Array | Int32Array | Uint32Array
  | Int8Array | Uint8Array | BigInt64Array | BigUint64Array;

const STORED_ARRAYS: Partial<Record<StoredDType, { new (b: ArrayBuffer, o: number, n: number): StoredArray; new (n: number): StoredArray }>> = {
  f32: Float32Array, f16: Uint16Array, bf16: Uint16Array, f64: Float64Array,
  i64: BigInt64Array, i32: Int32Array, i16: Int16Array, i8: Int8Array,
  u64: BigUint64Array, u32: Uint32Array, u16: Uint16Array, u8: Uint8Array,
  bool: Uint8Array, f8_e4m3: Uint8Array, f8_e5m2: Uint8Array,
};

/** `numel` elements of `stored` type at `byteOffset` in `buf`, as a view (no copy). */
export function storedView(buf: ArrayBuffer, byteOffset: number, numel: number, stored: StoredDType): StoredArray {
  const Ctor = STORED_ARRAYS[stored];
  if (!Ctor) throw tgError('ERR_TG_DTYPE', `no host array for stored dtype ${stored}`);
  return new Ctor(buf, byteOffset, numel);
}

/** A new array for `numel` elements of `stored` type. */
export function storedArray(stored: StoredDType, numel: number): StoredArray {
  const Ctor = STORED_ARRAYS[stored];
  if (!Ctor) throw tgError('ERR_TG_DTYPE', `no host array for stored dtype ${stored}`);
  return new Ctor(numel);
}

/**
 * Elements of a supported stored dtype as tensorgraft data: the same array
 * when the dtype is one of ours, else a converted copy (f64 → f32 rounded to
 * nearest even, narrower integers widened exactly, u64 wrapped to i64, FP8 → f16).
 */
export function widenStored(src: StoredArray, stored: StoredDType): AnyTensorData {
  switch (stored) {
    case 'f64':
      return f64ToF32(src as Float64Array);
    case 'i16':
    case 'i8':
    case 'u16':
      return Int32Array.from(src as Int16Array | Int8Array | Uint16Array);
    case 'u32': {
      const out = new BigInt64Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = BigInt((src as Uint32Array)[i]);
      return out;
    }
    case 'u64':
      return new BigInt64Array(src.buffer, src.byteOffset, src.length).slice();
    case 'f8_e4m3':
      return f8ToF16(src as Uint8Array, 'e4m3');
    case 'f8_e5m2':
      return f8ToF16(src as Uint8Array, 'e5m2');
    default:
      return src as AnyTensorData;
  }
}
