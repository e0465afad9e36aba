// Training checkpoints on disk. One checkpoint is one folder:
//
//   <dir>/step-00000120/
//     model.safetensors   the model's state dict as Model.save writes it (a plain
//                         weights file: Model.load and PyTorch read it as is)
//     optimizer.bin       the optimizer's slot tensors, raw little-endian, back to back
//     trainer.json        everything else (position, schedule, RNG, unfreeze stage,
//                         early-stopping state, history), the index of optimizer.bin
//                         and the size and SHA-256 of both binary files
//   <dir>/latest.json     { "checkpoint": "step-00000120", ... }
//   <dir>/best.json       { "checkpoint": "step-00000080", "monitor": ..., "value": ... }
//
// A checkpoint is built in a hidden temporary folder beside the others, every
// file fsynced, then renamed into place, so a folder under its final name is
// always complete; the pointer files are replaced the same way, last. A crash
// leaves at most a temporary folder, which the next store removes.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tgError } from '../errors.js';
import type { Model } from '../nn/module.js';
import { Tensor, type DType, type HostTensorLike } from '../tensor.js';

export const CHECKPOINT_FORMAT = 'tensorgraft-trainer-checkpoint';
export const CHECKPOINT_VERSION = 1;

const MODEL_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.bin';
const STATE_FILE = 'trainer.json';
const NAME = /^step-\d{8,}(-\d+)?$/;

export interface OptimizerSnapshot {
  steps: number;
  tensors: Record<string, HostTensorLike>;
  lrs: number[];
}

interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  bytes: number;
}

interface FileRecord {
  bytes: number;
  sha256: string;
}

/** What trainer.json holds besides the file index: the trainer's own state, opaque here. */
export interface CheckpointFile<S> {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  created: string;
  state: S;
  optimizer: { steps: number; lrs: number[]; tensors: TensorEntry[] };
  files: Record<string, FileRecord>;
}

export interface LoadedCheckpoint<S> {
  /** The checkpoint's folder. */
  path: string;
  state: S;
  optimizer: OptimizerSnapshot;
  /** The model's weights file inside the folder. */
  modelPath: string;
}

export interface Pointer {
  checkpoint: string;
  [key: string]: unknown;
}

const ELEMENT_BYTES: Partial<Record<DType, number>> = { f32: 4, i32: 4, i64: 8, f16: 2, bf16: 2, u8: 1, bool: 1 };

function ioError(path: string, action: string, err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && code.startsWith('ERR_TG_')) return err;
  return tgError('ERR_TG_IO', `checkpoint: cannot ${action} ${path}: ${err instanceof Error ? err.message : String(err)}`);
}

/** Writes bytes to a new file and fsyncs it before closing. */
async function writeSynced(path: string, chunks: Uint8Array[]): Promise<FileRecord> {
  const hash = createHash('sha256');
  let bytes = 0;
  const fh = await open(path, 'wx');
  try {
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
      hash.update(chunk);
      bytes += chunk.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** fsyncs a file written by someone else and returns its size and hash. */
async function syncExisting(path: string): Promise<FileRecord> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return fileRecord(path);
}

async function fileRecord(path: string): Promise<FileRecord> {
  const data = await readFile(path);
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

// Makes a rename durable. Some platforms cannot open a folder for fsync; the
// rename itself is still atomic there.
async function syncDir(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch {
    // not supported here
  } finally {
    await fh?.close().catch(() => {});
  }
}

function bytesOf(t: HostTensorLike): Uint8Array {
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  // Typed arrays are in the platform's order; the file is little-endian.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw tgError('ERR_TG_IO', 'checkpoint: big-endian hosts are not supported');
  return view;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The checkpoints of one training run, in one folder. */
export class CheckpointStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Creates the folder and removes temporaries left by an interrupted write. */
  async open(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      for (const entry of await readdir(this.dir)) {
        if (entry.startsWith('.tmp-')) await rm(join(this.dir, entry), { recursive: true, force: true });
      }
    } catch (err) {
      throw ioError(this.dir, 'prepare', err);
    }
  }

  /**
   * Writes a checkpoint named after the step and returns its folder. Nothing
   * appears under the final name until every file is complete and on disk.
   */
  async write<S>(step: number, model: Model, optimizer: OptimizerSnapshot, state: S): Promise<string> {
    const tmp = join(this.dir, `.tmp-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`);
    try {
      await mkdir(tmp);
      await model.save(join(tmp, MODEL_FILE), { metadata: { 'tensorgraft.checkpoint': 'model' } });
      const modelRecord = await syncExisting(join(tmp, MODEL_FILE));
      const entries: TensorEntry[] = [];
      const chunks: Uint8Array[] = [];
      let offset = 0;
      for (const [name, t] of Object.entries(optimizer.tensors)) {
        const b = bytesOf(t);
        entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset, bytes: b.length });
        chunks.push(b);
        offset += b.length;
      }
      const optRecord = await writeSynced(join(tmp, OPTIMIZER_FILE), chunks);
      const file: CheckpointFile<S> = {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        created: new Date().toISOString(),
        state,
        optimizer: { steps: optimizer.steps, lrs: [...optimizer.lrs], tensors: entries },
        files: { [MODEL_FILE]: modelRecord, [OPTIMIZER_FILE]: optRecord },
      };
      await writeSynced(join(tmp, STATE_FILE), [new TextEncoder().encode(JSON.stringify(file, null, 1))]);
      await syncDir(tmp);
      let name = `step-${String(step).padStart(8, '0')}`;
      for (let i = 1; await exists(join(this.dir, name)); i++) name = `step-${String(step).padStart(8, '0')}-${i}`;
      await rename(tmp, join(this.dir, name));
      await syncDir(this.dir);
      return join(this.dir, name);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw ioError(this.dir, 'write a checkpoint in', err);
    }
  }

  /** Atomically replaces <dir>/<kind>.json. */
  async setPointer(kind: 'latest' | 'best', pointer: Pointer): Promise<void> {
    const target = join(this.dir, `${kind}.json`);
    const tmp = join(this.dir, `.tmp-${process.pid}-${kind}.json`);
    try {
      await rm(tmp, { force: true });
      await writeSynced(tmp, [new TextEncoder().encode(JSON.stringify(pointer, null, 1))]);
      await rename(tmp, target);
      await syncDir(this.dir);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw ioError(target, 'write', err);
    }
  }

  async pointer(kind: 'latest' | 'best'): Promise<Pointer | undefined> {
    return readPointer(join(this.dir, `${kind}.json`));
  }

  /** Deletes checkpoint folders other than those named (the latest few and the best). */
  async prune(keep: Iterable<string>): Promise<void> {
    const kept = new Set([...keep].map((p) => resolve(this.dir, p)));
    try {
      for (const entry of await readdir(this.dir)) {
        if (NAME.test(entry) && !kept.has(join(this.dir, entry))) await rm(join(this.dir, entry), { recursive: true, force: true });
      }
    } catch (err) {
      throw ioError(this.dir, 'prune', err);
    }
  }
}

async function readPointer(path: string): Promise<Pointer | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw ioError(path, 'read', err);
  }
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    throw tgError('ERR_TG_FORMAT', `checkpoint: ${path} is not valid JSON`);
  }
  if (typeof p !== 'object' || p === null || typeof (p as Pointer).checkpoint !== 'string') {
    throw tgError('ERR_TG_FORMAT', `checkpoint: ${path} does not name a checkpoint`);
  }
  return p as Pointer;
}

/**
 * Finds a checkpoint folder from what a user may pass: 'latest' or 'best'
 * (in `dir`), a checkpoint folder, its trainer.json, or a folder of
 * checkpoints (its latest one).
 */
export async function locateCheckpoint(spec: string, dir?: string): Promise<string> {
  if (spec === 'latest' || spec === 'best') {
    if (!dir) throw tgError('ERR_TG_ARG', `resume: '${spec}' needs the checkpoint option's dir`);
    const p = await readPointer(join(resolve(dir), `${spec}.json`));
    if (!p) throw tgError('ERR_TG_IO', `resume: no ${spec} checkpoint in ${resolve(dir)} (${spec}.json is missing)`);
    return resolve(dir, p.checkpoint);
  }
  let path = resolve(spec);
  if (path.endsWith(STATE_FILE)) path = resolve(path, '..');
  if (await exists(join(path, STATE_FILE))) return path;
  const p = await readPointer(join(path, 'latest.json'));
  if (p) return resolve(path, p.checkpoint);
  throw tgError('ERR_TG_IO', `resume: ${path} is neither a checkpoint (no ${STATE_FILE}) nor a folder of checkpoints (no latest.json)`);
}

/** Reads a checkpoint folder, checking every file against the sizes and hashes recorded when it was written. */
export async function readCheckpoint<S>(folder: string): Promise<LoadedCheckpoint<S>> {
  const statePath = join(folder, STATE_FILE);
  let text: string;
  try {
    text = await readFile(statePath, 'utf8');
  } catch (err) {
    throw ioError(statePath, 'read', err);
  }
  let file: CheckpointFile<S>;
  try {
    file = JSON.parse(text);
  } catch {
    throw tgError('ERR_TG_FORMAT', `checkpoint: ${statePath} is not valid JSON`);
  }
  if (file?.format !== CHECKPOINT_FORMAT) throw tgError('ERR_TG_FORMAT', `checkpoint: ${statePath} is not a tensorgraft trainer checkpoint`);
  if (file.version !== CHECKPOINT_VERSION) {
    throw tgError('ERR_TG_FORMAT', `checkpoint: ${statePath} has version ${file.version}; this tensorgraft reads version ${CHECKPOINT_VERSION}`);
  }
  for (const name of [MODEL_FILE, OPTIMIZER_FILE]) {
    const want = file.files?.[name];
    const path = join(folder, name);
    if (typeof want?.bytes !== 'number' || typeof want.sha256 !== 'string') {
      throw tgError('ERR_TG_FORMAT', `checkpoint: ${statePath} does not record ${name}`);
    }
    let got: FileRecord;
    try {
      got = await fileRecord(path);
    } catch (err) {
      throw ioError(path, 'read', err);
    }
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw tgError('ERR_TG_FORMAT', `checkpoint: ${path} is damaged (${got.bytes} bytes, ${want.bytes} recorded; the content hash differs)`);
    }
  }
  const blob = await readFile(join(folder, OPTIMIZER_FILE)).catch((err) => {
    throw ioError(join(folder, OPTIMIZER_FILE), 'read', err);
  });
  if (!Array.isArray(file.optimizer?.tensors) || !Array.isArray(file.optimizer.lrs) || !Number.isInteger(file.optimizer.steps)) {
    throw tgError('ERR_TG_FORMAT', `checkpoint: ${statePath} has no valid optimizer record`);
  }
  const tensors: Record<string, Tensor> = {};
  for (const e of file.optimizer.tensors) {
    const size = ELEMENT_BYTES[e.dtype];
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!size || count * size !== e.bytes || e.offset + e.bytes > blob.length) {
      throw tgError('ERR_TG_FORMAT', `checkpoint: ${folder}: optimizer tensor '${e.name}' does not fit its record`);
    }
    // A copy, aligned for the typed array.
    const bytes = new Uint8Array(blob.subarray(e.offset, e.offset + e.bytes));
    const Ctor = { f32: Float32Array, i32: Int32Array, i64: BigInt64Array, f16: Uint16Array, bf16: Uint16Array, u8: Uint8Array, bool: Uint8Array }[e.dtype];
    tensors[e.name] = new Tensor(new Ctor(bytes.buffer, 0, count) as never, e.shape, e.dtype);
  }
  return {
    path: folder,
    state: file.state,
    optimizer: { steps: file.optimizer.steps, lrs: file.optimizer.lrs, tensors },
    modelPath: join(folder, MODEL_FILE),
  };
}
