// VGG as torchvision.models.vgg builds it: `features` (3×3 convolutions,
// optionally with BatchNorm, and 2×2 max pools, numbered as one Sequential),
// `avgpool` to 7×7 and the three-layer `classifier`, with torchvision's
// module names and initialisation.
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Model, ReLU, Sequential } from '../nn/index.js';
import { checkNumClasses, type HeadOptions } from './head.js';
import { constantInit, kaimingNormalFanOut, normalInit } from './init.js';

type Cfg = Array<number | 'M'>;

const CFGS: Record<string, Cfg> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

function makeFeatures(cfg: Cfg, batchNorm: boolean): Sequential {
  const layers: Model[] = [];
  let inChannels = 3;
  for (const v of cfg) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2, { stride: 2 }));
      continue;
    }
    layers.push(new Conv2d(inChannels, v, 3, { padding: 1 }));
    if (batchNorm) layers.push(new BatchNorm2d(v));
    layers.push(new ReLU());
    inChannels = v;
  }
  return new Sequential(...layers);
}

export interface VGGOptions {
  numClasses?: number;
  /** Dropout probability of the classifier (default 0.5). */
  dropout?: number;
}

export class VGG extends Model {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(
    readonly arch: string,
    cfg: Cfg,
    batchNorm: boolean,
    { numClasses = 1000, dropout = 0.5 }: VGGOptions = {},
  ) {
    super();
    checkNumClasses(`models.${arch}`, numClasses);
    this.features = this.registerModule('features', makeFeatures(cfg, batchNorm));
    this.avgpool = new AdaptiveAvgPool2d(7);
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Linear(512 * 7 * 7, 4096),
        new ReLU(),
        new Dropout(dropout),
        new Linear(4096, 4096),
        new ReLU(),
        new Dropout(dropout),
        new Linear(4096, numClasses),
      ),
    );
    for (const [name, p] of this.namedParameters()) {
      if (p.rank === 4) kaimingNormalFanOut(p);
      else if (p.rank === 2) normalInit(p, 0.01);
      else constantInit(p, name.startsWith('features.') && name.endsWith('.weight') ? 1 : 0);
    }
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    let out = this.features.build(g, x, `${prefix}features.`);
    out = this.avgpool.build(g, out, `${prefix}avgpool.`);
    out = g.op1('flatten', [out], { start_dim: 1, end_dim: -1 }, `${prefix}flatten`);
    return this.classifier.build(g, out, `${prefix}classifier.`);
  }

  /** A new, trainable last classifier layer (classifier.6) for `numClasses`. */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.arch}.replaceHead`, numClasses);
    this.classifier.replaceLayer(6, new Linear(4096, numClasses));
    return this;
  }

  override headPrefixes(): string[] {
    return ['classifier.6.'];
  }
}

export function vgg(arch: string, options: VGGOptions = {}): VGG {
  const batchNorm = arch.endsWith('_bn');
  const cfg = CFGS[batchNorm ? arch.slice(0, -3) : arch];
  if (!cfg) throw invalid('ERR_TG_ARG', 'models.vgg', 'arch', `one of ${Object.keys(CFGS).flatMap((a) => [a, `${a}_bn`]).join(', ')}`, arch);
  return new VGG(arch, cfg, batchNorm, options);
}
