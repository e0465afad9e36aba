// Segmentation from the command line. `finetune --task segmentation` trains a
// U-Net (segmentation_models_pytorch's layout, ResNet encoder), the classic
// U-Net or DeepLabV3 on an image + mask folder and writes model.safetensors
// with the architecture, size and class names in its metadata;
// `predict` on such weights writes a coloured mask PNG beside each image.
import { mkdir, rename } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { Option, type Command } from 'commander';
import { colorizeMask, loadImage, loader, segmentationFolder, vocPalette } from '../data/index.js';
import { compose, normalize, resize, toTensor } from '../data/transforms.js';
import { tgError } from '../errors.js';
import { create, load, unet } from '../models/index.js';
import type { Model } from '../nn/module.js';
import { adamw } from '../optim.js';
import { manualSeed } from '../random.js';
import type { LossSpec } from '../session.js';
import { Tensor } from '../tensor.js';
import { Trainer } from '../train/index.js';
import { META } from './vision-model.js';
import { epochLines } from './epoch-lines.js';

/** The architectures `--task segmentation` trains (U-Net's encoder is --encoder). */
export const SEGMENTATION_MODELS = ['unet', 'unetClassic', 'deeplabv3_resnet50', 'deeplabv3_resnet101'] as const;

/** Input sizes must be multiples of: U-Net's five halvings, the classic U-Net's four, DeepLab's output stride. */
const SIZE_MULTIPLE: Record<string, number> = { unet: 32, unetClassic: 16, deeplabv3_resnet50: 8, deeplabv3_resnet101: 8 };

/** Metadata keys beside the classification ones: what predict needs to rebuild the model. */
export const SEG_META = { task: 'tensorgraft.task', encoder: 'tensorgraft.encoder', binary: 'tensorgraft.binary' } as const;

const LOSSES: Record<string, LossSpec> = {
  ce: { type: 'cross_entropy', ignoreIndex: 255 },
  dice: { type: 'dice', ignoreIndex: 255 },
  ce_dice: { type: 'cross_entropy_dice', ignoreIndex: 255 },
  bce_dice: { type: 'bce_dice', ignoreIndex: 255 },
};

export interface SegFinetuneOptions {
  model: string;
  encoder: string;
  weights?: string;
  encoderWeights?: string;
  data: string;
  val?: string;
  valSplit?: number;
  classes?: string;
  numClasses?: number;
  binary?: boolean;
  segLoss?: string;
  freeze?: string[];
  unfreeze?: string[];
  epochs: number;
  lr: number;
  batchSize: number;
  size: number;
  device: string;
  out?: string;
  resume?: boolean;
  seed: number;
}

function checkModel(where: string, arch: string): void {
  if (!(SEGMENTATION_MODELS as readonly string[]).includes(arch)) {
    throw tgError('ERR_TG_ARG', `${where}: --task segmentation trains ${SEGMENTATION_MODELS.join(', ')}, not '${arch}'`);
  }
}

/** The model's options: U-Net takes its encoder; the classic U-Net and DeepLab their class count only. */
function modelOptions(arch: string, encoder: string, numClasses: number): Record<string, unknown> {
  return arch === 'unet' ? { encoder, numClasses } : { numClasses };
}

/** The parameters that make up the pretrained backbone of each architecture. */
function backboneGlobs(arch: string): string[] {
  if (arch === 'unet') return ['encoder.*'];
  if (arch.startsWith('deeplabv3')) return ['backbone.*'];
  return ['inc.*', 'down*'];
}

async function buildModel(where: string, o: SegFinetuneOptions, numClasses: number): Promise<{ model: Model; pretrained: boolean }> {
  const options = modelOptions(o.model, o.encoder, numClasses);
  if (o.weights && o.encoderWeights) throw tgError('ERR_TG_ARG', `${where}: give --weights (a whole model) or --encoder-weights (a backbone), not both`);
  if (o.weights) {
    // torchvision's DeepLab files carry aux_classifier.*, a training aid this command does not use.
    const ignore = o.model.startsWith('deeplabv3') ? ['aux_classifier.*'] : undefined;
    const model = await load(o.model, { ...options, weights: o.weights, ...(ignore ? { ignore } : {}) });
    for (const note of model.loadReport.notes) process.stderr.write(`note: ${note}\n`);
    console.log(`loaded ${o.weights}`);
    return { model, pretrained: true };
  }
  if (o.encoderWeights) {
    if (o.model !== 'unet') throw tgError('ERR_TG_ARG', `${where}: --encoder-weights is for --model unet (a torchvision ResNet checkpoint for its encoder); give DeepLab a whole checkpoint with --weights`);
    const model = await unet({ encoder: o.encoder, numClasses, encoderWeights: o.encoderWeights });
    console.log(`loaded ${o.encoderWeights} into the ${o.encoder} encoder`);
    return { model, pretrained: true };
  }
  console.log(`no --weights or --encoder-weights: training ${o.model} from scratch`);
  return { model: create(o.model, options), pretrained: false };
}

function classNames(where: string, o: SegFinetuneOptions): string[] | undefined {
  if (o.binary) {
    if (o.classes || o.numClasses) throw tgError('ERR_TG_ARG', `${where}: --binary has two classes (background, foreground); leave out --classes and --num-classes`);
    return ['background', 'foreground'];
  }
  if (o.classes) {
    const names = o.classes.split(',').map((s) => s.trim());
    if (names.length < 2 || names.some((n) => !n)) throw tgError('ERR_TG_ARG', `${where}: --classes needs at least two comma-separated names, got ${JSON.stringify(o.classes)}`);
    if (o.numClasses !== undefined && o.numClasses !== names.length) {
      throw tgError('ERR_TG_ARG', `${where}: --num-classes ${o.numClasses} but --classes names ${names.length}`);
    }
    return names;
  }
  if (o.numClasses !== undefined) return Array.from({ length: o.numClasses }, (_, i) => `class ${i}`);
  return undefined;
}

export async function segmentationFinetune(o: SegFinetuneOptions): Promise<void> {
  const where = 'finetune --task segmentation';
  checkModel(where, o.model);
  if (o.val && o.valSplit !== undefined) throw tgError('ERR_TG_ARG', `${where}: give --val or --val-split, not both`);
  const lossName = o.segLoss ?? (o.binary ? 'bce_dice' : 'ce');
  if (!(lossName in LOSSES)) throw tgError('ERR_TG_ARG', `${where}: --seg-loss must be one of ${Object.keys(LOSSES).join(', ')}`);
  if ((lossName === 'bce_dice') !== Boolean(o.binary)) {
    throw tgError('ERR_TG_ARG', `${where}: --seg-loss bce_dice goes with --binary masks (one output channel), the others with class masks`);
  }
  // The graphs are built for sizes the networks divide evenly (see the models' notes).
  const multiple = SIZE_MULTIPLE[o.model];
  if (o.size % multiple !== 0) throw tgError('ERR_TG_ARG', `${where}: --size ${o.size} must be a multiple of ${multiple} for ${o.model}`);
  manualSeed(o.seed);
  const out = resolve(o.out ?? `finetuned-${o.model}`);
  const named = classNames(where, o);
  const dataOptions = { size: o.size, binary: o.binary, seed: o.seed, loader: { batchSize: o.batchSize }, ...(named ? { classes: named } : {}) };
  const data = segmentationFolder(o.data, { ...dataOptions, valFraction: o.val ? 0 : (o.valSplit ?? 0.2) });
  const classes = named ?? data.classes;
  if (!classes) throw tgError('ERR_TG_ARG', `${where}: say how many classes the masks have, with --classes a,b,c or --num-classes N (or --binary)`);
  if (data.length === 0) throw tgError('ERR_TG_ARG', `${where}: no image/mask pairs in ${o.data}`);
  // A separate validation folder is resized, never augmented, and read in order.
  const validation = o.val ? loader(segmentationFolder(o.val, dataOptions).withMode('eval'), { batchSize: o.batchSize }) : data.val;

  // A binary model has one output channel (sigmoid), a multi-class one a channel per class.
  const outputs = o.binary ? 1 : classes.length;
  const { model, pretrained } = await buildModel(where, o, outputs);
  const freeze = o.freeze ?? (pretrained ? backboneGlobs(o.model) : []);
  const trainer = new Trainer(model, {
    optimizer: adamw({ lr: o.lr }),
    loss: LOSSES[lossName],
    device: o.device,
    epochs: o.epochs,
    freeze,
    unfreeze: o.unfreeze,
    metrics: ['miou', 'dice', 'pixel_accuracy'],
    checkpoint: { dir: join(out, 'checkpoints'), keepLast: 1 },
    progress: process.stderr.isTTY ? true : epochLines(),
  });
  console.log(
    `training ${o.model} on ${data.train.size} image/mask pairs, ${classes.length} classes (${classes.join(', ')}), ` +
      `${validation ? `${validation.size} for validation` : 'no validation'}; loss ${lossName}; ` +
      `${model.trainableParameters().length} of ${Object.keys(model.parameters()).length} parameter tensors train`,
  );
  await trainer.fit(data.train, { validation, ...(o.resume ? { resume: 'latest' } : {}) });

  await mkdir(out, { recursive: true });
  const weightsPath = join(out, 'model.safetensors');
  const partial = `${weightsPath}.tmp-${process.pid}`;
  await model.save(partial, {
    metadata: {
      [META.arch]: o.model,
      [META.size]: String(o.size),
      [META.classes]: JSON.stringify(classes),
      [SEG_META.task]: 'segmentation',
      [SEG_META.encoder]: o.model === 'unet' ? o.encoder : '',
      [SEG_META.binary]: o.binary ? 'true' : 'false',
    },
  });
  await rename(partial, weightsPath);

  if (validation) {
    const scores = await trainer.evaluate(validation);
    const seg = scores.segmentation;
    if (seg) {
      console.log(`validation: mIoU ${seg.miou.toFixed(4)}, mean Dice ${seg.dice.toFixed(4)}, pixel accuracy ${seg.pixelAccuracy.toFixed(4)}`);
      const iou = seg.perClass.iou;
      console.log(`IoU per class: ${classes.map((c, i) => `${c} ${Number.isNaN(iou[i]) ? '—' : iou[i].toFixed(4)}`).join(', ')}`);
    }
  }
  console.log(`wrote ${weightsPath}`);
}

/** Adds --task segmentation and its options to `finetune`. */
export function registerSegmentation(program: Command): void {
  const finetune = program.commands.find((c) => c.name() === 'finetune');
  if (!finetune) throw new Error('registerSegmentation: register finetune first');
  const add = (option: Option) => {
    if (!finetune.options.some((x) => x.long === option.long)) finetune.addOption(option);
  };
  add(new Option('--encoder <resnet>', 'segmentation: the U-Net encoder (resnet18|34|50|101|152)').default('resnet34'));
  add(new Option('--encoder-weights <file>', 'segmentation: a torchvision ResNet checkpoint (ImageNet) for the U-Net encoder'));
  add(new Option('--classes <names>', 'segmentation: class names by mask id, comma-separated'));
  add(new Option('--num-classes <n>', 'segmentation: classes in the masks, when unnamed').argParser((v) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 2)) throw tgError('ERR_TG_ARG', 'finetune: --num-classes must be an integer >= 2');
    return n;
  }));
  add(new Option('--binary', 'segmentation: masks are foreground/background (0 and non-zero); one output channel'));
  add(new Option('--seg-loss <loss>', 'segmentation loss: ce, dice, ce_dice (class masks; default ce, ignore index 255) or bce_dice (--binary, default)'));

  finetune.hook('preAction', (cmd) => {
    const opts = cmd.opts() as SegFinetuneOptions & { task?: string } & Record<string, unknown>;
    if (opts.task !== 'segmentation') {
      for (const flag of ['encoderWeights', 'classes', 'numClasses', 'binary', 'segLoss']) {
        if (cmd.getOptionValueSource(flag) === 'cli') throw tgError('ERR_TG_ARG', `finetune: --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for --task segmentation`);
      }
      return;
    }
    // Segmentation's defaults where the image-classification ones do not fit.
    if (cmd.getOptionValueSource('size') !== 'cli') opts.size = 256;
    if (cmd.getOptionValueSource('batchSize') !== 'cli') opts.batchSize = 8;
    cmd.action(() => segmentationFinetune(opts));
  });
}

/** Whether weights were written by `finetune --task segmentation`. */
export function isSegmentationMeta(meta: Record<string, string>): boolean {
  return meta[SEG_META.task] === 'segmentation';
}

/** Mask file names: beside each image (or in `outDir`), `<stem>.mask.png`. */
export function maskPath(image: string, outDir?: string): string {
  return join(outDir ?? dirname(image), `${basename(image, extname(image))}.mask.png`);
}

/**
 * `predict` for segmentation weights: each image resized to the trained size,
 * the per-pixel class (argmax, or sigmoid > 0.5 for binary) brought back to the
 * image's own size (nearest), coloured with the VOC palette and written as PNG.
 */
export async function segmentationPredict(images: string[], meta: Record<string, string>, o: { weights: string; device: string; outDir?: string; json?: boolean }): Promise<void> {
  const arch = meta[META.arch];
  checkModel('predict', arch);
  const classes = JSON.parse(meta[META.classes] ?? '[]') as string[];
  const binary = meta[SEG_META.binary] === 'true';
  const size = Number(meta[META.size]) || 256;
  const options = modelOptions(arch, meta[SEG_META.encoder] || 'resnet34', binary ? 1 : classes.length);
  const model = await load(arch, { ...options, weights: o.weights, strict: true });
  const palette = vocPalette(256);
  if (o.outDir) await mkdir(o.outDir, { recursive: true });
  const results: Array<{ image: string; mask: string; pixels: Record<string, number> }> = [];
  for (const image of images) {
    const meta0 = await sharp(image).metadata().catch((err: Error) => {
      throw tgError('ERR_TG_IO', `predict: cannot read image ${image}: ${err.message}`);
    });
    const [w, h] = [meta0.width ?? 0, meta0.height ?? 0];
    // The eval transform the validation data had: resize to the trained size, then ImageNet normalisation.
    const input = await loadImage(image, { transform: compose([resize([size, size]), toTensor(), normalize()]) });
    const batch = new Tensor(input.data as Float32Array, [1, ...input.shape], 'f32');
    const logits = await model.predict(batch, { device: o.device });
    const [, c, oh, ow] = logits.shape;
    const data = logits.data as Float32Array;
    const ids = new Uint8Array(oh * ow);
    for (let p = 0; p < oh * ow; p++) {
      if (binary) ids[p] = data[p] > 0 ? 1 : 0;
      else {
        let best = 0;
        for (let k = 1; k < c; k++) if (data[k * oh * ow + p] > data[best * oh * ow + p]) best = k;
        ids[p] = best;
      }
    }
    // Back to the image's size, nearest neighbour, so ids stay ids.
    const full = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      const sy = Math.min(oh - 1, Math.floor(((y + 0.5) * oh) / h));
      for (let x = 0; x < w; x++) full[y * w + x] = ids[sy * ow + Math.min(ow - 1, Math.floor(((x + 0.5) * ow) / w))];
    }
    const out = maskPath(image, o.outDir);
    await sharp(colorizeMask(full, w, h, palette), { raw: { width: w, height: h, channels: 3 } }).png().toFile(out);
    const counts: Record<string, number> = {};
    for (const id of full) {
      const name = classes[id] ?? `class ${id}`;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    for (const k of Object.keys(counts)) counts[k] = counts[k] / full.length;
    results.push({ image, mask: out, pixels: counts });
  }
  if (o.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  for (const r of results) {
    const shares = Object.entries(r.pixels)
      .sort((a, b) => b[1] - a[1])
      .map(([name, share]) => `${name} ${(100 * share).toFixed(1)}%`)
      .join(', ');
    console.log(`${r.image} -> ${r.mask}  (${shares})`);
  }
}

