// Mapping a checkpoint's tensors onto a model's parameters and buffers.
// Follows torch.nn.Module.load_state_dict (strict: missing, unexpected and
// size-mismatched keys; non-strict loads what fits) and the renames that
// transformers' PreTrainedModel loading applies (the base-model prefix, e.g.
// "bert.", added or removed; old LayerNorm gamma/beta), plus the "module."
// prefix that torch.nn.parallel.DistributedDataParallel adds to every key.
import { tgError, type ErrorCode, type TgError } from '../errors.js';
import { matchesAny } from '../glob.js';
import { DTYPES, type DType, type HostTensorLike, type Tensor } from '../tensor.js';
import { toDType } from './convert.js';

/** What a model holds under one name: the shape and dtype a checkpoint value must fit. */
export interface Slot {
  shape: number[];
  dtype: DType;
}

/** A user rename: the new key, or null (or '') to skip the key. */
export type RenameFunction = (key: string) => string | null | undefined;
/**
 * Rules applied in order, each to the previous result. A RegExp replaces as
 * String.replace does (all matches with the g flag); a string replaces its
 * first occurrence, literally.
 */
export type RenameRules = Record<string, string> | Array<[RegExp | string, string]>;

export interface LoadOptions {
  /** Every model entry filled and every checkpoint key used (default true). */
  strict?: boolean;
  /** Applied to checkpoint keys before the built-in renames. */
  rename?: RenameFunction | RenameRules;
  /** Globs (on checkpoint or model names) skipped on purpose, e.g. a head being replaced: 'fc.*'. */
  ignore?: string | string[];
}

export interface ShapeMismatch {
  /** The model's name. */
  key: string;
  /** The checkpoint's name, when a rename applied. */
  source: string;
  checkpoint: number[];
  model: number[];
}

export interface LoadReport {
  /** Model entries the checkpoint did not fill (they keep their values). */
  missing: string[];
  /** Checkpoint keys (as in the file) that fit nothing in the model. */
  unexpected: string[];
  /** Keys present on both sides with different shapes (not loaded). */
  mismatched: ShapeMismatch[];
  /** Names skipped because `ignore` (or a rename to null) said so. */
  ignored: string[];
  /** Checkpoint key → model key, for every key loaded under another name. */
  renamed: Record<string, string>;
  /** Remarks from the file reader (which nested entry was used, and so on). */
  notes: string[];
}

export interface LoadPlan {
  report: LoadReport;
  /** Model key → value already converted to the model's dtype: ready to copy in. */
  values: Map<string, Tensor>;
}

interface Candidate {
  source: string;
  name: string;
  tensor: HostTensorLike;
}

const LIST_LIMIT = 12;

/**
 * Works out what goes where, converts every value, and throws (strict) before
 * anything is written. The caller copies `values` in.
 */
export function planLoad(
  slots: ReadonlyMap<string, Slot>,
  record: Record<string, HostTensorLike>,
  options: LoadOptions = {},
  where = 'loadStateDict',
): LoadPlan {
  if (record === null || typeof record !== 'object') {
    throw tgError('ERR_TG_ARG', `${where}: the state dict must be an object of name → tensor, got ${record === null ? 'null' : typeof record}`);
  }
  const strict = options.strict ?? true;
  const ignore = ignoreGlobs(options.ignore, where);
  const rename = renameFunction(options.rename, where);
  const ignored = new Set<string>();
  const ignoredSlots = new Set<string>();

  // 1. The user's rename sees the keys as they are in the file.
  let candidates: Candidate[] = [];
  for (const [source, tensor] of Object.entries(record)) {
    checkTensor(tensor, source, where);
    const name = rename(source);
    if (name === null) ignored.add(source);
    else candidates.push({ source, name, tensor });
  }

  // 2. DDP's "module." prefix, unless the model really has a child called "module".
  if (!hasTopLevel(slots, 'module')) {
    for (const c of candidates) while (c.name.startsWith('module.')) c.name = c.name.slice('module.'.length);
  }

  // 3. A base-model prefix present on one side only.
  candidates = applyBasePrefix(slots, candidates);

  // 4. Old LayerNorm names, only where the model has weight/bias instead.
  for (const c of candidates) c.name = resolve(slots, c.name) ?? c.name;

  // Keys that need no rename claim their slot first, so a renamed duplicate loses.
  candidates.sort((a, b) => Number(a.name !== a.source) - Number(b.name !== b.source));

  const claimed = new Map<string, Candidate>();
  const unexpected: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  const renamed: Record<string, string> = {};
  const values = new Map<string, Tensor>();
  for (const c of candidates) {
    const slot = slots.get(c.name);
    if (ignore.length && (matchesAny(c.source, ignore) || matchesAny(c.name, ignore))) {
      ignored.add(c.source);
      if (slot) ignoredSlots.add(c.name);
      continue;
    }
    if (!slot || claimed.has(c.name)) {
      unexpected.push(c.source);
      continue;
    }
    claimed.set(c.name, c);
    if (!sameShape(c.tensor.shape, slot.shape)) {
      mismatched.push({ key: c.name, source: c.source, checkpoint: [...c.tensor.shape], model: [...slot.shape] });
      continue;
    }
    if (c.name !== c.source) renamed[c.source] = c.name;
    values.set(c.name, convert(c, slot.dtype, where));
  }

  const missing: string[] = [];
  for (const name of slots.keys()) {
    if (claimed.has(name)) continue;
    if (ignoredSlots.has(name) || (ignore.length && matchesAny(name, ignore))) ignored.add(name);
    else missing.push(name);
  }

  const report: LoadReport = { missing, unexpected, mismatched, ignored: [...ignored], renamed, notes: [] };
  if (strict) {
    // Checkpoints from before PyTorch 0.4.1 have no batch counters; PyTorch
    // itself fills them in, so their absence is not a failure.
    const fatalMissing = missing.filter((k) => !k.endsWith('num_batches_tracked'));
    if (fatalMissing.length || unexpected.length || mismatched.length) {
      throw mismatchError(where, report, fatalMissing, candidates, values.size, slots.size);
    }
  }
  return { report, values };
}

function ignoreGlobs(ignore: LoadOptions['ignore'], where: string): string[] {
  if (ignore === undefined) return [];
  const globs = typeof ignore === 'string' ? [ignore] : ignore;
  if (!Array.isArray(globs) || !globs.every((g) => typeof g === 'string')) {
    throw tgError('ERR_TG_ARG', `${where}: ignore must be a glob or an array of globs, got ${typeof ignore}`);
  }
  return globs;
}

/** The user's rename as one function; null means "skip this key". */
function renameFunction(rename: LoadOptions['rename'], where: string): (key: string) => string | null {
  if (rename === undefined) return (k) => k;
  if (typeof rename === 'function') {
    return (key) => {
      const out = rename(key);
      if (out === null || out === undefined || out === '') return null;
      if (typeof out !== 'string') {
        throw tgError('ERR_TG_ARG', `${where}: rename('${key}') must return a string or null, got ${typeof out}`);
      }
      return out;
    };
  }
  const rules: Array<[RegExp | string, string]> = Array.isArray(rename) ? rename : rename && typeof rename === 'object' ? Object.entries(rename) : [];
  if (!rules.length && !(Array.isArray(rename) || (rename && typeof rename === 'object'))) {
    throw tgError('ERR_TG_ARG', `${where}: rename must be a function, an object or an array of [pattern, replacement], got ${typeof rename}`);
  }
  rules.forEach((rule, i) => {
    const ok = Array.isArray(rule) && rule.length === 2 && (typeof rule[0] === 'string' || rule[0] instanceof RegExp) && typeof rule[1] === 'string';
    if (!ok) throw tgError('ERR_TG_ARG', `${where}: rename rule ${i} must be [RegExp or string, replacement string]`);
  });
  return (key) => {
    let out = key;
    for (const [pattern, replacement] of rules) {
      // A string pattern is literal: a function replacement keeps '$' in it literal too.
      out = typeof pattern === 'string' ? out.replace(pattern, () => replacement) : out.replace(pattern, replacement);
    }
    return out === '' ? null : out;
  };
}

function checkTensor(t: unknown, key: string, where: string): void {
  const v = t as Partial<HostTensorLike> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    ArrayBuffer.isView(v.data) &&
    Array.isArray(v.shape) &&
    v.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
    DTYPES.includes(v.dtype as DType);
  if (!ok) throw tgError('ERR_TG_ARG', `${where}: '${key}' is not a tensor ({ data, shape, dtype })`);
  const numel = v.shape!.reduce((a, b) => a * b, 1);
  if ((v.data as unknown as ArrayLike<unknown>).length !== numel) {
    throw tgError('ERR_TG_SHAPE', `${where}: '${key}' has shape [${v.shape!.join(', ')}] (${numel} elements) but ${(v.data as unknown as ArrayLike<unknown>).length} values`);
  }
}

function hasTopLevel(slots: ReadonlyMap<string, Slot>, segment: string): boolean {
  for (const k of slots.keys()) if (k === segment || k.startsWith(segment + '.')) return true;
  return false;
}

/** The gamma/beta spelling of LayerNorm that old BERT checkpoints use. */
const OLD_NAMES: Record<string, string> = { gamma: 'weight', beta: 'bias' };

/** The model name a checkpoint name fills, directly or through gamma/beta. */
function resolve(slots: ReadonlyMap<string, Slot>, name: string): string | undefined {
  if (slots.has(name)) return name;
  const dot = name.lastIndexOf('.');
  const last = name.slice(dot + 1);
  const modern = Object.hasOwn(OLD_NAMES, last) ? name.slice(0, dot + 1) + OLD_NAMES[last] : undefined;
  return modern !== undefined && slots.has(modern) ? modern : undefined;
}

/**
 * Hugging Face checkpoints of a task model carry the base model under a
 * prefix ("bert.encoder...") that the bare base model lacks, and the reverse.
 * transformers knows the prefix from the class; here it is found from the key
 * sets: the one first segment whose removal (or addition) makes the most
 * otherwise-unmatched keys fit. Module indices (Sequential's "0") never count,
 * so a plain layer is not silently shifted into a container.
 */
function applyBasePrefix(slots: ReadonlyMap<string, Slot>, candidates: Candidate[]): Candidate[] {
  const unmatched = candidates.filter((c) => resolve(slots, c.name) === undefined);
  if (!unmatched.length) return candidates;
  const heads = (names: Iterable<string>) => {
    const out = new Set<string>();
    for (const n of names) {
      const dot = n.indexOf('.');
      if (dot > 0 && !/^\d+$/.test(n.slice(0, dot))) out.add(n.slice(0, dot));
    }
    return out;
  };
  const modelHeads = heads(slots.keys());
  const checkpointHeads = heads(candidates.map((c) => c.name));
  let best: { gain: number; map: (name: string) => string | undefined } | undefined;
  const consider = (map: (name: string) => string | undefined) => {
    const gain = unmatched.filter((c) => {
      const n = map(c.name);
      return n !== undefined && resolve(slots, n) !== undefined;
    }).length;
    if (gain > 0 && (!best || gain > best.gain)) best = { gain, map };
  };
  for (const p of checkpointHeads) {
    if (!modelHeads.has(p)) consider((n) => (n.startsWith(p + '.') ? n.slice(p.length + 1) : undefined));
  }
  for (const p of modelHeads) {
    if (!checkpointHeads.has(p)) consider((n) => `${p}.${n}`);
  }
  if (!best) return candidates;
  const map = best.map;
  return candidates.map((c) => {
    if (resolve(slots, c.name) !== undefined) return c;
    const n = map(c.name);
    return n !== undefined && resolve(slots, n) !== undefined ? { ...c, name: n } : c;
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function convert(c: Candidate, dtype: DType, where: string): Tensor {
  try {
    return toDType(c.tensor, dtype);
  } catch (err) {
    const e = err as TgError;
    throw tgError((e.code as ErrorCode | undefined) ?? 'ERR_TG_DTYPE', `${where}: '${c.source}' (${c.tensor.dtype}) cannot be loaded as ${dtype}: ${e.message}`);
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The nearest name in `pool`, if it is near enough to be a plausible typo or rename. */
export function nearMiss(name: string, pool: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const p of pool) {
    const d = distance(name, p);
    if (d < bestD) {
      best = p;
      bestD = d;
    }
  }
  return best;
}

function listed(items: string[]): string {
  const shown = items.slice(0, LIST_LIMIT).join(', ');
  return items.length > LIST_LIMIT ? `${shown} and ${items.length - LIST_LIMIT} more` : shown;
}

function mismatchError(
  where: string,
  report: LoadReport,
  missing: string[],
  candidates: Candidate[],
  loaded: number,
  total: number,
): TgError {
  const unexpectedSet = new Set(report.unexpected);
  // Compare names after the built-in renames, show them as they are in the file.
  const sourceOf = new Map(candidates.filter((c) => unexpectedSet.has(c.source)).map((c) => [c.name, c.source]));
  const parts: string[] = [];
  let suggested = false;
  if (missing.length) {
    parts.push(
      `missing ${listed(
        missing.map((k) => {
          const near = nearMiss(k, sourceOf.keys());
          if (near === undefined) return k;
          suggested = true;
          return `${k} (did you mean ${sourceOf.get(near)}?)`;
        }),
      )}`,
    );
  }
  if (report.unexpected.length) {
    const byName = new Map(candidates.map((c) => [c.source, c.name]));
    parts.push(
      `unexpected ${listed(
        report.unexpected.map((k) => {
          const near = nearMiss(byName.get(k) ?? k, missing);
          if (near === undefined) return k;
          suggested = true;
          return `${k} (did you mean ${near}?)`;
        }),
      )}`,
    );
  }
  if (report.mismatched.length) {
    parts.push(
      `shape mismatch ${listed(
        report.mismatched.map((m) => `${m.key}${m.source !== m.key ? ` (from ${m.source})` : ''}: checkpoint [${m.checkpoint.join(', ')}], model [${m.model.join(', ')}]`),
      )}`,
    );
  }
  const code: ErrorCode = !missing.length && !report.unexpected.length ? 'ERR_TG_SHAPE' : 'ERR_TG_ARG';
  const hint = suggested
    ? ' (a rename option maps names; ignore skips keys; strict: false loads what fits)'
    : report.mismatched.length
      ? ' (ignore skips keys on purpose, e.g. a head being replaced; strict: false loads what fits)'
      : ' (strict: false loads what fits)';
  return tgError(code, `${where}: the checkpoint does not fit the model (${loaded} of ${total} entries match): ${parts.join('; ')}${hint}`);
}
