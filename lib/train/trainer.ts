// The training loop for transfer learning: a compiled Session driven epoch by
// epoch over a BatchSource, with the controls fine-tuning needs (freezing,
// per-glob learning rates, gradual unfreezing, schedules, clipping), metrics
// on validation data, early stopping, and checkpoints that resume a run so
// that it continues exactly as if it had never stopped.
//
// Exact resumption rests on the run being a pure function of its state: the
// data (batches(epoch) is deterministic), the parameters and buffers, the
// optimizer's slots and step count, the position (epoch, batch, step: the
// schedule is a function of it), the trainable set, the seeded generator and
// the early-stopping counters, and the session's step count, from which
// dropout draws its masks. A checkpoint stores all of these; the loss sums of
// a half-done epoch too, so that even its mean comes out the same.
//
// An abort rejects with an error named 'AbortError' with code 'ABORT_ERR',
// the code Node's own APIs give an operation stopped by an AbortSignal.
import { EventEmitter } from 'node:events';
import { basename, join } from 'node:path';
import type { Batch, BatchSource } from '../data/types.js';
import { invalid, tgError } from '../errors.js';
import { matchesAny } from '../glob.js';
import type { Model } from '../nn/module.js';
import { adamw, type OptimizerSpec, type ParamGroupSpec } from '../optim.js';
import { getRandomState, setRandomState } from '../random.js';
import type { LossSpec, Session } from '../session.js';
import { Tensor, type HostTensorLike } from '../tensor.js';
import { CheckpointStore, locateCheckpoint, readCheckpoint } from './checkpoint.js';
import { ClassificationMeter, type PerClassScores, type PrecisionRecallF1 } from './metrics.js';
import { isSegmentationPair, SegmentationMeter, type SegmentationReport } from './seg-metrics.js';
import { progressBar, type ProgressCallback, type TrainerEvents } from './progress.js';
import { cosine, oneCycle, stepDecay, type Schedule } from './schedules.js';

export type { Batch, BatchSource };

/** When a schedule advances: before every optimizer step, or once per epoch. */
export type ScheduleUnit = 'step' | 'epoch';

/**
 * A schedule built when fit() knows the length of the run. `warmup` counts
 * units of `per` (default 'step'); `warmupEpochs` counts epochs either way.
 */
export type ScheduleSpec = { per?: ScheduleUnit; warmup?: number; warmupEpochs?: number } & (
  | { type: 'constant' }
  | { type: 'cosine'; minLr?: number }
  | { type: 'oneCycle'; pctStart?: number; divFactor?: number; finalDivFactor?: number }
  | { type: 'stepDecay'; stepSize: number; gamma?: number }
);

/**
 * A function of the step index (or epoch index, with per: 'epoch') giving the
 * learning rate of the default group; explicit groups follow it in proportion
 * to their own rates. Or a ScheduleSpec.
 */
export type ScheduleOption = Schedule | { schedule: Schedule; per: ScheduleUnit } | ScheduleSpec;

export type Monitor = 'loss' | 'val_loss' | 'val_accuracy' | (string & {});

export interface EarlyStoppingOptions {
  /** A key of the epoch's metrics (default 'val_loss'). */
  monitor?: Monitor;
  /** Epochs without improvement before stopping (default 3). */
  patience?: number;
  /** The least change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Default: 'min' for names ending in 'loss', 'max' otherwise. */
  mode?: 'min' | 'max';
}

export interface CheckpointOptions {
  dir: string;
  /** Write one every this many epochs (default 1; 0: only best and abort checkpoints). */
  every?: number;
  /** Keep the checkpoint with the best monitored value too, named by best.json (default true). */
  keepBest?: boolean;
  /** Default: the early-stopping monitor, else 'val_loss' with validation data, else 'loss'. */
  monitor?: Monitor;
  mode?: 'min' | 'max';
  /** How many of the most recent checkpoints to keep besides the best (default 1). */
  keepLast?: number;
}

export interface GradualUnfreezeOptions {
  /**
   * Globs unfrozen one stage at a time, after the initial trainable set:
   * stage i joins at the start of epoch (i + 1) * everyEpochs.
   */
  stages: Array<string | string[]>;
  everyEpochs: number;
}

export interface TrainerOptions {
  /** Default tg.optim.adamw({ lr: 1e-3 }). */
  optimizer?: OptimizerSpec;
  loss?: LossSpec;
  device?: string;
  /** Default for fit's epochs. */
  epochs?: number;
  schedule?: ScheduleOption;
  /** Learning rates by glob ({ 'fc.*': 1e-3, 'layer4.*': 1e-4 }: first match wins), or param groups. */
  groups?: Record<string, number> | ParamGroupSpec[];
  /** Applied when the trainer is made: freeze first, then unfreeze. */
  freeze?: string | string[];
  unfreeze?: string | string[];
  gradualUnfreeze?: GradualUnfreezeOptions;
  earlyStopping?: EarlyStoppingOptions;
  checkpoint?: CheckpointOptions;
  /**
   * Validation metrics: 'accuracy', 'top<k>' (top5), 'precision', 'recall', 'f1' (macro averages);
   * for segmentation outputs (N, C, H, W) also 'miou', 'dice' (mean Dice) and 'pixel_accuracy'.
   * Default ['accuracy'] with cross-entropy, ['miou'] with the segmentation losses.
   */
  metrics?: string[];
  /** Clip the global gradient norm to this before each update. */
  gradClip?: number;
  /** Stops fit after the current step (see fit). */
  signal?: AbortSignal;
  /** true (default): a progress bar when stderr is a terminal; a function receives every event. */
  progress?: boolean | ProgressCallback;
  onProgress?: ProgressCallback;
}

export interface FitOptions {
  epochs?: number;
  validation?: BatchSource;
  /** A checkpoint folder, a folder of checkpoints, or 'latest' / 'best' in the checkpoint dir. */
  resume?: string;
  signal?: AbortSignal;
}

export interface EpochLog {
  epoch: number;
  /** Mean training loss over the epoch's samples. */
  loss: number;
  /** The default group's learning rate at the epoch's last step. */
  lr: number;
  /** Every group's, in group order (explicit groups, then the default one). */
  lrs: number[];
  /** Seconds, validation included. */
  time: number;
  steps: number;
  trainable: number;
  /** loss, val_loss, val_accuracy, ... */
  metrics: Record<string, number>;
}

export interface History {
  epochs: EpochLog[];
  stoppedEarly: boolean;
  /** The best epoch by the checkpoint's (or early stopping's) monitor. */
  best?: { monitor: string; value: number; epoch: number; checkpoint?: string };
}

export interface Evaluation {
  /** Sample-weighted mean loss (NaN without targets). */
  loss: number;
  /** Samples counted by the classification metrics (positions, for dense outputs). */
  samples: number;
  accuracy: number;
  top5: number;
  /** Top-k accuracy for 5 and every top<k> metric asked for. */
  topK: Record<number, number>;
  /** Macro averages. */
  precision: number;
  recall: number;
  f1: number;
  perClass: PerClassScores;
  macro: PrecisionRecallF1;
  weighted: PrecisionRecallF1;
  /** confusionMatrix[true][predicted]. */
  confusionMatrix: number[][];
  classes?: string[];
  /** IoU, Dice and pixel accuracy, when the logits are (N, C, H, W) segmentation maps. */
  segmentation?: SegmentationReport;
}

/** How fit rejects when its signal aborts: error.code 'ABORT_ERR' (Node's code for aborted operations). */
export interface TrainerAbortError extends Error {
  name: 'AbortError';
  code: 'ABORT_ERR';
  /** The checkpoint written on the way out, when checkpoints are configured. */
  checkpoint?: string;
}

// Everything a checkpoint needs besides the model and optimizer tensors.
interface RunState {
  epoch: number;
  batch: number;
  step: number;
  epochs: number;
  batchesPerEpoch: number;
  unfreezeStage: number;
  partial: { lossSum: number; samples: number; seconds: number; lr: number; lrs: number[] };
  history: EpochLog[];
  early: { best: number | null; bestEpoch: number; wait: number };
  best: { value: number | null; epoch: number };
  stopped: boolean;
}

interface SavedState extends RunState {
  trainable: string[];
  random: number;
  /** The session's step count (dropout's masks); absent in older checkpoints. */
  sessionSteps?: number;
  optimizerType: string;
  groups: number;
}

const globs = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function modeFor(monitor: string, mode?: 'min' | 'max'): 'min' | 'max' {
  return mode ?? (monitor.endsWith('loss') ? 'min' : 'max');
}

function improves(value: number, best: number | null, mode: 'min' | 'max', minDelta: number): boolean {
  if (Number.isNaN(value)) return false;
  if (best === null) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

function batchSize(batch: Batch): number {
  const t = batch.input ?? batch.input_ids ?? Object.values(batch)[0];
  return t?.shape?.[0] ?? 1;
}

function targetsOf(batch: Batch): HostTensorLike | undefined {
  return batch.target ?? batch.labels;
}

function isSource(v: unknown): v is BatchSource {
  return typeof v === 'object' && v !== null && typeof (v as BatchSource).batches === 'function';
}

function checkSource(where: string, name: string, v: unknown): BatchSource {
  if (!isSource(v)) throw invalid('ERR_TG_ARG', where, name, 'a BatchSource (batches(epoch), batchesPerEpoch, size)', v);
  if (!(Number.isInteger(v.batchesPerEpoch) && v.batchesPerEpoch >= 0)) {
    throw invalid('ERR_TG_ARG', where, `${name}.batchesPerEpoch`, 'an integer >= 0', v.batchesPerEpoch);
  }
  return v;
}

function abortError(where: string, reason: unknown, checkpoint?: string): TrainerAbortError {
  const resume = checkpoint ? `; resume with fit(..., { resume: '${checkpoint}' })` : '';
  const err = new Error(`Trainer.fit: aborted at ${where}${resume}`, { cause: reason }) as TrainerAbortError;
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  if (checkpoint) err.checkpoint = checkpoint;
  return err;
}

function resolveSchedule(option: ScheduleOption, lr: number, epochs: number, perEpoch: number): { fn: Schedule; per: ScheduleUnit } {
  const where = 'Trainer';
  if (typeof option === 'function') return { fn: option, per: 'step' };
  if (typeof option !== 'object' || option === null) throw invalid('ERR_TG_ARG', where, 'schedule', 'a function or a schedule spec', option);
  if ('schedule' in option) {
    if (typeof option.schedule !== 'function') throw invalid('ERR_TG_ARG', where, 'schedule.schedule', 'a function of the step', option.schedule);
    if (option.per !== 'step' && option.per !== 'epoch') throw invalid('ERR_TG_ARG', where, 'schedule.per', "'step' or 'epoch'", option.per);
    return { fn: option.schedule, per: option.per };
  }
  const per = option.per ?? 'step';
  if (per !== 'step' && per !== 'epoch') throw invalid('ERR_TG_ARG', where, 'schedule.per', "'step' or 'epoch'", per);
  const unitsPerEpoch = per === 'step' ? perEpoch : 1;
  const total = Math.max(1, epochs * unitsPerEpoch);
  const warmup = option.warmupEpochs !== undefined ? option.warmupEpochs * unitsPerEpoch : (option.warmup ?? 0);
  if (!(Number.isFinite(warmup) && warmup >= 0)) throw invalid('ERR_TG_ARG', where, 'schedule.warmup', 'a number >= 0', warmup);
  let fn: Schedule;
  switch (option.type) {
    case 'constant':
      fn = cosine(lr, { totalSteps: total, warmupSteps: warmup, minLr: lr });
      break;
    case 'cosine':
      fn = cosine(lr, { totalSteps: total, warmupSteps: warmup, minLr: option.minLr ?? 0 });
      break;
    case 'oneCycle':
      fn = oneCycle(lr, { totalSteps: total, pctStart: option.pctStart, divFactor: option.divFactor, finalDivFactor: option.finalDivFactor });
      break;
    case 'stepDecay': {
      const decay = stepDecay(lr, { stepSize: option.stepSize, gamma: option.gamma });
      fn = warmup > 0 ? (s) => (s < warmup ? (lr * (s + 1)) / warmup : decay(s)) : decay;
      break;
    }
    default:
      throw invalid('ERR_TG_ARG', where, 'schedule.type', "'constant', 'cosine', 'oneCycle' or 'stepDecay'", (option as { type: unknown }).type);
  }
  return { fn, per };
}

const METRIC = /^(accuracy|precision|recall|f1|top([1-9]\d*)|miou|dice|pixel_accuracy)$/;
const SEGMENTATION_METRIC = { miou: 'miou', dice: 'dice', pixel_accuracy: 'pixelAccuracy' } as const;

/**
 * Fine-tunes a model: `new Trainer(model, options).fit(train, { epochs, validation })`.
 * Events (also passed to a progress callback as { type, ...payload }):
 * 'epochStart', 'batchEnd' { epoch, batch, step, loss, lr }, 'epochEnd'
 * { epoch, metrics, lr, time }, 'unfreeze' and 'checkpoint'.
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  readonly model: Model;
  private readonly options: TrainerOptions;
  private readonly spec: OptimizerSpec;
  /** Base rate of each parameter group: explicit groups in order, then the default group. */
  private readonly baseLrs: number[];
  private readonly stages: string[][];
  private readonly metricNames: string[];
  private compiled?: Session;
  private running = false;
  private training = true;

  constructor(model: Model, options: TrainerOptions = {}) {
    super();
    const where = 'Trainer';
    if (typeof model !== 'object' || model === null || typeof (model as Model).compile !== 'function') {
      throw invalid('ERR_TG_ARG', where, 'model', 'a tg Model', model);
    }
    if (typeof options !== 'object' || options === null) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
    this.model = model;
    this.options = options;
    const names = Object.keys(model.parameters());
    const known = (glob: string, param: string) => {
      if (typeof glob !== 'string' || !names.some((n) => matchesAny(n, [glob]))) {
        throw tgError('ERR_TG_ARG', `${where}: ${param} pattern ${JSON.stringify(glob)} matches no parameter`);
      }
    };

    const base = options.optimizer ?? adamw({ lr: 1e-3 });
    if (typeof base !== 'object' || base === null || (base.type !== 'sgd' && base.type !== 'adamw')) {
      throw invalid('ERR_TG_ARG', where, 'optimizer', 'tg.optim.sgd(...) or tg.optim.adamw(...)', base);
    }
    let groups = base.groups ?? [];
    if (options.groups !== undefined) {
      if (base.groups?.length) throw tgError('ERR_TG_ARG', `${where}: give parameter groups either in groups or in the optimizer, not both`);
      if (Array.isArray(options.groups)) groups = options.groups;
      else if (typeof options.groups === 'object' && options.groups !== null) {
        groups = Object.entries(options.groups).map(([glob, lr]) => ({ params: [glob], lr }));
      } else throw invalid('ERR_TG_ARG', where, 'groups', "an object { glob: lr } or an array of param groups", options.groups);
      groups.forEach((g, i) => {
        if (!Array.isArray(g?.params)) throw invalid('ERR_TG_ARG', where, `groups[${i}].params`, 'an array of globs', g?.params);
        if (g.lr !== undefined && !(Number.isFinite(g.lr) && g.lr >= 0)) throw invalid('ERR_TG_ARG', where, `groups[${i}].lr`, 'a number >= 0', g.lr);
        g.params.forEach((p) => known(p, 'groups'));
      });
    }
    let clip = base.clipGradNorm;
    if (options.gradClip !== undefined) {
      if (!(Number.isFinite(options.gradClip) && options.gradClip > 0)) throw invalid('ERR_TG_ARG', where, 'gradClip', 'a number > 0', options.gradClip);
      clip = options.gradClip;
    }
    this.spec = { ...base, groups, clipGradNorm: clip } as OptimizerSpec;
    this.baseLrs = [...groups.map((g) => g.lr ?? base.lr), base.lr];

    const gu = options.gradualUnfreeze;
    this.stages = [];
    if (gu !== undefined) {
      if (typeof gu !== 'object' || gu === null || !Array.isArray(gu.stages)) {
        throw invalid('ERR_TG_ARG', where, 'gradualUnfreeze', '{ stages: [globs...], everyEpochs }', gu);
      }
      if (!(Number.isInteger(gu.everyEpochs) && gu.everyEpochs >= 1)) {
        throw invalid('ERR_TG_ARG', where, 'gradualUnfreeze.everyEpochs', 'an integer >= 1', gu.everyEpochs);
      }
      for (const stage of gu.stages) {
        const g = globs(stage);
        g.forEach((p) => known(p, 'gradualUnfreeze'));
        this.stages.push(g);
      }
    }

    this.metricNames = options.metrics ?? (this.classifies() ? ['accuracy'] : this.segments() ? ['miou'] : []);
    if (!Array.isArray(this.metricNames)) throw invalid('ERR_TG_ARG', where, 'metrics', 'an array of metric names', this.metricNames);
    for (const m of this.metricNames) {
      if (typeof m !== 'string' || !METRIC.test(m)) {
        throw invalid('ERR_TG_ARG', where, 'metrics', "names among 'accuracy', 'top<k>', 'precision', 'recall', 'f1', 'miou', 'dice', 'pixel_accuracy'", m);
      }
    }
    const es = options.earlyStopping;
    if (es !== undefined) {
      if (es.patience !== undefined && !(Number.isInteger(es.patience) && es.patience >= 0)) {
        throw invalid('ERR_TG_ARG', where, 'earlyStopping.patience', 'an integer >= 0', es.patience);
      }
      if (es.minDelta !== undefined && !(Number.isFinite(es.minDelta) && es.minDelta >= 0)) {
        throw invalid('ERR_TG_ARG', where, 'earlyStopping.minDelta', 'a number >= 0', es.minDelta);
      }
    }
    const ck = options.checkpoint;
    if (ck !== undefined) {
      if (typeof ck?.dir !== 'string' || !ck.dir) throw invalid('ERR_TG_ARG', where, 'checkpoint.dir', 'a folder path', ck?.dir);
      if (ck.every !== undefined && !(Number.isInteger(ck.every) && ck.every >= 0)) {
        throw invalid('ERR_TG_ARG', where, 'checkpoint.every', 'an integer >= 0', ck.every);
      }
      if (ck.keepLast !== undefined && !(Number.isInteger(ck.keepLast) && ck.keepLast >= 1)) {
        throw invalid('ERR_TG_ARG', where, 'checkpoint.keepLast', 'an integer >= 1', ck.keepLast);
      }
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw invalid('ERR_TG_ARG', where, 'signal', 'an AbortSignal', options.signal);
    }

    // Freezing is part of the model's state, so it happens now, visibly.
    const freeze = globs(options.freeze);
    const unfreeze = globs(options.unfreeze);
    if (freeze.length) model.freeze(...freeze);
    if (unfreeze.length) model.unfreeze(...unfreeze);

    const callbacks: ProgressCallback[] = [];
    if (typeof options.onProgress === 'function') callbacks.push(options.onProgress);
    if (typeof options.progress === 'function') callbacks.push(options.progress);
    else if (options.progress === true || (options.progress === undefined && !callbacks.length)) callbacks.push(progressBar());
    for (const cb of callbacks) {
      for (const type of ['epochStart', 'batchEnd', 'epochEnd', 'unfreeze', 'checkpoint'] as const) {
        this.on(type, (event: object) => cb({ type, ...event } as Parameters<ProgressCallback>[0]));
      }
    }
  }

  private classifies(): boolean {
    const loss = this.options.loss;
    return loss === undefined || loss === 'cross_entropy' || (typeof loss === 'object' && loss?.type === 'cross_entropy');
  }

  private segments(): boolean {
    const type = typeof this.options.loss === 'object' ? this.options.loss?.type : this.options.loss;
    return type === 'dice' || type === 'bce_dice' || type === 'cross_entropy_dice';
  }

  /** The compiled session the trainer steps (made on first use; the trainable set may change it). */
  get session(): Session {
    this.compiled ??= this.model.compile({ device: this.options.device, loss: this.options.loss, optimizer: this.spec });
    return this.compiled;
  }

  /** Sets every group's rate from the default group's rate `lr`, keeping the groups' proportions. */
  private applyLr(lr: number): number[] {
    const scale = lr / this.spec.lr;
    const last = this.baseLrs.length - 1;
    // The default group takes the schedule's value itself, unrounded.
    const lrs = this.baseLrs.map((b, i) => (i === last ? lr : b * scale));
    lrs.forEach((v, i) => this.session.setLr(v, i));
    return lrs;
  }

  private setTrainable(names: string[]): void {
    this.model.freeze('*');
    if (names.length) this.model.unfreeze(...names);
  }

  private async restore(spec: string, train: BatchSource, epochs: number): Promise<{ run: RunState; folder: string }> {
    if (typeof spec !== 'string' || !spec) throw invalid('ERR_TG_ARG', 'Trainer.fit', 'resume', "a checkpoint path, 'latest' or 'best'", spec);
    const folder = await locateCheckpoint(spec, this.options.checkpoint?.dir);
    const ck = await readCheckpoint<SavedState>(folder);
    const s = ck.state;
    const where = `Trainer.fit: resume from ${folder}`;
    const counts = [s?.epoch, s?.batch, s?.step, s?.unfreezeStage, s?.random];
    if (!counts.every((v) => Number.isInteger(v) && v >= 0) || !Array.isArray(s.trainable) || !Array.isArray(s.history) || typeof s.partial !== 'object') {
      throw tgError('ERR_TG_FORMAT', `${where}: trainer.json lacks the training position or state`);
    }
    if (s.batchesPerEpoch !== train.batchesPerEpoch) {
      throw tgError('ERR_TG_ARG', `${where}: the checkpoint's data had ${s.batchesPerEpoch} batches per epoch, this has ${train.batchesPerEpoch}`);
    }
    if (s.optimizerType !== this.spec.type || s.groups !== this.baseLrs.length) {
      throw tgError('ERR_TG_ARG', `${where}: the checkpoint was trained with ${s.optimizerType} and ${s.groups} parameter groups, this trainer has ${this.spec.type} and ${this.baseLrs.length}`);
    }
    // A strict load checks everything before it writes, so a mismatched model is left as it was.
    await this.model.load(ck.modelPath, { strict: true });
    // The trainable set before the optimizer state, which belongs to it.
    this.setTrainable(s.trainable);
    this.session.loadOptimizerState(ck.optimizer);
    this.session.setSteps(s.sessionSteps ?? s.step);
    setRandomState(s.random);
    const { trainable: _t, random: _r, sessionSteps: _s, optimizerType: _o, groups: _g, ...run } = s;
    return { run: { ...run, epochs }, folder };
  }

  /**
   * Trains for `epochs` epochs (fit's, else the trainer's). Resolves to the
   * history; on abort (options.signal or fit's) it finishes the current step,
   * writes a checkpoint when checkpoints are configured, and rejects with an
   * AbortError (code 'ABORT_ERR', .checkpoint the folder written).
   */
  async fit(train: BatchSource, options: FitOptions = {}): Promise<History> {
    const where = 'Trainer.fit';
    checkSource(where, 'train', train);
    if (typeof options !== 'object' || options === null) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
    const epochs = options.epochs ?? this.options.epochs;
    if (!(Number.isInteger(epochs) && (epochs as number) >= 0)) throw invalid('ERR_TG_ARG', where, 'epochs', 'an integer >= 0', epochs);
    const validation = options.validation === undefined ? undefined : checkSource(where, 'validation', options.validation);
    const signal = options.signal ?? this.options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('ERR_TG_ARG', where, 'signal', 'an AbortSignal', signal);

    const es = this.options.earlyStopping;
    const esMonitor = es ? (es.monitor ?? 'val_loss') : undefined;
    const ckOpt = this.options.checkpoint;
    const ckMonitor = ckOpt?.monitor ?? esMonitor ?? (validation ? 'val_loss' : 'loss');
    const tracksBest = ckOpt !== undefined && ckOpt.keepBest !== false;
    for (const [m, name] of [[esMonitor, 'earlyStopping.monitor'], [tracksBest ? ckMonitor : undefined, 'checkpoint.monitor']] as const) {
      if (m?.startsWith('val_') && !validation) throw tgError('ERR_TG_ARG', `${where}: ${name} '${m}' needs validation data (fit's validation option)`);
    }
    const sched = this.options.schedule === undefined ? undefined : resolveSchedule(this.options.schedule, this.spec.lr, epochs as number, train.batchesPerEpoch);
    if (sched && !(this.spec.lr > 0)) throw tgError('ERR_TG_ARG', `${where}: a schedule needs the optimizer's lr > 0 (the groups' rates are scaled by schedule / lr)`);

    if (this.running) throw tgError('ERR_TG_ARG', `${where}: this trainer is already running fit`);
    this.running = true;
    try {
      if (signal?.aborted) throw abortError('the start', signal.reason);
      const store = ckOpt ? new CheckpointStore(ckOpt.dir) : undefined;
      await store?.open();
      let run: RunState = {
        epoch: 0,
        batch: 0,
        step: 0,
        epochs: epochs as number,
        batchesPerEpoch: train.batchesPerEpoch,
        unfreezeStage: 0,
        partial: { lossSum: 0, samples: 0, seconds: 0, lr: this.spec.lr, lrs: [...this.baseLrs] },
        history: [],
        early: { best: null, bestEpoch: -1, wait: 0 },
        best: { value: null, epoch: -1 },
        stopped: false,
      };
      let recent: string[] = [];
      let bestName: string | undefined;
      let lastWritten: { key: string; path: string } | undefined;
      if (options.resume !== undefined) {
        const restored = await this.restore(options.resume, train, epochs as number);
        run = restored.run;
        if (store) {
          const latest = await store.pointer('latest');
          recent = Array.isArray(latest?.recent) ? (latest.recent as string[]) : [];
          bestName = (await store.pointer('best'))?.checkpoint;
        }
        lastWritten = { key: `${run.epoch}/${run.batch}`, path: restored.folder };
      }
      const history = (): History => {
        const h: History = { epochs: run.history, stoppedEarly: run.stopped };
        if (tracksBest && run.best.value !== null) {
          h.best = { monitor: ckMonitor, value: run.best.value, epoch: run.best.epoch };
          if (bestName) h.best.checkpoint = join(store!.dir, bestName);
        } else if (es && run.early.best !== null) {
          h.best = { monitor: esMonitor as string, value: run.early.best, epoch: run.early.bestEpoch };
        }
        return h;
      };
      if (run.stopped) return history();

      const lrAt = (step: number, epoch: number) => (sched ? sched.fn(sched.per === 'step' ? step : epoch) : this.spec.lr);
      const keepLast = ckOpt?.keepLast ?? 1;

      const save = async (reason: 'epoch' | 'abort', isBest: boolean): Promise<string> => {
        const key = `${run.epoch}/${run.batch}`;
        if (lastWritten?.key === key && !isBest) return lastWritten.path;
        const session = this.session;
        const state: SavedState = {
          ...structuredClone(run),
          trainable: this.model.trainableParameters(),
          random: getRandomState(),
          sessionSteps: session.steps,
          optimizerType: this.spec.type,
          groups: this.baseLrs.length,
        };
        const path = await store!.write(run.step, this.model, session.optimizerState(), state);
        const name = basename(path);
        recent = [name, ...recent.filter((n) => n !== name)].slice(0, keepLast);
        await store!.setPointer('latest', { checkpoint: name, epoch: run.epoch, batch: run.batch, step: run.step, recent });
        if (isBest) {
          bestName = name;
          await store!.setPointer('best', { checkpoint: name, monitor: ckMonitor, value: run.best.value, epoch: run.best.epoch });
        }
        await store!.prune(bestName ? [...recent, bestName] : recent);
        lastWritten = { key, path };
        this.emit('checkpoint', { path, reason, best: isBest });
        return path;
      };
      const stop = async (at: string): Promise<never> => {
        const path = store ? await save('abort', false) : undefined;
        throw abortError(at, signal?.reason, path);
      };

      this.session.train();
      this.training = true;
      while (run.epoch < (epochs as number)) {
        const epoch = run.epoch;
        // Stages due by this epoch; on a resume they are already in the restored set.
        const due = Math.min(this.stages.length, Math.floor(epoch / (this.options.gradualUnfreeze?.everyEpochs ?? 1)));
        for (; run.unfreezeStage < due; run.unfreezeStage++) {
          const g = this.stages[run.unfreezeStage];
          this.model.unfreeze(...g);
          this.emit('unfreeze', { epoch, stage: run.unfreezeStage, globs: g, trainable: this.model.trainableParameters().length });
        }
        const started = performance.now();
        if (run.batch === 0) run.partial = { lossSum: 0, samples: 0, seconds: 0, lr: lrAt(run.step, epoch), lrs: [] };
        this.emit('epochStart', {
          epoch,
          epochs: epochs as number,
          batches: train.batchesPerEpoch,
          trainable: this.model.trainableParameters().length,
          lr: lrAt(run.step, epoch),
        });
        let index = 0;
        for await (const batch of train.batches(epoch)) {
          // Batches a resumed epoch already trained on.
          if (index < run.batch) {
            index++;
            if (signal?.aborted) await stop(`epoch ${epoch}, batch ${run.batch}`);
            continue;
          }
          const lr = lrAt(run.step, epoch);
          const lrs = sched ? this.applyLr(lr) : this.baseLrs;
          let loss: number;
          try {
            ({ loss } = await this.session.step(batch));
          } catch (err) {
            if (err instanceof Error) err.message = `${where}: epoch ${epoch}, batch ${index}: ${err.message}`;
            throw err;
          }
          const n = batchSize(batch);
          run.partial.lossSum += loss * n;
          run.partial.samples += n;
          run.partial.lr = lr;
          run.partial.lrs = [...lrs];
          run.step++;
          run.batch = ++index;
          this.emit('batchEnd', { epoch, batch: index - 1, step: run.step, loss, lr });
          if (signal?.aborted) {
            run.partial.seconds += (performance.now() - started) / 1000;
            await stop(`epoch ${epoch}, batch ${index - 1}`);
          }
        }

        const metrics: Record<string, number> = { loss: run.partial.lossSum / run.partial.samples };
        if (validation) {
          const v = await this.measure(validation);
          metrics.val_loss = v.loss;
          for (const m of this.metricNames) metrics[`val_${m}`] = this.pick(v, m);
        }
        const log: EpochLog = {
          epoch,
          loss: metrics.loss,
          lr: run.partial.lr,
          lrs: run.partial.lrs.length ? run.partial.lrs : [...this.baseLrs],
          time: run.partial.seconds + (performance.now() - started) / 1000,
          steps: index,
          trainable: this.model.trainableParameters().length,
          metrics,
        };
        run.history.push(log);
        if (es) {
          const value = this.monitored(metrics, esMonitor as string);
          if (improves(value, run.early.best, modeFor(esMonitor as string, es.mode), es.minDelta ?? 0)) {
            run.early = { best: value, bestEpoch: epoch, wait: 0 };
          } else if (++run.early.wait >= (es.patience ?? 3)) run.stopped = true;
        }
        let isBest = false;
        if (tracksBest) {
          const value = this.monitored(metrics, ckMonitor);
          if (improves(value, run.best.value, modeFor(ckMonitor, ckOpt?.mode), 0)) {
            run.best = { value, epoch };
            isBest = true;
          }
        }
        // From here the position is the next epoch's start, which is what a checkpoint records.
        run.epoch = epoch + 1;
        run.batch = 0;
        const every = ckOpt?.every ?? 1;
        if (store && (isBest || (every > 0 && run.epoch % every === 0) || run.epoch === epochs)) await save('epoch', isBest);
        this.emit('epochEnd', { epoch, metrics, lr: log.lr, time: log.time });
        if (run.stopped) break;
        if (signal?.aborted && run.epoch < (epochs as number)) await stop(`the end of epoch ${epoch}`);
      }
      return history();
    } finally {
      this.running = false;
    }
  }

  private monitored(metrics: Record<string, number>, monitor: string): number {
    if (!(monitor in metrics)) {
      throw tgError('ERR_TG_ARG', `Trainer: monitor '${monitor}' is not among the epoch's metrics (${Object.keys(metrics).join(', ')})`);
    }
    return metrics[monitor];
  }

  private pick(v: Evaluation, metric: string): number {
    const top = /^top(\d+)$/.exec(metric);
    if (top) return v.topK[Number(top[1])];
    if (metric in SEGMENTATION_METRIC) return v.segmentation?.[SEGMENTATION_METRIC[metric as keyof typeof SEGMENTATION_METRIC]] ?? NaN;
    return v[metric as 'accuracy' | 'precision' | 'recall' | 'f1'];
  }

  // Runs fn in eval mode (dropout off, BatchNorm on running statistics), then restores the mode.
  private async inEvalMode<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const session = this.session;
    session.eval();
    try {
      return await fn(session);
    } finally {
      if (this.training) session.train();
    }
  }

  /**
   * Loss and classification metrics over a source's batches (its epoch 0), in
   * eval mode. Metrics are counted over all samples at once, not averaged
   * over batches.
   */
  async evaluate(source: BatchSource, { signal }: { signal?: AbortSignal } = {}): Promise<Evaluation> {
    checkSource('Trainer.evaluate', 'source', source);
    this.idle('evaluate');
    return this.measure(source, signal);
  }

  // Switching the session to eval mode in the middle of fit would change its steps.
  private idle(where: string): void {
    if (this.running) throw tgError('ERR_TG_ARG', `Trainer.${where}: fit is running; wait for it (validation metrics arrive with 'epochEnd')`);
  }

  private async measure(source: BatchSource, signal?: AbortSignal): Promise<Evaluation> {
    const ks = [...new Set([5, ...this.metricNames.flatMap((m) => (/^top(\d+)$/.exec(m) ? [Number(m.slice(3))] : []))])];
    const meter = new ClassificationMeter({ topK: ks, ignoreIndex: this.ignoreIndex() });
    const segMeter = new SegmentationMeter({ ignoreIndex: this.ignoreIndex() });
    let segmented = false;
    let lossSum = 0;
    let samples = 0;
    let counted = false;
    await this.inEvalMode(async (session) => {
      for await (const batch of source.batches(0)) {
        if (signal?.aborted) {
          const err = abortError('evaluation', signal.reason);
          err.message = 'Trainer.evaluate: aborted';
          throw err;
        }
        const out = await session.run(batch);
        const n = batchSize(batch);
        if (out.loss) {
          lossSum += (out.loss.data as Float32Array)[0] * n;
          samples += n;
        }
        const t = targetsOf(batch);
        const logits = out.logits;
        // One channel is a binary output (bce losses): no argmax over classes to count.
        if (t && ['i32', 'i64', 'u8'].includes(t.dtype) && logits.shape.length >= 2 && logits.shape[1] > 1) {
          meter.add(logits, t);
          counted = true;
        }
        // (N, C, H, W) maps against (N, H, W) or (N, 1, H, W) targets: segmentation.
        if (t && isSegmentationPair(logits, t)) {
          segMeter.add(logits, t);
          segmented = true;
        }
      }
    });
    const r = counted ? meter.report() : undefined;
    return {
      loss: samples ? lossSum / samples : NaN,
      samples: r?.count ?? 0,
      accuracy: r?.accuracy ?? NaN,
      top5: r?.topK[5] ?? NaN,
      topK: r?.topK ?? {},
      precision: r?.macro.precision ?? NaN,
      recall: r?.macro.recall ?? NaN,
      f1: r?.macro.f1 ?? NaN,
      perClass: r?.perClass ?? { precision: [], recall: [], f1: [], support: [] },
      macro: r?.macro ?? { precision: NaN, recall: NaN, f1: NaN },
      weighted: r?.weighted ?? { precision: NaN, recall: NaN, f1: NaN },
      confusionMatrix: r?.confusionMatrix ?? [],
      ...(source.classes ? { classes: [...source.classes] } : {}),
      ...(segmented ? { segmentation: segMeter.report() } : {}),
    };
  }

  private ignoreIndex(): number {
    const loss = this.options.loss;
    return typeof loss === 'object' && loss !== null && 'ignoreIndex' in loss && loss.ignoreIndex !== undefined ? loss.ignoreIndex : -100;
  }

  /**
   * Logits in eval mode: of one input (a tensor is the `input` feed, or a
   * record of feeds), or of every batch of a source (its epoch 0), concatenated.
   */
  async predict(input: BatchSource | HostTensorLike | Record<string, HostTensorLike>): Promise<Tensor> {
    this.idle('predict');
    if (!isSource(input)) return this.inEvalMode(async (s) => (await s.run(input)).logits);
    const parts: Tensor[] = [];
    await this.inEvalMode(async (session) => {
      for await (const batch of input.batches(0)) {
        const { target: _t, labels: _l, ...feeds } = batch;
        parts.push((await session.run(feeds)).logits);
      }
    });
    if (!parts.length) throw tgError('ERR_TG_ARG', 'Trainer.predict: the source has no batches');
    const [, ...rest] = parts[0].shape;
    const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
    let offset = 0;
    let rows = 0;
    for (const p of parts) {
      if (p.shape.slice(1).join() !== rest.join()) {
        throw tgError('ERR_TG_SHAPE', `Trainer.predict: batch outputs differ in shape: [${parts[0].shape}] and [${p.shape}]`);
      }
      data.set(p.data as Float32Array, offset);
      offset += p.data.length;
      rows += p.shape[0];
    }
    return new Tensor(data, [rows, ...rest], 'f32');
  }
}
