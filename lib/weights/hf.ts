// Hugging Face model folders, as transformers' save_pretrained writes them and
// from_pretrained reads them: config.json, the weights (model.safetensors, or
// shards listed in model.safetensors.index.json; pytorch_model.bin and its
// sharded index for older repos) and the tokenizer files.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { tgError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { readWeights } from './read.js';
import type { WeightFile } from './types.js';

export const TOKENIZER_FILES = [
  'tokenizer.json',
  'vocab.txt',
  'merges.txt',
  'vocab.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
] as const;
export type TokenizerFile = (typeof TOKENIZER_FILES)[number];

/** Weight files in the order transformers prefers them; each index names its shards. */
export const WEIGHT_FILES = [
  { file: 'model.safetensors', index: 'model.safetensors.index.json' },
  { file: 'pytorch_model.bin', index: 'pytorch_model.bin.index.json' },
] as const;

/** Where a folder's weights are: one file, or an index and its shards. */
export interface HfWeightsLocation {
  /** The weight files to read, as paths. */
  files: string[];
  /** The index (model.safetensors.index.json, ...) when the weights are sharded. */
  index?: { path: string; weightMap: Record<string, string> };
}

export interface HfFolder {
  folder: string;
  /** config.json, parsed. */
  config: Record<string, unknown>;
  /** Every tensor, merged across shards. */
  tensors: Record<string, Tensor>;
  format: WeightFile['format'];
  /** The metadata of the (first) weight file. */
  metadata: Record<string, string>;
  /** The weight files read. */
  weights: string[];
  /** The tokenizer files present, by name → path. */
  files: Partial<Record<TokenizerFile, string>>;
  notes: string[];
}

async function kind(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A shard name from an index must stay inside the folder (the index may be hostile). */
function shardPath(folder: string, name: string, indexPath: string): string {
  const n = normalize(name);
  if (!name || isAbsolute(name) || n.startsWith('..') || n.split(sep).includes('..')) {
    throw tgError('ERR_TG_FORMAT', `${indexPath}: shard name '${name}' points outside the folder`);
  }
  return join(folder, n);
}

async function readIndex(folder: string, indexPath: string): Promise<HfWeightsLocation> {
  const json = (await readJson(indexPath, 'weight index')) as { weight_map?: unknown } | null;
  const map = json && typeof json === 'object' ? json.weight_map : undefined;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw tgError('ERR_TG_FORMAT', `${indexPath}: no "weight_map" object (tensor name → shard file)`);
  }
  const weightMap: Record<string, string> = {};
  for (const [key, shard] of Object.entries(map)) {
    if (typeof shard !== 'string') throw tgError('ERR_TG_FORMAT', `${indexPath}: weight_map["${key}"] must be a file name`);
    weightMap[key] = shard;
  }
  const shards = [...new Set(Object.values(weightMap))];
  if (!shards.length) throw tgError('ERR_TG_FORMAT', `${indexPath}: the weight_map lists no tensors`);
  const files = shards.map((s) => shardPath(folder, s, indexPath));
  for (const [i, f] of files.entries()) {
    if ((await kind(f)) !== 'file') {
      throw tgError('ERR_TG_IO', `${folder}: shard ${shards[i]} listed in ${basename(indexPath)} is missing`);
    }
  }
  return { files, index: { path: indexPath, weightMap } };
}

/** Finds a folder's weights without reading them. */
export async function findHfWeights(folder: string): Promise<HfWeightsLocation> {
  if ((await kind(folder)) !== 'dir') throw tgError('ERR_TG_IO', `${folder} is not a folder`);
  for (const { file, index } of WEIGHT_FILES) {
    if ((await kind(join(folder, file))) === 'file') return { files: [join(folder, file)] };
    if ((await kind(join(folder, index))) === 'file') return readIndex(folder, join(folder, index));
  }
  const others = ['tf_model.h5', 'flax_model.msgpack', 'model.onnx'];
  const found: string[] = [];
  for (const o of others) if ((await kind(join(folder, o))) === 'file') found.push(o);
  throw tgError(
    'ERR_TG_IO',
    `${folder}: no weights found (looked for ${WEIGHT_FILES.flatMap((w) => [w.file, w.index]).join(', ')})${
      found.length ? `; ${found.join(' and ')} cannot be read, only PyTorch and safetensors weights` : ''
    }`,
  );
}

/** Reads the weights a location names, checking each shard against its index. */
export async function readHfWeights(location: HfWeightsLocation): Promise<WeightFile & { weights: string[] }> {
  const tensors: Record<string, Tensor> = {};
  const notes: string[] = [];
  let first: WeightFile | undefined;
  const owner = new Map<string, string>();
  for (const file of location.files) {
    const w = await readWeights(file);
    first ??= w;
    notes.push(...w.notes.map((n) => `${basename(file)}: ${n}`));
    for (const [key, t] of Object.entries(w.tensors)) {
      const listedIn = location.index?.weightMap[key];
      // A key in two shards, or in a shard the index does not name for it: the
      // index decides, as transformers' loader does.
      if (listedIn !== undefined && shardPath(dirname(location.index!.path), listedIn, location.index!.path) !== file) continue;
      if (owner.has(key)) throw tgError('ERR_TG_FORMAT', `${key} is in both ${owner.get(key)} and ${basename(file)}`);
      owner.set(key, basename(file));
      tensors[key] = t;
    }
  }
  if (location.index) {
    const { path, weightMap } = location.index;
    for (const [key, shard] of Object.entries(weightMap)) {
      if (!(key in tensors)) throw tgError('ERR_TG_FORMAT', `${path} lists ${key} in ${shard}, but that shard does not have it`);
    }
    const unlisted = Object.keys(tensors).filter((k) => !(k in weightMap));
    if (unlisted.length) notes.push(`${unlisted.length} tensors in the shards are not listed in ${basename(path)} (loaded anyway)`);
  }
  return {
    format: first!.format,
    tensors,
    metadata: first!.metadata,
    notes,
    weights: location.files,
  };
}

/** Reads a Hugging Face model folder: config, weights (merged), and which tokenizer files exist. */
export async function loadHfFolder(folder: string): Promise<HfFolder> {
  if (typeof folder !== 'string' || !folder) throw tgError('ERR_TG_ARG', `loadHfFolder: folder must be a path, got ${typeof folder}`);
  if ((await kind(folder)) !== 'dir') throw tgError('ERR_TG_IO', `loadHfFolder: ${folder} is not a folder`);
  const configPath = join(folder, 'config.json');
  if ((await kind(configPath)) !== 'file') throw tgError('ERR_TG_IO', `${folder}: config.json is missing (not a Hugging Face model folder?)`);
  const config = await readJson(configPath, 'model config');
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw tgError('ERR_TG_FORMAT', `${configPath} must hold a JSON object`);
  const weights = await readHfWeights(await findHfWeights(folder));
  const files: Partial<Record<TokenizerFile, string>> = {};
  for (const f of TOKENIZER_FILES) if ((await kind(join(folder, f))) === 'file') files[f] = join(folder, f);
  return {
    folder,
    config: config as Record<string, unknown>,
    tensors: weights.tensors,
    format: weights.format,
    metadata: weights.metadata,
    weights: weights.weights,
    files,
    notes: weights.notes,
  };
}

/** The tensors of a weight file or of a model folder (Model.load, the CLI). */
export async function readModelWeights(path: string): Promise<WeightFile & { weights: string[] }> {
  const k = await kind(path);
  if (k === undefined) throw tgError('ERR_TG_IO', `cannot read ${path}: no such file or folder`);
  if (k === 'dir') return readHfWeights(await findHfWeights(path));
  return { ...(await readWeights(path)), weights: [path] };
}
