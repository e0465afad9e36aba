// `tensorgraft finetune`: the whole transfer-learning recipe on an image
// folder. Load the pretrained weights, give the model a head for the data's
// classes, freeze the backbone (the head always trains), train with the
// ImageNet train/eval presets, and write the weights, the class names and
// checkpoints that --resume continues from.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { imageFolder, loader, type BatchSource } from '../data/index.js';
import { tgError } from '../errors.js';
import { create, load, type PretrainedReport } from '../models/index.js';
import type { Model } from '../nn/module.js';
import { adamw } from '../optim.js';
import { manualSeed } from '../random.js';
import { Trainer } from '../train/index.js';
import { fraction, nonNegativeInt, positiveInt, positiveNumber } from './options.js';
import { checkClassifier, folderFor, LABELS_FILE, META } from './vision-model.js';
import { epochLines } from './epoch-lines.js';

interface FinetuneOptions {
  model: string;
  weights?: string;
  data: string;
  val?: string;
  valSplit?: number;
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

function headGlobs(model: Model): string[] {
  return model.headPrefixes().map((p) => `${p}*`);
}

function describeLoad(report: PretrainedReport): string {
  const h = report.head;
  const head = !h
    ? ''
    : h.loaded
      ? `; head ${h.globs.join(', ')} loaded (${h.numClasses} classes)`
      : `; new head ${h.globs.join(', ')} for ${h.numClasses} classes${h.checkpointClasses ? ` (the file's has ${h.checkpointClasses})` : ''}`;
  return `loaded ${report.path}${head}`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function finetune(o: FinetuneOptions): Promise<void> {
  const where = 'finetune';
  if (o.val && o.valSplit !== undefined) {
    throw tgError('ERR_TG_ARG', `${where}: give --val or --val-split, not both`);
  }
  checkClassifier(where, o.model);
  manualSeed(o.seed);
  const out = resolve(o.out ?? `finetuned-${o.model}`);
  const loaderOptions = { batchSize: o.batchSize };

  // Training data: the folder's classes, sorted by name, define the head's order.
  const data = imageFolder(o.data, { size: o.size, augment: 'standard', valFraction: o.val ? 0 : (o.valSplit ?? 0.2), seed: o.seed, loader: loaderOptions });
  const classes = data.classes;
  if (classes.length < 2) throw tgError('ERR_TG_ARG', `${where}: ${o.data} has ${classes.length} class folder; classification needs at least 2`);
  const train = data.train;
  let validation: BatchSource | undefined;
  if (o.val) validation = loader(folderFor(where, o.val, classes, classes.length, o.size), loaderOptions);
  else validation = data.val;
  if (train.size === 0) throw tgError('ERR_TG_ARG', `${where}: no training images left in ${o.data} after the validation split`);

  let model: Model;
  if (o.weights) {
    const pretrained = await load(o.model, { weights: o.weights, numClasses: classes.length });
    const { head, notes } = pretrained.loadReport;
    // The new head is announced on stdout below; the reader's other remarks go to stderr.
    const headNote = head && !head.loaded ? `${head.globs.join(', ')}: ` : undefined;
    for (const note of notes) if (!headNote || !note.startsWith(headNote)) process.stderr.write(`note: ${note}\n`);
    console.log(describeLoad(pretrained.loadReport));
    model = pretrained;
  } else {
    model = create(o.model, { numClasses: classes.length });
    console.log(`no --weights: training ${o.model} from scratch`);
  }

  // With pretrained weights the backbone is frozen unless told otherwise; the head always trains.
  const freeze = o.freeze ?? (o.weights ? ['*'] : []);
  const unfreeze = [...(o.unfreeze ?? []), ...(freeze.length ? headGlobs(model) : [])];
  const checkpoints = join(out, 'checkpoints');
  const trainer = new Trainer(model, {
    optimizer: adamw({ lr: o.lr }),
    device: o.device,
    epochs: o.epochs,
    freeze,
    unfreeze,
    metrics: ['accuracy'],
    checkpoint: { dir: checkpoints, keepLast: 1 },
    progress: process.stderr.isTTY ? true : epochLines(),
  });
  const trainable = model.trainableParameters().length;
  console.log(
    `training ${o.model} on ${train.size} images in ${classes.length} classes (${classes.join(', ')}), ` +
      `${validation ? `${validation.size} for validation` : 'no validation'}; ${trainable} of ${Object.keys(model.parameters()).length} parameter tensors train`,
  );

  const history = await trainer.fit(train, { validation, ...(o.resume ? { resume: 'latest' } : {}) });

  await mkdir(out, { recursive: true });
  const weightsPath = join(out, 'model.safetensors');
  // Written beside and renamed, so an interrupted run never leaves half a file under the final name.
  const partial = `${weightsPath}.tmp-${process.pid}`;
  await model.save(partial, {
    metadata: { [META.arch]: o.model, [META.size]: String(o.size), [META.classes]: JSON.stringify(classes) },
  });
  await rename(partial, weightsPath);
  await writeAtomic(join(out, LABELS_FILE), `${JSON.stringify(classes, null, 2)}\n`);

  const last = history.epochs.at(-1);
  if (validation && last?.metrics.val_accuracy !== undefined) {
    console.log(`validation accuracy: ${last.metrics.val_accuracy.toFixed(4)} (${validation.size} images, epoch ${last.epoch + 1})`);
  } else if (last) {
    console.log(`training loss: ${last.loss.toFixed(4)} (epoch ${last.epoch + 1}; no validation data)`);
  }
  if (history.best?.checkpoint) console.log(`best epoch: ${history.best.epoch + 1} (${history.best.monitor} ${history.best.value.toFixed(4)}), ${history.best.checkpoint}`);
  console.log(`wrote ${weightsPath} and ${join(out, LABELS_FILE)}; checkpoints in ${checkpoints}`);
}

export function registerFinetune(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune a pretrained classifier on an image folder (one subfolder of images per class)')
    .requiredOption('--model <arch>', 'architecture: resnet18|34|50|101|152, vgg11|13|16|19 and their _bn variants')
    .option('--weights <file>', 'pretrained weights (torchvision .pth, safetensors); without them the model trains from scratch')
    .requiredOption('--data <folder>', 'training images, one subfolder per class')
    .option('--val <folder>', 'validation images, with the same class folders')
    .option('--val-split <fraction>', 'share of --data held out for validation, per class (default 0.2 without --val)', fraction)
    .option('--freeze <globs...>', "parameters to freeze (default with --weights: '*', all but the head)")
    .option('--unfreeze <globs...>', "parameters to train besides the head, e.g. 'layer4.*'")
    .option('--epochs <n>', 'epochs', positiveInt, 5)
    .option('--lr <rate>', 'AdamW learning rate', positiveNumber, 1e-3)
    .option('--batch-size <n>', 'images per batch', positiveInt, 32)
    .option('--size <pixels>', 'input size (RandomResizedCrop for training, resize + center crop for validation)', positiveInt, 224)
    .option('--device <device>', "'cpu' or 'auto'", 'cpu')
    .option('--out <dir>', 'where to write model.safetensors, labels.json and checkpoints/ (default finetuned-<model>)')
    .option('--resume', 'continue from the latest checkpoint in <out>/checkpoints')
    .option('--seed <n>', 'seeds the split, the shuffle, the augmentation and the new head', nonNegativeInt, 0)
    .action((opts: FinetuneOptions) => finetune(opts));
}
