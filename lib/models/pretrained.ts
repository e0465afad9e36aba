// Published weights into a freshly built model, as torchvision's
// `resnet50(weights=...)` followed by the usual transfer-learning step: the
// file is loaded strictly, except that a classifier head trained for another
// number of classes is left out on purpose and the model keeps a fresh one.
//
// The head's size in the file is told by its shape (the head weight's first
// dimension), found through the same name mapping as the load itself, so DDP
// prefixes and user renames are taken into account.
import { invalid, tgError, type TgError } from '../errors.js';
import type { Model } from '../nn/module.js';
import type { HostTensorLike } from '../tensor.js';
import { readModelWeights } from '../weights/hf.js';
import { planLoad, type LoadOptions, type LoadReport, type Slot } from '../weights/mapping.js';

export interface WeightsOptions {
  /** A weight file (torchvision .pth, PyTorch checkpoint, safetensors) or a Hugging Face model folder. */
  weights?: string;
  /** Every entry filled and every key used, the head excepted as above (default true). */
  strict?: boolean;
  rename?: LoadOptions['rename'];
  /** Further globs to skip on purpose (the head's are added when its size differs). */
  ignore?: LoadOptions['ignore'];
}

export interface HeadReport {
  /** Globs of the head's parameters ('fc.*'). */
  globs: string[];
  /** Outputs of the head in the file; undefined when it has none, or one of another input width. */
  checkpointClasses?: number;
  /** Outputs of the model's head. */
  numClasses: number;
  /** Whether the head's values came from the file; false: it keeps its fresh initialisation. */
  loaded: boolean;
}

export interface PretrainedReport extends LoadReport {
  /** The weights read. */
  path: string;
  /** Absent for models without a classifier head. */
  head?: HeadReport;
}

/** A model with the report of the weights loaded into it. */
export type Pretrained<M extends Model> = M & { readonly loadReport: PretrainedReport };

interface Head {
  prefixes: string[];
  globs: string[];
  /** The parameter whose first dimension counts the classes (Linear and 1×1 Conv heads alike). */
  weight: string;
  shape: number[];
}

function headOf(model: Model): Head | undefined {
  const params = model.parameters();
  const prefixes = model.headPrefixes();
  for (const prefix of prefixes) {
    const weight = `${prefix}weight`;
    if (params[weight]) return { prefixes, globs: prefixes.map((p) => `${p}*`), weight, shape: params[weight] };
  }
  return undefined;
}

/**
 * The class count of the file's head: a number, undefined when the file has
 * no head weight, or null when its head has another input width (another
 * architecture, which the strict load then reports as it is).
 */
function fileHeadClasses(
  model: Model,
  head: Head,
  tensors: Record<string, HostTensorLike>,
  options: LoadOptions,
  where: string,
): number | undefined | null {
  const slots = new Map<string, Slot>();
  for (const [name, shape] of Object.entries(model.parameters())) {
    if (head.prefixes.some((p) => name.startsWith(p))) slots.set(name, { shape, dtype: 'f32' });
  }
  // Only the head's slots: everything else comes back as unexpected, unconverted, which costs nothing.
  const { report, values } = planLoad(slots, tensors, { ...options, strict: false }, where);
  if (values.has(head.weight)) return head.shape[0];
  const m = report.mismatched.find((x) => x.key === head.weight);
  if (!m) return undefined;
  const sameInputs = m.checkpoint.length === head.shape.length && m.checkpoint.every((d, i) => i === 0 || d === head.shape[i]);
  return sameInputs ? m.checkpoint[0] : null;
}

/**
 * Builds a model and loads `path` into it. `numClasses` is what the caller
 * asked for: when given and the file's head differs (or the file has none),
 * the head keeps its fresh initialisation; when omitted, the model's head is
 * resized to the file's (so a fine-tuned 5-class file loads as a 5-class
 * model). The report becomes the model's `loadReport`.
 * Nothing is written unless the whole load can go ahead.
 */
export async function loadPretrained<M extends Model>(
  build: () => M,
  path: string,
  { numClasses, strict = true, rename, ignore }: WeightsOptions & { numClasses?: number },
  where: string,
): Promise<Pretrained<M>> {
  if (typeof path !== 'string' || path === '') throw invalid('ERR_TG_ARG', where, 'weights', 'a weight file or folder path', path);
  if (typeof strict !== 'boolean') throw invalid('ERR_TG_ARG', where, 'strict', 'a boolean', strict);
  if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses > 0)) {
    throw invalid('ERR_TG_ARG', where, 'numClasses', 'a positive integer', numClasses);
  }
  const extraIgnore = ignore === undefined ? [] : typeof ignore === 'string' ? [ignore] : ignore;
  if (!Array.isArray(extraIgnore) || !extraIgnore.every((g) => typeof g === 'string')) {
    throw invalid('ERR_TG_ARG', where, 'ignore', 'a glob or an array of globs', ignore);
  }
  // The file first: a missing or unreadable one fails before the (costly) build.
  const file = await readModelWeights(path);
  const model = build();

  let head = headOf(model);
  let headReport: HeadReport | undefined;
  const skip = [...extraIgnore];
  if (head) {
    const inFile = fileHeadClasses(model, head, file.tensors, { rename, ignore: extraIgnore }, `${where}: ${path}`);
    if (typeof inFile === 'number' && inFile !== head.shape[0] && numClasses === undefined) {
      model.replaceHead({ numClasses: inFile });
      head = headOf(model)!;
    }
    const loaded = typeof inFile === 'number' && inFile === head.shape[0];
    // Left out on purpose: a head of another size, or none in the file when the
    // caller asked for a class count (a backbone-only file, a head about to be
    // trained). Any other difference is for the strict load to report.
    const fresh = !loaded && (typeof inFile === 'number' || (inFile === undefined && numClasses !== undefined));
    if (fresh) skip.push(...head.globs);
    headReport = {
      globs: head.globs,
      ...(typeof inFile === 'number' ? { checkpointClasses: inFile } : {}),
      numClasses: head.shape[0],
      loaded,
    };
  }

  let report: LoadReport;
  try {
    report = await model.loadStateDict(file.tensors, { strict, rename, ignore: skip });
  } catch (err) {
    const e = err as TgError;
    if (typeof e?.message === 'string') e.message = `${where}: ${path}: ${e.message.replace(/^loadStateDict: /, '')}`;
    throw e;
  }
  report.notes.push(...file.notes);
  if (headReport && !headReport.loaded && headReport.globs.every((g) => skip.includes(g))) {
    const what = headReport.checkpointClasses === undefined ? 'the file has no head' : `the file's head has ${headReport.checkpointClasses} classes`;
    report.notes.push(`${headReport.globs.join(', ')}: ${what}, the model ${headReport.numClasses}; the head keeps its fresh initialisation`);
  }
  const full: PretrainedReport = { ...report, path, ...(headReport ? { head: headReport } : {}) };
  Object.defineProperty(model, 'loadReport', { value: full, enumerable: false, configurable: true, writable: false });
  return model as Pretrained<M>;
}

/** The error for a factory or load() given a `weights` that is not a path. */
export function checkWeightsPath(where: string, weights: unknown): string {
  if (typeof weights !== 'string' || weights === '') throw invalid('ERR_TG_ARG', where, 'weights', 'a weight file or folder path', weights);
  return weights;
}

/** A named architecture that is not among the known ones. */
export function unknownArchitecture(where: string, arch: unknown, known: readonly string[]): TgError {
  return typeof arch === 'string'
    ? tgError('ERR_TG_ARG', `${where}: unknown model '${arch}' (known: ${known.join(', ')})`)
    : invalid('ERR_TG_ARG', where, 'model', `one of ${known.join(', ')}`, arch);
}
