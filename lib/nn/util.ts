// Argument checks shared by the tg.nn layers.
import { invalid } from '../errors.js';

export function positiveInt(where: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw invalid('ERR_TG_ARG', where, name, 'a positive integer', v);
  return v as number;
}

/** An int or an [h, w] pair, as PyTorch's _pair. */
export function pair(where: string, name: string, v: unknown, min = 0): [number, number] {
  const p = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw invalid('ERR_TG_ARG', where, name, `an integer >= ${min} or a pair of them`, v);
  }
  return [p[0], p[1]];
}

/** The node name of a layer: its module path, or a default at the top level. */
export function nodeName(prefix: string, fallback: string): string {
  return prefix.slice(0, -1) || fallback;
}
