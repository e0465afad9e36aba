// Subsets and seeded train/validation splits: torch.utils.data.Subset and
// random_split, with a stratified option in the manner of scikit-learn's
// train_test_split(stratify=...): each class keeps its share in both parts.
import { invalid, tgError } from '../errors.js';
import { checkSeed, Rng, STREAM } from './rng.js';
import type { Transform } from './transforms.js';
import type { Dataset, Sample } from './types.js';

/** A data set whose image transform can be swapped (image folders and lists). */
export interface Retransformable extends Dataset {
  withTransform(transform: Transform): Dataset;
}

export class Subset implements Dataset {
  readonly dataset: Dataset;
  /** Indices into `dataset`, in this subset's order. */
  readonly indices: Int32Array;

  constructor(dataset: Dataset, indices: ArrayLike<number>) {
    const where = 'tg.data.subset';
    this.dataset = dataset;
    this.indices = Int32Array.from(indices);
    for (let i = 0; i < this.indices.length; i++) {
      const v = this.indices[i];
      if (v < 0 || v >= dataset.length || v !== indices[i]) {
        throw invalid('ERR_TG_ARG', where, `indices[${i}]`, `an integer in [0, ${dataset.length - 1}]`, indices[i]);
      }
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get classes(): string[] | undefined {
    return this.dataset.classes;
  }

  get targets(): Int32Array | undefined {
    const t = this.dataset.targets;
    return t ? Int32Array.from(this.indices, (i) => t[i]) : undefined;
  }

  get(index: number, rng: Rng): Sample | Promise<Sample> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.indices.length) {
      throw invalid('ERR_TG_ARG', 'tg.data.Subset.get', 'index', `an integer in [0, ${this.indices.length - 1}]`, index);
    }
    return this.dataset.get(this.indices[index], rng);
  }

  describe(index: number): string {
    const i = this.indices[index];
    return this.dataset.describe?.(i) ?? `sample ${i}`;
  }

  /** The same samples through another transform (for a base data set of images). */
  withTransform(transform: Transform): Subset {
    const base = this.dataset as Partial<Retransformable>;
    if (typeof base.withTransform !== 'function') {
      throw tgError('ERR_TG_ARG', 'tg.data.Subset.withTransform: the underlying data set has no image transform to replace');
    }
    return new Subset(base.withTransform(transform), this.indices);
  }
}

export function subset(dataset: Dataset, indices: ArrayLike<number>): Subset {
  return new Subset(dataset, indices);
}

export interface SplitOptions {
  /** The share of samples for validation, in [0, 1); the count is rounded to nearest. Default 0.2. */
  valFraction?: number;
  /** The number of validation samples (instead of valFraction). */
  valSize?: number;
  /** Default 0. */
  seed?: number;
  /** Keep each class's share in both parts (needs the data set's `targets`). Default false. */
  stratify?: boolean;
}

/**
 * A seeded train/validation split. Both parts keep the data set's order
 * (shuffling is the loader's job), so a split is reproducible from the seed.
 */
export function split(dataset: Dataset, options: SplitOptions = {}): { train: Subset; val: Subset } {
  const where = 'tg.data.split';
  const n = dataset.length;
  const seed = checkSeed(options.seed ?? 0, where);
  let nVal: number;
  if (options.valSize !== undefined) {
    if (options.valFraction !== undefined) throw tgError('ERR_TG_ARG', `${where}: give valFraction or valSize, not both`);
    nVal = options.valSize;
    if (!Number.isSafeInteger(nVal) || nVal < 0 || nVal > n) {
      throw invalid('ERR_TG_ARG', where, 'valSize', `an integer in [0, ${n}]`, options.valSize);
    }
  } else {
    const f = options.valFraction ?? 0.2;
    if (!(Number.isFinite(f) && f >= 0 && f < 1)) throw invalid('ERR_TG_ARG', where, 'valFraction', 'a number in [0, 1)', f);
    nVal = Math.round(n * f);
  }
  const rng = Rng.keyed(seed, STREAM.split);
  const isVal = new Uint8Array(n);
  if (options.stratify) {
    const targets = dataset.targets;
    if (!targets || targets.length !== n) {
      throw tgError('ERR_TG_ARG', `${where}: stratify needs a data set whose targets (class ids) are known without loading`);
    }
    for (const i of stratifiedPick(targets, nVal, rng)) isVal[i] = 1;
  } else {
    const perm = rng.permutation(n);
    for (let i = 0; i < nVal; i++) isVal[perm[i]] = 1;
  }
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < n; i++) (isVal[i] ? val : train).push(i);
  return { train: new Subset(dataset, train), val: new Subset(dataset, val) };
}

// nVal indices such that each class gets its proportional share: floors of
// the exact quotas, the remainder to the largest fractional parts (ties to
// the lower class id), members of each class chosen at random.
function stratifiedPick(targets: ArrayLike<number>, nVal: number, rng: Rng): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < targets.length; i++) {
    const list = byClass.get(targets[i]);
    if (list) list.push(i);
    else byClass.set(targets[i], [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const n = targets.length;
  const quota = classes.map((c) => (byClass.get(c)!.length * nVal) / n);
  const take = quota.map(Math.floor);
  let left = nVal - take.reduce((a, b) => a + b, 0);
  const byRemainder = classes.map((_, k) => k).sort((a, b) => quota[b] - take[b] - (quota[a] - take[a]) || a - b);
  for (const k of byRemainder) {
    if (left === 0) break;
    if (take[k] < byClass.get(classes[k])!.length) {
      take[k]++;
      left--;
    }
  }
  const picked: number[] = [];
  classes.forEach((c, k) => {
    const members = byClass.get(c)!;
    const perm = rng.permutation(members.length);
    for (let i = 0; i < take[k]; i++) picked.push(members[perm[i]]);
  });
  return picked;
}
