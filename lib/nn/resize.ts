// torch.nn.Upsample: nearest or bilinear resizing to a size or by a factor.
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Model } from './module.js';
import { nodeName } from './util.js';

export interface UpsampleOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

export class Upsample extends Model {
  constructor(private readonly options: UpsampleOptions) {
    super();
    const { size, scaleFactor, mode = 'nearest', alignCorners } = options;
    if ((size === undefined) === (scaleFactor === undefined)) {
      throw invalid('ERR_TG_ARG', 'nn.Upsample', 'options', 'exactly one of size and scaleFactor', options);
    }
    if (mode !== 'nearest' && mode !== 'bilinear') throw invalid('ERR_TG_ARG', 'nn.Upsample', 'mode', "'nearest' or 'bilinear'", mode);
    if (mode === 'nearest' && alignCorners !== undefined) {
      throw invalid('ERR_TG_ARG', 'nn.Upsample', 'alignCorners', "unset with mode 'nearest' (as in PyTorch)", alignCorners);
    }
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const { size, scaleFactor, mode = 'nearest', alignCorners } = this.options;
    const two = (v: number | [number, number]) => (Array.isArray(v) ? v : [v, v]);
    const attrs: Record<string, string | boolean | number[]> = { mode };
    if (alignCorners !== undefined) attrs.align_corners = alignCorners;
    if (size !== undefined) attrs.size = two(size);
    else attrs.scale_factor = two(scaleFactor!);
    return g.op1('upsample', [x], attrs, nodeName(prefix, 'upsample'));
  }
}
