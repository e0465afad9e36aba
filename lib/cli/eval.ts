// `tensorgraft eval`: a classifier's loss, accuracy, top-5 accuracy,
// per-class precision/recall/F1 and confusion matrix on an image folder. The
// folder's class names are matched to the model's by name (labels.json), so a
// folder with only some of the classes is measured correctly.
import type { Command } from 'commander';
import { loader } from '../data/index.js';
import { load } from '../models/index.js';
import { Trainer, type Evaluation } from '../train/index.js';
import { positiveInt } from './options.js';
import { folderFor, modelSpec, resolveLabels } from './vision-model.js';

interface EvalOptions {
  model?: string;
  weights: string;
  data: string;
  labels?: string;
  size?: number;
  batchSize: number;
  device: string;
  json?: boolean;
}

const f4 = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(4));

function table(rows: string[][], rightFrom = 1): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c < rightFrom ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

function printReport(ev: Evaluation, names: string[]): void {
  const m = ev.confusionMatrix;
  // Classes that never occur as a target or a prediction are left out: with
  // 1000 ImageNet outputs and a small folder they would be almost all rows.
  const shown = names.map((_, k) => k).filter((k) => ev.perClass.support[k] > 0 || m.some((row) => row[k] > 0));
  console.log(`samples ${ev.samples}  loss ${f4(ev.loss)}  accuracy ${f4(ev.accuracy)}  top-5 ${f4(ev.top5)}`);
  console.log('');
  const rows = [['class', 'precision', 'recall', 'f1', 'support']];
  for (const k of shown) {
    const p = ev.perClass;
    rows.push([names[k], f4(p.precision[k]), f4(p.recall[k]), f4(p.f1[k]), String(p.support[k])]);
  }
  rows.push(['macro avg', f4(ev.macro.precision), f4(ev.macro.recall), f4(ev.macro.f1), String(ev.samples)]);
  rows.push(['weighted avg', f4(ev.weighted.precision), f4(ev.weighted.recall), f4(ev.weighted.f1), String(ev.samples)]);
  console.log(table(rows));
  console.log('');
  const left = shown.length < names.length ? `; ${names.length - shown.length} classes without samples or predictions left out` : '';
  console.log(`confusion matrix (rows: true class, columns: predicted${left})`);
  console.log(table([['', ...shown.map((k) => names[k])], ...shown.map((t) => [names[t], ...shown.map((p) => String(m[t][p]))])]));
}

async function evaluate(o: EvalOptions): Promise<void> {
  const where = 'eval';
  const { arch, size, classes: recorded } = await modelSpec(where, o);
  const model = await load(arch, { weights: o.weights });
  const numClasses = model.loadReport.head?.numClasses ?? 0;
  const labels = await resolveLabels(where, { labels: o.labels, weights: o.weights, numClasses, recorded });
  const dataset = folderFor(where, o.data, labels.names, numClasses, size);
  // Frozen throughout: evaluation needs no optimizer state.
  const trainer = new Trainer(model, { device: o.device, freeze: '*', metrics: ['accuracy', 'top5'], progress: false });
  const ev = await trainer.evaluate(loader(dataset, { batchSize: o.batchSize }));
  const names = labels.names ?? Array.from({ length: numClasses }, (_, k) => dataset.classes[k] ?? `class ${k}`);
  if (o.json) {
    const perClass = names.map((name, k) => ({
      class: name,
      precision: ev.perClass.precision[k],
      recall: ev.perClass.recall[k],
      f1: ev.perClass.f1[k],
      support: ev.perClass.support[k],
    }));
    const { classes: _c, perClass: _p, ...rest } = ev;
    console.log(JSON.stringify({ model: arch, weights: o.weights, data: o.data, imageSize: size, classes: names, ...rest, perClass }, null, 2));
    return;
  }
  console.log(`${arch} (${numClasses} classes, names from ${labels.names ? labels.source : 'the folder'}) on ${o.data}, ${size}x${size}`);
  printReport(ev, names);
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('measure a classifier on an image folder: loss, accuracy, top-5, per-class precision/recall/F1, confusion matrix')
    .option('--model <arch>', 'architecture (default: as recorded in weights written by finetune)')
    .requiredOption('--weights <file>', 'the weights (finetune output, torchvision .pth, safetensors)')
    .requiredOption('--data <folder>', 'images, one subfolder per class, named as the model\'s classes')
    .option('--labels <file>', 'class names of the model\'s outputs, a JSON array (default: labels.json beside the weights)')
    .option('--size <pixels>', 'input size (default: as recorded in the weights, else 224)', positiveInt)
    .option('--batch-size <n>', 'images per batch', positiveInt, 32)
    .option('--device <device>', "'cpu' or 'auto'", 'cpu')
    .option('--json', 'print JSON')
    .action((opts: EvalOptions) => evaluate(opts));
}
