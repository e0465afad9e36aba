// The seeded generator behind parameter initialisation, so that a model built
// twice after tg.manualSeed(n) starts from the same weights.
import { invalid } from './errors.js';

let state = 0x9e3779b9;

/** Seeds parameter initialisation (like torch.manual_seed, for this library's own generator). */
export function manualSeed(seed: number): void {
  state = seed >>> 0;
}

/**
 * The generator's whole state, for checkpoints: restoring it with
 * setRandomState makes the draws that follow the same as after the save.
 */
export function getRandomState(): number {
  return state;
}

export function setRandomState(value: number): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) {
    throw invalid('ERR_TG_ARG', 'setRandomState', 'state', 'an integer in [0, 2^32)', value);
  }
  state = value;
}

/** Uniform in [0, 1) (mulberry32). */
export function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function uniform(n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * random();
  return out;
}

/** Standard normal samples (Box-Muller on the seeded generator). */
export function normal(n: number, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - random(); // (0, 1]: log stays finite
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}
