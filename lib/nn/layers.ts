// The first tg.nn layers, mirroring torch.nn: class names, positional
// arguments, parameter names ("weight", "bias") and default initialisation
// (Linear: kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(in), 1/sqrt(in)) for the bias).
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { uniform } from '../random.js';
import { Model } from './module.js';

function positiveInt(where: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw invalid('ERR_TG_ARG', where, name, 'a positive integer', v);
  return v as number;
}

export class Linear extends Model {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(inFeatures: number, outFeatures: number, { bias = true }: { bias?: boolean } = {}) {
    super();
    this.inFeatures = positiveInt('nn.Linear', 'inFeatures', inFeatures);
    this.outFeatures = positiveInt('nn.Linear', 'outFeatures', outFeatures);
    this.hasBias = bias;
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('weight', [outFeatures, inFeatures], uniform(outFeatures * inFeatures, -bound, bound));
    if (bias) this.registerParameter('bias', [outFeatures], uniform(outFeatures, -bound, bound));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op1('linear', this.withWeightAndBias(g, prefix, x), {}, prefix.slice(0, -1) || 'linear');
  }
}

/** A parameter-free layer that applies one op. */
abstract class Pointwise extends Model {
  protected abstract readonly op: string;
  protected attrs(): Record<string, number | string | boolean> {
    return {};
  }
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op1(this.op, [x], this.attrs(), prefix.slice(0, -1) || this.op);
  }
}

export class ReLU extends Pointwise {
  protected readonly op = 'relu';
}
export class SiLU extends Pointwise {
  protected readonly op = 'silu';
}
export class Sigmoid extends Pointwise {
  protected readonly op = 'sigmoid';
}
export class Tanh extends Pointwise {
  protected readonly op = 'tanh';
}

export class GELU extends Pointwise {
  protected readonly op = 'gelu';
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw invalid('ERR_TG_ARG', 'nn.GELU', 'approximate', "'none' or 'tanh'", approximate);
    }
  }
  protected override attrs() {
    return { approximate: this.approximate };
  }
}

/** FNV-1a of a module path: each Dropout draws its own reproducible stream. */
export function pathSeed(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Zeroes elements with probability p while training (scaling the rest by
 * 1/(1-p)); identity in eval mode. Masks depend on the module path and the
 * step, so runs are reproducible and every step draws a new mask.
 */
export class Dropout extends Model {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw invalid('ERR_TG_ARG', 'nn.Dropout', 'p', 'a probability in [0, 1)', p);
  }
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const name = prefix.slice(0, -1) || 'dropout';
    return g.op('dropout', [x], { p: this.p, seed: pathSeed(name) }, name)[0];
  }
}

export class Flatten extends Model {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op1('flatten', [x], { start_dim: this.startDim, end_dim: this.endDim }, prefix.slice(0, -1) || 'flatten');
  }
}

/** Children named "0", "1", ... applied in order. */
export class Sequential extends Model {
  readonly layers: Model[];
  constructor(...layers: Model[]) {
    super();
    layers.forEach((l, i) => {
      if (!(l instanceof Model)) throw invalid('ERR_TG_ARG', 'nn.Sequential', `layer ${i}`, 'a tg.nn layer', l);
      this.registerModule(String(i), l);
    });
    this.layers = layers;
  }
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.layers.reduce((v, l, i) => l.build(g, v, `${prefix}${i}.`), x);
  }

  /** Puts `layer` in place of layer `index` (PyTorch: seq[index] = layer). */
  replaceLayer(index: number, layer: Model): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.layers.length) {
      throw invalid('ERR_TG_ARG', 'nn.Sequential.replaceLayer', 'index', `an index below ${this.layers.length}`, index);
    }
    this.layers[index] = this.replaceModule(String(index), layer);
  }
}
