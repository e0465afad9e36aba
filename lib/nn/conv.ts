// Convolutions, as torch.nn.Conv2d and torch.nn.ConvTranspose2d: same
// arguments, parameter names (weight, bias) and default initialisation
// (kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { uniform } from '../random.js';
import { Model } from './module.js';
import { nodeName, pair, positiveInt } from './util.js';

function checkGroups(where: string, inChannels: number, outChannels: number, groups: number): number {
  positiveInt(where, 'inChannels', inChannels);
  positiveInt(where, 'outChannels', outChannels);
  positiveInt(where, 'groups', groups);
  if (inChannels % groups || outChannels % groups) {
    throw invalid('ERR_TG_ARG', where, 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
  }
  return groups;
}

/** The weight of `shape` and an optional bias of `outChannels`, both U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
function initWeightAndBias(register: (name: string, shape: number[], init: Float32Array) => unknown, shape: number[], fanIn: number, outChannels: number, bias: boolean): void {
  const bound = 1 / Math.sqrt(fanIn);
  register('weight', shape, uniform(shape.reduce((a, b) => a * b, 1), -bound, bound));
  if (bias) register('bias', [outChannels], uniform(outChannels, -bound, bound));
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** An int, a pair, or 'same' (stride 1). */
  padding?: number | [number, number] | 'same' | 'valid';
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Model {
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true }: Conv2dOptions = {},
  ) {
    super();
    const where = 'nn.Conv2d';
    this.groups = checkGroups(where, inChannels, outChannels, groups);
    const [kh, kw] = pair(where, 'kernelSize', kernelSize, 1);
    this.stride = pair(where, 'stride', stride, 1);
    this.dilation = pair(where, 'dilation', dilation, 1);
    if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw invalid('ERR_TG_ARG', where, "padding 'same'", 'used with stride 1', this.stride);
    }
    this.padding = padding === 'same' ? 'same' : padding === 'valid' ? [0, 0] : pair(where, 'padding', padding);
    this.hasBias = bias;
    const register = this.registerParameter.bind(this);
    initWeightAndBias(register, [outChannels, inChannels / groups, kh, kw], (inChannels / groups) * kh * kw, outChannels, bias);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const inputs = this.withWeightAndBias(g, prefix, x);
    return g.op1(
      'conv2d',
      inputs,
      { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups },
      nodeName(prefix, 'conv2d'),
    );
  }
}

export interface ConvTranspose2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  outputPadding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

export class ConvTranspose2d extends Model {
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    { stride = 1, padding = 0, outputPadding = 0, dilation = 1, groups = 1, bias = true }: ConvTranspose2dOptions = {},
  ) {
    super();
    const where = 'nn.ConvTranspose2d';
    this.groups = checkGroups(where, inChannels, outChannels, groups);
    const [kh, kw] = pair(where, 'kernelSize', kernelSize, 1);
    this.stride = pair(where, 'stride', stride, 1);
    this.padding = pair(where, 'padding', padding);
    this.outputPadding = pair(where, 'outputPadding', outputPadding);
    this.dilation = pair(where, 'dilation', dilation, 1);
    this.hasBias = bias;
    // PyTorch computes fan_in from weight.size(1): outChannels / groups.
    const register = this.registerParameter.bind(this);
    initWeightAndBias(register, [inChannels, outChannels / groups, kh, kw], (outChannels / groups) * kh * kw, outChannels, bias);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const inputs = this.withWeightAndBias(g, prefix, x);
    return g.op1(
      'conv_transpose2d',
      inputs,
      {
        stride: this.stride,
        padding: this.padding,
        output_padding: this.outputPadding,
        dilation: this.dilation,
        groups: this.groups,
      },
      nodeName(prefix, 'conv_transpose2d'),
    );
  }
}
