// A labelled list of image files, the common core of imageFolder and
// imageList (torchvision.datasets.ImageFolder / DatasetFolder: samples,
// classes, class_to_idx, targets; get = loader + transform).
//
// It also offers a one-line route to training data, `imageFolder(dir, { size,
// augment }).train / .val`: a stratified, seeded split with the ImageNet train
// and eval presets, each wrapped in a loader.
import { invalid } from '../errors.js';
import { Tensor } from '../tensor.js';
import { PipelineImage, type DecodeOptions } from './image.js';
import { loader, type DataLoader, type LoaderOptions } from './loader.js';
import { Rng, STREAM } from './rng.js';
import { split, type Subset } from './split.js';
import { imagenetEval, imagenetTrain, type Transform } from './transforms.js';
import type { Dataset, Sample } from './types.js';

export interface ImageSample {
  path: string;
  target: number;
}

export interface ImageDatasetOptions {
  /** Applied to every image; default imagenetEval({ size }). */
  transform?: Transform;
  decode?: DecodeOptions;
  /** Image size of the default transforms and of `.train`/`.val`; default 224. */
  size?: number;
  /** `.train`'s augmentation: 'standard' (RandomResizedCrop + flip) or 'none'. Default 'standard'. */
  augment?: 'standard' | 'none';
  /** `.val`'s share of the samples, split per class; 0 gives no `.val`. Default 0.2. */
  valFraction?: number;
  /** Seeds the `.train`/`.val` split, shuffle and augmentation; default 0. */
  seed?: number;
  /** Loader options of `.train` and `.val` (batchSize default 32). */
  loader?: Omit<LoaderOptions, 'seed' | 'shuffle'>;
}

export interface LoadImageOptions {
  /** Default imagenetEval(). */
  transform?: Transform;
  /** Seeds a random transform; default 0. */
  seed?: number;
  decode?: DecodeOptions;
}

/** One image file (or encoded bytes) through a transform: a (3, H, W) float32 tensor, e.g. for predict. */
export async function loadImage(source: string | Uint8Array, options: LoadImageOptions = {}): Promise<Tensor<'f32'>> {
  const img = await PipelineImage.open(source, options.decode);
  const transform = options.transform ?? imagenetEval();
  const out = await transform(img, Rng.keyed(options.seed ?? 0, STREAM.sample));
  if (!(out instanceof PipelineImage)) throw invalid('ERR_TG_ARG', `transform of ${img.name}`, 'the result', 'an image', out);
  return out.tensor();
}

export class ImageDataset implements Dataset {
  /** (path, class id) per sample, in order. */
  readonly samples: readonly ImageSample[];
  readonly classes: string[];
  readonly classToIdx: Record<string, number>;
  readonly targets: Int32Array;
  readonly transform: Transform;
  /** The folder or list file the samples came from. */
  readonly root: string;
  private readonly options: ImageDatasetOptions;
  private parts?: { train: DataLoader; val?: DataLoader };

  constructor(root: string, samples: ImageSample[], classes: string[], options: ImageDatasetOptions = {}) {
    const where = 'tg.data.ImageDataset';
    const size = options.size ?? 224;
    if (!Number.isSafeInteger(size) || size < 1) throw invalid('ERR_TG_ARG', where, 'size', 'a positive integer', options.size);
    if (options.augment !== undefined && options.augment !== 'standard' && options.augment !== 'none') {
      throw invalid('ERR_TG_ARG', where, 'augment', "'standard' or 'none'", options.augment);
    }
    if (options.transform !== undefined && typeof options.transform !== 'function') {
      throw invalid('ERR_TG_ARG', where, 'transform', 'a transform function', options.transform);
    }
    this.root = root;
    this.samples = samples;
    this.classes = classes;
    this.classToIdx = Object.fromEntries(classes.map((c, i) => [c, i]));
    this.targets = Int32Array.from(samples, (s) => s.target);
    this.transform = options.transform ?? imagenetEval({ size });
    this.options = options;
  }

  get length(): number {
    return this.samples.length;
  }

  async get(index: number, rng: Rng): Promise<Sample> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.samples.length) {
      throw invalid('ERR_TG_ARG', 'tg.data.ImageDataset.get', 'index', `an integer in [0, ${this.samples.length - 1}]`, index);
    }
    const { path, target } = this.samples[index];
    const img = await PipelineImage.open(path, this.options.decode);
    const out = await this.transform(img, rng);
    if (!(out instanceof PipelineImage)) throw invalid('ERR_TG_ARG', `transform of ${path}`, 'the result', 'an image', out);
    return { input: await out.tensor(), target: new Tensor(Int32Array.of(target), [], 'i32') };
  }

  describe(index: number): string {
    return this.samples[index]?.path ?? `sample ${index}`;
  }

  /** The same samples and classes through another transform. */
  withTransform(transform: Transform): ImageDataset {
    return new ImageDataset(this.root, this.samples as ImageSample[], this.classes, { ...this.options, transform });
  }

  /** Training batches: the split's larger part, shuffled, with `augment`. */
  get train(): DataLoader {
    return this.splitParts().train;
  }

  /** Validation batches (eval preset, fixed order), or undefined when valFraction is 0. */
  get val(): DataLoader | undefined {
    return this.splitParts().val;
  }

  private splitParts(): { train: DataLoader; val?: DataLoader } {
    if (this.parts) return this.parts;
    const o = this.options;
    const size = o.size ?? 224;
    const seed = o.seed ?? 0;
    const valFraction = o.valFraction ?? 0.2;
    const { train, val } = split(this, { valFraction, seed, stratify: true });
    const trainTransform = o.transform ?? (o.augment === 'none' ? imagenetEval({ size }) : imagenetTrain({ size }));
    const opts = { batchSize: 32, ...o.loader, seed };
    const make = (part: Subset, t: Transform, shuffle: boolean) => loader(part.withTransform(t), { ...opts, shuffle });
    this.parts = {
      train: make(train, trainTransform, true),
      val: valFraction > 0 ? make(val, imagenetEval({ size }), false) : undefined,
    };
    return this.parts;
  }
}
