// The demo's experiment: fine-tune the bundled pretrained network on a new
// task (classes it never saw) with k labelled images per class, three ways —
// a linear probe on the frozen backbone, a partial unfreeze (layer4 and the
// head), a full fine-tune — and train the same architecture from scratch on
// the same images. Every run is scored on the same held-out test images after
// each epoch, so the learning curves and the times compare like for like.
import { tgError } from '../errors.js';
import { loader, type DataLoader } from '../data/loader.js';
import { classesOf, syntheticDataset } from '../data/synthetic.js';
import { manualSeed } from '../random.js';
import { adamw } from '../optim.js';
import { Trainer } from '../train/trainer.js';
import type { EpochEndEvent } from '../train/progress.js';
import { resnet18 } from '../models/index.js';
import type { ResNet } from '../models/resnet.js';
import { DEMO_IMAGE_SIZE, DEMO_WEIGHTS, DEMO_WIDTH, demoNetwork } from './config.js';

export type DemoMode = 'linear-probe' | 'partial' | 'full' | 'scratch';
export const DEMO_MODES: readonly DemoMode[] = ['linear-probe', 'partial', 'full', 'scratch'];

export const MODE_LABELS: Record<DemoMode, string> = {
  'linear-probe': 'pretrained, linear probe (backbone frozen)',
  partial: 'pretrained, partial (layer4 + head)',
  full: 'pretrained, full fine-tune',
  scratch: 'from scratch',
};

interface ModeRecipe {
  lr: number;
  /** Parameter globs that train; undefined: all of them. */
  trainable?: string[];
  pretrained: boolean;
}

// Rates picked per recipe as one would in PyTorch: a fresh head alone takes
// a large rate, a pretrained backbone a small one, a network from scratch
// a middle one.
const RECIPES: Record<DemoMode, ModeRecipe> = {
  'linear-probe': { lr: 1e-2, trainable: ['fc.*'], pretrained: true },
  partial: { lr: 3e-3, trainable: ['layer4.*', 'fc.*'], pretrained: true },
  full: { lr: 5e-4, pretrained: true },
  scratch: { lr: 3e-3, pretrained: false },
};

export interface DemoOptions {
  /** Labelled images per class; default [5, 20, 100]. */
  ks?: number[];
  modes?: DemoMode[];
  /** Epochs per k; default: more epochs for fewer images, so each run takes a similar number of steps. */
  epochs?: (k: number) => number;
  /** Held-out test images per class; default 40. */
  testPerClass?: number;
  /** The accuracy whose first reaching is timed; default 0.5. */
  target?: number;
  batchSize?: number;
  seed?: number;
  /** The pretrained weights; default the bundled file. */
  weights?: string;
  signal?: AbortSignal;
  /** Told when a run starts and after each of its epochs. */
  onProgress?: (event: DemoProgress) => void;
}

export type DemoProgress =
  | { type: 'runStart'; run: number; runs: number; k: number; mode: DemoMode; epochs: number }
  | { type: 'epoch'; run: number; k: number; mode: DemoMode; epoch: number; epochs: number; accuracy: number; loss: number };

export interface CurvePoint {
  epoch: number;
  /** Test accuracy after this epoch. */
  accuracy: number;
  /** Training loss of this epoch. */
  loss: number;
  /** Seconds spent training so far (evaluation left out). */
  seconds: number;
}

export interface DemoRun {
  k: number;
  mode: DemoMode;
  epochs: number;
  lr: number;
  /** Parameters that trained. */
  trainable: number;
  /** Test accuracy after the last epoch. */
  accuracy: number;
  /** Accuracy on its own k images per class after the last epoch (eval mode): how well it fits them. */
  trainAccuracy: number;
  best: number;
  /** Seconds spent training (evaluation left out). */
  seconds: number;
  /** The first epoch whose test accuracy reached the target, or null. */
  epochsToTarget: number | null;
  secondsToTarget: number | null;
  curve: CurvePoint[];
}

export interface DemoResult {
  classes: readonly string[];
  target: number;
  testImages: number;
  imageSize: number;
  runs: DemoRun[];
  seconds: number;
}

export const defaultEpochs = (k: number): number => (k <= 5 ? 30 : k <= 20 ? 15 : 8);

async function network(mode: DemoMode, numClasses: number, weights: string): Promise<ResNet> {
  if (!RECIPES[mode].pretrained) return demoNetwork(numClasses);
  // The file's head has the source domain's classes: left out, a new one is made.
  return resnet18({ weights, width: DEMO_WIDTH, numClasses });
}

async function runOne(
  mode: DemoMode,
  k: number,
  epochs: number,
  train: DataLoader,
  test: DataLoader,
  numClasses: number,
  options: Required<Pick<DemoOptions, 'target' | 'seed' | 'weights'>> & Pick<DemoOptions, 'signal' | 'onProgress'>,
  run: number,
): Promise<DemoRun> {
  const recipe = RECIPES[mode];
  // Each run starts from the same random state: the new head (and the
  // scratch network) are initialised alike whatever ran before.
  manualSeed(options.seed + 1000 * k);
  const net = await network(mode, numClasses, options.weights);
  const trainer = new Trainer(net, {
    optimizer: adamw({ lr: recipe.lr }),
    schedule: { type: 'cosine' },
    freeze: recipe.trainable ? '*' : undefined,
    unfreeze: recipe.trainable,
    metrics: ['accuracy'],
    progress: false,
    signal: options.signal,
  });
  const trainable = net.trainableParameters().reduce((n, name) => n + net.parameters()[name].reduce((a, b) => a * b, 1), 0);

  const curve: CurvePoint[] = [];
  let seconds = 0;
  let epochStart = 0;
  let lastBatch = 0;
  trainer.on('epochStart', () => {
    epochStart = performance.now();
  });
  trainer.on('batchEnd', () => {
    lastBatch = performance.now();
  });
  trainer.on('epochEnd', (e: EpochEndEvent) => {
    // The training part of the epoch: from its start to its last step.
    seconds += (lastBatch - epochStart) / 1000;
    const point = { epoch: e.epoch + 1, accuracy: e.metrics.val_accuracy, loss: e.metrics.loss, seconds };
    curve.push(point);
    options.onProgress?.({ type: 'epoch', run, k, mode, epoch: point.epoch, epochs, accuracy: point.accuracy, loss: point.loss });
  });
  await trainer.fit(train, { epochs, validation: test });
  const fitted = await trainer.evaluate(train, { signal: options.signal });

  const reached = curve.find((p) => p.accuracy >= options.target);
  return {
    k,
    mode,
    epochs,
    lr: recipe.lr,
    trainable,
    accuracy: curve.at(-1)?.accuracy ?? NaN,
    trainAccuracy: fitted.accuracy,
    best: Math.max(...curve.map((p) => p.accuracy)),
    seconds,
    epochsToTarget: reached?.epoch ?? null,
    secondsToTarget: reached?.seconds ?? null,
    curve,
  };
}

/** Runs every (k, mode) pair; the inductive target task of tg.data.synthetic. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const ks = options.ks ?? [5, 20, 100];
  const modes = options.modes ?? [...DEMO_MODES];
  const epochsOf = options.epochs ?? defaultEpochs;
  const seed = options.seed ?? 0;
  const target = options.target ?? 0.5;
  const batchSize = options.batchSize ?? 32;
  const weights = options.weights ?? DEMO_WEIGHTS;
  for (const k of ks) if (!(Number.isInteger(k) && k >= 1)) throw tgError('ERR_TG_ARG', `demo: k must be an integer >= 1, got ${k}`);
  for (const m of modes) if (!DEMO_MODES.includes(m)) throw tgError('ERR_TG_ARG', `demo: unknown mode ${JSON.stringify(m)} (one of ${DEMO_MODES.join(', ')})`);

  const started = performance.now();
  const classes = classesOf('inductive');
  const test = syntheticDataset({ task: 'inductive', perClass: options.testPerClass ?? 40, split: 'test', seed, size: DEMO_IMAGE_SIZE });
  const testLoader = loader(test, { batchSize: 100 });
  const runs: DemoRun[] = [];
  const total = ks.length * modes.length;
  for (const k of ks) {
    // The k images of each class are the first k of the split, so k = 5 is a subset of k = 20.
    const train = syntheticDataset({ task: 'inductive', perClass: k, split: 'train', seed, size: DEMO_IMAGE_SIZE });
    const trainLoader = loader(train, { batchSize: Math.min(batchSize, train.length), shuffle: true, seed });
    for (const mode of modes) {
      const epochs = epochsOf(k);
      options.onProgress?.({ type: 'runStart', run: runs.length, runs: total, k, mode, epochs });
      runs.push(await runOne(mode, k, epochs, trainLoader, testLoader, classes.length, { ...options, target, seed, weights }, runs.length));
    }
  }
  return { classes, target, testImages: test.length, imageSize: DEMO_IMAGE_SIZE, runs, seconds: (performance.now() - started) / 1000 };
}
