// Shapes shared by the weight-file readers and writer (safetensors, torch.save
// zip, legacy and tar files), and the few file primitives they all use. Every
// reader returns a WeightFile; `inspect` returns TensorInfo rows that describe
// tensors as they are stored.
import { open, type FileHandle } from 'node:fs/promises';
import { invalid, tgError, type TgError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export type WeightFormat = 'safetensors' | 'torch-zip' | 'torch-legacy' | 'torch-tar';

export interface WeightFile {
  format: WeightFormat;
  /** Name → tensor, in file order. Stored dtypes we lack are converted (see notes). */
  tensors: Record<string, Tensor>;
  /** safetensors `__metadata__`; for torch files, the checkpoint's top-level scalar entries. */
  metadata: Record<string, string>;
  /** What was converted or chosen while reading, e.g. "conv.weight: f64 stored as f32". */
  notes: string[];
}

export interface TensorInfo {
  name: string;
  shape: number[];
  /** As stored, lower-case: 'f32', 'f16', 'bf16', 'f64', 'i64', 'i32', 'i16', 'i8', 'u8', 'bool', ... */
  dtype: string;
  /** Bytes of the tensor's elements as stored (product(shape) × element size). */
  bytes: number;
}

/**
 * Element types a weight file may hold, named as in TensorInfo. Those outside
 * tensorgraft's DType are converted on read (f64 → f32, i8/i16/u16 → i32,
 * u32/u64 → i64, f8 → f16); complex and quantized ones are refused.
 */
export type StoredDType =
  | 'f32' | 'f16' | 'bf16' | 'f64'
  | 'i64' | 'i32' | 'i16' | 'i8'
  | 'u64' | 'u32' | 'u16' | 'u8'
  | 'bool' | 'f8_e4m3' | 'f8_e5m2'
  | 'c32' | 'c64' | 'c128'
  | 'qint8' | 'quint8' | 'qint32' | 'quint4x2' | 'quint2x4';

/** Bytes per element of each stored dtype. */
export const STORED_SIZE: Readonly<Record<StoredDType, number>> = {
  f32: 4, f16: 2, bf16: 2, f64: 8,
  i64: 8, i32: 4, i16: 2, i8: 1,
  u64: 8, u32: 4, u16: 2, u8: 1,
  bool: 1, f8_e4m3: 1, f8_e5m2: 1,
  c32: 4, c64: 8, c128: 16,
  qint8: 1, quint8: 1, qint32: 4, quint4x2: 1, quint2x4: 1,
};

// File primitives the readers share: every failure to open or read is ERR_TG_IO
// naming the path; reads loop until the bytes asked for arrive or the file ends.

/** Opens `path` for reading, with its size. */
export async function openForRead(path: string): Promise<{ fh: FileHandle; size: number }> {
  if (typeof path !== 'string' || path === '') throw invalid('ERR_TG_ARG', 'weights', 'path', 'a file path', path);
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile()) throw tgError('ERR_TG_IO', `${path}: not a regular file`);
    return { fh, size: st.size };
  } catch (err) {
    await fh?.close().catch(() => {});
    throw ioError(path, err);
  }
}

/** An fs error as ERR_TG_IO naming the path (a TgError passes through). */
export function ioError(path: string, err: unknown): Error {
  if (err instanceof Error && typeof (err as TgError).code === 'string' && (err as TgError).code.startsWith('ERR_TG_')) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return tgError('ERR_TG_IO', `${path}: cannot read: ${msg}`);
}

/** Reads up to `length` bytes at `position` into `into` (default: a new array); fewer only at the end of the file. */
export async function readAt(fh: FileHandle, path: string, position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
  const buf = into ?? new Uint8Array(length);
  let done = 0;
  try {
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
  } catch (err) {
    throw ioError(path, err);
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Defines `rec[key] = value` as an own property, so a key like "__proto__" stays a key. */
export function setEntry<T>(rec: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(rec, key, { value, writable: true, enumerable: true, configurable: true });
}
