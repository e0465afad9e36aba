// The safetensors format, as huggingface/safetensors (safetensors/src/tensor.rs)
// defines it: an 8-byte little-endian header length N, N bytes of JSON
// ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}),
// then the data, offsets counted from its start. The writer orders tensors as
// the reference does (dtype alignment descending, then name) and pads the
// header with spaces to a multiple of 8, so files match its output byte for
// byte. The reader checks every offset against the file before allocating and
// reads each tensor straight into its own array (no whole-file buffer).
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { invalid, tgError } from '../errors.js';
import { DTYPES, Tensor, type DType, type HostTensorLike } from '../tensor.js';
import { STORED_TARGET, storedView, widenStored } from './convert.js';
import { openForRead, readAt, setEntry, STORED_SIZE, type StoredDType, type TensorInfo, type WeightFile } from './types.js';

/** The reference refuses larger headers (MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 100_000_000;

const HEADER_DTYPES: Record<string, StoredDType> = {
  F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16',
  I64: 'i64', I32: 'i32', I16: 'i16', I8: 'i8',
  U64: 'u64', U32: 'u32', U16: 'u16', U8: 'u8',
  BOOL: 'bool', F8_E4M3: 'f8_e4m3', F8_E5M2: 'f8_e5m2', C64: 'c64',
};

const WRITE_DTYPES: Record<DType, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', i64: 'I64', u8: 'U8', bool: 'BOOL' };

/** Position in the reference's Dtype enum, which is ordered by alignment. */
const DTYPE_RANK: Record<string, number> = { BOOL: 0, U8: 4, I8: 5, I16: 9, U16: 10, F16: 11, BF16: 12, I32: 13, U32: 14, F32: 15, F64: 17, I64: 18, U64: 19 };

export interface SafetensorsEntry {
  name: string;
  /** As written in the header: 'F32', 'BF16', ... */
  dtype: string;
  stored: StoredDType;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In data-offset order. */
  tensors: SafetensorsEntry[];
  /** Where the data section starts in the file (8 + N). */
  dataOffset: number;
  fileSize: number;
}

function formatError(path: string, message: string): Error {
  return tgError('ERR_TG_FORMAT', `${path}: ${message}`);
}

/**
 * A strict JSON parser (RFC 8259) for the header: objects become Maps and a
 * repeated key is an error, which JSON.parse would hide by keeping the last.
 */
class HeaderJson {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly path: string,
  ) {}

  parse(): unknown {
    this.space();
    const v = this.value(0);
    this.space();
    if (this.pos !== this.text.length) this.fail('unexpected text after the header object');
    return v;
  }

  private fail(msg: string): never {
    throw formatError(this.path, `header JSON: ${msg} at character ${this.pos}`);
  }

  private space(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.pos++;
    }
  }

  private value(depth: number): unknown {
    if (depth > 16) this.fail('nesting too deep');
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
  }

  private object(depth: number): Map<string, unknown> {
    const m = new Map<string, unknown>();
    this.pos++;
    this.space();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return m;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.fail('expected a key');
      const key = this.string();
      if (m.has(key)) this.fail(`duplicate name ${JSON.stringify(key)}`);
      this.space();
      if (this.text[this.pos++] !== ':') this.fail('expected ":"');
      this.space();
      m.set(key, this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === '}') return m;
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }

  private array(depth: number): unknown[] {
    const a: unknown[] = [];
    this.pos++;
    this.space();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return a;
    }
    for (;;) {
      this.space();
      a.push(this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === ']') return a;
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }

  private string(): string {
    const t = this.text;
    let out = '';
    let start = ++this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(start, this.pos++);
        return out;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      const e = t[this.pos + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        this.pos += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(this.pos + 2, this.pos + 6))) {
        out += String.fromCharCode(parseInt(t.slice(this.pos + 2, this.pos + 6), 16));
        this.pos += 6;
      } else this.fail('bad escape');
      start = this.pos;
    }
  }

  private number(): number {
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = this.pos;
    const r = m.exec(this.text);
    if (!r) this.fail('bad number');
    this.pos += r[0].length;
    return Number(r[0]);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates the header object against a data section of `dataLength` bytes. */
function parseHeader(path: string, text: string, dataOffset: number, fileSize: number): SafetensorsHeader {
  const root = new HeaderJson(text, path).parse();
  if (!(root instanceof Map)) throw formatError(path, 'header is not a JSON object');
  const dataLength = fileSize - dataOffset;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, info] of root) {
    if (name === '__metadata__') {
      if (info === null) continue;
      if (!(info instanceof Map)) throw formatError(path, '__metadata__ is not an object');
      for (const [k, v] of info) {
        if (typeof v !== 'string') throw formatError(path, `__metadata__ entry ${JSON.stringify(k)} is not a string`);
        setEntry(metadata, k, v);
      }
      continue;
    }
    const at = `tensor ${JSON.stringify(name)}`;
    if (!(info instanceof Map)) throw formatError(path, `${at}: its header entry is not an object`);
    const dtype = info.get('dtype');
    if (typeof dtype !== 'string' || !Object.hasOwn(HEADER_DTYPES, dtype)) throw formatError(path, `${at}: unknown dtype ${JSON.stringify(dtype)}`);
    const stored = HEADER_DTYPES[dtype];
    const shape = info.get('shape');
    if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isCount)) throw formatError(path, `${at}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    const offsets = info.get('data_offsets');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw formatError(path, `${at}: data_offsets ${JSON.stringify(offsets)} are not [begin, end] with begin <= end`);
    }
    const [begin, end] = offsets as number[];
    let numel = 1;
    for (const d of shape as number[]) numel *= d;
    const bytes = numel * STORED_SIZE[stored];
    if (bytes !== end - begin) {
      throw formatError(path, `${at}: shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataLength) {
      throw formatError(
        path,
        `${at}: bytes ${dataOffset + begin}..${dataOffset + end} run past the end of the file at ${fileSize} (data_offsets [${begin}, ${end}]; truncated file?)`,
      );
    }
    tensors.push({ name, dtype, stored, shape: [...(shape as number[])], begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: SafetensorsEntry | undefined;
  for (const t of tensors) {
    if (t.begin === t.end) continue;
    if (prev && t.begin < prev.end) {
      throw formatError(path, `tensors ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}] and ${JSON.stringify(t.name)} [${t.begin}, ${t.end}] overlap`);
    }
    prev = t;
  }
  return { metadata, tensors, dataOffset, fileSize };
}

/** The header of an open safetensors file of `size` bytes. */
export async function readHeaderFrom(fh: FileHandle, path: string, size: number): Promise<SafetensorsHeader> {
  if (size < 8) throw formatError(path, `file of ${size} bytes is too short for a safetensors header`);
  const lenBytes = await readAt(fh, path, 0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw formatError(path, `header length ${n} is absurd (the limit is ${MAX_HEADER_BYTES} bytes)`);
  const len = Number(n);
  if (8 + len > size) throw formatError(path, `header of ${len} bytes runs past the end of the file at ${size} (truncated file?)`);
  const raw = await readAt(fh, path, 8, len);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw formatError(path, 'header is not valid UTF-8');
  }
  return parseHeader(path, text, 8 + len, size);
}

/** The header of a safetensors file: metadata and each tensor's dtype, shape and byte range. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const { fh, size } = await openForRead(path);
  try {
    return await readHeaderFrom(fh, path, size);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** TensorInfo rows for a safetensors header. */
export function safetensorsInfos(header: SafetensorsHeader): TensorInfo[] {
  return header.tensors.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.stored, bytes: t.end - t.begin }));
}

/** Reads every tensor of a safetensors file; dtypes tensorgraft lacks are converted (see notes). */
export async function readSafetensors(path: string): Promise<WeightFile> {
  const { fh, size } = await openForRead(path);
  try {
    return await readSafetensorsFrom(fh, path, size);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** readSafetensors on an open file of `size` bytes. */
export async function readSafetensorsFrom(fh: FileHandle, path: string, size: number): Promise<WeightFile> {
  const header = await readHeaderFrom(fh, path, size);
  const tensors: Record<string, Tensor> = {};
  const notes: string[] = [];
  for (const e of header.tensors) {
    const target = STORED_TARGET[e.stored];
    if (target === undefined) throw formatError(path, `tensor ${JSON.stringify(e.name)}: dtype ${e.dtype} (complex) is not supported`);
    const bytes = e.end - e.begin;
    const buf = new ArrayBuffer(bytes);
    const at = header.dataOffset + e.begin;
    const got = await readAt(fh, path, at, bytes, new Uint8Array(buf));
    if (got.length !== bytes) {
      throw formatError(path, `file is truncated: tensor ${JSON.stringify(e.name)} at offset ${at} needs ${bytes} bytes, got ${got.length}`);
    }
    const numel = bytes / STORED_SIZE[e.stored];
    const data = widenStored(storedView(buf, 0, numel, e.stored), e.stored);
    if (target !== e.stored) notes.push(`${e.name}: ${e.stored} stored as ${target}`);
    setEntry(tensors, e.name, new Tensor(data, [...e.shape], target));
  }
  return { format: 'safetensors', tensors, metadata: header.metadata, notes };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ARRAY_OF: Record<DType, Function> = {
  f32: Float32Array, f16: Uint16Array, bf16: Uint16Array, i32: Int32Array, i64: BigInt64Array, u8: Uint8Array, bool: Uint8Array,
};

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The bytes of one tensor as written: its data as is, or bools normalised to 0/1. */
function tensorBytes(t: HostTensorLike): Uint8Array {
  const d = t.data;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (t.dtype === 'bool' && bytes.some((v) => v > 1)) return bytes.map((v) => (v !== 0 ? 1 : 0));
  return bytes;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

/**
 * Writes `tensors` (and string `metadata`) as a safetensors file at `path`.
 * The file is written beside `path` under a temporary name and renamed into
 * place, so an interrupted save leaves the old file (or none), never half a file.
 */
export async function writeSafetensors(path: string, tensors: Record<string, HostTensorLike>, metadata?: Record<string, string>): Promise<void> {
  const where = 'writeSafetensors';
  if (typeof path !== 'string' || path === '') throw invalid('ERR_TG_ARG', where, 'path', 'a file path', path);
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) {
    throw invalid('ERR_TG_ARG', where, 'tensors', 'a record of name → host tensor', tensors);
  }
  const items: { name: string; dtype: string; t: HostTensorLike }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const at = `${where}: tensor ${JSON.stringify(name)}`;
    if (name === '__metadata__') throw tgError('ERR_TG_ARG', `${at}: the name __metadata__ is reserved by the format`);
    if (LONE_SURROGATE.test(name)) throw tgError('ERR_TG_ARG', `${at}: the name is not valid Unicode`);
    if (t === null || typeof t !== 'object') throw tgError('ERR_TG_ARG', `${at}: must be a host tensor { data, shape, dtype }`);
    if (!DTYPES.includes(t.dtype)) throw tgError('ERR_TG_DTYPE', `${at}: dtype must be one of ${DTYPES.join(', ')}, got ${String(t.dtype)}`);
    if (!(t.data instanceof ARRAY_OF[t.dtype])) {
      throw tgError('ERR_TG_DTYPE', `${at}: a ${t.dtype} tensor is stored in a ${ARRAY_OF[t.dtype].name}, got ${(t.data as object)?.constructor?.name ?? typeof t.data}`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) throw tgError('ERR_TG_SHAPE', `${at}: shape must be a list of non-negative integers`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw tgError('ERR_TG_SHAPE', `${at}: shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
    items.push({ name, dtype: WRITE_DTYPES[t.dtype], t });
  }
  let metaJson = '';
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw invalid('ERR_TG_ARG', where, 'metadata', 'a record of string → string', metadata);
    }
    const keys = Object.keys(metadata).sort(utf8Compare);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') throw invalid('ERR_TG_ARG', where, `metadata[${JSON.stringify(k)}]`, 'a string', metadata[k]);
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(metadata[k])) throw tgError('ERR_TG_ARG', `${where}: metadata ${JSON.stringify(k)} is not valid Unicode`);
    }
    metaJson = `"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`;
  }
  items.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || utf8Compare(a.name, b.name));
  const parts = metaJson ? [metaJson] : [];
  let offset = 0;
  for (const { name, dtype, t } of items) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (header.length % 8)) % 8;
  if (pad > 0) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));

  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await writeAll(fh, prefix);
    await writeAll(fh, header);
    for (const { t } of items) await writeAll(fh, tensorBytes(t));
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw tgError('ERR_TG_IO', `${path}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
  }
}
