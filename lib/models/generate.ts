// Text generation for decoder language models (GPT-2), with the semantics of
// transformers' GenerationMixin: greedy search, or sampling after the
// temperature, top-k and top-p warpers; the repetition penalty
// (RepetitionPenaltyLogitsProcessor); stop tokens and stop sequences; and
// left-padded batches, whose position ids count only the tokens the
// attention mask keeps (GPT2LMHeadModel.prepare_inputs_for_generation).
//
// The KV cache. The prompt goes through the model once (the prefill); each
// new token then costs one position. Its keys and values are fixed-capacity
// graph inputs, past_key_values.{i}.key/value (B, H, P, D): P slots, of which
// the attention mask marks the filled ones. Inside the graph each layer joins
// its cache to the current token's keys with `concat` and attends with the
// mask; the graph returns the token's own keys and values
// (present.{i}.key/value, (B, H, 1, D)) and this file writes them into the
// next free slot of the cache arrays, which stay in JavaScript. So:
//   - the decode step's shapes do not change while a sequence grows, and one
//     compiled plan serves every step (P is the prompt plus the new tokens,
//     rounded up to 64, so other calls reuse the plan too);
//   - feeds are borrowed by native code, not copied; what crosses back per
//     step is the logits and the new keys and values;
//   - no op is needed beyond the existing concat and the masked attention.
// Slot order is free: attention does not depend on where a key sits, the
// positions are in the embeddings. The prefill runs a graph without a cache,
// compiled per prompt shape; a session keeps a handful of such plans and
// starts afresh beyond that.
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Model, type InputSpec } from '../nn/module.js';
import { random } from '../random.js';
import { Session } from '../session.js';
import { Tensor, type HostTensorLike } from '../tensor.js';

/** The sizes and special tokens generation needs from a model. */
export interface DecoderInfo {
  numLayers: number;
  numHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  eosTokenIds: number[];
  padTokenId: number;
}

export interface DecoderStepOptions {
  /** Whether past_key_values.{i}.key/value are inputs. */
  past: boolean;
  /** input_ids and position_ids come as (T, B), which decoding uses (see GPT-2's AttentionContext). */
  tokensFirst: boolean;
}

/** A model generation can drive: GPT2LMHeadModel. */
export interface DecoderLM extends Model {
  readonly decoderInfo: DecoderInfo;
  decoderStep(g: GraphBuilder, inputs: Record<string, Value>, options: DecoderStepOptions): Record<string, Value>;
}

/** One sequence (number[] or a 1-D tensor) or a batch (number[][], ragged ones are left-padded; or a (B, T) tensor). */
export type GenerateInput = number[] | number[][] | HostTensorLike;

export interface GenerateOptions {
  /** Tokens to add (default 20). */
  maxNewTokens?: number;
  /** > 0 samples from softmax(logits / temperature); 0 is greedy. Undefined: greedy unless topK or topP is given. */
  temperature?: number;
  /** Sample among the k most likely tokens (0: all). */
  topK?: number;
  /** Sample among the smallest set of most likely tokens whose probability reaches topP (1: all). */
  topP?: number;
  /** > 1 discourages tokens already in the sequence: their positive logits are divided by it, negative ones multiplied. */
  repetitionPenalty?: number;
  /** Token ids ending a sequence (the token is kept), and token sequences: 13, [13, 50256], [[13, 13], 50256]. Default: the model's eos. */
  stop?: number | ReadonlyArray<number | readonly number[]>;
  /** Seeds sampling: the same seed, the same tokens. Default: drawn from tg.manualSeed's generator. */
  seed?: number;
  /** (B, T) 1 for tokens, 0 for left padding; default all ones (ragged number[][] are padded and masked here). */
  attentionMask?: HostTensorLike | number[][] | number[];
  /** Fills the padding added here and the steps after a sequence stopped (default: the model's pad, else its eos). */
  padTokenId?: number;
  /** false recomputes the whole sequence for every token, as use_cache=False (for checking the cache). */
  useCache?: boolean;
  device?: string;
  signal?: AbortSignal;
}

const OPTION_NAMES = [
  'maxNewTokens', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'stop', 'seed',
  'attentionMask', 'padTokenId', 'useCache', 'device', 'signal',
];

const CACHE_BLOCK = 64;
const MAX_PLANS = 8;

// ---- the graphs generation runs ----

/** The model seen through decoderStep: its parameters, the generation graph's inputs and outputs. */
class DecoderView extends Model {
  constructor(
    private readonly lm: DecoderLM,
    private readonly past: boolean,
  ) {
    super();
  }

  build(): Value {
    throw tgError('ERR_TG_INTERNAL', 'generation graphs are built by forward()');
  }

  override inputSpecs(): InputSpec[] {
    const { numLayers, numHeads, headDim } = this.lm.decoderInfo;
    const specs: InputSpec[] = [
      { name: 'input_ids', shape: [-1, -1], dtype: 'i32' },
      { name: 'position_ids', shape: [-1, -1], dtype: 'i32' },
      { name: 'attention_mask', shape: [-1, -1], dtype: 'u8' },
    ];
    if (this.past) {
      for (let i = 0; i < numLayers; i++) {
        for (const kv of ['key', 'value']) specs.push({ name: `past_key_values.${i}.${kv}`, shape: [-1, numHeads, -1, headDim], dtype: 'f32' });
      }
    }
    return specs;
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return this.lm.decoderStep(g, inputs, { past: this.past, tokensFirst: this.past });
  }

  override namedParameters() {
    return this.lm.namedParameters();
  }

  override namedBuffers() {
    return this.lm.namedBuffers();
  }

  override trainableParameters(): string[] {
    return this.lm.trainableParameters();
  }
}

interface Engines {
  device: string;
  sessions: Partial<Record<'prefill' | 'decode', { session: Session; shapes: Set<string> }>>;
  active: number;
}

const engines = new WeakMap<DecoderLM, Engines>();

// The sessions live with the model and share its parameter arrays, so
// training in between is seen. A plan is compiled per feed shape: past
// MAX_PLANS shapes the session is replaced, when no call is using it.
function sessionFor(e: Engines, lm: DecoderLM, kind: 'prefill' | 'decode', shape: string): Session {
  let entry = e.sessions[kind];
  if (entry && !entry.shapes.has(shape) && entry.shapes.size >= MAX_PLANS && e.active === 1) {
    entry.session.dispose();
    entry = undefined;
  }
  if (!entry) {
    entry = { session: new Session(new DecoderView(lm, kind === 'decode'), { device: e.device, loss: null, training: false }), shapes: new Set() };
    e.sessions[kind] = entry;
  }
  entry.shapes.add(shape);
  return entry.session;
}

function enginesFor(lm: DecoderLM, device: string): Engines {
  let e = engines.get(lm);
  if (!e || (e.device !== device && e.active === 0)) {
    if (e) for (const s of Object.values(e.sessions)) s.session.dispose();
    e = { device, sessions: {}, active: 0 };
    engines.set(lm, e);
  }
  if (e.device !== device) throw tgError('ERR_TG_ARG', `generate: another call runs this model on '${e.device}'; wait for it to use '${device}'`);
  return e;
}

// ---- arguments ----

interface Prompt {
  batch: number;
  length: number;
  /** (B, T) as given (padding included), for the output. */
  ids: number[];
  /** (B, T) 1 keeps. */
  mask: Uint8Array;
  single: boolean;
  dtype: 'i32' | 'i64';
}

function isTensor(v: unknown): v is HostTensorLike {
  return typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'dtype' in v;
}

function intArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x));
}

function preparePrompt(input: GenerateInput, o: GenerateOptions, info: DecoderInfo, pad: number, where: string): Prompt {
  let rows: number[][];
  let single = false;
  let dtype: 'i32' | 'i64' = 'i32';
  if (isTensor(input)) {
    if ((input.dtype !== 'i32' && input.dtype !== 'i64') || (input.shape.length !== 1 && input.shape.length !== 2)) {
      throw invalid('ERR_TG_ARG', where, 'inputIds', 'an i32 or i64 tensor of shape (T) or (B, T)', `${input.dtype} [${input.shape}]`);
    }
    dtype = input.dtype;
    single = input.shape.length === 1;
    const [b, t] = single ? [1, input.shape[0]] : input.shape;
    const data = Array.from(input.data as ArrayLike<number | bigint>, Number);
    rows = Array.from({ length: b }, (_, i) => data.slice(i * t, (i + 1) * t));
  } else if (intArray(input)) {
    rows = [input];
    single = true;
  } else if (Array.isArray(input) && input.length > 0 && input.every(intArray)) {
    rows = input as number[][];
  } else {
    throw invalid('ERR_TG_ARG', where, 'inputIds', 'token ids: number[], number[][] or an integer tensor', input);
  }
  const batch = rows.length;
  if (!batch) throw invalid('ERR_TG_ARG', where, 'inputIds', 'at least one sequence', input);

  let maskRows: number[][];
  const m = o.attentionMask;
  if (m === undefined) {
    // Ragged rows are left-padded, as a tokenizer with padding_side='left' does.
    const t = Math.max(...rows.map((r) => r.length));
    maskRows = rows.map((r) => [...new Array(t - r.length).fill(0), ...new Array(r.length).fill(1)]);
    rows = rows.map((r) => [...new Array(t - r.length).fill(pad), ...r]);
  } else if (isTensor(m)) {
    const flat = Array.from(m.data as ArrayLike<number | bigint>, Number);
    const t = rows[0].length;
    if (m.shape.reduce((a, b) => a * b, 1) !== batch * t || m.shape[m.shape.length - 1] !== t) {
      throw invalid('ERR_TG_SHAPE', where, 'attentionMask', `shaped like inputIds (${batch}, ${t})`, `[${m.shape}]`);
    }
    maskRows = rows.map((_, i) => flat.slice(i * t, (i + 1) * t));
  } else if (intArray(m) || (Array.isArray(m) && m.every(intArray))) {
    maskRows = intArray(m) ? [m] : (m as number[][]);
  } else {
    throw invalid('ERR_TG_ARG', where, 'attentionMask', 'a (B, T) tensor or arrays of 0 and 1', m);
  }
  const length = rows[0].length;
  if (!rows.every((r) => r.length === length) || maskRows.length !== batch || !maskRows.every((r) => r.length === length)) {
    throw tgError('ERR_TG_SHAPE', `${where}: with an attentionMask, inputIds and the mask must be (B, T) of one shape`);
  }
  const mask = new Uint8Array(batch * length);
  rows.forEach((r, b) => {
    let real = 0;
    r.forEach((id, t) => {
      const keep = maskRows[b][t] !== 0;
      mask[b * length + t] = keep ? 1 : 0;
      if (keep) {
        real++;
        if (!(id >= 0 && id < info.vocabSize)) throw invalid('ERR_TG_ARG', where, `inputIds[${b}][${t}]`, `a token id in [0, ${info.vocabSize})`, id);
      }
    });
    if (!real) throw invalid('ERR_TG_ARG', where, `inputIds[${b}]`, 'at least one token the attention mask keeps', r);
  });
  return { batch, length, ids: rows.flat(), mask, single, dtype };
}

interface Sampling {
  sample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
}

interface Plan extends Sampling {
  maxNewTokens: number;
  stopIds: Set<number>;
  stopSequences: number[][];
  seed: number;
  pad: number;
  useCache: boolean;
  device: string;
  signal?: AbortSignal;
}

function resolveOptions(o: GenerateOptions, info: DecoderInfo, where: string): Plan {
  if (o === null || typeof o !== 'object') throw invalid('ERR_TG_ARG', where, 'options', 'an object', o);
  const unknown = Object.keys(o).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length) throw tgError('ERR_TG_ARG', `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${OPTION_NAMES.join(', ')})`);
  const num = (name: string, v: unknown, ok: (x: number) => boolean, expected: string) => {
    if (typeof v !== 'number' || !ok(v)) throw invalid('ERR_TG_ARG', where, name, expected, v);
    return v;
  };
  const maxNewTokens = num('maxNewTokens', o.maxNewTokens ?? 20, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  const temperature = o.temperature === undefined ? undefined : num('temperature', o.temperature, (x) => x >= 0 && Number.isFinite(x), 'a number >= 0');
  const topK = o.topK === undefined ? undefined : num('topK', o.topK, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const topP = o.topP === undefined ? undefined : num('topP', o.topP, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const repetitionPenalty = num('repetitionPenalty', o.repetitionPenalty ?? 1, (x) => x > 0 && Number.isFinite(x), 'a number > 0');
  const seed = o.seed === undefined ? Math.floor(random() * 2 ** 32) : num('seed', o.seed, Number.isSafeInteger, 'an integer');
  const pad = num('padTokenId', o.padTokenId ?? info.padTokenId, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  if (o.useCache !== undefined && typeof o.useCache !== 'boolean') throw invalid('ERR_TG_ARG', where, 'useCache', 'a boolean', o.useCache);
  if (o.device !== undefined && typeof o.device !== 'string') throw invalid('ERR_TG_ARG', where, 'device', "a device name such as 'cpu'", o.device);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalid('ERR_TG_ARG', where, 'signal', 'an AbortSignal', o.signal);

  const stopIds = new Set<number>();
  const stopSequences: number[][] = [];
  const stop = o.stop === undefined ? info.eosTokenIds : typeof o.stop === 'number' ? [o.stop] : o.stop;
  if (!Array.isArray(stop)) throw invalid('ERR_TG_ARG', where, 'stop', 'a token id, or an array of ids and id sequences', stop);
  for (const s of stop as ReadonlyArray<number | readonly number[]>) {
    if (Number.isInteger(s) && (s as number) >= 0) stopIds.add(s as number);
    else if (Array.isArray(s) && s.length > 0 && s.every((x) => Number.isInteger(x) && x >= 0)) {
      if (s.length === 1) stopIds.add(s[0]);
      else stopSequences.push([...s]);
    } else throw invalid('ERR_TG_ARG', where, 'stop', 'token ids (integers >= 0) or non-empty arrays of them', s);
  }
  // transformers samples when do_sample is set; here a temperature above 0,
  // or top-k / top-p without a temperature, asks for it.
  const sample = temperature === undefined ? topK !== undefined || topP !== undefined : temperature > 0;
  return {
    sample,
    temperature: temperature || 1,
    topK: topK ?? 0,
    topP: topP ?? 1,
    repetitionPenalty,
    maxNewTokens,
    stopIds,
    stopSequences,
    seed: seed >>> 0,
    pad,
    useCache: o.useCache ?? true,
    device: o.device ?? 'cpu',
    signal: o.signal,
  };
}

// ---- choosing the next token ----

/**
 * The scores a token is chosen from, as transformers' logits processors
 * compute them: the repetition penalty on every token id in `history`, then,
 * when sampling, temperature, top-k and top-p (removed tokens get -Infinity).
 */
export function warpLogits(logits: ArrayLike<number>, history: Iterable<number>, s: Partial<Sampling> = {}): Float64Array {
  const scores = Float64Array.from(logits);
  const penalty = s.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    for (const id of new Set(history)) {
      const v = scores[id];
      scores[id] = v < 0 ? v * penalty : v / penalty;
    }
  }
  if (!s.sample) return scores;
  const temperature = s.temperature ?? 1;
  if (temperature !== 1) for (let i = 0; i < scores.length; i++) scores[i] /= temperature;
  const topK = Math.min(s.topK ?? 0, scores.length);
  if (topK > 0 && topK < scores.length) {
    // Ties with the k-th score stay, as `scores < topk(...)[..., -1]` decides.
    const kth = Float64Array.from(scores).sort()[scores.length - topK];
    for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
  }
  const topP = s.topP ?? 1;
  if (topP < 1) applyTopP(scores, topP);
  return scores;
}

function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of scores) if (v > max) max = v;
  const p = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += p[i] = Math.exp(scores[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

// transformers' TopPLogitsWarper removes a token when the probability of the
// tokens ranked above it already reaches top_p, so the kept set is the
// smallest one whose mass reaches top_p, and never empty. Only tokens above a
// threshold are sorted: those below rank after all of them, so once the
// sorted ones reach top_p they are all removed; otherwise the threshold drops.
function applyTopP(scores: Float64Array, topP: number): void {
  const p = softmax(scores);
  let threshold = p.reduce((a, v) => Math.max(a, v), 0) * 1e-3;
  for (;;) {
    const candidates: number[] = [];
    for (let i = 0; i < p.length; i++) if (p[i] >= threshold && p[i] > 0) candidates.push(i);
    candidates.sort((a, b) => p[b] - p[a] || a - b);
    const keep = new Uint8Array(p.length);
    let before = 0;
    for (const i of candidates) {
      if (before >= topP) break;
      keep[i] = 1;
      before += p[i];
    }
    if (before >= topP || threshold === 0) {
      for (let i = 0; i < scores.length; i++) if (!keep[i]) scores[i] = -Infinity;
      return;
    }
    threshold = threshold < 1e-300 ? 0 : threshold * 1e-3;
  }
}

/** The first maximum, as torch.argmax. */
function argmax(scores: Float64Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** mulberry32: a small seeded generator, one stream per call. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function choose(logits: Float32Array, history: number[], plan: Plan, rng: () => number): number {
  const scores = warpLogits(logits, history, plan);
  if (!plan.sample) return argmax(scores);
  const p = softmax(scores);
  const u = rng();
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i];
    if (u < acc && p[i] > 0) return i;
  }
  return argmax(p); // rounding left u above the total
}

function stops(history: number[], token: number, plan: Plan): boolean {
  if (plan.stopIds.has(token)) return true;
  return plan.stopSequences.some((s) => s.length <= history.length && s.every((id, i) => history[history.length - s.length + i] === id));
}

// ---- the loop ----

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/** Position ids as prepare_inputs_for_generation makes them: cumsum(mask) - 1, and 1 under padding. */
function positions(mask: Uint8Array, batch: number, length: number): { ids: Int32Array; counts: number[] } {
  const ids = new Int32Array(batch * length);
  const counts: number[] = [];
  for (let b = 0; b < batch; b++) {
    let c = 0;
    for (let t = 0; t < length; t++) ids[b * length + t] = mask[b * length + t] ? c++ : 1;
    counts.push(c);
  }
  return { ids, counts };
}

/** Ids to feed: padding (whatever its id) reads row 0 of the embedding, which the mask hides anyway. */
function feedIds(ids: number[], mask: Uint8Array): Int32Array {
  return Int32Array.from(ids, (id, i) => (mask[i] ? id : 0));
}

/** Yields each step's tokens, one per sequence (plan.pad after a sequence stopped). */
async function* steps(lm: DecoderLM, prompt: Prompt, plan: Plan): AsyncGenerator<number[]> {
  const info = lm.decoderInfo;
  const { batch: B, length: T } = prompt;
  const { numLayers: L, numHeads: H, headDim: D, vocabSize: V } = info;
  const pos = positions(prompt.mask, B, T);
  const longest = Math.max(...pos.counts);
  if (longest + plan.maxNewTokens - 1 > info.maxPositions) {
    throw tgError('ERR_TG_ARG', `generate: the longest prompt (${longest} tokens) plus maxNewTokens (${plan.maxNewTokens}) needs ${longest + plan.maxNewTokens - 1} positions; the model has ${info.maxPositions}`);
  }
  const history = Array.from({ length: B }, (_, b) => prompt.ids.slice(b * T, (b + 1) * T).filter((_, t) => prompt.mask[b * T + t]));
  const done = new Array<boolean>(B).fill(false);
  const rng = generator(plan.seed);

  const e = enginesFor(lm, plan.device);
  e.active++;
  let scratch: Session | undefined;
  try {
    const prefillFeeds = {
      input_ids: new Tensor(feedIds(prompt.ids, prompt.mask), [B, T], 'i32'),
      position_ids: new Tensor(pos.ids, [B, T], 'i32'),
      attention_mask: new Tensor(prompt.mask, [B, T], 'u8'),
    };
    let out: Record<string, Tensor>;
    if (plan.useCache) out = await sessionFor(e, lm, 'prefill', `${B}x${T}`).run(prefillFeeds);
    else {
      // A plan per length: a session of its own, freed at the end.
      scratch = new Session(new DecoderView(lm, false), { device: plan.device, loss: null, training: false });
      out = await scratch.run(prefillFeeds);
    }

    // The cache: P slots per sequence and layer; `valid` (B, P + 1) is the
    // decode step's attention mask, its last column the current token.
    const P = roundUp(T + plan.maxNewTokens - 1, CACHE_BLOCK);
    const cache = plan.useCache && plan.maxNewTokens > 1
      ? Array.from({ length: L }, () => ({ key: new Float32Array(B * H * P * D), value: new Float32Array(B * H * P * D) }))
      : [];
    const valid = new Uint8Array(B * (P + 1));
    let filled = 0;
    const store = (o: Record<string, Tensor>, count: number, keep: (b: number, t: number) => boolean) => {
      for (let l = 0; l < L; l++) {
        for (const kv of ['key', 'value'] as const) {
          const src = o[`present.${l}.${kv}`].data as Float32Array; // (B, H, count, D)
          const dst = cache[l][kv];
          for (let bh = 0; bh < B * H; bh++) dst.set(src.subarray(bh * count * D, (bh + 1) * count * D), (bh * P + filled) * D);
        }
      }
      for (let b = 0; b < B; b++) for (let t = 0; t < count; t++) valid[b * (P + 1) + filled + t] = keep(b, t) ? 1 : 0;
      filled += count;
    };
    if (cache.length) store(out, T, (b, t) => prompt.mask[b * T + t] === 1);

    // Without the cache: the whole sequence so far, every step.
    const seqIds = Array.from({ length: B }, (_, b) => prompt.ids.slice(b * T, (b + 1) * T).map((id, t) => (prompt.mask[b * T + t] ? id : 0)));
    const seqMask = Array.from({ length: B }, (_, b) => Array.from(prompt.mask.subarray(b * T, (b + 1) * T)));

    for (let step = 0; ; step++) {
      const logits = out.logits.data as Float32Array; // (B, 1, V) or (1, B, V)
      const tokens = done.map((d, b) => {
        if (d) return plan.pad;
        const token = choose(logits.subarray(b * V, (b + 1) * V), history[b], plan, rng);
        history[b].push(token);
        if (stops(history[b], token, plan)) done[b] = true;
        return token;
      });
      yield tokens;
      if (step + 1 === plan.maxNewTokens || done.every(Boolean)) return;
      plan.signal?.throwIfAborted();

      // A stopped sequence feeds token 0 (the pad may be outside the vocabulary): its results are unused.
      const next = tokens.map((t, b) => (done[b] ? 0 : t));
      if (plan.useCache) {
        const stepMask = valid.slice();
        for (let b = 0; b < B; b++) stepMask[b * (P + 1) + P] = 1;
        const feeds: Record<string, Tensor> = {
          input_ids: new Tensor(Int32Array.from(next), [1, B], 'i32'),
          position_ids: new Tensor(Int32Array.from(pos.counts, (c) => c + step), [1, B], 'i32'),
          attention_mask: new Tensor(stepMask, [B, P + 1], 'u8'),
        };
        for (let l = 0; l < L; l++) {
          feeds[`past_key_values.${l}.key`] = new Tensor(cache[l].key, [B, H, P, D], 'f32');
          feeds[`past_key_values.${l}.value`] = new Tensor(cache[l].value, [B, H, P, D], 'f32');
        }
        out = await sessionFor(e, lm, 'decode', `${B}x${P}`).run(feeds);
        store(out, 1, () => true);
      } else {
        seqIds.forEach((row, b) => row.push(next[b]));
        seqMask.forEach((row) => row.push(1));
        const n = seqIds[0].length;
        const mask = Uint8Array.from(seqMask.flat());
        out = await scratch!.run({
          input_ids: new Tensor(Int32Array.from(seqIds.flat()), [B, n], 'i32'),
          position_ids: new Tensor(positions(mask, B, n).ids, [B, n], 'i32'),
          attention_mask: new Tensor(mask, [B, n], 'u8'),
        });
      }
    }
  } finally {
    e.active--;
    scratch?.dispose();
  }
}

function prepare(lm: DecoderLM, input: GenerateInput, options: GenerateOptions, where: string): { prompt: Prompt; plan: Plan } {
  const info = lm.decoderInfo;
  const plan = resolveOptions(options, info, where);
  return { prompt: preparePrompt(input, options, info, plan.pad, where), plan };
}

/** Resolves to (B, T + n) ids: the prompt as given (padding included), then the n new tokens. */
export async function generate(lm: DecoderLM, input: GenerateInput, options: GenerateOptions = {}): Promise<Tensor> {
  const { prompt, plan } = prepare(lm, input, options, 'generate');
  const produced: number[][] = [];
  for await (const tokens of steps(lm, prompt, plan)) produced.push(tokens);
  const { batch: B, length: T } = prompt;
  const n = produced.length;
  const width = T + n;
  const ids = new Array<number>(B * width);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) ids[b * width + t] = prompt.ids[b * T + t];
    for (let s = 0; s < n; s++) ids[b * width + T + s] = produced[s][b];
  }
  return prompt.dtype === 'i64'
    ? new Tensor(BigInt64Array.from(ids, (v) => BigInt(v)), [B, width], 'i64')
    : new Tensor(Int32Array.from(ids), [B, width], 'i32');
}

/** The new tokens as they come: a number per step for one sequence, an array (one per sequence) for a batch. */
export async function* stream(lm: DecoderLM, input: GenerateInput, options: GenerateOptions = {}): AsyncGenerator<number | number[]> {
  const { prompt, plan } = prepare(lm, input, options, 'stream');
  for await (const tokens of steps(lm, prompt, plan)) yield prompt.single ? tokens[0] : tokens;
}
