// One door to every weight file: the format is told by the first bytes, not
// the file name — a zip's 'PK\x03\x04', a tar's 'ustar' at offset 257, the
// pickled magic number torch.save's legacy format starts with, or a
// safetensors header length followed by '{'.
import { tgError } from '../errors.js';
import type { FileHandle } from 'node:fs/promises';
import { readHeaderFrom, readSafetensorsFrom, safetensorsInfos } from './safetensors.js';
import { checkpointMetadata, extractStateDict, loadTorchFrom, tensorInfos, torchFormatOf } from './torch.js';
import { openForRead, readAt, type TensorInfo, type WeightFile, type WeightFormat } from './types.js';

function hex(b: Uint8Array): string {
  return [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Names what a file that is none of ours looks like, when that is easy to tell. */
function hint(head: Uint8Array): string {
  const ascii = new TextDecoder('latin1').decode(head.subarray(0, 8));
  if (ascii.startsWith('PK\x05\x06')) return ' (an empty zip)';
  if (ascii.startsWith('GGUF')) return ' (a GGUF file)';
  if (ascii.startsWith('\x89HDF')) return ' (an HDF5 file, as Keras writes)';
  if (head[0] === 0x80) return ' (a pickle not written by torch.save)';
  return '';
}

/** The format shown by a file's first bytes (up to 512). */
function formatOf(path: string, head: Uint8Array): WeightFormat {
  const torch = torchFormatOf(head);
  if (torch) return torch;
  if (head.length >= 9 && head[8] === 0x7b) return 'safetensors';
  throw tgError(
    'ERR_TG_FORMAT',
    `${path}: not a weight file tensorgraft can read (safetensors, or torch.save zip, legacy or tar); it starts with ${hex(head) || 'nothing'}${hint(head)}`,
  );
}

/** Opens `path` once, tells its format and hands the open file to `fn`. */
async function withWeightFile<T>(path: string, fn: (fh: FileHandle, size: number, format: WeightFormat) => Promise<T>): Promise<T> {
  const { fh, size } = await openForRead(path);
  try {
    const format = formatOf(path, await readAt(fh, path, 0, Math.min(size, 512)));
    return await fn(fh, size, format);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** The format of the weight file at `path`, from its first bytes. */
export async function detectWeightFormat(path: string): Promise<WeightFormat> {
  return withWeightFile(path, async (_fh, _size, format) => format);
}

/**
 * Reads the tensors of a safetensors file, or the state dict of a torch.save
 * checkpoint (nested under 'model', 'state_dict', ..., or a pickled module:
 * see extractStateDict). For checkpoints, `metadata` holds the top-level
 * scalar entries (epoch, date, ...).
 */
export async function readWeights(path: string): Promise<WeightFile> {
  return withWeightFile(path, async (fh, size, format) => {
    if (format === 'safetensors') return readSafetensorsFrom(fh, path, size);
    const value = await loadTorchFrom(fh, path, size, format, true);
    const { tensors, notes } = extractStateDict(value, path);
    return { format, tensors, metadata: checkpointMetadata(value), notes };
  });
}

/**
 * Names, shapes and stored dtypes without reading tensor data: the header of
 * a safetensors file, the pickle of a torch.save zip, the pickles of legacy
 * and tar files.
 */
export async function inspectWeights(path: string): Promise<{ format: WeightFormat; tensors: TensorInfo[]; metadata: Record<string, string> }> {
  return withWeightFile(path, async (fh, size, format) => {
    if (format === 'safetensors') {
      const header = await readHeaderFrom(fh, path, size);
      return { format, tensors: safetensorsInfos(header), metadata: header.metadata };
    }
    const value = await loadTorchFrom(fh, path, size, format, false);
    return { format, tensors: tensorInfos(value, path), metadata: checkpointMetadata(value) };
  });
}
