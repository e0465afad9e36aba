// Text data sets, read from files into tokenized examples and served as
// BatchSources for the Trainer:
//
// - textClassification: CSV, TSV, JSON Lines or a JSON array, a text column,
//   an optional second text (sentence pairs, as GLUE's MRPC or RTE) and a
//   label column holding class names or class ids;
// - tokenClassification: CoNLL files (see conll.ts), labels aligned to
//   sub-word tokens (see align.ts);
// - languageModeling: plain text, tokenized, concatenated and cut into blocks
//   of blockSize tokens (run_clm.py's group_texts); labels are the inputs,
//   the model shifts them.
//
// Each returns `all` (every example, in file order), `train` (shuffled each
// epoch) and, with valFraction, `val`: a seeded split, stratified by class
// for classification.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { invalid, tgError } from '../errors.js';
import { parseCsv } from '../data/list.js';
import { split } from '../data/split.js';
import { alignLabels, beginToInside } from './align.js';
import { TextBatches, type TextBatchOptions, type TextBatchSetup, type TextExample } from './batches.js';
import { readConll, tagNames, type ConllOptions, type ConllSentence, type TagScheme } from './conll.js';
import type { Tokenizer } from './tokenizer.js';

export interface SplitChoice {
  /** The share of examples held out as `val`, in [0, 1); default 0 (no `val`). */
  valFraction?: number;
  /** Seeds the split and the shuffle; default 0. */
  seed?: number;
}

export interface TextData {
  /** Every example in file order, not shuffled (evaluation, prediction). */
  all: TextBatches;
  /** The training part, shuffled every epoch. */
  train: TextBatches;
  val?: TextBatches;
}

async function readTextFile(path: string, where: string): Promise<string> {
  if (typeof path !== 'string' || !path) throw invalid('ERR_TG_ARG', where, 'path', 'a file path', path);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read ${path}: ${(err as Error).message}`);
  }
}

function checkTokenizer(tokenizer: unknown, where: string): asserts tokenizer is Tokenizer {
  if (typeof tokenizer !== 'object' || tokenizer === null || typeof (tokenizer as Tokenizer).encodeOne !== 'function') {
    throw invalid('ERR_TG_ARG', where, 'tokenizer', 'a Tokenizer (text.loadTokenizer)', tokenizer);
  }
}

/** all / train / val batches of the examples; `targets` (class ids) stratify the split. */
function parts(examples: TextExample[], o: TextBatchOptions & SplitChoice, setup: TextBatchSetup, where: string, targets?: number[]): TextData {
  const valFraction = o.valFraction ?? 0;
  if (!(typeof valFraction === 'number' && valFraction >= 0 && valFraction < 1)) throw invalid('ERR_TG_ARG', where, 'valFraction', 'a number in [0, 1)', valFraction);
  // Only the batching options, whatever else the caller's options object holds.
  const batching: TextBatchOptions = { batchSize: o.batchSize, seed: o.seed, dropLast: o.dropLast, padToMultipleOf: o.padToMultipleOf, dtype: o.dtype };
  const shuffle = o.shuffle ?? true;
  const all = new TextBatches(examples, { ...batching, shuffle: false }, setup);
  if (valFraction === 0) return { all, train: new TextBatches(examples, { ...batching, shuffle }, setup) };
  const indexed = { length: examples.length, targets, get: () => ({}) };
  const s = split(indexed, { valFraction, seed: o.seed ?? 0, stratify: targets !== undefined });
  const pick = (idx: Int32Array) => Array.from(idx, (i) => examples[i]);
  return {
    all,
    train: new TextBatches(pick(s.train.indices), { ...batching, shuffle }, setup),
    val: new TextBatches(pick(s.val.indices), { ...batching, shuffle: false }, setup),
  };
}

function maxLengthOf(tokenizer: Tokenizer, maxLength: number | undefined, where: string): number {
  const max = maxLength ?? tokenizer.modelMaxLength ?? 512;
  if (!(Number.isSafeInteger(max) && max >= 2)) throw invalid('ERR_TG_ARG', where, 'maxLength', 'an integer >= 2', max);
  return max;
}

// ---- Sequence classification -------------------------------------------------

export interface ClassificationFileOptions {
  /** Default from the extension: .csv, .tsv, .jsonl (JSON Lines), .json (an array of objects). */
  format?: 'csv' | 'tsv' | 'jsonl' | 'json';
  /** Default: the first of text, sentence, sentence1, content, review, document present. */
  textColumn?: string;
  /** Default: text_pair or sentence2 when present. */
  textPairColumn?: string;
  /** Default: label (or labels). */
  labelColumn?: string;
  /**
   * Class names in id order. Labels in the file may be these names or ids.
   * Default: ids when every label is a non-negative integer (names '0', '1', ...),
   * else the sorted distinct names.
   */
  classes?: string[];
}

export interface ClassificationRecord {
  text: string;
  textPair?: string;
  label: number;
  /** Where it was read (1-based line), for messages. */
  line: number;
}

interface RawRow {
  line: number;
  get(column: string): unknown;
  has(column: string): boolean;
}

function rowsOf(text: string, format: string, file: string): { columns: string[]; rows: RawRow[] } {
  if (format === 'csv' || format === 'tsv') {
    const records =
      format === 'csv'
        ? parseCsv(text, file)
        : text
            .split('\n')
            .map((l, i) => ({ line: i + 1, fields: l.replace(/\r$/, '').split('\t') }))
            .filter((r) => !(r.fields.length === 1 && r.fields[0].trim() === ''));
    if (!records.length) throw tgError('ERR_TG_FORMAT', `${file}: empty (expected a header row naming the columns)`);
    const columns = records[0].fields.map((f) => f.trim());
    const index = new Map(columns.map((c, i) => [c, i]));
    const rows = records.slice(1).map((r): RawRow => {
      if (r.fields.length !== columns.length) {
        throw tgError('ERR_TG_FORMAT', `${file}: line ${r.line}: ${r.fields.length} fields but the header has ${columns.length}`);
      }
      return { line: r.line, get: (c) => r.fields[index.get(c)!], has: (c) => index.has(c) };
    });
    return { columns, rows };
  }
  let objects: Array<{ line: number; value: unknown }>;
  if (format === 'jsonl') {
    objects = [];
    text.split('\n').forEach((l, i) => {
      if (l.trim() === '') return;
      try {
        objects.push({ line: i + 1, value: JSON.parse(l) });
      } catch (err) {
        throw tgError('ERR_TG_FORMAT', `${file}: line ${i + 1}: not valid JSON (${(err as Error).message})`);
      }
    });
  } else {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw tgError('ERR_TG_FORMAT', `${file}: not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(value)) throw tgError('ERR_TG_FORMAT', `${file}: expected a JSON array of objects`);
    // Items of a JSON array have no line of their own; their 1-based index stands in.
    objects = value.map((v, i) => ({ line: i + 1, value: v }));
  }
  const columns = new Set<string>();
  const rows = objects.map(({ line, value }): RawRow => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw tgError('ERR_TG_FORMAT', `${file}: ${format === 'json' ? 'item' : 'line'} ${line}: expected a JSON object`);
    }
    const o = value as Record<string, unknown>;
    Object.keys(o).forEach((k) => columns.add(k));
    return { line, get: (c) => o[c], has: (c) => c in o };
  });
  return { columns: [...columns], rows };
}

const isId = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^\s*\d+\s*$/.test(v));

/** Reads a classification file into records with class ids. */
export async function readClassificationFile(
  path: string,
  options: ClassificationFileOptions = {},
): Promise<{ records: ClassificationRecord[]; classes: string[]; columns: { text: string; textPair?: string; label: string } }> {
  const where = 'text.readClassificationFile';
  const text = await readTextFile(path, where);
  const ext = extname(path).toLowerCase().slice(1);
  const format = options.format ?? (ext === 'jsonl' || ext === 'ndjson' ? 'jsonl' : ext === 'json' ? 'json' : ext === 'tsv' ? 'tsv' : 'csv');
  if (!['csv', 'tsv', 'jsonl', 'json'].includes(format)) throw invalid('ERR_TG_ARG', where, 'format', "'csv', 'tsv', 'jsonl' or 'json'", format);
  const { columns, rows } = rowsOf(text, format, path);
  const pick = (given: string | undefined, candidates: string[], what: string, required: boolean) => {
    if (given !== undefined) {
      if (!columns.includes(given)) throw tgError('ERR_TG_FORMAT', `${path}: no ${what} column '${given}' (columns: ${columns.join(', ')})`);
      return given;
    }
    const found = candidates.find((c) => columns.includes(c));
    if (!found && required) throw tgError('ERR_TG_FORMAT', `${path}: no ${what} column (looked for ${candidates.join(', ')}; columns: ${columns.join(', ')}); name it with the ${what}Column option`);
    return found;
  };
  const textCol = pick(options.textColumn, ['text', 'sentence', 'sentence1', 'content', 'review', 'document'], 'text', true)!;
  const pairCol = pick(options.textPairColumn, ['text_pair', 'sentence2'], 'textPair', false);
  const labelCol = pick(options.labelColumn, ['label', 'labels'], 'label', true)!;

  const raw = rows.map((r) => {
    const t = r.get(textCol);
    if (typeof t !== 'string') throw tgError('ERR_TG_FORMAT', `${path}: line ${r.line}: the ${textCol} column must be text, got ${JSON.stringify(t)}`);
    const p = pairCol === undefined ? undefined : r.get(pairCol);
    if (pairCol !== undefined && typeof p !== 'string') throw tgError('ERR_TG_FORMAT', `${path}: line ${r.line}: the ${pairCol} column must be text, got ${JSON.stringify(p)}`);
    const label = r.get(labelCol);
    if (!(typeof label === 'string' || typeof label === 'number') || (typeof label === 'string' && label.trim() === '')) {
      throw tgError('ERR_TG_FORMAT', `${path}: line ${r.line}: no label in the ${labelCol} column (got ${JSON.stringify(label)})`);
    }
    return { text: t, textPair: p as string | undefined, label, line: r.line };
  });

  let classes: string[];
  let toId: (v: string | number, line: number) => number;
  if (options.classes) {
    classes = checkClasses(options.classes, where);
    const index = new Map(classes.map((c, i) => [c, i]));
    toId = (v, line) => {
      const name = String(v).trim();
      if (index.has(name)) return index.get(name)!;
      if (isId(v) && Number(v) < classes.length) return Number(v);
      throw tgError('ERR_TG_FORMAT', `${path}: line ${line}: the label ${JSON.stringify(v)} is not among the classes (${classes.slice(0, 10).join(', ')}${classes.length > 10 ? ', ...' : ''})`);
    };
  } else if (raw.every((r) => isId(r.label))) {
    const max = Math.max(-1, ...raw.map((r) => Number(r.label)));
    classes = Array.from({ length: max + 1 }, (_, i) => String(i));
    toId = (v) => Number(v);
  } else {
    classes = [...new Set(raw.map((r) => String(r.label).trim()))].sort();
    const index = new Map(classes.map((c, i) => [c, i]));
    toId = (v) => index.get(String(v).trim())!;
  }
  const records = raw.map((r) => ({ ...r, label: toId(r.label, r.line) }));
  return { records, classes, columns: { text: textCol, ...(pairCol ? { textPair: pairCol } : {}), label: labelCol } };
}

function checkClasses(classes: unknown, where: string): string[] {
  if (!Array.isArray(classes) || !classes.length || !classes.every((c) => typeof c === 'string')) {
    throw invalid('ERR_TG_ARG', where, 'classes', 'a non-empty array of class names', classes);
  }
  return classes as string[];
}

export interface TextClassificationOptions extends ClassificationFileOptions, TextBatchOptions, SplitChoice {
  tokenizer: Tokenizer;
  /** Truncate to this many tokens; default the tokenizer's modelMaxLength, else 512. */
  maxLength?: number;
}

export interface TextClassificationData extends TextData {
  classes: string[];
  records: ClassificationRecord[];
}

/** A sequence-classification data set from a CSV / TSV / JSON Lines / JSON file. */
export async function textClassification(path: string, options: TextClassificationOptions): Promise<TextClassificationData> {
  const where = 'text.textClassification';
  checkTokenizer(options?.tokenizer, where);
  const { tokenizer } = options;
  const maxLength = maxLengthOf(tokenizer, options.maxLength, where);
  const { records, classes } = await readClassificationFile(path, options);
  if (!records.length) throw tgError('ERR_TG_FORMAT', `${path}: no examples`);
  const examples = records.map((r): TextExample => {
    const e = tokenizer.encodeOne(r.text, r.textPair, { truncation: true, maxLength, alignment: false });
    return { ids: e.ids, typeIds: e.typeIds, labels: r.label };
  });
  const data = parts(examples, options, { padId: tokenizer.paddingId, tokenTypeIds: tokenizer.returnsTokenTypeIds, classes }, where, records.map((r) => r.label));
  return { ...data, classes, records };
}

// ---- Token classification (NER) ----------------------------------------------

export interface TokenClassificationOptions extends ConllOptions, TextBatchOptions, SplitChoice {
  tokenizer: Tokenizer;
  /** Tag names in id order; default tagNames() of the file (O, then B-/I- by type). */
  labels?: string[];
  maxLength?: number;
  /** Label every sub-word token, not only a word's first (B-X → I-X after the first); default false. */
  labelAllTokens?: boolean;
}

export interface TokenClassificationData extends TextData {
  /** Tag names by label id. */
  labels: string[];
  sentences: ConllSentence[];
  /** The scheme of the file before conversion to IOB2. */
  scheme: TagScheme;
}

/** Tokenized examples with aligned labels for sentences of words and tags. */
export function encodeSentences(
  tokenizer: Tokenizer,
  sentences: readonly ConllSentence[],
  labels: readonly string[],
  options: { maxLength?: number; labelAllTokens?: boolean; file?: string } = {},
): TextExample[] {
  const where = 'text.encodeSentences';
  const index = new Map(labels.map((l, i) => [l, i]));
  const maxLength = maxLengthOf(tokenizer, options.maxLength, where);
  const continuation = beginToInside(labels);
  return sentences.map((s) => {
    const ids = s.tags.map((t, k) => {
      const id = index.get(t);
      if (id === undefined) {
        throw tgError('ERR_TG_FORMAT', `${options.file ?? 'CoNLL data'}: line ${s.line + k}: the tag ${t} is not among the labels (${labels.join(', ')})`);
      }
      return id;
    });
    const e = tokenizer.encodeOne(s.tokens, undefined, { isSplitIntoWords: true, truncation: true, maxLength, alignment: false });
    return { ids: e.ids, typeIds: e.typeIds, labels: alignLabels(e.wordIds, ids, { labelAllTokens: options.labelAllTokens, continuation }) };
  });
}

/** A token-classification data set from a CoNLL file. */
export async function tokenClassification(path: string, options: TokenClassificationOptions): Promise<TokenClassificationData> {
  const where = 'text.tokenClassification';
  checkTokenizer(options?.tokenizer, where);
  const { tokenizer } = options;
  const { sentences, scheme } = await readConll(path, options);
  if (!sentences.length) throw tgError('ERR_TG_FORMAT', `${path}: no sentences`);
  const labels = options.labels ? checkClasses(options.labels, where) : tagNames(sentences.map((s) => s.tags));
  const examples = encodeSentences(tokenizer, sentences, labels, { maxLength: options.maxLength, labelAllTokens: options.labelAllTokens, file: path });
  const data = parts(examples, options, { padId: tokenizer.paddingId, tokenTypeIds: tokenizer.returnsTokenTypeIds, classes: labels }, where);
  return { ...data, labels, sentences, scheme };
}

// ---- Causal language modelling ---------------------------------------------------

export interface LanguageModelingOptions extends TextBatchOptions, SplitChoice {
  tokenizer: Tokenizer;
  /** Tokens per example; default min(1024, the tokenizer's modelMaxLength). */
  blockSize?: number;
}

export interface LanguageModelingData extends TextData {
  blockSize: number;
  /** Tokens in the file (before the remainder that fills no block is dropped). */
  tokens: number;
}

/**
 * Cuts ids into blocks of blockSize, dropping the remainder that fills no
 * block, as group_texts does, except that a text shorter than one block
 * gives one short block rather than nothing.
 */
export function chunkIds(ids: readonly number[], blockSize: number): number[][] {
  if (!(Number.isSafeInteger(blockSize) && blockSize >= 2)) throw invalid('ERR_TG_ARG', 'text.chunkIds', 'blockSize', 'an integer >= 2', blockSize);
  if (ids.length < blockSize) return ids.length >= 2 ? [[...ids]] : [];
  const out: number[][] = [];
  for (let i = 0; i + blockSize <= ids.length; i += blockSize) out.push(ids.slice(i, i + blockSize));
  return out;
}

/**
 * A causal-LM data set from a plain-text file. Lines keep their line breaks
 * (run_clm.py's text loader drops them; a model that is to write lines should
 * see them); no special tokens are added.
 */
export async function languageModeling(path: string, options: LanguageModelingOptions): Promise<LanguageModelingData> {
  const where = 'text.languageModeling';
  checkTokenizer(options?.tokenizer, where);
  const { tokenizer } = options;
  const blockSize = options.blockSize ?? Math.min(1024, tokenizer.modelMaxLength ?? 1024);
  if (!(Number.isSafeInteger(blockSize) && blockSize >= 2)) throw invalid('ERR_TG_ARG', where, 'blockSize', 'an integer >= 2', blockSize);
  const text = await readTextFile(path, where);
  const ids: number[] = [];
  // Line by line: the tokenizer's pre-tokenizers never merge across a line break.
  const lines = text.split(/(?<=\n)/);
  for (const line of lines) if (line) for (const id of tokenizer.encodeOne(line, undefined, { addSpecialTokens: false, alignment: false }).ids) ids.push(id);
  const blocks = chunkIds(ids, blockSize);
  if (!blocks.length) throw tgError('ERR_TG_FORMAT', `${path}: ${ids.length} tokens, too few for language modelling`);
  const examples = blocks.map((b): TextExample => ({ ids: b, labels: b }));
  const data = parts(examples, { ...options, batchSize: options.batchSize ?? 8 }, { padId: tokenizer.paddingId, tokenTypeIds: false }, where);
  return { ...data, blockSize, tokens: ids.length };
}
