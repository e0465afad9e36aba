// Classification metrics (tg.metrics): pure functions of logits and targets,
// with scikit-learn's definitions, plus an accumulator that sums the same
// counts over batches so that an evaluation over many batches gives exactly
// the figures of one call over all the data.
//
// Logits are (N, C) or (N, C, ...) as the models output them (segmentation
// maps included: every position counts as one sample); targets are class ids
// of shape (N) or (N, ...). Targets equal to ignoreIndex (default -100, the
// cross-entropy default) are left out.
import { invalid, tgError } from '../errors.js';
import type { HostTensorLike } from '../tensor.js';

export type Logits = HostTensorLike;
/** Class ids: an integer tensor, a typed array or a plain array. */
export type Targets = HostTensorLike | ArrayLike<number> | BigInt64Array;

export interface MetricOptions {
  /** Targets with this value are not counted (default -100). */
  ignoreIndex?: number;
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

export interface PerClassScores {
  precision: number[];
  recall: number[];
  f1: number[];
  /** How many targets of each class there were. */
  support: number[];
}

export interface ClassScores {
  perClass: PerClassScores;
  /** Unweighted mean over the classes that occur as a target or a prediction. */
  macro: PrecisionRecallF1;
  /** Mean weighted by support. */
  weighted: PrecisionRecallF1;
}

export interface ClassificationReport extends ClassScores {
  /** Samples counted (positions, for dense outputs). */
  count: number;
  accuracy: number;
  /** Top-k accuracy by k. */
  topK: Record<number, number>;
  /** confusionMatrix[true][predicted]. */
  confusionMatrix: number[][];
}

// A (N, C, R...) score tensor seen as positions p = n * R + r with C scores each.
interface ScoreView {
  positions: number;
  classes: number;
  inner: number;
  data: ArrayLike<number>;
}

function scoresOf(logits: Logits, where: string): ScoreView {
  if (typeof logits !== 'object' || logits === null || !('shape' in logits) || !('data' in logits)) {
    throw invalid('ERR_TG_ARG', where, 'logits', 'a tensor of shape (N, C) or (N, C, ...)', logits);
  }
  if (logits.dtype !== 'f32') throw invalid('ERR_TG_DTYPE', where, 'logits', 'an f32 tensor', logits.dtype);
  if (logits.shape.length < 2) throw invalid('ERR_TG_SHAPE', where, 'logits', 'of shape (N, C) or (N, C, ...)', logits.shape);
  const [n, classes, ...rest] = logits.shape;
  if (classes < 1) throw invalid('ERR_TG_SHAPE', where, 'logits', 'at least one class wide', logits.shape);
  const inner = rest.reduce((a, b) => a * b, 1);
  return { positions: n * inner, classes, inner, data: logits.data as Float32Array };
}

function labelsOf(targets: Targets, count: number, where: string): (i: number) => number {
  let data: ArrayLike<number | bigint>;
  if (typeof targets === 'object' && targets !== null && 'shape' in targets && 'dtype' in targets) {
    if (!['i32', 'i64', 'u8'].includes(targets.dtype)) {
      throw invalid('ERR_TG_DTYPE', where, 'targets', 'class ids (i32, i64 or u8)', targets.dtype);
    }
    data = targets.data as ArrayLike<number | bigint>;
  } else if (targets !== null && typeof targets === 'object' && 'length' in targets) {
    data = targets;
  } else {
    throw invalid('ERR_TG_ARG', where, 'targets', 'class ids (a tensor or an array)', targets);
  }
  if (data.length !== count) {
    throw tgError('ERR_TG_SHAPE', `${where}: ${count} predictions but ${data.length} targets`);
  }
  return (i) => Number(data[i]);
}

function lengthOf(x: Targets): number {
  if (typeof x !== 'object' || x === null) return 0;
  return 'data' in x ? x.data.length : x.length;
}

function checkLabel(label: number, classes: number, i: number, where: string): void {
  if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
    throw tgError('ERR_TG_ARG', `${where}: target ${i} is ${label}, outside the ${classes} classes`);
  }
}

function score(v: ScoreView, p: number, k: number): number {
  const n = Math.floor(p / v.inner);
  return v.data[(n * v.classes + k) * v.inner + (p % v.inner)];
}

function predictAt(v: ScoreView, p: number): number {
  let best = 0;
  let bestScore = score(v, p, 0);
  for (let k = 1; k < v.classes; k++) {
    const s = score(v, p, k);
    // Strictly greater: ties go to the lower class id, as torch.argmax does.
    if (s > bestScore) {
      best = k;
      bestScore = s;
    }
  }
  return best;
}

// The place of the target in the ranking, with ties broken towards lower class
// ids exactly as predictAt breaks them, so that top-1 equals accuracy.
function rankOf(v: ScoreView, p: number, target: number): number {
  const t = score(v, p, target);
  if (Number.isNaN(t)) return v.classes; // a NaN score is never a hit
  let rank = 0;
  for (let k = 0; k < v.classes; k++) {
    const s = score(v, p, k);
    if (s > t || (s === t && k < target)) rank++;
  }
  return rank;
}

/** The predicted class (first maximum) of each sample: (N) or (N, ...) as a flat Int32Array. */
export function argmax(logits: Logits): Int32Array {
  const v = scoresOf(logits, 'metrics.argmax');
  const out = new Int32Array(v.positions);
  for (let p = 0; p < v.positions; p++) out[p] = predictAt(v, p);
  return out;
}

function checkK(where: string, k: number): void {
  if (!(Number.isInteger(k) && k >= 1)) throw invalid('ERR_TG_ARG', where, 'k', 'an integer >= 1', k);
}

/**
 * Sums of the counts every metric here derives from; add() batch after batch,
 * then report(). Metrics of the whole stay exact however the data is split.
 */
export class ClassificationMeter {
  private confusion?: number[][];
  private correct = 0;
  private total = 0;
  private readonly topCorrect: number[];

  constructor(
    private readonly options: MetricOptions & { topK?: number[]; numClasses?: number } = {},
  ) {
    for (const k of options.topK ?? []) checkK('metrics.ClassificationMeter', k);
    this.topCorrect = (options.topK ?? []).map(() => 0);
    if (options.numClasses !== undefined) this.confusion = square(options.numClasses);
  }

  /** Counts one batch: logits (N, C, ...) against targets (N, ...). */
  add(logits: Logits, targets: Targets): this {
    const where = 'metrics.ClassificationMeter.add';
    const v = scoresOf(logits, where);
    const label = labelsOf(targets, v.positions, where);
    this.confusion ??= square(v.classes);
    if (this.confusion.length !== v.classes) {
      throw tgError('ERR_TG_SHAPE', `${where}: logits have ${v.classes} classes, earlier batches ${this.confusion.length}`);
    }
    const ignore = this.options.ignoreIndex ?? -100;
    const ks = this.options.topK ?? [];
    for (let p = 0; p < v.positions; p++) {
      const t = label(p);
      if (t === ignore) continue;
      checkLabel(t, v.classes, p, where);
      const predicted = predictAt(v, p);
      this.confusion[t][predicted]++;
      this.total++;
      if (predicted === t) this.correct++;
      if (ks.length) {
        const rank = rankOf(v, p, t);
        ks.forEach((k, i) => {
          if (rank < k) this.topCorrect[i]++;
        });
      }
    }
    return this;
  }

  get count(): number {
    return this.total;
  }

  report(): ClassificationReport {
    const confusion = this.confusion ?? [];
    const topK: Record<number, number> = {};
    (this.options.topK ?? []).forEach((k, i) => {
      topK[k] = this.topCorrect[i] / this.total;
    });
    return {
      count: this.total,
      accuracy: this.correct / this.total,
      topK,
      confusionMatrix: confusion.map((row) => [...row]),
      ...precisionRecallF1(confusion),
    };
  }
}

function square(n: number): number[][] {
  if (!(Number.isInteger(n) && n >= 1)) throw invalid('ERR_TG_ARG', 'metrics', 'numClasses', 'an integer >= 1', n);
  return Array.from({ length: n }, () => new Array<number>(n).fill(0));
}

/** The share of samples whose first-maximum class is the target (NaN when nothing is counted). */
export function accuracy(logits: Logits, targets: Targets, options: MetricOptions = {}): number {
  return new ClassificationMeter(options).add(logits, targets).report().accuracy;
}

/** The share of samples whose target is among the k highest scores (ties to lower class ids). */
export function topKAccuracy(logits: Logits, targets: Targets, k: number, options: MetricOptions = {}): number {
  checkK('metrics.topKAccuracy', k);
  return new ClassificationMeter({ ...options, topK: [k] }).add(logits, targets).report().topK[k];
}

/**
 * confusion[true][predicted] from logits (an f32 tensor), or from predicted
 * class ids (integers) with numClasses (default: the largest id seen + 1).
 */
export function confusionMatrix(
  predictions: Logits | Targets,
  targets: Targets,
  options: MetricOptions & { numClasses?: number } = {},
): number[][] {
  const where = 'metrics.confusionMatrix';
  if (typeof predictions === 'object' && predictions !== null && 'dtype' in predictions && predictions.dtype === 'f32') {
    return new ClassificationMeter(options).add(predictions as Logits, targets).report().confusionMatrix;
  }
  const count = lengthOf(predictions as Targets);
  const ids = labelsOf(predictions as Targets, count, where);
  const truth = labelsOf(targets, count, where);
  const ignore = options.ignoreIndex ?? -100;
  let classes = options.numClasses ?? 0;
  if (options.numClasses === undefined) {
    for (let i = 0; i < count; i++) if (truth(i) !== ignore) classes = Math.max(classes, ids(i) + 1, truth(i) + 1);
  }
  const m = square(Math.max(classes, 1));
  for (let i = 0; i < count; i++) {
    const t = truth(i);
    if (t === ignore) continue;
    checkLabel(t, m.length, i, where);
    const p = ids(i);
    if (!(Number.isInteger(p) && p >= 0 && p < m.length)) {
      throw tgError('ERR_TG_ARG', `${where}: prediction ${i} is ${p}, outside the ${m.length} classes`);
    }
    m[t][p]++;
  }
  return m;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

/**
 * Per-class precision, recall and F1 from a confusion matrix, with macro and
 * support-weighted averages. A zero denominator gives 0, as scikit-learn's
 * zero_division default; the macro average, like scikit-learn's, runs over
 * the classes present among the targets or the predictions.
 */
export function precisionRecallF1(confusion: number[][]): ClassScores {
  const c = confusion.length;
  const perClass: PerClassScores = { precision: [], recall: [], f1: [], support: [] };
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  let present = 0;
  let total = 0;
  for (let k = 0; k < c; k++) {
    if (!Array.isArray(confusion[k]) || confusion[k].length !== c) {
      throw invalid('ERR_TG_ARG', 'metrics.precisionRecallF1', 'confusion', `a ${c}x${c} matrix`, confusion[k]);
    }
    const tp = confusion[k][k];
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < c; j++) {
      support += confusion[k][j];
      predicted += confusion[j][k];
    }
    const p = ratio(tp, predicted);
    const r = ratio(tp, support);
    const f = ratio(2 * p * r, p + r);
    perClass.precision.push(p);
    perClass.recall.push(r);
    perClass.f1.push(f);
    perClass.support.push(support);
    if (support > 0 || predicted > 0) {
      present++;
      macro.precision += p;
      macro.recall += r;
      macro.f1 += f;
    }
    total += support;
    weighted.precision += p * support;
    weighted.recall += r * support;
    weighted.f1 += f * support;
  }
  for (const key of ['precision', 'recall', 'f1'] as const) {
    macro[key] = ratio(macro[key], present);
    weighted[key] = ratio(weighted[key], total);
  }
  return { perClass, macro, weighted };
}

/** Everything above at once, for one batch of logits and targets. */
export function classificationReport(
  logits: Logits,
  targets: Targets,
  options: MetricOptions & { topK?: number[] } = {},
): ClassificationReport {
  return new ClassificationMeter(options).add(logits, targets).report();
}

// Segmentation: mIoU, Dice and pixel accuracy from a confusion matrix (tg.metrics.SegmentationMeter).
export * from './seg-metrics.js';
