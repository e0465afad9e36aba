// Batches of tokenized examples for the Trainer: seeded shuffling per epoch
// and dynamic padding, each batch padded only to its own longest example (as
// transformers' DataCollatorWithPadding / DataCollatorForTokenClassification),
// so short texts cost short batches.
import { invalid } from '../errors.js';
import { checkSeed, Rng, STREAM } from '../data/rng.js';
import type { Batch, BatchSource } from '../data/types.js';
import { Tensor } from '../tensor.js';
import { idTensor, type IdDType } from './encoding.js';
import { IGNORE_INDEX } from './align.js';

/** One tokenized example: ids with special tokens, and a class id or one label per token. */
export interface TextExample {
  ids: number[];
  typeIds?: number[];
  /** A class id (sequence classification) or a label per token (-100: ignored). */
  labels: number | number[];
}

export interface TextBatchOptions {
  /** Default 32. */
  batchSize?: number;
  /** A new order every epoch; default false. */
  shuffle?: boolean;
  /** Seeds the shuffle; default 0. */
  seed?: number;
  /** Leave out the last, smaller batch; default false. */
  dropLast?: boolean;
  /** Round each batch's length up to a multiple of this. */
  padToMultipleOf?: number;
  /** dtype of the id and label tensors; default 'i64'. */
  dtype?: IdDType;
}

export interface TextBatchSetup {
  padId: number;
  /** Feed token_type_ids (models with segment embeddings: BERT). */
  tokenTypeIds: boolean;
  /** Class names by id. */
  classes?: string[];
}

function positiveInt(v: unknown, where: string, name: string): number {
  if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) throw invalid('ERR_TG_ARG', where, name, 'a positive integer', v);
  return v;
}

export class TextBatches implements BatchSource {
  readonly examples: readonly TextExample[];
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly classes?: string[];
  private readonly padToMultipleOf: number;
  private readonly dtype: IdDType;

  constructor(
    examples: TextExample[],
    options: TextBatchOptions,
    private readonly setup: TextBatchSetup,
  ) {
    const where = 'text.TextBatches';
    if (!Array.isArray(examples)) throw invalid('ERR_TG_ARG', where, 'examples', 'an array of tokenized examples', examples);
    this.examples = examples;
    this.batchSize = positiveInt(options.batchSize ?? 32, where, 'batchSize');
    this.shuffle = options.shuffle ?? false;
    this.seed = checkSeed(options.seed ?? 0, where);
    this.dropLast = options.dropLast ?? false;
    this.padToMultipleOf = positiveInt(options.padToMultipleOf ?? 1, where, 'padToMultipleOf');
    const dtype = options.dtype ?? 'i64';
    if (dtype !== 'i64' && dtype !== 'i32') throw invalid('ERR_TG_ARG', where, 'dtype', "'i64' or 'i32'", dtype);
    this.dtype = dtype;
    if (setup.classes) this.classes = [...setup.classes];
  }

  get size(): number {
    return this.examples.length;
  }

  get batchesPerEpoch(): number {
    const n = this.examples.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Example indices of an epoch, in batch order. */
  order(epoch: number): Int32Array {
    if (!(Number.isSafeInteger(epoch) && epoch >= 0)) throw invalid('ERR_TG_ARG', 'text.TextBatches.order', 'epoch', 'an integer >= 0', epoch);
    const n = this.examples.length;
    if (this.shuffle) return Rng.keyed(this.seed, STREAM.shuffle, epoch).permutation(n);
    return Int32Array.from({ length: n }, (_, i) => i);
  }

  /** Collates examples: input_ids, attention_mask, (token_type_ids), labels. */
  collate(examples: readonly TextExample[]): Batch {
    const m = this.padToMultipleOf;
    const len = Math.ceil(Math.max(0, ...examples.map((e) => e.ids.length)) / m) * m;
    const pad = <T>(a: readonly T[], v: T): T[] => [...a, ...new Array<T>(len - a.length).fill(v)];
    const batch: Batch = {
      input_ids: idTensor(
        examples.map((e) => pad(e.ids, this.setup.padId)),
        this.dtype,
        'text.TextBatches',
        'input_ids',
      ),
      attention_mask: idTensor(
        examples.map((e) => pad(new Array<number>(e.ids.length).fill(1), 0)),
        this.dtype,
        'text.TextBatches',
        'attention_mask',
      ),
    };
    if (this.setup.tokenTypeIds) {
      batch.token_type_ids = idTensor(
        examples.map((e) => pad(e.typeIds ?? new Array<number>(e.ids.length).fill(0), 0)),
        this.dtype,
        'text.TextBatches',
        'token_type_ids',
      );
    }
    if (examples.length && Array.isArray(examples[0].labels)) {
      batch.labels = idTensor(
        examples.map((e) => pad(e.labels as number[], IGNORE_INDEX)),
        this.dtype,
        'text.TextBatches',
        'labels',
      );
    } else {
      const labels = examples.map((e) => e.labels as number);
      batch.labels =
        this.dtype === 'i32'
          ? new Tensor(Int32Array.from(labels), [labels.length], 'i32')
          : new Tensor(BigInt64Array.from(labels, (v) => BigInt(v)), [labels.length], 'i64');
    }
    return batch;
  }

  async *batches(epoch: number): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    for (let k = 0; k < this.batchesPerEpoch; k++) {
      const idx = order.subarray(k * this.batchSize, (k + 1) * this.batchSize);
      yield this.collate(Array.from(idx, (i) => this.examples[i]));
    }
  }
}
