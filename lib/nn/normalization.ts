// Normalization layers, as torch.nn.BatchNorm1d/2d, LayerNorm and GroupNorm:
// same arguments, parameter and buffer names (weight, bias, running_mean,
// running_var, num_batches_tracked) and initial values.
import { invalid } from '../errors.js';
import type { Attrs, GraphBuilder, Value } from '../graph.js';
import { Tensor } from '../tensor.js';
import { Model } from './module.js';
import { nodeName, positiveInt } from './util.js';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalization over the channel dimension of (N, C, ...) inputs. In
 * training mode it normalises with the batch statistics and updates the
 * running ones; in eval mode, and whenever its own parameters are frozen (the
 * usual transfer-learning choice), it uses the running statistics. With
 * trackRunningStats false it always uses the batch's, as PyTorch does.
 * (PyTorch's momentum=None, a cumulative average, is not supported.)
 */
export class BatchNorm2d extends Model {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true }: BatchNormOptions = {},
  ) {
    super();
    const where = `nn.${this.constructor.name}`;
    positiveInt(where, 'numFeatures', numFeatures);
    if (!(eps > 0)) throw invalid('ERR_TG_ARG', where, 'eps', 'a number > 0', eps);
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
      // null would be PyTorch's cumulative average, which the op does not do.
      throw invalid('ERR_TG_ARG', where, 'momentum', 'a number in [0, 1] (a cumulative average is not supported)', momentum);
    }
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    if (affine) {
      this.registerParameter('weight', [numFeatures], new Float32Array(numFeatures).fill(1));
      this.registerParameter('bias', [numFeatures], new Float32Array(numFeatures));
    }
    // Without tracking, the statistics are always the batch's (in eval mode
    // too) and PyTorch has no running buffers: ours stay out of the state
    // dict, read by the op but never in place of the batch's.
    const persistent = trackRunningStats;
    this.registerBuffer('running_mean', new Tensor(new Float32Array(numFeatures), [numFeatures], 'f32'), { persistent });
    this.registerBuffer('running_var', new Tensor(new Float32Array(numFeatures).fill(1), [numFeatures], 'f32'), {
      persistent,
    });
    if (trackRunningStats) this.registerBuffer('num_batches_tracked', new Tensor(new BigInt64Array(1), [], 'i64'));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const name = nodeName(prefix, 'batch_norm');
    // F.batch_norm's order: the optional affine parameters come last.
    const inputs = [x, this.bufferValue(g, prefix, 'running_mean'), this.bufferValue(g, prefix, 'running_var')];
    if (this.affine) inputs.push(this.paramValue(g, prefix, 'weight'), this.paramValue(g, prefix, 'bias'));
    const frozen = this.affine && this.ownParametersFrozen();
    const attrs: Attrs = this.trackRunningStats
      ? { momentum: this.momentum, eps: this.eps, use_running_stats: frozen }
      : { momentum: this.momentum, eps: this.eps, use_batch_stats: true };
    const [y, , , mean, variance] = g.op('batch_norm', inputs, attrs, name);
    if (this.trackRunningStats && !frozen) {
      g.update(prefix + 'running_mean', mean);
      g.update(prefix + 'running_var', variance);
    }
    return y;
  }

  protected override onTrainingStep(): void {
    if (!this.trackRunningStats || (this.affine && this.ownParametersFrozen())) return;
    const count = this.buffer('num_batches_tracked').data as BigInt64Array;
    count[0] += 1n;
  }
}

/** BatchNorm over (N, C) or (N, C, L) inputs: the same op as BatchNorm2d. */
export class BatchNorm1d extends BatchNorm2d {}

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
}

export class LayerNorm extends Model {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly affine: boolean;

  constructor(normalizedShape: number | number[], { eps = 1e-5, elementwiseAffine = true }: LayerNormOptions = {}) {
    super();
    const shape = Array.isArray(normalizedShape) ? normalizedShape : [normalizedShape];
    shape.forEach((d, i) => positiveInt('nn.LayerNorm', `normalizedShape[${i}]`, d));
    this.normalizedShape = shape;
    this.eps = eps;
    this.affine = elementwiseAffine;
    const n = shape.reduce((a, b) => a * b, 1);
    if (elementwiseAffine) {
      this.registerParameter('weight', shape, new Float32Array(n).fill(1));
      this.registerParameter('bias', shape, new Float32Array(n));
    }
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op('layer_norm', this.withWeightAndBias(g, prefix, x), { normalized_shape: this.normalizedShape, eps: this.eps }, nodeName(prefix, 'layer_norm'))[0];
  }
}

export interface GroupNormOptions {
  eps?: number;
  affine?: boolean;
}

export class GroupNorm extends Model {
  readonly eps: number;
  readonly affine: boolean;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    { eps = 1e-5, affine = true }: GroupNormOptions = {},
  ) {
    super();
    positiveInt('nn.GroupNorm', 'numGroups', numGroups);
    positiveInt('nn.GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups) {
      throw invalid('ERR_TG_ARG', 'nn.GroupNorm', 'numChannels', `divisible by numGroups (${numGroups})`, numChannels);
    }
    this.eps = eps;
    this.affine = affine;
    if (affine) {
      this.registerParameter('weight', [numChannels], new Float32Array(numChannels).fill(1));
      this.registerParameter('bias', [numChannels], new Float32Array(numChannels));
    }
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op('group_norm', this.withWeightAndBias(g, prefix, x), { num_groups: this.numGroups, eps: this.eps }, nodeName(prefix, 'group_norm'))[0];
  }
}
