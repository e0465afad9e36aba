// What a tokenizer returns: one Encoding per text (plain arrays, as the
// tokenizers library's Encoding), and a BatchEncoding that pads a list of them
// to one length and holds the model feeds as (N, T) tensors under the names
// Hugging Face models take (input_ids, attention_mask, token_type_ids).
//
// A BatchEncoding can be passed to model.predict / session.run as it is: its
// only enumerable properties are the feed tensors; the per-text details
// (tokens, word ids, offsets) are reached through methods, as in transformers'
// BatchEncoding.word_ids(i).
import { invalid } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { Span } from './offsets.js';

export type IdDType = 'i64' | 'i32';

/** One text (or text pair) after tokenization, special tokens included. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  attentionMask: number[];
  /** Segment ids (0 for the first text, 1 for the second in BERT's scheme). */
  typeIds: number[];
  /** 1 for the special and padding tokens, 0 for the text's own. */
  specialTokensMask: number[];
  /** The word (pre-token, or given word) each token comes from; null for special and padding tokens. */
  wordIds: (number | null)[];
  /** 0 for the first text, 1 for the second, null for special and padding tokens. */
  sequenceIds: (number | null)[];
  /** Each token's [start, end) in its own text; [0, 0] for special and padding tokens. */
  offsets: Span[];
}

export type Padding = 'longest' | 'max_length' | boolean;

export interface PadOptions {
  /** 'longest' (or true): to the longest in the list; 'max_length': to maxLength; false: none. */
  padding?: Padding;
  maxLength?: number;
  /** Round the padded length up to a multiple of this (8 suits tensor cores). */
  padToMultipleOf?: number;
  paddingSide?: 'right' | 'left';
  padId: number;
  padTypeId?: number;
}

/** The length `padding` asks for, or undefined for none. */
function targetLength(lengths: number[], o: PadOptions, where: string): number | undefined {
  const padding = o.padding === true ? 'longest' : o.padding;
  let target: number | undefined;
  if (padding === 'longest') target = Math.max(0, ...lengths);
  else if (padding === 'max_length') {
    if (o.maxLength === undefined) throw invalid('ERR_TG_ARG', where, 'maxLength', "given with padding: 'max_length'", o.maxLength);
    target = Math.max(o.maxLength, ...lengths);
  } else if (padding !== false && padding !== undefined) {
    throw invalid('ERR_TG_ARG', where, 'padding', "'longest', 'max_length', true or false", o.padding);
  }
  if (target !== undefined && o.padToMultipleOf !== undefined) {
    const m = o.padToMultipleOf;
    if (!(Number.isSafeInteger(m) && m >= 1)) throw invalid('ERR_TG_ARG', where, 'padToMultipleOf', 'a positive integer', m);
    target = Math.ceil(target / m) * m;
  }
  return target;
}

/** Copies of the encodings, padded as the options say. */
export function padEncodings(encodings: Encoding[], o: PadOptions, where = 'pad'): Encoding[] {
  const target = targetLength(
    encodings.map((e) => e.ids.length),
    o,
    where,
  );
  const left = o.paddingSide === 'left';
  return encodings.map((e) => {
    const n = target === undefined ? 0 : target - e.ids.length;
    if (n <= 0) return e;
    const fill = <T>(v: T): T[] => new Array<T>(n).fill(v);
    const join = <T>(a: T[], v: T): T[] => (left ? [...fill(v), ...a] : [...a, ...fill(v)]);
    return {
      ids: join(e.ids, o.padId),
      tokens: join(e.tokens, ''),
      attentionMask: join(e.attentionMask, 0),
      typeIds: join(e.typeIds, o.padTypeId ?? 0),
      specialTokensMask: join(e.specialTokensMask, 1),
      wordIds: join<number | null>(e.wordIds, null),
      sequenceIds: join<number | null>(e.sequenceIds, null),
      offsets: join<Span>(e.offsets, [0, 0]).map((s) => [s[0], s[1]] as Span),
    };
  });
}

/** Rows of integers as an (N, T) tensor; every row must have length T. */
export function idTensor(rows: ArrayLike<number>[], dtype: IdDType, where: string, what: string): Tensor {
  const t = rows.length ? rows[0].length : 0;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].length !== t) {
      throw invalid('ERR_TG_SHAPE', where, what, `rows of one length (pad them: padding 'longest'); row 0 has ${t} tokens, row ${i}`, rows[i].length);
    }
  }
  if (dtype === 'i32') {
    const data = new Int32Array(rows.length * t);
    rows.forEach((r, i) => data.set(r, i * t));
    return new Tensor(data, [rows.length, t], 'i32');
  }
  const data = new BigInt64Array(rows.length * t);
  rows.forEach((r, i) => {
    for (let j = 0; j < t; j++) data[i * t + j] = BigInt(r[j]);
  });
  return new Tensor(data, [rows.length, t], 'i64');
}

/** A padded batch: feed tensors plus the per-text details. */
export class BatchEncoding {
  // Declared, not initialised: the constructor defines them, and an own
  // property holding undefined would reach the session as a feed.
  declare readonly input_ids: Tensor;
  declare readonly attention_mask: Tensor;
  declare readonly token_type_ids?: Tensor;
  readonly #encodings: Encoding[];

  constructor(encodings: Encoding[], { dtype = 'i64', tokenTypeIds = true }: { dtype?: IdDType; tokenTypeIds?: boolean } = {}) {
    const where = 'BatchEncoding';
    this.#encodings = encodings;
    const define = (name: string, value: Tensor) =>
      Object.defineProperty(this, name, { value, enumerable: true, writable: false, configurable: false });
    define('input_ids', idTensor(encodings.map((e) => e.ids), dtype, where, 'input_ids'));
    define('attention_mask', idTensor(encodings.map((e) => e.attentionMask), dtype, where, 'attention_mask'));
    if (tokenTypeIds) define('token_type_ids', idTensor(encodings.map((e) => e.typeIds), dtype, where, 'token_type_ids'));
  }

  /** The feed tensors as a plain record (what TypeScript needs to see; the object itself works as feeds too). */
  get feeds(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { input_ids: this.input_ids, attention_mask: this.attention_mask };
    if (this.token_type_ids) out.token_type_ids = this.token_type_ids;
    return out;
  }

  /** Number of texts (N). */
  get length(): number {
    return this.#encodings.length;
  }

  /** The per-text encodings (after padding). */
  get encodings(): readonly Encoding[] {
    return this.#encodings;
  }

  private at(i: number, what: string): Encoding {
    if (!(Number.isSafeInteger(i) && i >= 0 && i < this.#encodings.length)) {
      throw invalid('ERR_TG_ARG', `BatchEncoding.${what}`, 'index', `an integer in [0, ${this.#encodings.length - 1}]`, i);
    }
    return this.#encodings[i];
  }

  tokens(i = 0): string[] {
    return this.at(i, 'tokens').tokens;
  }

  /** The word of each token of text i (null: special or padding), as transformers' word_ids(i). */
  wordIds(i = 0): (number | null)[] {
    return this.at(i, 'wordIds').wordIds;
  }

  sequenceIds(i = 0): (number | null)[] {
    return this.at(i, 'sequenceIds').sequenceIds;
  }

  /** [start, end) of each token of text i in its own text (offset_mapping). */
  offsets(i = 0): Span[] {
    return this.at(i, 'offsets').offsets;
  }

  specialTokensMask(i = 0): number[] {
    return this.at(i, 'specialTokensMask').specialTokensMask;
  }
}
