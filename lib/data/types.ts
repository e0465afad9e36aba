// The contracts between data sets, the loader and the Trainer. A Dataset is
// torch.utils.data.Dataset (random access to samples, __getitem__ → get); a
// BatchSource is what a DataLoader gives the training loop: an epoch's worth
// of collated batches keyed by feed name.
import type { HostTensorLike } from '../tensor.js';
import type { Rng } from './rng.js';

/** One batch, keyed by feed name. Vision: `{ input: (N,3,H,W) f32, target: (N) i32 }`. */
export interface Batch {
  [feed: string]: HostTensorLike;
}

export interface BatchSource {
  /** The batches of one epoch; the same epoch number always gives the same batches. */
  batches(epoch: number): AsyncIterable<Batch>;
  readonly batchesPerEpoch: number;
  /** Samples per epoch (before `dropLast`). */
  readonly size: number;
  /** Class names by id, when the data set has them. */
  readonly classes?: string[];
}

/** One sample, keyed by feed name; the loader stacks samples along a new first axis. */
export interface Sample {
  [feed: string]: HostTensorLike;
}

/** Random access to samples, as torch.utils.data.Dataset. */
export interface Dataset {
  readonly length: number;
  readonly classes?: string[];
  /** The class id of every sample when it is known without loading (for stratified splits). */
  readonly targets?: ArrayLike<number>;
  /**
   * Loads sample `index`. `rng` is that sample's own random stream: all of its
   * augmentation randomness must come from it, never from Math.random.
   */
  get(index: number, rng: Rng): Sample | Promise<Sample>;
  /** Where sample `index` comes from (a file path), for messages. */
  describe?(index: number): string;
}
