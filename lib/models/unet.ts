// U-Net with a ResNet encoder as segmentation_models_pytorch (smp 0.3) builds
// it: decoders/unet/{model,decoder}.py, base/{heads,modules,initialization}.py
// and encoders/resnet.py, with smp's module names so that its checkpoints load
// by key:
//   encoder.*                      torchvision's ResNet without fc (smp deletes it)
//   decoder.blocks.{i}.conv{1,2}   Conv2dReLU: .0 3×3 conv (no bias), .1 BatchNorm, .2 ReLU
//   segmentation_head.0            the 3×3 convolution to the classes
// decoder.center is smp's nn.Identity for ResNet encoders (center=False) and
// the attention modules are identities (attention_type=None): neither has
// parameters. The head's upsampling (1) and activation (None) are identities.
//
// As smp's SegmentationModel.check_input_shape asks, H and W must be multiples
// of the encoder's output stride, 32: each decoder block doubles the size and
// concatenates the skip of that size.
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { BatchNorm2d, Conv2d, Model, ReLU, Sequential } from '../nn/index.js';
import { uniform } from '../random.js';
import { Tensor, type HostTensorLike } from '../tensor.js';
import { toDType } from '../weights/convert.js';
import { readModelWeights } from '../weights/hf.js';
import type { LoadOptions, LoadReport } from '../weights/mapping.js';
import { checkNumClasses, type HeadOptions } from './head.js';
import { constantInit, kaimingUniformFanIn, xavierUniform } from './init.js';
import { resnet, type ResNet } from './resnet.js';

/** The encoders smp builds from torchvision's ResNet (encoders/resnet.py). */
export const UNET_ENCODERS: readonly string[] = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'];

/** smp's UnetDecoder default decoder_channels, one per block. */
const DECODER_CHANNELS = [256, 128, 64, 32, 16];

export interface UnetOptions {
  /** smp's encoder_name: resnet18, resnet34 (default), resnet50, resnet101 or resnet152. */
  encoder?: string;
  /** smp's classes: channels of the output mask (default 1). */
  numClasses?: number;
  /** Channels of the input (default 3). */
  inChannels?: number;
  /** Output channels of the five decoder blocks (default 256, 128, 64, 32, 16). */
  decoderChannels?: number[];
}

/** smp's Conv2dReLU with use_batchnorm=True: conv (no bias), BatchNorm2d, ReLU as one Sequential. */
export class Conv2dReLU extends Sequential {
  constructor(inChannels: number, outChannels: number) {
    super(new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false }), new BatchNorm2d(outChannels), new ReLU());
  }
}

/** Nearest ×2 upsampling, the skip concatenated on the channels, two Conv2dReLU. */
export class DecoderBlock extends Model {
  readonly conv1: Conv2dReLU;
  readonly conv2: Conv2dReLU;

  constructor(inChannels: number, skipChannels: number, outChannels: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2dReLU(inChannels + skipChannels, outChannels));
    this.conv2 = this.registerModule('conv2', new Conv2dReLU(outChannels, outChannels));
  }

  /** x (N, C, h, w) and the skip (N, S, 2h, 2w), if any → (N, out, 2h, 2w). */
  buildWithSkip(g: GraphBuilder, x: Value, skip: Value | undefined, prefix: string): Value {
    let out = g.op1('upsample', [x], { scale_factor: [2, 2], mode: 'nearest' }, `${prefix}interpolate`);
    if (skip) out = g.op1('concat', [out, skip], { axis: 1 }, `${prefix}cat`);
    out = this.conv1.build(g, out, `${prefix}conv1.`);
    return this.conv2.build(g, out, `${prefix}conv2.`);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.buildWithSkip(g, x, undefined, prefix);
  }
}

/**
 * smp's UnetDecoder: the encoder's features less the input, deepest first;
 * block i takes the previous block's output (the deepest feature for block 0)
 * and the next feature as its skip, none for the last block.
 */
export class UnetDecoder extends Model {
  /** smp's nn.ModuleList: a Sequential here only holds and names them. */
  readonly blocks: Sequential;

  constructor(encoderChannels: number[], decoderChannels: number[]) {
    super();
    const [head, ...skips] = [...encoderChannels].reverse();
    const inChannels = [head, ...decoderChannels.slice(0, -1)];
    this.blocks = this.registerModule(
      'blocks',
      new Sequential(...decoderChannels.map((out, i) => new DecoderBlock(inChannels[i], skips[i] ?? 0, out))),
    );
  }

  /** features: the encoder's stages, shallowest first (stem, layer1..layer4). */
  buildFrom(g: GraphBuilder, features: Value[], prefix: string): Value {
    const [head, ...skips] = [...features].reverse();
    return (this.blocks.layers as DecoderBlock[]).reduce(
      (x, block, i) => block.buildWithSkip(g, x, skips[i], `${prefix}blocks.${i}.`),
      head,
    );
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    void g, x, prefix;
    throw tgError('ERR_TG_ARG', 'UnetDecoder takes the encoder features: build the Unet');
  }
}

/** smp's SegmentationHead(kernel_size=3, upsampling=1, activation=None): the conv alone, xavier-initialised. */
function segmentationHead(inChannels: number, numClasses: number): Sequential {
  const conv = new Conv2d(inChannels, numClasses, 3, { padding: 1 });
  const [[, weight], [, bias]] = conv.namedParameters();
  xavierUniform(weight);
  constantInit(bias, 0);
  return new Sequential(conv);
}

export class Unet extends Model {
  readonly encoder: ResNet;
  readonly decoder: UnetDecoder;
  segmentation_head: Sequential;
  readonly encoderName: string;
  readonly inChannels: number;
  private readonly decoderOut: number;

  constructor({ encoder = 'resnet34', numClasses = 1, inChannels = 3, decoderChannels = DECODER_CHANNELS }: UnetOptions = {}) {
    super();
    const where = 'models.unet';
    if (!UNET_ENCODERS.includes(encoder)) throw invalid('ERR_TG_ARG', where, 'encoder', `one of ${UNET_ENCODERS.join(', ')}`, encoder);
    checkNumClasses(where, numClasses);
    if (!(Number.isInteger(inChannels) && inChannels >= 1)) throw invalid('ERR_TG_ARG', where, 'inChannels', 'an integer >= 1', inChannels);
    if (!Array.isArray(decoderChannels) || decoderChannels.length !== 5 || !decoderChannels.every((c) => Number.isInteger(c) && c >= 1)) {
      throw invalid('ERR_TG_ARG', where, 'decoderChannels', 'five positive integers (one per decoder block)', decoderChannels);
    }
    this.encoderName = encoder;
    this.inChannels = inChannels;
    this.decoderOut = decoderChannels[4];
    this.encoder = this.registerModule('encoder', resnet(encoder, { inChannels, classifier: false }));
    if (inChannels !== 3) {
      // smp's set_in_channels without pretrained weights: conv1 gets Conv2d's default initialisation.
      const w = this.encoder.conv1.namedParameters()[0][1];
      const bound = 1 / Math.sqrt(w.size / w.shape[0]);
      w.data.set(uniform(w.size, -bound, bound));
    }
    this.decoder = this.registerModule('decoder', new UnetDecoder(this.encoder.stageChannels, decoderChannels));
    // smp's initialize_decoder: kaiming_uniform_ (fan_in, relu) for the convolutions, BatchNorm at 1 and 0.
    for (const [name, p] of this.decoder.namedParameters()) {
      if (p.rank === 4) kaimingUniformFanIn(p);
      else constantInit(p, name.endsWith('.weight') ? 1 : 0);
    }
    this.segmentation_head = this.registerModule('segmentation_head', segmentationHead(this.decoderOut, numClasses));
  }

  /** Logits (N, classes, H, W) for x (N, inChannels, H, W), H and W multiples of 32. */
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const features = this.encoder.stages(g, x, `${prefix}encoder.`);
    const out = this.decoder.buildFrom(g, features, `${prefix}decoder.`);
    return this.segmentation_head.build(g, out, `${prefix}segmentation_head.`);
  }

  /** A new, trainable segmentation head for `numClasses` (smp: model.segmentation_head = SegmentationHead(...)). */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses('Unet.replaceHead', numClasses);
    this.segmentation_head = this.replaceModule('segmentation_head', segmentationHead(this.decoderOut, numClasses));
    return this;
  }

  override headPrefixes(): string[] {
    return ['segmentation_head.0.'];
  }

  /**
   * Loads a torchvision ResNet checkpoint (ImageNet weights, as smp's
   * encoder_weights='imagenet') into `encoder`. Its fc.* has no place in the
   * encoder: left out and listed in the report's `ignored`. For inChannels
   * other than 3, conv1's RGB kernels are adapted as smp does: summed for one
   * channel, else repeated over the channels and scaled by 3 / inChannels.
   * Report names are the checkpoint's (conv1.weight, not encoder.conv1.weight).
   */
  async loadEncoder(path: string, options: LoadOptions = {}): Promise<LoadReport> {
    if (typeof path !== 'string' || !path) throw invalid('ERR_TG_ARG', 'Unet.loadEncoder', 'path', 'a weight file path', path);
    const file = await readModelWeights(path);
    const tensors = { ...file.tensors };
    const notes: string[] = [];
    const conv1 = tensors['conv1.weight'];
    if (this.inChannels !== 3 && conv1 && conv1.shape.length === 4 && conv1.shape[1] === 3) {
      tensors['conv1.weight'] = adaptInputChannels(conv1, this.inChannels);
      notes.push(`conv1.weight: the checkpoint's 3 input channels adapted to ${this.inChannels} (as smp's change_conv_in_channels)`);
    }
    const extra = options.ignore === undefined ? [] : typeof options.ignore === 'string' ? [options.ignore] : options.ignore;
    let report: LoadReport;
    try {
      report = await this.encoder.loadStateDict(tensors, { ...options, ignore: ['fc.*', ...extra] });
    } catch (err) {
      const e = err as Error;
      if (typeof e?.message === 'string') e.message = `Unet.loadEncoder: ${path}: ${e.message.replace(/^loadStateDict: /, '')}`;
      throw e;
    }
    report.notes.push(...file.notes, ...notes);
    if (report.ignored.some((k) => k.endsWith('fc.weight') || k.endsWith('fc.bias'))) {
      report.notes.push("fc.*: the ImageNet classifier has no place in the encoder (smp deletes it); left out");
    }
    return report;
  }
}

/** smp's change_conv_in_channels with pretrained weights, on a (O, 3, kh, kw) kernel. */
function adaptInputChannels(weight: HostTensorLike, inChannels: number): Tensor<'f32'> {
  const [o, , kh, kw] = weight.shape;
  const src = toDType(weight, 'f32').data as Float32Array;
  const plane = kh * kw;
  const out = new Float32Array(o * inChannels * plane);
  for (let k = 0; k < o; k++) {
    for (let c = 0; c < inChannels; c++) {
      for (let j = 0; j < plane; j++) {
        const at = (ch: number) => src[(k * 3 + ch) * plane + j];
        out[(k * inChannels + c) * plane + j] = inChannels === 1 ? at(0) + at(1) + at(2) : at(c % 3) * (3 / inChannels);
      }
    }
  }
  return new Tensor(out, [o, inChannels, kh, kw], 'f32');
}

export function unet(options: UnetOptions = {}): Unet {
  return new Unet(options);
}
