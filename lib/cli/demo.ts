// `tensorgraft demo` (and `npm start`): the main job on what ships in the
// package. The bundled pretrained network is fine-tuned on a new task with
// 5, 20 and 100 labelled images per class, three ways, beside the same
// network trained from scratch; a table goes to the terminal and a report
// with learning curves to ./tensorgraft-demo/.
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { InvalidArgumentError, type Command } from 'commander';
import { defaultEpochs, DEMO_MODES, MODE_LABELS, runDemo, type DemoMode, type DemoProgress } from '../demo/experiment.js';
import { textTable, writeReport } from '../demo/report.js';
import { manualSeed } from '../random.js';
import { nonNegativeInt, positiveInt, positiveNumber } from './options.js';

interface DemoCliOptions {
  k: number[];
  modes: DemoMode[];
  epochs?: number;
  testPerClass: number;
  target: number;
  out: string;
  seed: number;
  weights?: string;
}

function intList(value: string): number[] {
  const ks = value.split(',').map((s) => positiveInt(s));
  if (!ks.length) throw new InvalidArgumentError('expected comma-separated positive integers.');
  return ks;
}

function modeList(value: string): DemoMode[] {
  const modes = value.split(',').map((s) => s.trim());
  for (const m of modes) if (!DEMO_MODES.includes(m as DemoMode)) throw new InvalidArgumentError(`expected among ${DEMO_MODES.join(', ')}.`);
  return modes as DemoMode[];
}

function accuracy(value: string): number {
  const n = positiveNumber(value);
  if (n >= 1) throw new InvalidArgumentError('expected a number in (0, 1).');
  return n;
}

type CliProgress = typeof import('cli-progress');

/** One bar over every epoch of every run on a terminal; a line per run elsewhere. */
function progress(total: number): { update: (e: DemoProgress) => void; stop: () => void } {
  const stream = process.stderr;
  const label = (e: { k: number; mode: DemoMode }) => `k=${e.k} ${MODE_LABELS[e.mode]}`;
  if (!stream.isTTY) {
    return {
      update: (e) => {
        if (e.type === 'epoch' && e.epoch === e.epochs) stream.write(`${label(e)}: test accuracy ${(100 * e.accuracy).toFixed(1)}%\n`);
      },
      stop: () => {},
    };
  }
  const cli = createRequire(import.meta.url)('cli-progress') as CliProgress;
  const bar = new cli.SingleBar(
    { stream, format: '{bar} {percentage}% | run {run}/{runs} {label} | epoch {epoch}/{epochs} | acc {acc}', hideCursor: true, clearOnComplete: true },
    cli.Presets.shades_classic,
  );
  bar.start(total, 0, { run: 0, runs: 0, label: '', epoch: 0, epochs: 0, acc: '-' });
  let runs = 0;
  return {
    update: (e) => {
      if (e.type === 'runStart') {
        runs = e.runs;
        bar.update({ run: e.run + 1, runs, label: label(e), epoch: 0, epochs: e.epochs, acc: '-' });
      } else {
        bar.increment(1, { epoch: e.epoch, acc: `${(100 * e.accuracy).toFixed(1)}%` });
      }
    },
    stop: () => bar.stop(),
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('fine-tune the bundled pretrained model on a new task with few labels, beside training from scratch (what `npm start` runs)')
    .option('--k <list>', 'labelled images per class, comma-separated', intList, [5, 20, 100])
    .option('--modes <list>', `methods, among ${DEMO_MODES.join(', ')}`, modeList, [...DEMO_MODES])
    .option('--epochs <n>', 'epochs for every run (default: 30, 15 and 8 for k <= 5, <= 20 and more)', positiveInt)
    .option('--test-per-class <n>', 'held-out test images per class', positiveInt, 40)
    .option('--target <accuracy>', 'the test accuracy whose first reaching is timed', accuracy, 0.5)
    .option('--out <dir>', 'where the report goes', 'tensorgraft-demo')
    .option('--seed <n>', 'seed of the data and of the initialisation', nonNegativeInt, 0)
    .option('--weights <file>', 'pretrained weights to start from (default: the bundled model)')
    .action(async (opts: DemoCliOptions) => {
      manualSeed(opts.seed);
      const epochsOf = opts.epochs === undefined ? undefined : () => opts.epochs!;
      const total = opts.k.reduce((n, k) => n + opts.modes.length * (epochsOf ?? defaultEpochs)(k), 0);
      const bar = progress(total);
      console.log(`Fine-tuning the bundled pretrained ResNet-18 (quarter width) on 10 new classes, k = ${opts.k.join(', ')} images per class; ${opts.k.length * opts.modes.length} runs.`);
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      let result;
      try {
        result = await runDemo({
          ks: opts.k,
          modes: opts.modes,
          epochs: epochsOf,
          testPerClass: opts.testPerClass,
          target: opts.target,
          seed: opts.seed,
          weights: opts.weights,
          signal: controller.signal,
          onProgress: bar.update,
        });
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
      console.log('');
      console.log(textTable(result));
      const out = resolve(opts.out);
      const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}`;
      const argv = process.argv.slice(2).join(' ');
      const files = await writeReport(result, out, { command: `tensorgraft ${argv || 'demo'}`, machine });
      console.log('');
      console.log(`${result.seconds.toFixed(0)} s in all. Report: ${files.markdown} (learning curves: ${files.png})`);
    });
}
