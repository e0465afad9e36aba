// Tokenizers for Hugging Face model folders, with transformers' calling
// conventions (padding, truncation, text pairs, pre-split words, offsets,
// word ids) on top of @huggingface/tokenizers, which reads tokenizer.json and
// turns text into tokens.
//
// Special tokens come from tokenizer_config.json and special_tokens_map.json
// (merged into the config), else from tokenizer.json itself. Reading a model
// folder is load-tokenizer.ts's job.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { invalid, tgError } from '../errors.js';
import type { HostTensorLike } from '../tensor.js';
import { BatchEncoding, padEncodings, type Encoding, type IdDType, type Padding } from './encoding.js';
import { tokenOffsets, wordIdsFromSpans, type Span, type SurfaceRules } from './offsets.js';

export type SpecialTokenName = 'pad' | 'unk' | 'cls' | 'sep' | 'mask' | 'bos' | 'eos';
const SPECIAL_NAMES: SpecialTokenName[] = ['pad', 'unk', 'cls', 'sep', 'mask', 'bos', 'eos'];

export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';

/** A text, or a pre-split list of words (with isSplitIntoWords). */
export type TextInput = string | string[];

export interface EncodeOptions {
  /** Add [CLS]/[SEP] (or the model's own) around the text; default true. */
  addSpecialTokens?: boolean;
  /**
   * Cut to maxLength tokens, special tokens included: true / 'longest_first'
   * (from the longer text of a pair, one token at a time), 'only_first',
   * 'only_second'. Default false.
   */
  truncation?: Truncation;
  /** Default: the tokenizer's modelMaxLength. */
  maxLength?: number;
  /** encode: default false; encodeBatch: default 'longest' (a batch is a rectangle). */
  padding?: Padding;
  padToMultipleOf?: number;
  /** Default: the tokenizer's paddingSide ('right' unless tokenizer_config.json says otherwise). */
  paddingSide?: 'right' | 'left';
  /** Compute offsets (they are always there, as [0, 0], when false). Word ids are always computed. */
  returnOffsets?: boolean;
  /** The input is a list of words (CoNLL-style); word ids are their indices. */
  isSplitIntoWords?: boolean;
  /** Default: whether the model takes them (BERT yes, GPT-2 and RoBERTa no). */
  returnTokenTypeIds?: boolean;
  /** Tensor dtype; default 'i64' (PyTorch's). */
  dtype?: IdDType;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Remove the space before punctuation that WordPiece decoding leaves; default as tokenizer_config.json says (else true). */
  cleanUpTokenizationSpaces?: boolean;
}

/** tokenizer_config.json, as far as it is read here. */
export interface TokenizerConfig {
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  model_max_length?: number;
  padding_side?: 'right' | 'left';
  model_input_names?: string[];
  add_prefix_space?: boolean;
  clean_up_tokenization_spaces?: boolean;
  additional_special_tokens?: unknown[];
  [key: string]: unknown;
}

type TemplateItem = { special: string; typeId: number } | { sequence: 0 | 1; typeId: number };

interface Segment {
  ids: number[];
  tokens: string[];
  spans: Span[];
  words: number[];
}

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A special token's text from a config value: "[CLS]" or { "content": "[CLS]", ... }. */
export function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

// Sentinels standing for the texts when the post-processor's template is read.
const SEQ_A = '\uE000tg-a';
const SEQ_B = '\uE000tg-b';

// transformers' model_max_length for "no limit" is a huge number.
const NO_LIMIT = 1e9;

// Words repeat a lot in NER data; encodings of single words are cached up to this many.
const WORD_CACHE = 50000;

function componentTypes(c: unknown): string[] {
  if (!isObject(c)) return [];
  const inner = [c.pretokenizers, c.processors, c.decoders, c.normalizers].find(Array.isArray) as unknown[] | undefined;
  return [String(c.type), ...(inner ?? []).flatMap(componentTypes)];
}

export class Tokenizer {
  /** Where it was loaded from, for messages. */
  readonly source: string;
  /** The model type in tokenizer.json: 'WordPiece', 'BPE', 'Unigram', ... */
  readonly modelType: string;
  /** GPT-2-style byte-level tokens. */
  readonly byteLevel: boolean;
  /** The longest input the model takes (tokenizer_config.json's model_max_length), if known. */
  readonly modelMaxLength: number | undefined;
  readonly paddingSide: 'right' | 'left';
  /** Whether encodings carry token_type_ids by default. */
  readonly returnsTokenTypeIds: boolean;
  /** The special tokens by role, as text. */
  readonly specialTokens: Readonly<Partial<Record<SpecialTokenName, string>>>;
  private readonly hf: HfTokenizer;
  private readonly template: { single: TemplateItem[]; pair: TemplateItem[] };
  private readonly rules: SurfaceRules;
  private readonly addedTokens: string[];
  private readonly specialIdSet: Set<number>;
  private readonly addPrefixSpace: boolean;
  private readonly wordCache = new Map<string, { ids: number[]; tokens: string[] }>();

  /**
   * From the parsed contents of tokenizer.json and (optionally)
   * tokenizer_config.json plus special_tokens_map.json merged into `config`.
   */
  constructor(json: unknown, config: TokenizerConfig = {}, source = 'tokenizer.json') {
    const where = `Tokenizer(${source})`;
    if (!isObject(json) || !isObject(json.model)) throw tgError('ERR_TG_FORMAT', `${where}: not a tokenizer.json (no "model" object)`);
    this.source = source;
    // The library wants every component key present, null when absent.
    const full: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
    if (!Array.isArray(full.added_tokens)) throw tgError('ERR_TG_FORMAT', `${where}: "added_tokens" must be an array`);
    const libConfig = {
      ...config,
      additional_special_tokens: (config.additional_special_tokens ?? []).map(tokenText).filter((t): t is string => t !== undefined),
    };
    try {
      this.hf = new HfTokenizer(full, libConfig);
    } catch (err) {
      throw tgError('ERR_TG_FORMAT', `${where}: ${(err as Error).message}`);
    }
    const model = json.model as Json;
    this.modelType = String(model.type ?? (model.merges ? 'BPE' : isObject(model.vocab) ? 'WordPiece' : 'Unigram'));
    const types = [...componentTypes(full.pre_tokenizer), ...componentTypes(full.decoder)];
    this.byteLevel = types.includes('ByteLevel');
    const preTokenizer = full.pre_tokenizer as Json | null;
    this.addPrefixSpace = Boolean(config.add_prefix_space ?? (isObject(preTokenizer) && preTokenizer.add_prefix_space));

    const added = full.added_tokens as Json[];
    this.addedTokens = added.map((t) => String(t.content)).filter((t) => t.length > 0);
    this.template = this.readTemplate();

    // Special tokens: the config files first, then what tokenizer.json implies.
    const specials: Partial<Record<SpecialTokenName, string>> = {};
    for (const name of SPECIAL_NAMES) {
      const t = tokenText(config[`${name}_token`]);
      if (t !== undefined && this.tokenToId(t) !== undefined) specials[name] = t;
    }
    const unk = typeof model.unk_token === 'string' ? model.unk_token : undefined;
    specials.unk ??= unk;
    const single = this.template.single.filter((i): i is { special: string; typeId: number } => 'special' in i);
    if (single.length >= 2) {
      specials.cls ??= single[0].special;
      specials.sep ??= single[single.length - 1].special;
    }
    const padding = full.padding as Json | null | undefined;
    if (isObject(padding) && typeof padding.pad_token === 'string') specials.pad ??= padding.pad_token;
    const present = (...names: string[]) => names.find((n) => this.tokenToId(n) !== undefined);
    specials.pad ??= present('[PAD]', '<pad>');
    specials.mask ??= present('[MASK]', '<mask>');
    specials.unk ??= present('[UNK]', '<unk>');
    specials.bos ??= present('<s>', '<|endoftext|>');
    specials.eos ??= present('</s>', '<|endoftext|>');
    this.specialTokens = Object.freeze(Object.fromEntries(Object.entries(specials).filter(([, v]) => v !== undefined)));

    this.specialIdSet = new Set(
      added.filter((t) => t.special === true).map((t) => Number(t.id)),
    );
    for (const t of Object.values(this.specialTokens)) {
      const id = this.tokenToId(t);
      if (id !== undefined) this.specialIdSet.add(id);
    }

    const max = Number(config.model_max_length);
    this.modelMaxLength = Number.isSafeInteger(max) && max > 0 && max < NO_LIMIT ? max : undefined;
    const side = config.padding_side ?? (isObject(padding) && padding.direction === 'Left' ? 'left' : 'right');
    if (side !== 'left' && side !== 'right') throw invalid('ERR_TG_FORMAT', where, 'padding_side', "'left' or 'right'", side);
    this.paddingSide = side;
    const inputNames = config.model_input_names;
    const postTypes = componentTypes(full.post_processor);
    this.returnsTokenTypeIds = Array.isArray(inputNames)
      ? inputNames.includes('token_type_ids')
      : postTypes.includes('TemplateProcessing') || postTypes.includes('BertProcessing');

    this.rules = {
      byteLevel: this.byteLevel,
      continuingPrefix: typeof model.continuing_subword_prefix === 'string' && model.continuing_subword_prefix ? model.continuing_subword_prefix : undefined,
      endOfWordSuffix: typeof model.end_of_word_suffix === 'string' && model.end_of_word_suffix ? model.end_of_word_suffix : undefined,
      unkToken: this.specialTokens.unk,
      addedTokens: new Set(this.addedTokens),
    };
  }

  /** The post-processor's layout of special tokens and texts, read by running it on two sentinels. */
  private readTemplate(): { single: TemplateItem[]; pair: TemplateItem[] } {
    const pp = this.hf.post_processor;
    if (!pp) {
      return { single: [{ sequence: 0, typeId: 0 }], pair: [{ sequence: 0, typeId: 0 }, { sequence: 1, typeId: 1 }] };
    }
    const read = (pair: boolean): TemplateItem[] => {
      const out = pp.post_process([SEQ_A], pair ? [SEQ_B] : null, true);
      const tokens = [...out.tokens];
      const types = [...(out.token_type_ids ?? new Array<number>(out.tokens.length).fill(0))];
      // Processors that leave the pair apart (ByteLevel) have it appended, as segment 1.
      if (pair && out.tokens_pair) {
        tokens.push(...out.tokens_pair);
        types.push(...new Array<number>(out.tokens_pair.length).fill(1));
      }
      return tokens.map((t, i) =>
        t === SEQ_A ? { sequence: 0, typeId: types[i] ?? 0 } : t === SEQ_B ? { sequence: 1, typeId: types[i] ?? 1 } : { special: t, typeId: types[i] ?? 0 },
      );
    };
    return { single: read(false), pair: read(true) };
  }

  /** Vocabulary size, added tokens included (the embedding's row count at least). */
  get vocabSize(): number {
    return this.hf.model?.vocab.length ?? 0;
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  private specialId(name: SpecialTokenName): number | undefined {
    const t = this.specialTokens[name];
    return t === undefined ? undefined : this.tokenToId(t);
  }

  get padTokenId(): number | undefined {
    return this.specialId('pad');
  }
  get unkTokenId(): number | undefined {
    return this.specialId('unk');
  }
  get clsTokenId(): number | undefined {
    return this.specialId('cls');
  }
  get sepTokenId(): number | undefined {
    return this.specialId('sep');
  }
  get maskTokenId(): number | undefined {
    return this.specialId('mask');
  }
  get bosTokenId(): number | undefined {
    return this.specialId('bos');
  }
  get eosTokenId(): number | undefined {
    return this.specialId('eos');
  }

  /** The ids of every special token (skipped by decode with skipSpecialTokens). */
  get allSpecialIds(): number[] {
    return [...this.specialIdSet].sort((a, b) => a - b);
  }

  /** The id padding uses: the pad token, else (GPT-2, which has none) the end-of-text token, else 0. */
  get paddingId(): number {
    return this.padTokenId ?? this.eosTokenId ?? 0;
  }

  /** How many special tokens encoding adds to one text, or to a pair. */
  numSpecialTokensToAdd(pair = false): number {
    return (pair ? this.template.pair : this.template.single).filter((i) => 'special' in i).length;
  }

  /** The text's tokens, without special tokens. */
  tokenize(text: string): string[] {
    checkText(text, 'Tokenizer.tokenize', 'text');
    return this.hf.encode(text, { add_special_tokens: false }).tokens;
  }

  private segmentOfText(text: string, align: boolean): Segment {
    const enc = this.hf.encode(text, { add_special_tokens: false });
    if (!align) return { ids: enc.ids, tokens: enc.tokens, spans: [], words: [] };
    const spans = tokenOffsets(text, enc.tokens, this.rules);
    return { ids: enc.ids, tokens: enc.tokens, spans, words: wordIdsFromSpans(spans, this.wordSpans(text)) };
  }

  // Words as transformers numbers them: the pre-tokenizer's pieces (of each
  // stretch between added tokens), and each added token in the text.
  private wordSpans(text: string): Span[] {
    const spans: Span[] = [];
    const added = [...this.addedTokens].sort((a, b) => b.length - a.length);
    let start = 0;
    const flush = (end: number) => {
      if (end <= start) return;
      const section = text.slice(start, end);
      const normalized = this.hf.normalizer ? this.hf.normalizer(section) : section;
      const pieces = this.hf.pre_tokenizer ? this.hf.pre_tokenizer(normalized) : [normalized];
      for (const [a, b] of tokenOffsets(section, pieces, { ...this.rules, unkToken: undefined })) {
        if (b > a) spans.push([start + a, start + b]);
      }
    };
    for (let i = 0; i < text.length; ) {
      const hit = added.length ? added.find((t) => text.startsWith(t, i)) : undefined;
      if (hit) {
        flush(i);
        spans.push([i, i + hit.length]);
        i += hit.length;
        start = i;
      } else i++;
    }
    flush(text.length);
    return spans;
  }

  private segmentOfWords(words: string[], align: boolean, where: string): Segment {
    const seg: Segment = { ids: [], tokens: [], spans: [], words: [] };
    words.forEach((word, w) => {
      if (typeof word !== 'string') throw invalid('ERR_TG_ARG', where, `words[${w}]`, 'a string', word);
      // Byte-level BPE marks a word start with a space; without one the
      // words would be read as glued together.
      const text = this.byteLevel && (w > 0 || this.addPrefixSpace) ? ` ${word}` : word;
      let enc = this.wordCache.get(text);
      if (!enc) {
        const e = this.hf.encode(text, { add_special_tokens: false });
        enc = { ids: e.ids, tokens: e.tokens };
        if (this.wordCache.size >= WORD_CACHE) this.wordCache.clear();
        this.wordCache.set(text, enc);
      }
      seg.ids.push(...enc.ids);
      seg.tokens.push(...enc.tokens);
      for (let k = 0; k < enc.ids.length; k++) seg.words.push(w);
      if (align) seg.spans.push(...tokenOffsets(word, enc.tokens, this.rules));
    });
    return seg;
  }

  private segment(input: TextInput, o: EncodeOptions, align: boolean, where: string, param: string): Segment {
    if (o.isSplitIntoWords) {
      if (!Array.isArray(input)) throw invalid('ERR_TG_ARG', where, param, 'an array of words (isSplitIntoWords)', input);
      return this.segmentOfWords(input, align, where);
    }
    checkText(input, where, param);
    return this.segmentOfText(input as string, align);
  }

  /**
   * One text (or pair) as arrays: tokenized, truncated, special tokens added,
   * not padded (pad() makes a batch of them). The building block of the text
   * data sets; `alignment: false` skips the word ids of raw text and the
   * offsets, which cost about as much as tokenizing (words given with
   * isSplitIntoWords keep their ids).
   */
  encodeOne(text: TextInput, pair?: TextInput, options: EncodeOptions & { alignment?: boolean } = {}): Encoding {
    const where = 'Tokenizer.encodeOne';
    checkOptions(options, where);
    return this.encodeOneAt(text, pair, options, where, options.alignment ?? true);
  }

  private encodeOneAt(text: TextInput, pair: TextInput | undefined, o: EncodeOptions, where: string, align: boolean): Encoding {
    const a = this.segment(text, o, align, where, 'text');
    const b = pair === undefined || pair === null ? undefined : this.segment(pair, o, align, where, 'textPair');
    const add = o.addSpecialTokens ?? true;
    this.truncate(a, b, o, add, where);
    const items = add ? (b ? this.template.pair : this.template.single) : b ? this.template.pair.filter((i) => !('special' in i)) : [{ sequence: 0 as const, typeId: 0 }];
    const enc: Encoding = { ids: [], tokens: [], attentionMask: [], typeIds: [], specialTokensMask: [], wordIds: [], sequenceIds: [], offsets: [] };
    const offsets = o.returnOffsets === true;
    for (const item of items) {
      if ('special' in item) {
        const id = this.tokenToId(item.special);
        if (id === undefined) throw tgError('ERR_TG_FORMAT', `${this.source}: the special token ${JSON.stringify(item.special)} of the post-processor is not in the vocabulary`);
        enc.ids.push(id);
        enc.tokens.push(item.special);
        enc.attentionMask.push(1);
        enc.typeIds.push(item.typeId);
        enc.specialTokensMask.push(1);
        enc.wordIds.push(null);
        enc.sequenceIds.push(null);
        enc.offsets.push([0, 0]);
        continue;
      }
      const seg = item.sequence === 0 ? a : b!;
      for (let k = 0; k < seg.ids.length; k++) {
        enc.ids.push(seg.ids[k]);
        enc.tokens.push(seg.tokens[k]);
        enc.attentionMask.push(1);
        enc.typeIds.push(item.typeId);
        enc.specialTokensMask.push(0);
        enc.wordIds.push(seg.words[k] ?? null);
        enc.sequenceIds.push(item.sequence);
        enc.offsets.push(offsets && align ? seg.spans[k] : [0, 0]);
      }
    }
    return enc;
  }

  private truncate(a: Segment, b: Segment | undefined, o: EncodeOptions, addSpecial: boolean, where: string): void {
    const strategy = o.truncation === true ? 'longest_first' : o.truncation;
    if (strategy === false || strategy === undefined) return;
    if (!['longest_first', 'only_first', 'only_second'].includes(strategy)) {
      throw invalid('ERR_TG_ARG', where, 'truncation', "true, false, 'longest_first', 'only_first' or 'only_second'", o.truncation);
    }
    const max = this.maxLengthOf(o, where, 'truncation');
    const budget = max - (addSpecial ? this.numSpecialTokensToAdd(b !== undefined) : 0);
    if (budget < 0) throw tgError('ERR_TG_ARG', `${where}: maxLength ${max} leaves no room for the ${max - budget} special tokens`);
    let n1 = a.ids.length;
    let n2 = b?.ids.length ?? 0;
    if (n1 + n2 <= budget) return;
    if (strategy === 'only_second' && !b) throw tgError('ERR_TG_ARG', `${where}: truncation 'only_second' needs a text pair`);
    if (strategy === 'longest_first') {
      // One token at a time from the longer text (the second on a tie), as transformers' slow tokenizers do.
      while (n1 + n2 > budget) {
        if (n1 > n2) n1--;
        else n2--;
      }
    } else if (strategy === 'only_first') {
      n1 = Math.max(0, budget - n2);
      if (n1 + n2 > budget) throw tgError('ERR_TG_ARG', `${where}: the second text alone is longer than maxLength ${max}; truncate it too`);
    } else {
      n2 = Math.max(0, budget - n1);
      if (n1 + n2 > budget) throw tgError('ERR_TG_ARG', `${where}: the first text alone is longer than maxLength ${max}; truncate it too`);
    }
    cut(a, n1);
    if (b) cut(b, n2);
  }

  private maxLengthOf(o: EncodeOptions, where: string, why: string): number {
    const max = o.maxLength ?? this.modelMaxLength;
    if (max === undefined) throw tgError('ERR_TG_ARG', `${where}: ${why} needs maxLength (${this.source} gives no model_max_length)`);
    if (!(Number.isSafeInteger(max) && max >= 1)) throw invalid('ERR_TG_ARG', where, 'maxLength', 'a positive integer', max);
    return max;
  }

  private batch(encodings: Encoding[], o: EncodeOptions, defaultPadding: Padding, where: string): BatchEncoding {
    const padding = o.padding ?? defaultPadding;
    const maxLength = padding === 'max_length' ? this.maxLengthOf(o, where, "padding 'max_length'") : o.maxLength;
    const side = o.paddingSide ?? this.paddingSide;
    if (side !== 'left' && side !== 'right') throw invalid('ERR_TG_ARG', where, 'paddingSide', "'left' or 'right'", side);
    const padded = padEncodings(encodings, { padding, maxLength, padToMultipleOf: o.padToMultipleOf, paddingSide: side, padId: this.paddingId }, where);
    const dtype = o.dtype ?? 'i64';
    if (dtype !== 'i64' && dtype !== 'i32') throw invalid('ERR_TG_ARG', where, 'dtype', "'i64' or 'i32'", dtype);
    return new BatchEncoding(padded, { dtype, tokenTypeIds: o.returnTokenTypeIds ?? this.returnsTokenTypeIds });
  }

  /**
   * One text (or a pair: options.textPair) as a batch of one: (1, T) tensors.
   * Not padded unless padding says so.
   */
  encode(text: TextInput, options: EncodeOptions & { textPair?: TextInput } = {}): BatchEncoding {
    const where = 'Tokenizer.encode';
    checkOptions(options, where);
    return this.batch([this.encodeOneAt(text, options.textPair, options, where, true)], options, false, where);
  }

  /**
   * Texts (and with options.pairs, their second texts) as one batch of
   * (N, T) tensors, padded to the longest unless padding says otherwise.
   */
  encodeBatch(texts: TextInput[], options: EncodeOptions & { pairs?: TextInput[] } = {}): BatchEncoding {
    const where = 'Tokenizer.encodeBatch';
    checkOptions(options, where);
    if (!Array.isArray(texts)) throw invalid('ERR_TG_ARG', where, 'texts', 'an array of texts', texts);
    const pairs = options.pairs;
    if (pairs !== undefined && (!Array.isArray(pairs) || pairs.length !== texts.length)) {
      throw invalid('ERR_TG_ARG', where, 'pairs', `an array of ${texts.length} second texts`, pairs);
    }
    const encodings = texts.map((t, i) => this.encodeOneAt(t, pairs?.[i], options, where, true));
    return this.batch(encodings, options, 'longest', where);
  }

  /** Pads encodings from encodeOne into one batch (a data collator's job). */
  pad(encodings: Encoding[], options: EncodeOptions = {}): BatchEncoding {
    return this.batch(encodings, options, 'longest', 'Tokenizer.pad');
  }

  /** Text from token ids (an array, a typed array, or a (T) / (1, T) tensor). */
  decode(ids: ArrayLike<number> | BigInt64Array | HostTensorLike, options: DecodeOptions = {}): string {
    const list = idList(ids, 'Tokenizer.decode', this.vocabSize);
    if (!list.length) return '';
    return this.hf.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces });
  }

  /** decode for each row of a (N, T) tensor or each array. */
  decodeBatch(rows: Array<ArrayLike<number>> | HostTensorLike, options: DecodeOptions = {}): string[] {
    if (!Array.isArray(rows)) {
      const t = rows as HostTensorLike;
      if (!t || !Array.isArray(t.shape) || t.shape.length !== 2) throw invalid('ERR_TG_SHAPE', 'Tokenizer.decodeBatch', 'rows', 'an (N, T) tensor or an array of id arrays', rows);
      const [n, len] = t.shape;
      return Array.from({ length: n }, (_, i) => this.decode(Array.from(t.data.subarray(i * len, (i + 1) * len) as ArrayLike<number | bigint>, Number), options));
    }
    return rows.map((r) => this.decode(r, options));
  }

}

function cut(seg: Segment, n: number): void {
  seg.ids.length = Math.min(seg.ids.length, n);
  seg.tokens.length = Math.min(seg.tokens.length, n);
  if (seg.spans.length > n) seg.spans.length = n;
  if (seg.words.length > n) seg.words.length = n;
}

function checkText(text: unknown, where: string, param: string): void {
  if (typeof text !== 'string') throw invalid('ERR_TG_ARG', where, param, 'a string (or words, with isSplitIntoWords)', text);
}

function checkOptions(options: unknown, where: string): void {
  if (!isObject(options)) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
}

function idList(ids: unknown, where: string, vocabSize: number): number[] {
  let values: ArrayLike<number | bigint>;
  if (isObject(ids) && 'data' in ids && 'shape' in ids) {
    const t = ids as unknown as HostTensorLike;
    if (!['i32', 'i64', 'u8'].includes(t.dtype)) throw invalid('ERR_TG_DTYPE', where, 'ids', 'an integer tensor', t.dtype);
    if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[0] !== 1)) {
      throw invalid('ERR_TG_SHAPE', where, 'ids', 'a (T) or (1, T) tensor (decodeBatch takes (N, T))', t.shape);
    }
    values = t.data as ArrayLike<number | bigint>;
  } else if (Array.isArray(ids) || ArrayBuffer.isView(ids)) {
    values = ids as unknown as ArrayLike<number | bigint>;
  } else {
    throw invalid('ERR_TG_ARG', where, 'ids', 'an array of token ids or an integer tensor', ids);
  }
  const out = Array.from(values, Number);
  out.forEach((id, i) => {
    if (!(Number.isSafeInteger(id) && id >= 0 && id < vocabSize)) {
      throw invalid('ERR_TG_ARG', where, `ids[${i}]`, `a token id in [0, ${vocabSize - 1}]`, values[i]);
    }
  });
  return out;
}
