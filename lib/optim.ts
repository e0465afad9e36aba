// Optimizer specifications. The update itself runs natively at the end of
// each step, with PyTorch's rules (torch.optim.SGD, torch.optim.AdamW).
import { invalid } from './errors.js';

export interface ParamGroupSpec {
  /** Glob patterns on parameter names ('layer4.*'); the first group that matches a parameter takes it. */
  params: string[];
  lr?: number;
  weightDecay?: number;
}

interface CommonOptions {
  lr: number;
  weightDecay?: number;
  /** Clip the global L2 norm of all gradients to this before each update. */
  clipGradNorm?: number;
  /** Groups with their own lr / weight decay; parameters in none form a last, default group. */
  groups?: ParamGroupSpec[];
}

export interface SgdOptions extends CommonOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

export interface AdamWOptions extends CommonOptions {
  betas?: [number, number];
  eps?: number;
}

export type OptimizerSpec = ({ type: 'sgd' } & SgdOptions) | ({ type: 'adamw' } & AdamWOptions);

function checkCommon(where: string, o: CommonOptions): void {
  if (typeof o !== 'object' || o === null) throw invalid('ERR_TG_ARG', where, 'options', 'an object', o);
  if (!(Number.isFinite(o.lr) && o.lr >= 0)) throw invalid('ERR_TG_ARG', where, 'lr', 'a number >= 0', o.lr);
  if (o.weightDecay !== undefined && !(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) {
    throw invalid('ERR_TG_ARG', where, 'weightDecay', 'a number >= 0', o.weightDecay);
  }
  if (o.clipGradNorm !== undefined && !(Number.isFinite(o.clipGradNorm) && o.clipGradNorm > 0)) {
    throw invalid('ERR_TG_ARG', where, 'clipGradNorm', 'a number > 0', o.clipGradNorm);
  }
}

/** Stochastic gradient descent, as torch.optim.SGD (weightDecay added to the gradient). */
export function sgd(options: SgdOptions): OptimizerSpec {
  checkCommon('tg.optim.sgd', options);
  const { momentum = 0, dampening = 0, nesterov = false } = options;
  if (!(Number.isFinite(momentum) && momentum >= 0)) throw invalid('ERR_TG_ARG', 'tg.optim.sgd', 'momentum', 'a number >= 0', momentum);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw invalid('ERR_TG_ARG', 'tg.optim.sgd', 'nesterov', 'used with momentum > 0 and dampening 0', nesterov);
  }
  return { type: 'sgd', weightDecay: 0, ...options, momentum, dampening, nesterov };
}

/** Adam with decoupled weight decay, as torch.optim.AdamW (default weightDecay 0.01). */
export function adamw(options: AdamWOptions): OptimizerSpec {
  checkCommon('tg.optim.adamw', options);
  const { betas = [0.9, 0.999], eps = 1e-8 } = options;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => b >= 0 && b < 1)) {
    throw invalid('ERR_TG_ARG', 'tg.optim.adamw', 'betas', 'two numbers in [0, 1)', betas);
  }
  return { type: 'adamw', weightDecay: 0.01, ...options, betas, eps };
}
