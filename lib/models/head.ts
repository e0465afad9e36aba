// Classifier heads: what replaceHead swaps and how pretrained weights for a
// different number of classes are told apart from a mismatch.
import { invalid } from '../errors.js';

export interface HeadOptions {
  /** Classes of the new head. */
  numClasses: number;
}

export function checkNumClasses(where: string, numClasses: unknown): number {
  if (!Number.isInteger(numClasses) || (numClasses as number) <= 0) {
    throw invalid('ERR_TG_ARG', where, 'numClasses', 'a positive integer', numClasses);
  }
  return numClasses as number;
}
