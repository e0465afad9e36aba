// Semantic segmentation metrics from a confusion matrix summed over batches,
// with mmsegmentation's definitions (mmseg/evaluation/metrics/iou_metric.py,
// IoUMetric.total_area_to_metrics), per class c over all counted pixels:
//   IoU_c  = |pred=c ∧ true=c| / |pred=c ∨ true=c|
//   Dice_c = 2 |pred=c ∧ true=c| / (|pred=c| + |true=c|)
//   Acc_c  = |pred=c ∧ true=c| / |true=c|
//   pixel accuracy (mmseg's aAcc) = correct pixels / counted pixels.
// A class absent from both the targets and the predictions has IoU and Dice
// NaN (0/0), and the means (mIoU, mDice, mAcc) skip NaN entries as mmseg's
// np.nanmean: they run over the classes present in the target or the
// prediction. Pixels whose target is ignoreIndex are not counted at all.
//
// Logits (N, C, H, W) are turned into classes by argmax over C (ties to the
// lower id, as torch.argmax); a single channel (N, 1, H, W) is binary
// segmentation: class 1 where the logit is > 0 (sigmoid > 0.5), and the
// report has two classes, background 0 and foreground 1 (mmseg with
// num_classes = 2; the foreground IoU alone, what torchmetrics'
// BinaryJaccardIndex reports, is perClass.iou[1]). Targets are (N, H, W) or
// (N, 1, H, W) class ids; binary targets may also be f32 in [0, 1] (≥ 0.5 is
// foreground).
import { invalid, tgError } from '../errors.js';
import type { HostTensorLike } from '../tensor.js';

export interface SegmentationMetricOptions {
  /** Target value left out (default 255, mmseg's and VOC's). */
  ignoreIndex?: number;
  /** Fixes the class count (else taken from the logits: C, or 2 for one channel). */
  numClasses?: number;
}

export interface SegmentationReport {
  numClasses: number;
  /** Pixels counted (targets other than ignoreIndex). */
  pixels: number;
  /** Correct pixels / counted pixels (NaN when none). */
  pixelAccuracy: number;
  /** Mean IoU over the classes present in the targets or predictions. */
  miou: number;
  /** Mean Dice over the same classes. */
  dice: number;
  /** Mean per-class accuracy over the classes present in the targets. */
  meanAccuracy: number;
  perClass: {
    /** NaN for a class in neither the targets nor the predictions. */
    iou: number[];
    dice: number[];
    /** Recall of each class; NaN when it has no target pixels. */
    accuracy: number[];
    /** Target pixels of each class. */
    support: number[];
  };
  /** confusionMatrix[true][predicted], in pixels. */
  confusionMatrix: number[][];
}

function nanMean(values: number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    n++;
  }
  return n ? sum / n : NaN;
}

/** The report of a confusion matrix (confusion[true][predicted]). */
export function segmentationScores(confusion: number[][]): SegmentationReport {
  const c = confusion.length;
  const iou: number[] = [];
  const dice: number[] = [];
  const accuracy: number[] = [];
  const support: number[] = [];
  let correct = 0;
  let pixels = 0;
  for (let k = 0; k < c; k++) {
    if (!Array.isArray(confusion[k]) || confusion[k].length !== c) {
      throw invalid('ERR_TG_ARG', 'metrics.segmentationScores', 'confusion', `a ${c}x${c} matrix`, confusion[k]);
    }
    const tp = confusion[k][k];
    let label = 0;
    let pred = 0;
    for (let j = 0; j < c; j++) {
      label += confusion[k][j];
      pred += confusion[j][k];
    }
    const union = label + pred - tp;
    iou.push(union > 0 ? tp / union : NaN);
    dice.push(label + pred > 0 ? (2 * tp) / (label + pred) : NaN);
    accuracy.push(label > 0 ? tp / label : NaN);
    support.push(label);
    correct += tp;
    pixels += label;
  }
  return {
    numClasses: c,
    pixels,
    pixelAccuracy: pixels > 0 ? correct / pixels : NaN,
    miou: nanMean(iou),
    dice: nanMean(dice),
    meanAccuracy: nanMean(accuracy),
    perClass: { iou, dice, accuracy, support },
    confusionMatrix: confusion.map((row) => [...row]),
  };
}

// Targets (N, ...spatial) or (N, 1, ...spatial) for logits (N, C, ...spatial).
function targetsMatch(logits: readonly number[], targets: readonly number[]): boolean {
  const [n, , ...spatial] = logits;
  if (targets[0] !== n) return false;
  const rest = targets[1] === 1 && targets.length === logits.length ? targets.slice(2) : targets.slice(1);
  return rest.length === spatial.length && rest.every((d, i) => d === spatial[i]);
}

/**
 * Whether SegmentationMeter can count this pair: logits (N, C, H, W) with
 * targets (N, H, W) or (N, 1, H, W), class ids, or f32 for one channel.
 */
export function isSegmentationPair(logits: HostTensorLike, targets: HostTensorLike): boolean {
  if (logits.dtype !== 'f32' || logits.shape.length !== 4 || !targetsMatch(logits.shape, targets.shape)) return false;
  return ['i32', 'i64', 'u8'].includes(targets.dtype) || (targets.dtype === 'f32' && logits.shape[1] === 1);
}

/** Sums a confusion matrix over batches of (N, C, H, W) logits and (N, H, W) targets; report() at the end. */
export class SegmentationMeter {
  private confusion?: Float64Array;
  private classes = 0;
  private readonly ignoreIndex: number;

  constructor(private readonly options: SegmentationMetricOptions = {}) {
    const where = 'metrics.SegmentationMeter';
    this.ignoreIndex = options.ignoreIndex ?? 255;
    if (!Number.isSafeInteger(this.ignoreIndex)) throw invalid('ERR_TG_ARG', where, 'ignoreIndex', 'an integer', options.ignoreIndex);
    if (options.numClasses !== undefined) {
      if (!(Number.isSafeInteger(options.numClasses) && options.numClasses >= 1)) {
        throw invalid('ERR_TG_ARG', where, 'numClasses', 'a positive integer', options.numClasses);
      }
      this.start(options.numClasses);
    }
  }

  private start(classes: number): void {
    this.classes = classes;
    this.confusion = new Float64Array(classes * classes);
  }

  /** Counts one batch: logits (N, C, H, W) or (N, 1, H, W), targets (N, H, W) or (N, 1, H, W). */
  add(logits: HostTensorLike, targets: HostTensorLike): this {
    const where = 'metrics.SegmentationMeter.add';
    if (typeof logits !== 'object' || logits === null || !('shape' in logits) || logits.dtype !== 'f32' || logits.shape.length < 3) {
      throw invalid('ERR_TG_ARG', where, 'logits', 'an f32 tensor (N, C, H, W)', logits);
    }
    if (typeof targets !== 'object' || targets === null || !('shape' in targets) || !['i32', 'i64', 'u8', 'f32'].includes(targets.dtype)) {
      throw invalid('ERR_TG_ARG', where, 'targets', 'a tensor (N, H, W) of class ids', targets);
    }
    const [n, c, ...spatial] = logits.shape;
    const binary = c === 1;
    const inner = spatial.reduce((a, b) => a * b, 1);
    if (!targetsMatch(logits.shape, targets.shape)) {
      throw tgError('ERR_TG_SHAPE', `${where}: targets [${targets.shape.join(', ')}] do not match logits [${logits.shape.join(', ')}] (expected [${[n, ...spatial].join(', ')}])`);
    }
    if (targets.dtype === 'f32' && !binary) {
      throw invalid('ERR_TG_DTYPE', where, 'targets', 'class ids (i32, i64 or u8) for multi-class logits', targets.dtype);
    }
    const classes = binary ? 2 : c;
    if (!this.confusion) this.start(classes);
    if (classes !== this.classes) {
      throw tgError('ERR_TG_SHAPE', `${where}: logits give ${classes} classes, the meter counts ${this.classes}`);
    }
    const x = logits.data as Float32Array;
    const t = targets.data as ArrayLike<number | bigint>;
    const m = this.confusion!;
    const ignore = this.ignoreIndex;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        const p = b * inner + i;
        const raw = Number(t[p]);
        if (raw === ignore) continue;
        let truth: number;
        if (targets.dtype === 'f32') truth = raw >= 0.5 ? 1 : 0;
        else {
          truth = raw;
          if (!(Number.isInteger(truth) && truth >= 0 && truth < classes)) {
            throw tgError('ERR_TG_ARG', `${where}: target ${p} is ${raw}, outside the ${classes} classes (ignoreIndex ${ignore})`);
          }
        }
        let pred: number;
        if (binary) pred = x[p] > 0 ? 1 : 0;
        else {
          const base = b * c * inner + i;
          pred = 0;
          let best = x[base];
          for (let k = 1; k < c; k++) {
            const s = x[base + k * inner];
            if (s > best) {
              best = s;
              pred = k;
            }
          }
        }
        m[truth * classes + pred]++;
      }
    }
    return this;
  }

  /** The counts so far as a confusion matrix (confusion[true][predicted]). */
  get confusionMatrix(): number[][] {
    const k = this.classes;
    return Array.from({ length: k }, (_, i) => Array.from(this.confusion!.subarray(i * k, (i + 1) * k)));
  }

  report(): SegmentationReport {
    if (!this.confusion) throw tgError('ERR_TG_ARG', 'metrics.SegmentationMeter.report: nothing was added and numClasses was not given');
    return segmentationScores(this.confusionMatrix);
  }
}

/** Everything above for one batch of logits and targets. */
export function segmentationReport(logits: HostTensorLike, targets: HostTensorLike, options: SegmentationMetricOptions = {}): SegmentationReport {
  return new SegmentationMeter(options).add(logits, targets).report();
}

/** mIoU of one batch (mmseg's: the mean over classes in the targets or predictions). */
export function meanIoU(logits: HostTensorLike, targets: HostTensorLike, options: SegmentationMetricOptions = {}): number {
  return segmentationReport(logits, targets, options).miou;
}
