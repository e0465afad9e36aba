// ResNet as torchvision.models.resnet builds it (v1.5: the stride of a
// bottleneck sits on its 3×3 convolution), with the same module names
// (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc, ...) so that
// torchvision's state dicts load unchanged, and torchvision's initialisation.
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Model, Sequential } from '../nn/index.js';
import { checkNumClasses, type HeadOptions } from './head.js';
import { constantInit, kaimingNormalFanOut } from './init.js';

function conv3x3(inPlanes: number, outPlanes: number, stride = 1, dilation = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, dilation, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

export class BasicBlock extends Model {
  static readonly expansion = 1;
  /** The BatchNorm that closes the residual branch (zero_init_residual zeroes its weight). */
  static readonly lastBn = 'bn2';
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample?: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, downsample?: Sequential, dilation = 1) {
    super();
    // torchvision's BasicBlock refuses dilation too.
    if (dilation !== 1) throw tgError('ERR_TG_ARG', 'models.resnet: dilation > 1 needs Bottleneck blocks (resnet50 and deeper)');
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    if (downsample) this.downsample = this.registerModule('downsample', downsample);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    let out = this.conv1.build(g, x, `${prefix}conv1.`);
    out = this.bn1.build(g, out, `${prefix}bn1.`);
    out = g.op1('relu', [out], {}, `${prefix}relu1`);
    out = this.conv2.build(g, out, `${prefix}conv2.`);
    out = this.bn2.build(g, out, `${prefix}bn2.`);
    const identity = this.downsample ? this.downsample.build(g, x, `${prefix}downsample.`) : x;
    return g.op1('relu', [g.op1('add', [out, identity], {}, `${prefix}add`)], {}, `${prefix}relu2`);
  }
}

export class Bottleneck extends Model {
  static readonly expansion = 4;
  static readonly lastBn = 'bn3';
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample?: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, downsample?: Sequential, dilation = 1) {
    super();
    this.conv1 = this.registerModule('conv1', conv1x1(inPlanes, planes));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, stride, dilation));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.conv3 = this.registerModule('conv3', conv1x1(planes, planes * Bottleneck.expansion));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion));
    if (downsample) this.downsample = this.registerModule('downsample', downsample);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    let out = this.conv1.build(g, x, `${prefix}conv1.`);
    out = g.op1('relu', [this.bn1.build(g, out, `${prefix}bn1.`)], {}, `${prefix}relu1`);
    out = this.conv2.build(g, out, `${prefix}conv2.`);
    out = g.op1('relu', [this.bn2.build(g, out, `${prefix}bn2.`)], {}, `${prefix}relu2`);
    out = this.conv3.build(g, out, `${prefix}conv3.`);
    out = this.bn3.build(g, out, `${prefix}bn3.`);
    const identity = this.downsample ? this.downsample.build(g, x, `${prefix}downsample.`) : x;
    return g.op1('relu', [g.op1('add', [out, identity], {}, `${prefix}add`)], {}, `${prefix}relu3`);
  }
}

type BlockClass = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions {
  /** Classes of the classifier (default 1000, ImageNet). */
  numClasses?: number;
  /** Start each residual branch's last BatchNorm at zero, as torchvision's option of that name. */
  zeroInitResidual?: boolean;
  /**
   * Channels of the stem and of the first stage; each later stage doubles
   * them. torchvision's 64 by default; smaller values make narrow networks
   * with the same module names (the demo's model uses 16).
   */
  width?: number;
  /**
   * torchvision's replace_stride_with_dilation: for layer2..layer4, trade the
   * stage's stride 2 for dilation, keeping the resolution (DeepLab uses
   * [false, true, true], output stride 8). Bottleneck models only.
   */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /** Channels of the input, for conv1 (default 3, RGB; smp's encoders take others). */
  inChannels?: number;
  /**
   * false: no `fc`, only the stages (a backbone that a segmentation decoder
   * taps through stages(), as smp's ResNetEncoder deletes fc and torchvision's
   * segmentation models leave it out). Default true.
   */
  classifier?: boolean;
}

export class ResNet extends Model {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly maxpool: MaxPool2d;
  readonly layers: Sequential[];
  readonly avgpool: AdaptiveAvgPool2d;
  /** Absent when built with classifier: false. */
  fc?: Linear;
  readonly width: number;
  /** Channels of what stages() returns: the stem, then layer1..layer4. */
  readonly stageChannels: number[];
  private inPlanes: number;
  private dilation = 1;

  constructor(
    readonly arch: string,
    block: BlockClass,
    readonly blocks: [number, number, number, number],
    {
      numClasses = 1000,
      zeroInitResidual = false,
      width = 64,
      replaceStrideWithDilation = [false, false, false],
      inChannels = 3,
      classifier = true,
    }: ResNetOptions = {},
  ) {
    super();
    const where = `models.${arch}`;
    checkNumClasses(where, numClasses);
    if (!(Number.isInteger(width) && width >= 1)) throw invalid('ERR_TG_ARG', where, 'width', 'an integer >= 1', width);
    if (!Array.isArray(replaceStrideWithDilation) || replaceStrideWithDilation.length !== 3 || replaceStrideWithDilation.some((d) => typeof d !== 'boolean')) {
      throw invalid('ERR_TG_ARG', where, 'replaceStrideWithDilation', 'three booleans, for layer2..layer4', replaceStrideWithDilation);
    }
    if (!(Number.isInteger(inChannels) && inChannels >= 1)) throw invalid('ERR_TG_ARG', where, 'inChannels', 'an integer >= 1', inChannels);
    if (typeof classifier !== 'boolean') throw invalid('ERR_TG_ARG', where, 'classifier', 'a boolean', classifier);
    this.width = width;
    this.inPlanes = width;
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, width, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layers = [1, 2, 4, 8].map((m, i) =>
      this.registerModule(`layer${i + 1}`, this.makeLayer(block, width * m, blocks[i], i === 0 ? 1 : 2, i > 0 && replaceStrideWithDilation[i - 1])),
    );
    this.avgpool = new AdaptiveAvgPool2d(1);
    if (classifier) this.fc = this.registerModule('fc', new Linear(width * 8 * block.expansion, numClasses));
    this.stageChannels = [width, ...[1, 2, 4, 8].map((m) => width * m * block.expansion)];

    const residualEnd = new RegExp(`^layer\\d\\.\\d+\\.${block.lastBn}\\.weight$`);
    for (const [name, p] of this.namedParameters()) {
      if (p.rank === 4) kaimingNormalFanOut(p);
      else if (!name.startsWith('fc.')) constantInit(p, name.endsWith('.weight') && !(zeroInitResidual && residualEnd.test(name)) ? 1 : 0);
    }
  }

  private makeLayer(block: BlockClass, planes: number, count: number, stride: number, dilate: boolean): Sequential {
    const outPlanes = planes * block.expansion;
    // As torchvision: the first block keeps the previous dilation, the rest use the new one.
    const previousDilation = this.dilation;
    if (dilate) {
      this.dilation *= stride;
      stride = 1;
    }
    const downsample =
      stride !== 1 || this.inPlanes !== outPlanes
        ? new Sequential(conv1x1(this.inPlanes, outPlanes, stride), new BatchNorm2d(outPlanes))
        : undefined;
    const layers: Model[] = [new block(this.inPlanes, planes, stride, downsample, previousDilation)];
    this.inPlanes = outPlanes;
    for (let i = 1; i < count; i++) layers.push(new block(this.inPlanes, planes, 1, undefined, this.dilation));
    return new Sequential(...layers);
  }

  /**
   * The stem's output (after relu, before the max pool: stride 2) and the
   * outputs of layer1..layer4 (strides 4, 8, 16, 32, or less where strides
   * were traded for dilation): what segmentation encoders and decoders tap.
   */
  stages(g: GraphBuilder, x: Value, prefix = ''): Value[] {
    let out = this.conv1.build(g, x, `${prefix}conv1.`);
    out = g.op1('relu', [this.bn1.build(g, out, `${prefix}bn1.`)], {}, `${prefix}relu`);
    const taps = [out];
    out = this.maxpool.build(g, out, `${prefix}maxpool.`);
    this.layers.forEach((layer, i) => {
      out = layer.build(g, out, `${prefix}layer${i + 1}.`);
      taps.push(out);
    });
    return taps;
  }

  /** Features before the classifier: (N, 8·width·expansion) after global average pooling. */
  features(g: GraphBuilder, x: Value, prefix = ''): Value {
    const out = this.avgpool.build(g, this.stages(g, x, prefix).at(-1)!, `${prefix}avgpool.`);
    return g.op1('flatten', [out], { start_dim: 1, end_dim: -1 }, `${prefix}flatten`);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.head('build').build(g, this.features(g, x, prefix), `${prefix}fc.`);
  }

  /** A new, trainable `fc` for `numClasses` (PyTorch: model.fc = nn.Linear(model.fc.in_features, n)). */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.arch}.replaceHead`, numClasses);
    this.fc = this.replaceModule('fc', new Linear(this.head('replaceHead').inFeatures, numClasses));
    return this;
  }

  override headPrefixes(): string[] {
    return this.fc ? ['fc.'] : [];
  }

  private head(where: string): Linear {
    if (!this.fc) throw tgError('ERR_TG_ARG', `${this.arch}.${where}: built with classifier: false, this ResNet has no fc (use stages())`);
    return this.fc;
  }
}

const ARCHS: Record<string, [BlockClass, [number, number, number, number]]> = {
  resnet18: [BasicBlock, [2, 2, 2, 2]],
  resnet34: [BasicBlock, [3, 4, 6, 3]],
  resnet50: [Bottleneck, [3, 4, 6, 3]],
  resnet101: [Bottleneck, [3, 4, 23, 3]],
  resnet152: [Bottleneck, [3, 8, 36, 3]],
};

export function resnet(arch: string, options: ResNetOptions = {}): ResNet {
  const spec = ARCHS[arch];
  if (!spec) throw invalid('ERR_TG_ARG', 'models.resnet', 'arch', `one of ${Object.keys(ARCHS).join(', ')}`, arch);
  return new ResNet(arch, spec[0], spec[1], options);
}
