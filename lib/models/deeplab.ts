// DeepLabV3 as torchvision 0.14 builds it (models/segmentation/deeplabv3.py,
// _utils.py and fcn.py): deeplabv3_resnet50 and deeplabv3_resnet101, with
// torchvision's module names so that its checkpoints load by key:
//   backbone.*        ResNet with replace_stride_with_dilation=[False, True, True]
//                     (output stride 8), no fc (IntermediateLayerGetter stops at layer4)
//   classifier        DeepLabHead: 0 ASPP (convs.0 1×1, convs.1-3 3×3 at dilations
//                     12, 24, 36, convs.4 image pooling; project), 1 3×3 conv,
//                     2 BatchNorm, 3 ReLU, 4 1×1 conv to the classes
//   aux_classifier    FCNHead on layer3 (aux_loss=True): 0 3×3 conv, 1 BatchNorm,
//                     2 ReLU, 3 Dropout(0.1), 4 1×1 conv to the classes
// Both outputs are resized bilinearly (align_corners=False) to the input's
// size: `logits` (torchvision's "out") and `aux`. Training on both adds
// torchvision's reference loss, out + 0.5·aux. The heads keep PyTorch's
// default initialisation, the backbone torchvision's ResNet one.
//
// The graph is built without the input's size: by default the logits are the
// classifier's map upsampled ×8, which is the input's size for H and W
// multiples of 8; `inputSize` builds the graph for one size, any size, resized
// exactly as torchvision does (the graph then takes inputs of that size only).
import { invalid, tgError } from '../errors.js';
import type { Attrs, GraphBuilder, Value } from '../graph.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Model, ReLU, Sequential } from '../nn/index.js';
import type { InputSpec } from '../nn/module.js';
import { checkNumClasses, type HeadOptions } from './head.js';
import { resnet, type ResNet } from './resnet.js';

export interface DeepLabV3Options {
  /** Classes, the background included (default 21, Pascal VOC's). */
  numClasses?: number;
  /**
   * Add aux_classifier on layer3, its `aux` output and its loss term (default
   * false). torchvision's published COCO checkpoints hold aux_classifier.*:
   * load them with auxLoss: true (torchvision turns aux_loss on with its
   * weights), or leave it out and pass ignore: 'aux_classifier.*'.
   */
  auxLoss?: boolean;
  /** [H, W]: build the graph for inputs of this size, resized exactly as torchvision for sizes that are not multiples of 8. */
  inputSize?: [number, number];
}

/** The backbone's output stride: conv1, maxpool and layer2 halve the size; layer3 and layer4 dilate instead. */
const OUTPUT_STRIDE = 8;

/** A 3×3 convolution at `dilation`, BatchNorm, ReLU. */
export class ASPPConv extends Sequential {
  constructor(inChannels: number, outChannels: number, dilation: number) {
    super(new Conv2d(inChannels, outChannels, 3, { padding: dilation, dilation, bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }
}

/** Image pooling: global average, 1×1 conv, BatchNorm, ReLU, then back to the input's size. */
export class ASPPPooling extends Sequential {
  constructor(inChannels: number, outChannels: number) {
    super(new AdaptiveAvgPool2d(1), new Conv2d(inChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }

  override build(g: GraphBuilder, x: Value, prefix: string): Value {
    const pooled = super.build(g, x, prefix); // (N, C, 1, 1)
    // F.interpolate of a 1×1 map to x's (h, w), bilinear: every position
    // reads the one value, so it is a broadcast against ones of x's size.
    const plane = g.op1('slice', [x], { axis: 1, start: 0, end: 1 }, `${prefix}size`);
    return g.op1('mul', [pooled, g.op1('ones_like', [plane], {}, `${prefix}ones`)], {}, `${prefix}interpolate`);
  }
}

/** Atrous spatial pyramid pooling: five branches concatenated, then `project` to outChannels. */
export class ASPP extends Model {
  /** torchvision's nn.ModuleList: a Sequential here only holds and names them. */
  readonly convs: Sequential;
  readonly project: Sequential;

  constructor(inChannels: number, atrousRates: number[], outChannels = 256) {
    super();
    this.convs = this.registerModule(
      'convs',
      new Sequential(
        new Sequential(new Conv2d(inChannels, outChannels, 1, { bias: false }), new BatchNorm2d(outChannels), new ReLU()),
        ...atrousRates.map((rate) => new ASPPConv(inChannels, outChannels, rate)),
        new ASPPPooling(inChannels, outChannels),
      ),
    );
    this.project = this.registerModule(
      'project',
      new Sequential(
        new Conv2d(this.convs.layers.length * outChannels, outChannels, 1, { bias: false }),
        new BatchNorm2d(outChannels),
        new ReLU(),
        new Dropout(0.5),
      ),
    );
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const branches = this.convs.layers.map((conv, i) => conv.build(g, x, `${prefix}convs.${i}.`));
    const res = g.op1('concat', branches, { axis: 1 }, `${prefix}cat`);
    return this.project.build(g, res, `${prefix}project.`);
  }
}

export class DeepLabHead extends Sequential {
  constructor(inChannels: number, numClasses: number) {
    super(
      new ASPP(inChannels, [12, 24, 36]),
      new Conv2d(256, 256, 3, { padding: 1, bias: false }),
      new BatchNorm2d(256),
      new ReLU(),
      new Conv2d(256, numClasses, 1),
    );
  }
}

export class FCNHead extends Sequential {
  constructor(inChannels: number, channels: number) {
    const inter = Math.floor(inChannels / 4);
    super(
      new Conv2d(inChannels, inter, 3, { padding: 1, bias: false }),
      new BatchNorm2d(inter),
      new ReLU(),
      new Dropout(0.1),
      new Conv2d(inter, channels, 1),
    );
  }
}

export class DeepLabV3 extends Model {
  readonly backbone: ResNet;
  readonly classifier: DeepLabHead;
  readonly aux_classifier?: FCNHead;
  readonly inputSize?: [number, number];

  constructor(
    readonly arch: string,
    { numClasses = 21, auxLoss = false, inputSize }: DeepLabV3Options = {},
  ) {
    super();
    const where = `models.${arch}`;
    checkNumClasses(where, numClasses);
    if (typeof auxLoss !== 'boolean') throw invalid('ERR_TG_ARG', where, 'auxLoss', 'a boolean', auxLoss);
    if (inputSize !== undefined && !(Array.isArray(inputSize) && inputSize.length === 2 && inputSize.every((d) => Number.isInteger(d) && d >= 1))) {
      throw invalid('ERR_TG_ARG', where, 'inputSize', '[H, W], two positive integers', inputSize);
    }
    if (inputSize) this.inputSize = [inputSize[0], inputSize[1]];
    this.backbone = this.registerModule('backbone', resnet(arch.replace('deeplabv3_', ''), { replaceStrideWithDilation: [false, true, true], classifier: false }));
    const [, , , layer3, layer4] = this.backbone.stageChannels;
    this.classifier = this.registerModule('classifier', new DeepLabHead(layer4, numClasses));
    if (auxLoss) this.aux_classifier = this.registerModule('aux_classifier', new FCNHead(layer3, numClasses));
  }

  /** `logits` (torchvision's "out") and, with auxLoss, `aux`: (N, classes, H, W) each. */
  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    const features = this.backbone.stages(g, inputs.input, 'backbone.');
    const out: Record<string, Value> = { logits: this.resize(g, this.classifier.build(g, features[4], 'classifier.'), 'interpolate') };
    if (this.aux_classifier) out.aux = this.resize(g, this.aux_classifier.build(g, features[3], 'aux_classifier.'), 'aux_interpolate');
    return out;
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const features = this.backbone.stages(g, x, `${prefix}backbone.`);
    return this.resize(g, this.classifier.build(g, features[4], `${prefix}classifier.`), `${prefix}interpolate`);
  }

  /** F.interpolate(x, size=input_shape, mode='bilinear', align_corners=False). */
  private resize(g: GraphBuilder, x: Value, name: string): Value {
    const attrs: Attrs = { mode: 'bilinear', align_corners: false };
    if (this.inputSize) attrs.size = this.inputSize;
    else attrs.scale_factor = [OUTPUT_STRIDE, OUTPUT_STRIDE];
    return g.op1('upsample', [x], attrs, name);
  }

  override auxiliaryLosses(): Record<string, number> {
    return this.aux_classifier ? { aux: 0.5 } : {};
  }

  override inputSpecs(): InputSpec[] {
    if (!this.inputSize) return super.inputSpecs();
    return [{ name: 'input', shape: [-1, 3, ...this.inputSize], dtype: null }];
  }

  /** New, trainable last convolutions for `numClasses`: classifier.4 and aux_classifier.4, as torchvision's fine-tuning recipe. */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.arch}.replaceHead`, numClasses);
    this.classifier.replaceLayer(4, new Conv2d(256, numClasses, 1));
    if (this.aux_classifier) this.aux_classifier.replaceLayer(4, new Conv2d((this.aux_classifier.layers[4] as Conv2d).inChannels, numClasses, 1));
    return this;
  }

  override headPrefixes(): string[] {
    return this.aux_classifier ? ['classifier.4.', 'aux_classifier.4.'] : ['classifier.4.'];
  }
}

const ARCHS = ['deeplabv3_resnet50', 'deeplabv3_resnet101'];

export function deeplabv3(arch: string, options: DeepLabV3Options = {}): DeepLabV3 {
  if (!ARCHS.includes(arch)) throw tgError('ERR_TG_ARG', `models.deeplabv3: unknown model '${arch}' (known: ${ARCHS.join(', ')})`);
  return new DeepLabV3(arch, options);
}
