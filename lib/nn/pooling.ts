// Pooling layers, as torch.nn.MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and
// AdaptiveMaxPool2d (no parameters).
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Model } from './module.js';
import { nodeName, pair } from './util.js';

export interface MaxPool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceilMode?: boolean;
}

export class MaxPool2d extends Model {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: number | [number, number], { stride, padding = 0, dilation = 1, ceilMode = false }: MaxPool2dOptions = {}) {
    super();
    const where = 'nn.MaxPool2d';
    this.kernelSize = pair(where, 'kernelSize', kernelSize, 1);
    this.stride = stride === undefined ? this.kernelSize : pair(where, 'stride', stride, 1);
    this.padding = pair(where, 'padding', padding);
    this.dilation = pair(where, 'dilation', dilation, 1);
    this.ceilMode = ceilMode;
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const attrs = {
      kernel_size: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceil_mode: this.ceilMode,
    };
    return g.op('max_pool2d', [x], attrs, nodeName(prefix, 'max_pool2d'))[0];
  }
}

export interface AvgPool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
}

export class AvgPool2d extends Model {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(
    kernelSize: number | [number, number],
    private readonly options: AvgPool2dOptions = {},
  ) {
    super();
    const where = 'nn.AvgPool2d';
    this.kernelSize = pair(where, 'kernelSize', kernelSize, 1);
    this.stride = options.stride === undefined ? this.kernelSize : pair(where, 'stride', options.stride, 1);
    this.padding = pair(where, 'padding', options.padding ?? 0);
    if (options.divisorOverride !== undefined && !(Number.isInteger(options.divisorOverride) && options.divisorOverride > 0)) {
      throw invalid('ERR_TG_ARG', where, 'divisorOverride', 'a positive integer', options.divisorOverride);
    }
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const attrs: Record<string, number | boolean | number[]> = {
      kernel_size: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      ceil_mode: this.options.ceilMode ?? false,
      count_include_pad: this.options.countIncludePad ?? true,
    };
    if (this.options.divisorOverride !== undefined) attrs.divisor_override = this.options.divisorOverride;
    return g.op1('avg_pool2d', [x], attrs, nodeName(prefix, 'avg_pool2d'));
  }
}

export class AdaptiveAvgPool2d extends Model {
  readonly outputSize: [number, number];
  constructor(outputSize: number | [number, number]) {
    super();
    this.outputSize = pair('nn.AdaptiveAvgPool2d', 'outputSize', outputSize, 1);
  }
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op1('adaptive_avg_pool2d', [x], { output_size: this.outputSize }, nodeName(prefix, 'adaptive_avg_pool2d'));
  }
}

export class AdaptiveMaxPool2d extends Model {
  readonly outputSize: [number, number];
  constructor(outputSize: number | [number, number]) {
    super();
    this.outputSize = pair('nn.AdaptiveMaxPool2d', 'outputSize', outputSize, 1);
  }
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op('adaptive_max_pool2d', [x], { output_size: this.outputSize }, nodeName(prefix, 'adaptive_max_pool2d'))[0];
  }
}
