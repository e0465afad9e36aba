// The original U-Net as milesial/Pytorch-UNet builds it (unet/unet_parts.py,
// unet/unet_model.py: UNet(n_channels, n_classes, bilinear=False), the model
// of its published Carvana checkpoints), with its module names so that those
// checkpoints load by key: inc, down1..down4 (maxpool_conv: MaxPool2d(2) then
// DoubleConv), up1..up4 (`up`: ConvTranspose2d(in, in/2, 2, stride 2), or a
// bilinear ×2 Upsample (align_corners) with bilinear=true; then `conv`), and
// outc.conv. PyTorch's default initialisation throughout, as the reference.
//
// Each Up pads its upsampled map to its skip's size with F.pad before the
// concatenation. Those pads depend on the input size, which the graph is
// built without: by default the pads are 0, right for H and W multiples of
// 16; `inputSize` builds the graph for one size, any size, with the
// reference's pads (the graph then takes inputs of that size only).
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d, MaxPool2d, Model, ReLU, Sequential, Upsample } from '../nn/index.js';
import type { InputSpec } from '../nn/module.js';
import { checkNumClasses, type HeadOptions } from './head.js';

export interface UNetClassicOptions {
  /** Channels of the input (milesial's n_channels, default 3). */
  nChannels?: number;
  /** Classes of the output (milesial's n_classes, default 2); numClasses is the same option under tg's common name. */
  nClasses?: number;
  numClasses?: number;
  /** Upsample bilinearly (and halve the deepest channels) instead of with transposed convolutions (default false). */
  bilinear?: boolean;
  /** [H, W]: build the graph for inputs of this size, with the reference's pads for sizes that are not multiples of 16. */
  inputSize?: [number, number];
}

/** (convolution => BatchNorm => ReLU) * 2, as one Sequential `double_conv`. */
export class DoubleConv extends Model {
  readonly double_conv: Sequential;

  constructor(inChannels: number, outChannels: number, midChannels = outChannels) {
    super();
    this.double_conv = this.registerModule(
      'double_conv',
      new Sequential(
        new Conv2d(inChannels, midChannels, 3, { padding: 1, bias: false }),
        new BatchNorm2d(midChannels),
        new ReLU(),
        new Conv2d(midChannels, outChannels, 3, { padding: 1, bias: false }),
        new BatchNorm2d(outChannels),
        new ReLU(),
      ),
    );
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.double_conv.build(g, x, `${prefix}double_conv.`);
  }
}

/** Downscaling with a 2×2 max pool, then DoubleConv. */
export class Down extends Model {
  readonly maxpool_conv: Sequential;

  constructor(inChannels: number, outChannels: number) {
    super();
    this.maxpool_conv = this.registerModule('maxpool_conv', new Sequential(new MaxPool2d(2), new DoubleConv(inChannels, outChannels)));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.maxpool_conv.build(g, x, `${prefix}maxpool_conv.`);
  }
}

/** F.pad's [left, right, top, bottom] that center x1 (h1, w1) in x2 (h2, w2), as Up.forward computes them. */
export function centerPads([h1, w1]: [number, number], [h2, w2]: [number, number]): [number, number, number, number] {
  const diffY = h2 - h1;
  const diffX = w2 - w1;
  const half = (d: number) => Math.floor(d / 2); // Python's //
  return [half(diffX), diffX - half(diffX), half(diffY), diffY - half(diffY)];
}

/** Upscaling, padding to the skip, concatenation [skip, up], then DoubleConv. */
export class Up extends Model {
  readonly up: ConvTranspose2d | Upsample;
  readonly conv: DoubleConv;

  constructor(inChannels: number, outChannels: number, bilinear: boolean) {
    super();
    if (bilinear) {
      // The normal convolutions reduce the number of channels.
      this.up = this.registerModule('up', new Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: true }));
      this.conv = this.registerModule('conv', new DoubleConv(inChannels, outChannels, Math.floor(inChannels / 2)));
    } else {
      this.up = this.registerModule('up', new ConvTranspose2d(inChannels, Math.floor(inChannels / 2), 2, { stride: 2 }));
      this.conv = this.registerModule('conv', new DoubleConv(inChannels, outChannels));
    }
  }

  /** x1 (N, C, h, w) from below and the skip x2 (N, C', H, W); `pads` as centerPads gives them. */
  buildWithSkip(g: GraphBuilder, x1: Value, x2: Value, pads: [number, number, number, number], prefix: string): Value {
    let up = this.up.build(g, x1, `${prefix}up.`);
    if (pads.some((p) => p !== 0)) up = g.op1('pad', [up], { pads, mode: 'constant', value: 0 }, `${prefix}pad`);
    const x = g.op1('concat', [x2, up], { axis: 1 }, `${prefix}cat`);
    return this.conv.build(g, x, `${prefix}conv.`);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    void g, x, prefix;
    throw tgError('ERR_TG_ARG', 'Up takes the map from below and its skip: build the UNetClassic');
  }
}

export class OutConv extends Model {
  readonly conv: Conv2d;

  constructor(inChannels: number, outChannels: number) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inChannels, outChannels, 1));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.conv.build(g, x, `${prefix}conv.`);
  }
}

/** milesial's UNet (named UNetClassic here, beside smp's Unet). */
export class UNetClassic extends Model {
  readonly inc: DoubleConv;
  readonly down1: Down;
  readonly down2: Down;
  readonly down3: Down;
  readonly down4: Down;
  readonly up1: Up;
  readonly up2: Up;
  readonly up3: Up;
  readonly up4: Up;
  outc: OutConv;
  readonly nChannels: number;
  readonly bilinear: boolean;
  readonly inputSize?: [number, number];

  constructor({ nChannels = 3, nClasses, numClasses, bilinear = false, inputSize }: UNetClassicOptions = {}) {
    super();
    const where = 'models.unetClassic';
    if (!(Number.isInteger(nChannels) && nChannels >= 1)) throw invalid('ERR_TG_ARG', where, 'nChannels', 'an integer >= 1', nChannels);
    if (nClasses !== undefined && numClasses !== undefined && nClasses !== numClasses) {
      throw invalid('ERR_TG_ARG', where, 'numClasses', `left out or equal to nClasses (${nClasses})`, numClasses);
    }
    const classes = checkNumClasses(where, nClasses ?? numClasses ?? 2);
    if (typeof bilinear !== 'boolean') throw invalid('ERR_TG_ARG', where, 'bilinear', 'a boolean', bilinear);
    if (inputSize !== undefined && !(Array.isArray(inputSize) && inputSize.length === 2 && inputSize.every((d) => Number.isInteger(d) && d >= 16))) {
      throw invalid('ERR_TG_ARG', where, 'inputSize', '[H, W], integers >= 16 (four 2×2 max pools)', inputSize);
    }
    this.nChannels = nChannels;
    this.bilinear = bilinear;
    if (inputSize) this.inputSize = [inputSize[0], inputSize[1]];

    this.inc = this.registerModule('inc', new DoubleConv(nChannels, 64));
    this.down1 = this.registerModule('down1', new Down(64, 128));
    this.down2 = this.registerModule('down2', new Down(128, 256));
    this.down3 = this.registerModule('down3', new Down(256, 512));
    const factor = bilinear ? 2 : 1;
    this.down4 = this.registerModule('down4', new Down(512, 1024 / factor));
    this.up1 = this.registerModule('up1', new Up(1024, 512 / factor, bilinear));
    this.up2 = this.registerModule('up2', new Up(512, 256 / factor, bilinear));
    this.up3 = this.registerModule('up3', new Up(256, 128 / factor, bilinear));
    this.up4 = this.registerModule('up4', new Up(128, 64, bilinear));
    this.outc = this.registerModule('outc', new OutConv(64, classes));
  }

  /** Logits (N, classes, H, W) for x (N, nChannels, H, W). */
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const x1 = this.inc.build(g, x, `${prefix}inc.`);
    const x2 = this.down1.build(g, x1, `${prefix}down1.`);
    const x3 = this.down2.build(g, x2, `${prefix}down2.`);
    const x4 = this.down3.build(g, x3, `${prefix}down3.`);
    const x5 = this.down4.build(g, x4, `${prefix}down4.`);
    const pads = this.pads();
    let out = this.up1.buildWithSkip(g, x5, x4, pads[0], `${prefix}up1.`);
    out = this.up2.buildWithSkip(g, out, x3, pads[1], `${prefix}up2.`);
    out = this.up3.buildWithSkip(g, out, x2, pads[2], `${prefix}up3.`);
    out = this.up4.buildWithSkip(g, out, x1, pads[3], `${prefix}up4.`);
    return this.outc.build(g, out, `${prefix}outc.`);
  }

  /** The pads of up1..up4: from inputSize, else none (H and W multiples of 16). */
  private pads(): Array<[number, number, number, number]> {
    if (!this.inputSize) return [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
    // x1..x5: each 2×2 max pool floors the size; each Up doubles the size below it.
    const sizes: Array<[number, number]> = [this.inputSize];
    for (let i = 0; i < 4; i++) sizes.push([Math.floor(sizes[i][0] / 2), Math.floor(sizes[i][1] / 2)]);
    const out: Array<[number, number, number, number]> = [];
    let below = sizes[4];
    for (let skip = 3; skip >= 0; skip--) {
      out.push(centerPads([below[0] * 2, below[1] * 2], sizes[skip]));
      below = sizes[skip];
    }
    return out;
  }

  override inputSpecs(): InputSpec[] {
    if (!this.inputSize) return super.inputSpecs();
    return [{ name: 'input', shape: [-1, this.nChannels, ...this.inputSize], dtype: null }];
  }

  /** A new, trainable outc for `numClasses`. */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses('UNetClassic.replaceHead', numClasses);
    this.outc = this.replaceModule('outc', new OutConv(64, numClasses));
    return this;
  }

  override headPrefixes(): string[] {
    return ['outc.conv.'];
  }
}

export function unetClassic(options: UNetClassicOptions = {}): UNetClassic {
  return new UNetClassic(options);
}
