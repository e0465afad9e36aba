// What a Trainer reports while it runs, and a terminal progress bar that
// draws it. Epoch and batch numbers are 0-based, as BatchSource.batches(epoch)
// takes them; the bar shows them 1-based.
import { createRequire } from 'node:module';

export interface EpochStartEvent {
  epoch: number;
  epochs: number;
  /** Batches this epoch is expected to have (the source's batchesPerEpoch). */
  batches: number;
  /** How many parameters train this epoch. */
  trainable: number;
  lr: number;
}

export interface BatchEndEvent {
  epoch: number;
  batch: number;
  /** Optimizer steps taken in this fit so far, this one included. */
  step: number;
  loss: number;
  lr: number;
}

export interface EpochEndEvent {
  epoch: number;
  /** 'loss' (training, sample-weighted mean), 'val_loss', 'val_accuracy', ... */
  metrics: Record<string, number>;
  lr: number;
  /** Seconds the epoch took, validation included. */
  time: number;
}

export interface UnfreezeEvent {
  epoch: number;
  /** Index into gradualUnfreeze.stages. */
  stage: number;
  globs: string[];
  trainable: number;
}

export interface CheckpointEvent {
  path: string;
  /** Why it was written: every N epochs, after an abort, or both. */
  reason: 'epoch' | 'abort';
  best: boolean;
}

export interface TrainerEvents {
  epochStart: [EpochStartEvent];
  batchEnd: [BatchEndEvent];
  epochEnd: [EpochEndEvent];
  unfreeze: [UnfreezeEvent];
  checkpoint: [CheckpointEvent];
}

export type ProgressEvent = {
  [K in keyof TrainerEvents]: { type: K } & TrainerEvents[K][0];
}[keyof TrainerEvents];

export type ProgressCallback = (event: ProgressEvent) => void;

type CliProgress = typeof import('cli-progress');

function format(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join('  ');
}

/**
 * A progress callback that draws one bar per epoch on a terminal (stderr by
 * default) and leaves a summary line after it. Where the stream is not a
 * terminal it draws nothing, so logs stay clean.
 */
export function progressBar({ stream = process.stderr }: { stream?: NodeJS.WriteStream } = {}): ProgressCallback {
  if (!stream.isTTY) return () => {};
  // Loaded on first use: programs that never draw a bar do not pay for it.
  const cli = createRequire(import.meta.url)('cli-progress') as CliProgress;
  let bar: InstanceType<CliProgress['SingleBar']> | undefined;
  let epochs = 0;
  return (event) => {
    switch (event.type) {
      case 'epochStart':
        epochs = event.epochs;
        bar?.stop();
        bar = new cli.SingleBar(
          {
            stream,
            format: `epoch ${event.epoch + 1}/${epochs} [{bar}] {value}/{total} batches  loss {loss}  lr {lr}  {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cli.Presets.shades_classic,
        );
        bar.start(event.batches, 0, { loss: '-', lr: event.lr.toPrecision(3) });
        break;
      case 'batchEnd':
        bar?.update(event.batch + 1, { loss: event.loss.toFixed(4), lr: event.lr.toPrecision(3) });
        break;
      case 'epochEnd':
        bar?.stop();
        bar = undefined;
        stream.write(`epoch ${event.epoch + 1}/${epochs}  ${format(event.metrics)}  (${event.time.toFixed(1)} s)\n`);
        break;
      case 'unfreeze':
        // The bar redraws on the next batch; a line here would tear it.
        break;
      case 'checkpoint':
        break;
    }
  };
}
