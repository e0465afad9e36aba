// Convolutions, as torch.nn.Conv2d and torch.nn.ConvTranspose2d: same
// arguments, parameter names (weight, bias) and default initialisation
// (kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { uniform } from '../random.js';
import { Model } from './module.js';
import { nodeName, pair, positiveInt } from './util.js';

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
    positiveInt(where, 'inChannels', inChannels);
    positiveInt(where, 'outChannels', outChannels);
    this.groups = positiveInt(where, 'groups', groups);
    if (inChannels % groups || outChannels % groups) {
      throw invalid('ERR_TG_ARG', where, 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
    }
    const [kh, kw] = pair(where, 'kernelSize', kernelSize, 1);
    this.stride = pair(where, 'stride', stride, 1);
    this.dilation = pair(where, 'dilation', dilation, 1);
    if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw invalid('ERR_TG_ARG', where, "padding 'same'", 'used with stride 1', this.stride);
    }
    this.padding = padding === 'same' ? 'same' : padding === 'valid' ? [0, 0] : pair(where, 'padding', padding);
    this.hasBias = bias;
    const fanIn = (inChannels / groups) * kh * kw;
    const bound = 1 / Math.sqrt(fanIn);
    const shape = [outChannels, inChannels / groups, kh, kw];
    this.registerParameter('weight', shape, uniform(shape.reduce((a, b) => a * b, 1), -bound, bound));
    if (bias) this.registerParameter('bias', [outChannels], uniform(outChannels, -bound, bound));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const inputs = [x, this.paramValue(g, prefix, 'weight')];
    if (this.hasBias) inputs.push(this.paramValue(g, prefix, 'bias'));
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
    positiveInt(where, 'inChannels', inChannels);
    positiveInt(where, 'outChannels', outChannels);
    this.groups = positiveInt(where, 'groups', groups);
    if (inChannels % groups || outChannels % groups) {
      throw invalid('ERR_TG_ARG', where, 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
    }
    const [kh, kw] = pair(where, 'kernelSize', kernelSize, 1);
    this.stride = pair(where, 'stride', stride, 1);
    this.padding = pair(where, 'padding', padding);
    this.outputPadding = pair(where, 'outputPadding', outputPadding);
    this.dilation = pair(where, 'dilation', dilation, 1);
    this.hasBias = bias;
    // PyTorch computes fan_in from weight.size(1): outChannels / groups.
    const bound = 1 / Math.sqrt((outChannels / groups) * kh * kw);
    const shape = [inChannels, outChannels / groups, kh, kw];
    this.registerParameter('weight', shape, uniform(shape.reduce((a, b) => a * b, 1), -bound, bound));
    if (bias) this.registerParameter('bias', [outChannels], uniform(outChannels, -bound, bound));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const inputs = [x, this.paramValue(g, prefix, 'weight')];
    if (this.hasBias) inputs.push(this.paramValue(g, prefix, 'bias'));
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
