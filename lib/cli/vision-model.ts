// What the vision commands share: which architecture and image size a weight
// file goes with, the class names of a model's outputs, and image folders
// whose class ids must follow a model's (not the folder's own) order.
//
// `finetune` records the architecture, image size and classes in the
// safetensors metadata and writes labels.json beside the weights, so `eval`
// and `predict` on its output need no more than --weights.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ImageDataset, imageFolder } from '../data/index.js';
import { tgError } from '../errors.js';
import { architectures, IMAGENET_CLASSES } from '../models/index.js';
import { inspectWeights } from '../weights/read.js';

/** The architectures these commands train and run: image classifiers (not the language models). */
export const IMAGE_CLASSIFIERS: readonly string[] = architectures.filter((a) => /^(resnet|vgg)\d/.test(a));

/** `arch`, when it names an image classifier. */
export function checkClassifier(where: string, arch: string): string {
  if (!IMAGE_CLASSIFIERS.includes(arch)) {
    const what = architectures.includes(arch) ? `'${arch}' is not an image classifier` : `unknown model '${arch}'`;
    throw tgError('ERR_TG_ARG', `${where}: ${what} (use one of ${IMAGE_CLASSIFIERS.join(', ')})`);
  }
  return arch;
}

/** safetensors metadata keys finetune writes. */
export const META = { arch: 'tensorgraft.arch', size: 'tensorgraft.image_size', classes: 'tensorgraft.classes' } as const;

export const LABELS_FILE = 'labels.json';

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** The metadata of a safetensors weight file; {} for other formats and folders. */
export async function weightsMetadata(path: string): Promise<Record<string, string>> {
  if (await isDir(path)) return {};
  try {
    const info = await inspectWeights(path);
    return info.format === 'safetensors' ? info.metadata : {};
  } catch {
    // The load that follows reports an unreadable file with its own, better message.
    return {};
  }
}

/** Class names recorded in a weight file's metadata, when they are a JSON array of strings. */
function recordedClasses(meta: Record<string, string>): string[] | undefined {
  try {
    const v: unknown = JSON.parse(meta[META.classes] ?? 'null');
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface ModelSpec {
  arch: string;
  size: number;
  /** Class names recorded in the weights (finetune writes them). */
  classes?: string[];
}

/** The architecture and input size for a weight file: as given, else as recorded in it, else 224. */
export async function modelSpec(where: string, opts: { model?: string; weights: string; size?: number }): Promise<ModelSpec> {
  const meta = await weightsMetadata(opts.weights);
  const arch = opts.model ?? meta[META.arch];
  if (!arch) {
    throw tgError('ERR_TG_ARG', `${where}: give --model (one of ${IMAGE_CLASSIFIERS.join(', ')}); ${opts.weights} does not record its architecture`);
  }
  checkClassifier(where, arch);
  const recorded = Number(meta[META.size]);
  const size = opts.size ?? (Number.isSafeInteger(recorded) && recorded > 0 ? recorded : 224);
  const classes = recordedClasses(meta);
  return { arch, size, ...(classes ? { classes } : {}) };
}

/** Class names from a labels file: a JSON array of names, or { "classes": [...] }. */
export async function readLabels(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read labels ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `labels ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const names = Array.isArray(value) ? value : (value as { classes?: unknown } | null)?.classes;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw tgError('ERR_TG_FORMAT', `labels ${path}: expected a JSON array of class names (or { "classes": [...] })`);
  }
  return names;
}

export interface Labels {
  /** Names by output index; undefined when none are known. */
  names?: string[];
  /** Where they came from, for messages. */
  source: string;
}

/**
 * The names of a model's outputs: --labels, else a labels.json beside the
 * weights (inside a weights folder), else the names recorded in the weights,
 * else the ImageNet names for 1000 outputs.
 */
export async function resolveLabels(
  where: string,
  opts: { labels?: string; weights: string; numClasses: number; recorded?: string[] },
): Promise<Labels> {
  const check = (names: string[], source: string): Labels => {
    if (names.length !== opts.numClasses) {
      const hint = opts.labels ? '' : ' (give the right one with --labels)';
      throw tgError('ERR_TG_ARG', `${where}: ${source} has ${names.length} class names but the model has ${opts.numClasses} outputs${hint}`);
    }
    return { names, source };
  };
  if (opts.labels) return check(await readLabels(opts.labels), opts.labels);
  const beside = join((await isDir(opts.weights)) ? opts.weights : dirname(opts.weights), LABELS_FILE);
  if (await stat(beside).then((s) => s.isFile(), () => false)) return check(await readLabels(beside), beside);
  if (opts.recorded) return check(opts.recorded, `the class names recorded in ${opts.weights}`);
  if (opts.numClasses === IMAGENET_CLASSES.length) return { names: [...IMAGENET_CLASSES], source: 'ImageNet-1k class names' };
  return { source: 'class indices' };
}

/**
 * An image folder whose class ids are the positions of its folder names in
 * `classes` (a model's order), with the eval preset at `size`.
 */
export function folderFor(where: string, root: string, classes: readonly string[] | undefined, numClasses: number, size: number): ImageDataset {
  const ds = imageFolder(root, { size });
  if (!classes) {
    if (ds.classes.length > numClasses) {
      throw tgError('ERR_TG_ARG', `${where}: ${root} has ${ds.classes.length} class folders but the model only ${numClasses} outputs`);
    }
    // Without names the folders are taken to be in the model's order (sorted, as finetune numbers them).
    return ds;
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const unknown = ds.classes.filter((c) => !index.has(c));
  if (unknown.length) {
    throw tgError(
      'ERR_TG_ARG',
      `${where}: class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `'${c}'`).join(', ')} in ${root} ` +
        `${unknown.length > 1 ? 'are' : 'is'} not among the model's classes (${classes.slice(0, 8).join(', ')}${classes.length > 8 ? ', ...' : ''})`,
    );
  }
  const samples = ds.samples.map((s) => ({ path: s.path, target: index.get(ds.classes[s.target])! }));
  return new ImageDataset(ds.root, samples, [...classes], { size });
}
