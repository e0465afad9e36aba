// Argument parsers for commander options: a bad value stops the command with
// commander's own "option ... argument ... is invalid" message and status 1.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!(/^\s*\d+\s*$/.test(value) && Number.isSafeInteger(n) && n > 0)) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!(/^\s*\d+\s*$/.test(value) && Number.isSafeInteger(n))) throw new InvalidArgumentError('expected an integer >= 0.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(value.trim() !== '' && Number.isFinite(n) && n > 0)) throw new InvalidArgumentError('expected a number > 0.');
  return n;
}

/** A share of the data: a number in [0, 1). */
export function fraction(value: string): number {
  const n = Number(value);
  if (!(value.trim() !== '' && Number.isFinite(n) && n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number in [0, 1).');
  return n;
}
