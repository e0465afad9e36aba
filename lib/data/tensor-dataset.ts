// tensorDataset(): torch.utils.data.TensorDataset, samples as slices along the
// first axis of tensors already in memory (generated data, tests, features).
import { invalid } from '../errors.js';
import { checkShape, Tensor, type HostTensorLike } from '../tensor.js';
import type { Rng } from './rng.js';
import type { Dataset, Sample } from './types.js';

export interface TensorDatasetOptions {
  /** Class names by id, passed on to the loader. */
  classes?: string[];
  /** Applied to each sample as it is loaded; its randomness must come from `rng`. */
  transform?: (sample: Sample, rng: Rng) => Sample | Promise<Sample>;
}

type Feed = HostTensorLike | ArrayLike<number>;

function isTensor(v: unknown): v is HostTensorLike {
  return v !== null && typeof v === 'object' && 'data' in v && 'shape' in v && 'dtype' in v;
}

export class TensorDataset implements Dataset {
  /** The tensors by feed name; each sample is one slice along axis 0 of each. */
  readonly feeds: Readonly<Record<string, HostTensorLike>>;
  readonly length: number;
  readonly classes?: string[];
  private readonly transform?: TensorDatasetOptions['transform'];

  constructor(feeds: Record<string, Feed>, options: TensorDatasetOptions = {}) {
    const where = 'tg.data.tensorDataset';
    const entries = Object.entries(feeds ?? {});
    if (entries.length === 0) throw invalid('ERR_TG_ARG', where, 'feeds', 'at least one tensor', feeds);
    const out: Record<string, HostTensorLike> = {};
    let n = -1;
    let first = '';
    for (const [name, value] of entries) {
      let t: HostTensorLike;
      if (isTensor(value)) {
        checkShape(value.shape, where, `${name}.shape`);
        const numel = value.shape.reduce((a, b) => a * b, 1);
        if (value.shape.length === 0 || numel !== value.data.length) {
          throw invalid('ERR_TG_SHAPE', where, name, `a tensor of rank ≥ 1 whose data matches its shape`, value.shape);
        }
        t = value;
      } else if (value && typeof (value as ArrayLike<number>).length === 'number') {
        const ids = Int32Array.from(value as ArrayLike<number>);
        t = new Tensor(ids, [ids.length], 'i32');
      } else {
        throw invalid('ERR_TG_ARG', where, name, 'a tensor or an array of class ids', value);
      }
      if (n < 0) {
        n = t.shape[0];
        first = name;
      } else if (t.shape[0] !== n) {
        throw invalid('ERR_TG_SHAPE', where, `${name}.shape[0]`, `${n}, the length of ${first}`, t.shape[0]);
      }
      out[name] = t;
    }
    this.feeds = out;
    this.length = n;
    this.classes = options.classes;
    this.transform = options.transform;
  }

  /** The class ids when `target` is a vector of int32 ids (for stratified splits). */
  get targets(): Int32Array | undefined {
    const t = this.feeds.target;
    return t && t.dtype === 'i32' && t.shape.length === 1 ? (t.data as Int32Array) : undefined;
  }

  get(index: number, rng: Rng): Sample | Promise<Sample> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.length) {
      throw invalid('ERR_TG_ARG', 'tg.data.TensorDataset.get', 'index', `an integer in [0, ${this.length - 1}]`, index);
    }
    const sample: Sample = {};
    for (const [name, t] of Object.entries(this.feeds)) {
      const per = t.data.length / t.shape[0];
      // A view, not a copy: the loader copies each sample into its batch.
      const data = t.data.subarray(index * per, (index + 1) * per) as HostTensorLike['data'];
      sample[name] = new Tensor(data, t.shape.slice(1), t.dtype);
    }
    return this.transform ? this.transform(sample, rng) : sample;
  }
}

/**
 * Samples from tensors: `tensorDataset(inputs, targets)` gives feeds `input`
 * and `target` (targets may be a plain array of class ids); a record gives
 * any feeds, e.g. `tensorDataset({ input_ids, attention_mask, labels })`.
 */
export function tensorDataset(inputs: HostTensorLike, targets?: Feed, options?: TensorDatasetOptions): TensorDataset;
export function tensorDataset(feeds: Record<string, Feed>, options?: TensorDatasetOptions): TensorDataset;
export function tensorDataset(
  a: HostTensorLike | Record<string, Feed>,
  b?: Feed | TensorDatasetOptions,
  c?: TensorDatasetOptions,
): TensorDataset {
  if (isTensor(a)) {
    const feeds: Record<string, Feed> = { input: a };
    if (b !== undefined) feeds.target = b as Feed;
    return new TensorDataset(feeds, c);
  }
  return new TensorDataset(a, b as TensorDatasetOptions | undefined);
}
