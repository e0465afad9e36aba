// Segmentation losses composed from graph ops: soft Dice (multiclass and
// binary), BCE + Dice and cross-entropy + Dice. The formulas are those of
// segmentation_models_pytorch 0.4/0.5 (losses/dice.py, _functional.py):
//
//   p = softmax(logits, dim 1) (multiclass) or sigmoid(logits) (binary),
//   both p and the targets zeroed at ignored pixels (p * mask, t * mask);
//   per class c, summing over the batch and all pixels:
//     I = Σ min(p, t)  (smp's (Σp + Σt - ‖p - t‖₁) / 2; Σ p·t for one-hot t)
//     score = (I + smooth) / max(I + ½·FP + ½·FN + smooth, eps)
//           = (I + smooth) / max(½(Σp + Σt) + smooth, eps)
//     loss_c = (1 - score) · [Σt > 0]   (classes absent from the batch's
//                                        targets contribute 0 ...)
//   loss = mean over all C classes      (... but still count in the mean).
//
// smp ≤ 0.3 used (2I + smooth) / max(Σp + Σt + smooth, eps) instead; the two
// agree for smooth = 0 (the default of both) except for where eps applies.
//
// The engine has no comparison or one-hot op, and arithmetic is f32 only, so:
//  - one-hot(target) comes from cross_entropy_backward on all-zero logits,
//    which is softmax(0) - onehot = 1/C - onehot at kept pixels and 0 at
//    ignored ones; 1 - relu(1 - relu(-4·g)) snaps that to exact 0/1 (the
//    target class has -4·g = 4 - 4/C ≥ 2, every other entry is ≤ 0). It takes
//    any ignore index and rejects out-of-range ids as cross_entropy does; C
//    (unknown when the graph is built) must be ≥ 2: one channel is bce_dice's.
//  - for integer-valued x: [x > 0] = 1 - relu(1 - x), and for integers t, k:
//    [t = k] = relu(1 - |t - k|), |d| = relu(d) + relu(-d).
//  - max(x, eps) = x + relu(eps - x) (exactly x when x ≥ eps; gradient 0 when clamped, as clamp_min).
// The target-only branches go through ones_like (not differentiable), so no
// gradient flows into them; only softmax/sigmoid(logits) carries one.
import { invalid } from './errors.js';
import type { GraphBuilder, Value } from './graph.js';

export interface DiceLossSpec {
  type: 'dice';
  /** Added to the numerator and denominator of each class's score; default 0 (smp's default). */
  smooth?: number;
  /** Floor of the denominator; default 1e-7 (smp's). */
  eps?: number;
  /** Target id whose pixels are left out; default none. */
  ignoreIndex?: number;
}

export interface BceDiceLossSpec {
  type: 'bce_dice';
  /** Default 1. */
  bceWeight?: number;
  /** Default 1. */
  diceWeight?: number;
  smooth?: number;
  eps?: number;
  /** Target value whose pixels are left out of both terms (e.g. 255 padding); default none. */
  ignoreIndex?: number;
}

export interface CrossEntropyDiceLossSpec {
  type: 'cross_entropy_dice';
  /** Default 1. */
  ceWeight?: number;
  /** Default 1. */
  diceWeight?: number;
  smooth?: number;
  eps?: number;
  /** Left out of both terms; default none (cross_entropy's -100). */
  ignoreIndex?: number;
  labelSmoothing?: number;
}

export type SegmentationLossSpec = DiceLossSpec | BceDiceLossSpec | CrossEntropyDiceLossSpec;

export const SEGMENTATION_LOSSES = ['dice', 'bce_dice', 'cross_entropy_dice'] as const;

// 2^64: scales any positive sum of soft labels (≥ 6e-20) to ≥ 1 for [x > 0], without overflowing f32.
const BIG = 2 ** 64;

function num(where: string, name: string, v: unknown, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw invalid('ERR_TG_ARG', where, name, `a finite number ≥ ${min}`, v);
  return v;
}

function ignoreOf(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid('ERR_TG_ARG', where, 'ignoreIndex', 'an integer', v);
  return v;
}

/** The operand dtype the target feed must have for this loss: class ids, or f32 for binary losses. */
export function segmentationTargetDtype(spec: SegmentationLossSpec): 'f32' | null {
  return spec.type === 'bce_dice' ? 'f32' : null;
}

class Ops {
  constructor(
    readonly g: GraphBuilder,
    readonly prefix: string,
  ) {}
  op(name: string, inputs: Value[], attrs: Record<string, number | boolean | string | number[]> = {}, node = name): Value {
    return this.g.op1(name, inputs, attrs, `${this.prefix}.${node}`);
  }
  scale(x: Value, value: number, bias = 0): Value {
    return this.op('scale', [x], { value, bias });
  }
  relu(x: Value): Value {
    return this.op('relu', [x]);
  }
  // 1 - relu(1 - x): [x > 0] for x that is 0 or ≥ 1 (integer counts).
  positive(x: Value): Value {
    return this.scale(this.relu(this.scale(x, -1, 1)), -1, 1);
  }
  // max(x, eps) = x + relu(eps - x)
  clampMin(x: Value, eps: number): Value {
    return this.op('add', [x, this.relu(this.scale(x, -1, eps))]);
  }
  sum(x: Value, axes?: number[], keepdim = false): Value {
    return this.op('sum', [x], axes ? { axes, keepdim } : {});
  }
}

// (I + smooth) / max(½(Σp + Σt) + smooth, eps), then (1 - score) · [Σt > 0], all per class.
function diceTerms(o: Ops, inter: Value, sumP: Value, sumT: Value, present: Value, smooth: number, eps: number): Value {
  const den = o.clampMin(o.scale(o.op('add', [sumP, sumT]), 0.5, smooth), eps);
  const score = o.op('div', [o.scale(inter, 1, smooth), den]);
  return o.op('mul', [o.scale(score, -1, 1), present]);
}

// logits (N, C, H, W), target (N, H, W) class ids → scalar loss (smp DiceLoss(mode='multiclass')).
function multiclassDice(o: Ops, logits: Value, target: Value, smooth: number, eps: number, ignoreIndex: number | undefined): Value {
  const ones = o.op('ones_like', [logits]); // (N, C, H, W), no gradient
  const zeros = o.scale(ones, 0);
  const dy = o.op('mean', [ones]); // scalar 1
  const g = o.op('cross_entropy_backward', [dy, zeros, target], { reduction: 'sum', ignore_index: ignoreIndex ?? -100 });
  const oneHot = o.scale(o.relu(o.scale(o.relu(o.scale(g, -4)), -1, 1)), -1, 1); // (N, C, H, W) exact 0/1, 0 rows at ignored pixels
  const valid = o.sum(oneHot, [1], true); // (N, 1, H, W)
  const p = o.op('mul', [o.op('softmax', [logits], { axis: 1 }), valid]);
  const dims = [0, 2, 3];
  const inter = o.sum(o.op('mul', [p, oneHot]), dims);
  const sumT = o.sum(oneHot, dims);
  const perClass = diceTerms(o, inter, o.sum(p, dims), sumT, o.positive(sumT), smooth, eps);
  return o.op('mean', [perClass]);
}

// logits (N, 1, H, W), target f32 (N, 1, H, W) or (N, H, W) → { dice, bce } (smp DiceLoss(mode='binary'), BCEWithLogits).
function binaryTerms(o: Ops, logits: Value, target: Value, smooth: number, eps: number, ignoreIndex: number | undefined) {
  const x = o.op('flatten', [logits], { start_dim: 1 }); // (N, H·W)
  let t = o.op('flatten', [target], { start_dim: 1 });
  let valid: Value | undefined;
  if (ignoreIndex !== undefined) {
    const d = o.scale(t, 1, -ignoreIndex);
    const dist = o.op('add', [o.relu(d), o.relu(o.scale(d, -1))]);
    valid = o.scale(o.relu(o.scale(dist, -1, 1)), -1, 1); // 1 - [t = ignoreIndex]
    t = o.op('mul', [t, valid]);
  }
  let p = o.op('sigmoid', [x]);
  if (valid) p = o.op('mul', [p, valid]);
  const inter = o.sum(o.op('sub', [p, o.relu(o.op('sub', [p, t]))])); // Σ min(p, t)
  const sumT = o.sum(t);
  const present = o.positive(o.scale(sumT, BIG));
  const dice = diceTerms(o, inter, o.sum(p), sumT, present, smooth, eps);
  let bce: Value;
  if (valid) {
    const perPixel = o.op('bce_with_logits', [x, t], { reduction: 'none' });
    bce = o.op('div', [o.sum(o.op('mul', [perPixel, valid])), o.clampMin(o.sum(valid), 1)]);
  } else {
    bce = o.op('bce_with_logits', [x, t], { reduction: 'mean' });
  }
  return { dice, bce };
}

function weighted(o: Ops, terms: Array<[Value, number]>): Value {
  const parts = terms.filter(([, w]) => w !== 0).map(([v, w]) => (w === 1 ? v : o.scale(v, w)));
  if (parts.length === 0) return o.scale(terms[0][0], 0);
  return parts.reduce((a, b) => o.op('add', [a, b]));
}

/**
 * Appends a segmentation loss to `g` and returns the scalar loss value.
 * `crossEntropy` builds the cross-entropy term of cross_entropy_dice, as the
 * session builds its own cross_entropy loss.
 */
export function segmentationLoss(
  g: GraphBuilder,
  spec: SegmentationLossSpec,
  logits: Value,
  target: Value,
  crossEntropy: (attrs: { ignoreIndex?: number; labelSmoothing?: number }) => Value,
): Value {
  const where = `compile: loss '${spec.type}'`;
  const smooth = num(where, 'smooth', spec.smooth, 0);
  const eps = num(where, 'eps', spec.eps, 1e-7);
  const ignoreIndex = ignoreOf(where, spec.ignoreIndex);
  const o = new Ops(g, `loss.${spec.type}`);
  let total: Value;
  switch (spec.type) {
    case 'dice':
      total = multiclassDice(o, logits, target, smooth, eps, ignoreIndex);
      break;
    case 'bce_dice': {
      const { dice, bce } = binaryTerms(o, logits, target, smooth, eps, ignoreIndex);
      total = weighted(o, [
        [bce, num(where, 'bceWeight', spec.bceWeight, 1)],
        [dice, num(where, 'diceWeight', spec.diceWeight, 1)],
      ]);
      break;
    }
    case 'cross_entropy_dice': {
      const ce = crossEntropy({ ignoreIndex, labelSmoothing: num(where, 'labelSmoothing', spec.labelSmoothing, 0) });
      const dice = multiclassDice(o, logits, target, smooth, eps, ignoreIndex);
      total = weighted(o, [
        [ce, num(where, 'ceWeight', spec.ceWeight, 1)],
        [dice, num(where, 'diceWeight', spec.diceWeight, 1)],
      ]);
      break;
    }
    default:
      throw invalid('ERR_TG_ARG', 'compile', 'loss.type', SEGMENTATION_LOSSES.map((s) => `'${s}'`).join(', '), (spec as { type: unknown }).type);
  }
  return total;
}
