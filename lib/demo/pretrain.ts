// Pretraining of the demo's model: the quarter-width ResNet-18 trained from
// scratch on the synthetic source domain (tg.data.synthetic, task 'source'),
// then saved with its training log. `npm run pretrain-demo` calls this and
// writes assets/demo/; the same seed gives the same file.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loader } from '../data/loader.js';
import { classesOf, syntheticDataset } from '../data/synthetic.js';
import { adamw } from '../optim.js';
import { manualSeed } from '../random.js';
import { Trainer } from '../train/trainer.js';
import type { EpochEndEvent } from '../train/progress.js';
import { DEMO_ARCH, DEMO_IMAGE_SIZE, DEMO_WIDTH, demoNetwork } from './config.js';

export interface PretrainOptions {
  /** Training images per source class; default 1000. */
  perClass?: number;
  /** Test images per source class; default 40. */
  testPerClass?: number;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  onEpoch?: (e: { epoch: number; epochs: number; loss: number; accuracy: number; seconds: number }) => void;
}

export interface PretrainResult {
  classes: readonly string[];
  epochs: Array<{ epoch: number; loss: number; accuracy: number; seconds: number; lr: number }>;
  accuracy: number;
  seconds: number;
  options: Required<Omit<PretrainOptions, 'onEpoch'>>;
}

/** Trains the demo network on the source domain; returns the trained network and its log. */
export async function pretrainDemo(options: PretrainOptions = {}) {
  const opts = {
    perClass: options.perClass ?? 1000,
    testPerClass: options.testPerClass ?? 40,
    epochs: options.epochs ?? 8,
    lr: options.lr ?? 3e-3,
    batchSize: options.batchSize ?? 64,
    seed: options.seed ?? 0,
  };
  manualSeed(opts.seed);
  const classes = classesOf('source');
  const train = syntheticDataset({ task: 'source', perClass: opts.perClass, split: 'train', seed: opts.seed, size: DEMO_IMAGE_SIZE });
  const test = syntheticDataset({ task: 'source', perClass: opts.testPerClass, split: 'test', seed: opts.seed, size: DEMO_IMAGE_SIZE });
  const net = demoNetwork(classes.length);
  const trainer = new Trainer(net, {
    optimizer: adamw({ lr: opts.lr, weightDecay: 0.05 }),
    schedule: { type: 'cosine', warmup: 50 },
    metrics: ['accuracy'],
    progress: false,
  });
  const log: PretrainResult['epochs'] = [];
  const started = performance.now();
  trainer.on('epochEnd', (e: EpochEndEvent) => {
    const row = { epoch: e.epoch + 1, loss: e.metrics.loss, accuracy: e.metrics.val_accuracy, seconds: (performance.now() - started) / 1000, lr: e.lr };
    log.push(row);
    options.onEpoch?.({ ...row, epochs: opts.epochs });
  });
  await trainer.fit(loader(train, { batchSize: opts.batchSize, shuffle: true, seed: opts.seed }), {
    epochs: opts.epochs,
    validation: loader(test, { batchSize: 200 }),
  });
  const result: PretrainResult = { classes, epochs: log, accuracy: log.at(-1)?.accuracy ?? NaN, seconds: (performance.now() - started) / 1000, options: opts };
  return { net, result };
}

/** The weights file (with the recipe in its metadata) and a Markdown log beside it. */
export async function savePretrained(
  net: Awaited<ReturnType<typeof pretrainDemo>>['net'],
  result: PretrainResult,
  weightsPath: string,
  logPath: string,
  info: { command: string; machine: string },
): Promise<void> {
  await mkdir(dirname(weightsPath), { recursive: true });
  await net.save(weightsPath, {
    metadata: {
      arch: DEMO_ARCH,
      width: String(DEMO_WIDTH),
      image_size: String(DEMO_IMAGE_SIZE),
      classes: result.classes.join(','),
      recipe: JSON.stringify(result.options),
      test_accuracy: result.accuracy.toFixed(4),
    },
  });
  const o = result.options;
  const lines = [
    '# Pretraining log of the demo model',
    '',
    `\`resnet18-w16-synthetic.safetensors\`: torchvision's ResNet-18 layout at width ${DEMO_WIDTH} (stem and layer1 ${DEMO_WIDTH} channels, ` +
      `doubling per stage; fc ${DEMO_WIDTH * 8} → ${result.classes.length}), trained from scratch on tensorgraft's synthetic source domain ` +
      `(tg.data.synthetic, task 'source', ${DEMO_IMAGE_SIZE}×${DEMO_IMAGE_SIZE} images).`,
    '',
    `- Command: \`${info.command}\``,
    `- Machine: ${info.machine}`,
    `- Recipe: ${o.perClass} training images per class × ${result.classes.length} classes, ${o.epochs} epochs, batch ${o.batchSize}, ` +
      `AdamW lr ${o.lr} (weight decay 0.05) with 50 warm-up steps and a cosine decay, seed ${o.seed}.`,
    `- Test set: ${o.testPerClass} held-out images per class.`,
    `- Classes: ${result.classes.join(', ')}.`,
    `- Result: ${(100 * result.accuracy).toFixed(1)}% test accuracy after ${result.seconds.toFixed(0)} s.`,
    '',
    '| epoch | training loss | test accuracy | lr | elapsed |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...result.epochs.map((e) => `| ${e.epoch} | ${e.loss.toFixed(4)} | ${(100 * e.accuracy).toFixed(1)}% | ${e.lr.toExponential(2)} | ${e.seconds.toFixed(0)} s |`),
    '',
  ];
  await writeFile(logPath, lines.join('\n'));
}
