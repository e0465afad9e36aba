// Word labels onto sub-word tokens, for token classification (NER), as the
// Hugging Face token-classification examples do it (tokenize_and_align_labels):
// a word's first token carries the word's label, its other tokens and the
// special tokens get -100 (ignored by the loss and the metrics). With
// labelAllTokens every token of a word is labelled, B-X turned into I-X after
// the first (run_ner.py's b_to_i_label), so the tags stay valid IOB2.
//
// And back: the prediction of a word is the prediction at its first token.
import { invalid, tgError } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { BatchEncoding } from './encoding.js';

export const IGNORE_INDEX = -100;

export interface AlignOptions {
  /** Label every token of a word, not only the first; default false. */
  labelAllTokens?: boolean;
  /**
   * With labelAllTokens: the label id used for a word's later tokens, by the
   * word's label id (see beginToInside); default the word's own label.
   */
  continuation?: ArrayLike<number>;
  /** The label of unlabelled tokens; default -100. */
  ignoreIndex?: number;
}

/**
 * For each label id, the id of the label a word's later tokens take: I-X for
 * B-X when the label set has it, the label itself otherwise.
 */
export function beginToInside(labelNames: readonly string[]): number[] {
  const index = new Map(labelNames.map((n, i) => [n, i]));
  return labelNames.map((name, i) => {
    const m = /^B-(.+)$/.exec(name);
    return m && index.has(`I-${m[1]}`) ? index.get(`I-${m[1]}`)! : i;
  });
}

/**
 * Token labels for one encoding: wordIds as BatchEncoding.wordIds(i) gives
 * them (null for special and padding tokens), wordLabels by word.
 */
export function alignLabels(wordIds: ReadonlyArray<number | null>, wordLabels: ArrayLike<number>, options: AlignOptions = {}): number[] {
  const where = 'text.alignLabels';
  if (!Array.isArray(wordIds)) throw invalid('ERR_TG_ARG', where, 'wordIds', 'an array of word indices (or null)', wordIds);
  const ignore = options.ignoreIndex ?? IGNORE_INDEX;
  const out: number[] = [];
  let previous: number | null = null;
  for (const w of wordIds) {
    if (w === null || w === undefined) {
      out.push(ignore);
    } else {
      if (!(Number.isSafeInteger(w) && w >= 0 && w < wordLabels.length)) {
        throw tgError('ERR_TG_ARG', `${where}: a token belongs to word ${w} but there are labels for ${wordLabels.length} words`);
      }
      const label = wordLabels[w];
      if (w !== previous) out.push(label);
      else if (!options.labelAllTokens) out.push(ignore);
      else out.push(label === ignore ? ignore : (options.continuation?.[label] ?? label));
    }
    previous = w ?? null;
  }
  return out;
}

/** Token labels for a whole batch as an (N, T) tensor of the batch's input_ids dtype. */
export function alignBatchLabels(batch: BatchEncoding, wordLabels: ArrayLike<number>[], options: AlignOptions = {}): Tensor {
  if (!Array.isArray(wordLabels) || wordLabels.length !== batch.length) {
    throw invalid('ERR_TG_ARG', 'text.alignBatchLabels', 'wordLabels', `one label list per text (${batch.length})`, wordLabels);
  }
  const rows = wordLabels.map((labels, i) => alignLabels(batch.wordIds(i), labels, options));
  const [n, t] = batch.input_ids.shape;
  if (batch.input_ids.dtype === 'i32') {
    const data = new Int32Array(n * t);
    rows.forEach((r, i) => data.set(r, i * t));
    return new Tensor(data, [n, t], 'i32');
  }
  const data = new BigInt64Array(n * t);
  rows.forEach((r, i) => r.forEach((v, j) => (data[i * t + j] = BigInt(v))));
  return new Tensor(data, [n, t], 'i64');
}

/**
 * One value per word from one per token: the value at each word's first
 * token. Words with no token (cut off by truncation, or empty) get `missing`.
 */
export function wordValues<T>(wordIds: ReadonlyArray<number | null>, tokenValues: ArrayLike<T>, wordCount: number, missing: T): T[] {
  if (tokenValues.length < wordIds.length) {
    throw tgError('ERR_TG_SHAPE', `text.wordValues: ${wordIds.length} tokens but ${tokenValues.length} values`);
  }
  const out = new Array<T>(wordCount).fill(missing);
  const seen = new Uint8Array(wordCount);
  wordIds.forEach((w, k) => {
    if (w === null || w >= wordCount || seen[w]) return;
    seen[w] = 1;
    out[w] = tokenValues[k];
  });
  return out;
}
