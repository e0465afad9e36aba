// loader(): torch.utils.data.DataLoader for this library. It shuffles, batches
// and collates (default_collate: stack each feed along a new first axis), and
// loads ahead: while the caller trains on batch k, batches k+1..k+prefetch are
// being decoded, at most `concurrency` samples at a time (sharp decodes on
// libuv's threads, so several in flight keep the cores busy).
//
// Unlike DataLoader, randomness never depends on workers or timing: the
// shuffle of epoch e comes from (seed, e) and sample i's augmentation from
// (seed, e, i), so any concurrency, or a run resumed at epoch e, gives the
// same batches.
import { availableParallelism } from 'node:os';
import { invalid, tgError, type TgError } from '../errors.js';
import { Tensor, type DType, type HostTensorLike } from '../tensor.js';
import { checkSeed, Rng, STREAM } from './rng.js';
import type { Batch, BatchSource, Dataset, Sample } from './types.js';

export interface LoaderOptions {
  /** Samples per batch; default 32. */
  batchSize?: number;
  /** A new order every epoch; default false. */
  shuffle?: boolean;
  /** Seeds the shuffle and every sample's augmentation; default 0. */
  seed?: number;
  /** Leave out the last, smaller batch; default false. */
  dropLast?: boolean;
  /** Batches loaded ahead of the one being consumed; default 2 (0 loads each batch on request). */
  prefetch?: number;
  /** Samples loaded at once; default 2 × the number of cores, at least 4. */
  concurrency?: number;
  /**
   * What an unreadable or undecodable sample does: 'throw' (default) fails the
   * epoch with an error naming the file; 'skip' leaves it out of its batch,
   * warns once per file and lists it in `skipped`.
   */
  onError?: 'throw' | 'skip';
}

export interface SkippedSample {
  index: number;
  /** The file, when the data set can name it. */
  source?: string;
  error: Error;
}

class Cancelled extends Error {}

/** A FIFO limit on tasks in flight; closing it drops the queued ones. */
class Limiter {
  private active = 0;
  private queue: (() => void)[] = [];
  private closed = false;

  constructor(private readonly limit: number) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        if (this.closed) {
          reject(new Cancelled('loader closed'));
          return;
        }
        this.active++;
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(() => {
            this.active--;
            this.queue.shift()?.();
          });
      };
      if (this.active < this.limit) start();
      else this.queue.push(start);
    });
  }

  close(): void {
    this.closed = true;
    const queued = this.queue;
    this.queue = [];
    for (const start of queued) start();
  }
}

function positiveInt(v: unknown, where: string, name: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw invalid('ERR_TG_ARG', where, name, min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`, v);
  }
  return v;
}

// Only bad files may be skipped; a wrong argument or shape is a bug to report.
function isDataError(err: unknown): boolean {
  const code = (err as TgError | undefined)?.code;
  return code === 'ERR_TG_FORMAT' || code === 'ERR_TG_IO';
}

/** Stacks samples along a new first axis, as default_collate. */
export function collate(samples: Sample[], names: string[] = []): Batch {
  const first = samples[0];
  const batch: Batch = {};
  const label = (i: number) => names[i] ?? `sample ${i}`;
  for (const key of Object.keys(first)) {
    const ref = first[key];
    const numel = ref.data.length;
    const ArrayType = ref.data.constructor as new (n: number) => HostTensorLike['data'];
    const data = new ArrayType(numel * samples.length);
    samples.forEach((s, i) => {
      const t = s[key];
      if (!t) throw tgError('ERR_TG_SHAPE', `collate: ${label(i)} has no '${key}' (${label(0)} has)`);
      if (t.dtype !== ref.dtype || t.data.length !== numel || t.shape.join() !== ref.shape.join()) {
        throw tgError(
          'ERR_TG_SHAPE',
          `collate: '${key}' of ${label(i)} is ${t.dtype} [${t.shape.join(', ')}] but of ${label(0)} ` +
            `${ref.dtype} [${ref.shape.join(', ')}]; samples in a batch must match (resize and crop images to one size)`,
        );
      }
      (data as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as ArrayLike<unknown>, i * numel);
    });
    batch[key] = new Tensor(data, [samples.length, ...ref.shape], ref.dtype as DType);
  }
  return batch;
}

export class DataLoader implements BatchSource {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly concurrency: number;
  readonly onError: 'throw' | 'skip';
  private readonly skippedByIndex = new Map<number, SkippedSample>();

  constructor(dataset: Dataset, options: LoaderOptions = {}) {
    const where = 'tg.data.loader';
    if (!dataset || typeof dataset.get !== 'function' || !Number.isSafeInteger(dataset.length)) {
      throw invalid('ERR_TG_ARG', where, 'dataset', 'a data set (length and get)', dataset);
    }
    this.dataset = dataset;
    this.batchSize = positiveInt(options.batchSize ?? 32, where, 'batchSize');
    this.shuffle = options.shuffle ?? false;
    this.seed = checkSeed(options.seed ?? 0, where);
    this.dropLast = options.dropLast ?? false;
    this.prefetch = positiveInt(options.prefetch ?? 2, where, 'prefetch', 0);
    this.concurrency = positiveInt(options.concurrency ?? Math.max(4, 2 * availableParallelism()), where, 'concurrency');
    const onError = options.onError ?? 'throw';
    if (onError !== 'throw' && onError !== 'skip') throw invalid('ERR_TG_ARG', where, 'onError', "'throw' or 'skip'", onError);
    this.onError = onError;
  }

  get size(): number {
    return this.dataset.length;
  }

  get batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  get classes(): string[] | undefined {
    return this.dataset.classes;
  }

  /** Samples left out so far with onError 'skip', one entry per sample. */
  get skipped(): SkippedSample[] {
    return [...this.skippedByIndex.values()];
  }

  /** The data set indices of epoch `epoch`, in the order they are batched. */
  order(epoch: number): Int32Array {
    positiveInt(epoch, 'tg.data.loader.order', 'epoch', 0);
    const n = this.dataset.length;
    if (this.shuffle) return Rng.keyed(this.seed, STREAM.shuffle, epoch).permutation(n);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return p;
  }

  async *batches(epoch: number): AsyncGenerator<Batch> {
    positiveInt(epoch, 'tg.data.loader.batches', 'epoch', 0);
    const order = this.order(epoch);
    const count = this.batchesPerEpoch;
    const limiter = new Limiter(this.concurrency);
    const pending: (Promise<Batch | null> | undefined)[] = new Array(count);
    let scheduled = 0;
    try {
      for (let k = 0; k < count; k++) {
        for (; scheduled < count && scheduled <= k + this.prefetch; scheduled++) {
          const indices = order.subarray(scheduled * this.batchSize, (scheduled + 1) * this.batchSize);
          const p = this.loadBatch(indices, epoch, limiter);
          // A batch loaded ahead may fail before anyone awaits it; its error
          // is reported when its turn comes, not as an unhandled rejection.
          p.catch(() => {});
          pending[scheduled] = p;
        }
        const batch = await pending[k]!;
        pending[k] = undefined;
        if (batch) yield batch;
      }
    } finally {
      limiter.close();
    }
  }

  private async loadBatch(indices: Int32Array, epoch: number, limiter: Limiter): Promise<Batch | null> {
    const ids = Array.from(indices);
    const samples = await Promise.all(ids.map((i) => limiter.run(() => this.loadSample(i, epoch))));
    const kept: Sample[] = [];
    const names: string[] = [];
    samples.forEach((s, j) => {
      if (!s) return;
      kept.push(s);
      names.push(this.dataset.describe?.(ids[j]) ?? `sample ${ids[j]}`);
    });
    return kept.length === 0 ? null : collate(kept, names);
  }

  private async loadSample(index: number, epoch: number): Promise<Sample | null> {
    try {
      return await this.dataset.get(index, Rng.keyed(this.seed, STREAM.sample, epoch, index));
    } catch (err) {
      if (this.onError !== 'skip' || !isDataError(err)) throw err;
      if (!this.skippedByIndex.has(index)) {
        const source = this.dataset.describe?.(index);
        this.skippedByIndex.set(index, { index, source, error: err as Error });
        process.emitWarning(`skipping ${source ?? `sample ${index}`}: ${(err as Error).message}`, { code: 'TG_DATA_SKIP' });
      }
      return null;
    }
  }
}

/** Batches of a data set; see LoaderOptions. */
export function loader(dataset: Dataset, options: LoaderOptions = {}): DataLoader {
  return new DataLoader(dataset, options);
}
