// Learning-rate schedules: functions from the step index (0-based) to a rate,
// matching torch.optim.lr_scheduler's curves. Apply one with
// `session.setLr(schedule(step))` before each step, or use LRScheduler.
import { invalid } from '../errors.js';

export type Schedule = (step: number) => number;

function positive(where: string, name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw invalid('ERR_TG_ARG', where, name, 'a number > 0', v);
}

export function constant(lr: number): Schedule {
  return () => lr;
}

/** lr * gamma^floor(step / stepSize), as StepLR. */
export function stepDecay(lr: number, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }): Schedule {
  positive('tg.schedules.stepDecay', 'stepSize', stepSize);
  return (step) => lr * gamma ** Math.floor(step / stepSize);
}

/**
 * Linear warm-up from 0 over `warmupSteps`, then cosine decay to `minLr` at
 * `totalSteps` (the schedule of Hugging Face's get_cosine_schedule_with_warmup
 * when minLr is 0).
 */
export function cosine(
  lr: number,
  { totalSteps, warmupSteps = 0, minLr = 0 }: { totalSteps: number; warmupSteps?: number; minLr?: number },
): Schedule {
  positive('tg.schedules.cosine', 'totalSteps', totalSteps);
  return (step) => {
    if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
    const t = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * t));
  };
}

/**
 * The one-cycle policy (OneCycleLR, cosine annealing, two phases): from
 * maxLr / divFactor up to maxLr over pctStart of the steps, then down to
 * maxLr / divFactor / finalDivFactor.
 */
export function oneCycle(
  maxLr: number,
  {
    totalSteps,
    pctStart = 0.3,
    divFactor = 25,
    finalDivFactor = 1e4,
  }: { totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number },
): Schedule {
  positive('tg.schedules.oneCycle', 'totalSteps', totalSteps);
  const initial = maxLr / divFactor;
  const final = initial / finalDivFactor;
  const upEnd = pctStart * totalSteps - 1;
  const downEnd = totalSteps - 1;
  const anneal = (from: number, to: number, pct: number) => to + ((from - to) / 2) * (1 + Math.cos(Math.PI * pct));
  return (step) => {
    if (step <= upEnd) return anneal(initial, maxLr, step / upEnd);
    return anneal(maxLr, final, Math.min(1, (step - upEnd) / (downEnd - upEnd)));
  };
}

/** Sets a session's learning rate from a schedule: call step() once per optimizer step. */
export class LRScheduler {
  private index = 0;
  constructor(
    private readonly session: { setLr(lr: number, group?: number): void },
    private readonly schedule: Schedule,
    private readonly group?: number,
  ) {
    session.setLr(schedule(0), group);
  }

  /** Advances to the next step's rate; returns it. */
  step(): number {
    this.index++;
    const lr = this.schedule(this.index);
    this.session.setLr(lr, this.group);
    return lr;
  }

  get lastLr(): number {
    return this.schedule(this.index);
  }
}
