// Evaluating text models on a BatchSource. The Trainer's own evaluation is
// made for one prediction per sample; token classification and language
// models predict one per token, so their figures are computed here:
// entity-level scores (seqeval's, as the Hugging Face NER examples report
// them) from the tokens that carry a label, and a language model's mean
// next-token loss and perplexity.
import type { Batch, BatchSource } from '../data/types.js';
import { invalid, tgError } from '../errors.js';
import type { Model } from '../nn/module.js';
import type { Session } from '../session.js';
import type { HostTensorLike } from '../tensor.js';
import { entityScores, type EntityOptions, type EntityScores } from '../train/text-metrics.js';
import { IGNORE_INDEX, wordValues } from './align.js';
import type { Tokenizer } from './tokenizer.js';

function feedsOf(batch: Batch): Record<string, HostTensorLike> {
  const { labels: _labels, ...feeds } = batch;
  return feeds;
}

function checkSource(source: unknown, where: string): asserts source is BatchSource {
  if (typeof source !== 'object' || source === null || typeof (source as BatchSource).batches !== 'function') {
    throw invalid('ERR_TG_ARG', where, 'source', 'a BatchSource (text data sets give .all, .train, .val)', source);
  }
}

/**
 * Predicted and true label ids of every labelled token (label not -100), one
 * list per example, in the source's epoch-0 order: the words of NER data, as
 * the first token of each word carries the label.
 */
export async function tokenPredictions(
  model: Model,
  source: BatchSource,
  { device = 'cpu' }: { device?: string } = {},
): Promise<{ truth: number[][]; predicted: number[][] }> {
  const where = 'text.tokenPredictions';
  checkSource(source, where);
  const truth: number[][] = [];
  const predicted: number[][] = [];
  for await (const batch of source.batches(0)) {
    const labels = batch.labels;
    if (!labels || labels.shape.length !== 2) throw tgError('ERR_TG_SHAPE', `${where}: batches need (N, T) token labels`);
    const logits = await model.predict(feedsOf(batch), { device });
    const [n, t] = labels.shape;
    if (logits.shape.length !== 3 || logits.shape[0] !== n || logits.shape[1] !== t) {
      throw tgError('ERR_TG_SHAPE', `${where}: expected logits (${n}, ${t}, C) for labels (${n}, ${t}), got [${logits.shape.join(', ')}]`);
    }
    const c = logits.shape[2];
    const scores = logits.data as Float32Array;
    const ids = labels.data as ArrayLike<number | bigint>;
    for (let i = 0; i < n; i++) {
      const row: number[] = [];
      const guess: number[] = [];
      for (let j = 0; j < t; j++) {
        const label = Number(ids[i * t + j]);
        if (label === IGNORE_INDEX) continue;
        const at = (i * t + j) * c;
        let best = 0;
        for (let k = 1; k < c; k++) if (scores[at + k] > scores[at + best]) best = k;
        row.push(label);
        guess.push(best);
      }
      truth.push(row);
      predicted.push(guess);
    }
  }
  return { truth, predicted };
}

export interface NerEvaluation extends EntityScores {
  /** True and predicted tags per example (labelled tokens only). */
  truthTags: string[][];
  predictedTags: string[][];
}

/** Entity-level precision, recall and F1 (and the per-type scores) of a token classifier on a source. */
export async function evaluateNer(
  model: Model,
  source: BatchSource,
  labels: readonly string[],
  options: EntityOptions & { device?: string } = {},
): Promise<NerEvaluation> {
  const where = 'text.evaluateNer';
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw invalid('ERR_TG_ARG', where, 'labels', 'tag names by label id', labels);
  const { truth, predicted } = await tokenPredictions(model, source, { device: options.device });
  const name = (id: number) => {
    const tag = labels[id];
    if (tag === undefined) throw tgError('ERR_TG_ARG', `${where}: label id ${id} has no name among the ${labels.length} labels`);
    return tag;
  };
  const truthTags = truth.map((r) => r.map(name));
  const predictedTags = predicted.map((r) => r.map(name));
  return { ...entityScores(truthTags, predictedTags, options), truthTags, predictedTags };
}

/**
 * A causal language model's mean next-token loss over a source (each batch
 * weighted by its predicted tokens) and its perplexity, exp(loss).
 */
export async function evaluateLanguageModel(model: Model, source: BatchSource, { device = 'cpu' }: { device?: string } = {}): Promise<{ loss: number; perplexity: number; tokens: number }> {
  const where = 'text.evaluateLanguageModel';
  checkSource(source, where);
  const session: Session = model.compile({ device, training: false });
  let sum = 0;
  let tokens = 0;
  try {
    for await (const batch of source.batches(0)) {
      const out = await session.run(batch);
      if (!out.loss) throw tgError('ERR_TG_ARG', `${where}: the batches have no labels to compute a loss against`);
      const labels = batch.labels.data as ArrayLike<number | bigint>;
      const [n, t] = batch.labels.shape;
      // Positions 1..T-1 are predicted (the model shifts); ignored labels do not count.
      let count = 0;
      for (let i = 0; i < n; i++) for (let j = 1; j < t; j++) if (Number(labels[i * t + j]) !== IGNORE_INDEX) count++;
      sum += (out.loss.data as Float32Array)[0] * count;
      tokens += count;
    }
  } finally {
    session.dispose();
  }
  const loss = tokens ? sum / tokens : NaN;
  return { loss, perplexity: Math.exp(loss), tokens };
}

/** The index of the largest score along the last axis (ties to the lower index): (N, T, C) → N·T ids. */
export function argmaxLastAxis(logits: HostTensorLike): Int32Array {
  const where = 'text.argmaxLastAxis';
  if (logits?.dtype !== 'f32' || !Array.isArray(logits.shape) || logits.shape.length < 1) throw invalid('ERR_TG_ARG', where, 'logits', 'an f32 tensor', logits);
  const c = logits.shape[logits.shape.length - 1];
  const data = logits.data as Float32Array;
  const out = new Int32Array(c ? data.length / c : 0);
  for (let p = 0; p < out.length; p++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (data[p * c + k] > data[p * c + best]) best = k;
    out[p] = best;
  }
  return out;
}

/**
 * Tags words with a token classifier: each sentence (a list of words) is
 * tokenized, and each word takes the tag predicted at its first token;
 * words cut off by truncation get 'O'.
 */
export async function tagWords(
  model: Model,
  tokenizer: Tokenizer,
  sentences: string[][],
  labels: readonly string[],
  { maxLength, device = 'cpu' }: { maxLength?: number; device?: string } = {},
): Promise<string[][]> {
  const where = 'text.tagWords';
  if (!Array.isArray(sentences) || !sentences.every((s) => Array.isArray(s))) throw invalid('ERR_TG_ARG', where, 'sentences', 'an array of word lists', sentences);
  if (!sentences.length) return [];
  const enc = tokenizer.encodeBatch(sentences, { isSplitIntoWords: true, truncation: true, ...(maxLength ? { maxLength } : {}) });
  const ids = argmaxLastAxis(await model.predict(enc.feeds, { device }));
  const t = enc.input_ids.shape[1];
  return sentences.map((words, i) => {
    const tags = Array.from(ids.subarray(i * t, (i + 1) * t), (id) => {
      const tag = labels[id];
      if (tag === undefined) throw tgError('ERR_TG_ARG', `${where}: the model predicts label ${id}, beyond the ${labels.length} label names`);
      return tag;
    });
    return wordValues(enc.wordIds(i), tags, words.length, 'O');
  });
}
