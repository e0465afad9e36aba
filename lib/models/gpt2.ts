// GPT-2 as Hugging Face transformers builds it (models/gpt2/modeling_gpt2.py:
// GPT2Model, GPT2LMHeadModel), with the same module names (transformer.wte,
// transformer.h.0.attn.c_attn, transformer.ln_f, ...) so that the published
// checkpoints load unchanged. Linear layers are transformers' Conv1D, whose
// weight is stored (in, out). The lm_head is tied to the token embedding: the
// graph reads transformer.wte.weight for both, so its gradient sums the two
// uses. Causal masking is the attention op's, so the checkpoints' attn.bias
// and attn.masked_bias buffers are ignored on load.
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Dropout, Embedding, LayerNorm, Model, Sequential } from '../nn/index.js';
import { pathSeed } from '../nn/layers.js';
import type { InputSpec } from '../nn/module.js';
import { Session, type CompileOptions } from '../session.js';
import { Tensor, type HostTensorLike } from '../tensor.js';
import { loadHfFolder } from '../weights/hf.js';
import type { LoadOptions, LoadReport } from '../weights/mapping.js';
import { generate, stream, type DecoderInfo, type DecoderStepOptions, type GenerateInput, type GenerateOptions } from './generate.js';
import { TextSession } from './bert.js';
import { normalInit } from './init.js';

/** GPT2Config's fields, camel-cased; defaults are gpt2 (124M). */
export interface GPT2Options {
  vocabSize?: number;
  nPositions?: number;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  /** Width of the MLP; null: 4 * nEmbd. */
  nInner?: number | null;
  activationFunction?: string;
  residPdrop?: number;
  embdPdrop?: number;
  attnPdrop?: number;
  layerNormEpsilon?: number;
  initializerRange?: number;
  scaleAttnWeights?: boolean;
  scaleAttnByInverseLayerIdx?: boolean;
  bosTokenId?: number;
  /** Where generation stops by default; one id or several. */
  eosTokenId?: number | number[];
  padTokenId?: number | null;
  /** 'causal-lm' / 'text-generation' (default): { logits }; 'feature-extraction': { last_hidden_state }. */
  task?: GPT2Task;
}

export type GPT2Task = 'causal-lm' | 'text-generation' | 'feature-extraction';
const TASKS: readonly GPT2Task[] = ['causal-lm', 'text-generation', 'feature-extraction'];

export type GPT2Config = Required<Omit<GPT2Options, 'nInner' | 'padTokenId' | 'eosTokenId' | 'task'>> & {
  nInner: number;
  eosTokenId: number[];
  padTokenId: number | null;
};

// transformers' ACT2FN entries that are one op here.
const ACTIVATIONS: Record<string, [string, Record<string, string>]> = {
  gelu_new: ['gelu', { approximate: 'tanh' }],
  gelu_fast: ['gelu', { approximate: 'tanh' }],
  gelu_pytorch_tanh: ['gelu', { approximate: 'tanh' }],
  gelu: ['gelu', { approximate: 'none' }],
  relu: ['relu', {}],
  silu: ['silu', {}],
  swish: ['silu', {}],
  tanh: ['tanh', {}],
};

// Checkpoint entries with no counterpart here: the causal-mask buffers older
// transformers versions saved, and the tied lm_head.
const IGNORED_ON_LOAD = ['*.attn.bias', '*.attn.masked_bias', 'lm_head.weight'];

function resolveConfig(o: GPT2Options, where: string): GPT2Config {
  if (o === null || typeof o !== 'object') throw invalid('ERR_TG_ARG', where, 'options', 'an object', o);
  const int = (name: keyof GPT2Options, v: unknown, min = 1) => {
    if (!Number.isInteger(v) || (v as number) < min) throw invalid('ERR_TG_ARG', where, name, `an integer >= ${min}`, v);
    return v as number;
  };
  const prob = (name: keyof GPT2Options, v: unknown) => {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw invalid('ERR_TG_ARG', where, name, 'a probability in [0, 1)', v);
    return v;
  };
  const nEmbd = int('nEmbd', o.nEmbd ?? 768);
  const nHead = int('nHead', o.nHead ?? 12);
  if (nEmbd % nHead) throw invalid('ERR_TG_ARG', where, 'nHead', `a divisor of nEmbd (${nEmbd})`, nHead);
  const act = o.activationFunction ?? 'gelu_new';
  if (!Object.hasOwn(ACTIVATIONS, act)) {
    throw invalid('ERR_TG_ARG', where, 'activationFunction', `one of ${Object.keys(ACTIVATIONS).join(', ')}`, act);
  }
  const eps = o.layerNormEpsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw invalid('ERR_TG_ARG', where, 'layerNormEpsilon', 'a number > 0', eps);
  const range = o.initializerRange ?? 0.02;
  if (typeof range !== 'number' || !(range >= 0)) throw invalid('ERR_TG_ARG', where, 'initializerRange', 'a number >= 0', range);
  const eos = o.eosTokenId ?? 50256;
  const eosIds = Array.isArray(eos) ? eos : [eos];
  eosIds.forEach((id) => int('eosTokenId', id, 0));
  const pad = o.padTokenId ?? null;
  if (pad !== null) int('padTokenId', pad, 0);
  for (const flag of ['scaleAttnWeights', 'scaleAttnByInverseLayerIdx'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw invalid('ERR_TG_ARG', where, flag, 'a boolean', o[flag]);
  }
  return {
    vocabSize: int('vocabSize', o.vocabSize ?? 50257),
    nPositions: int('nPositions', o.nPositions ?? 1024),
    nEmbd,
    nLayer: int('nLayer', o.nLayer ?? 12),
    nHead,
    nInner: o.nInner === undefined || o.nInner === null ? 4 * nEmbd : int('nInner', o.nInner),
    activationFunction: act,
    residPdrop: prob('residPdrop', o.residPdrop ?? 0.1),
    embdPdrop: prob('embdPdrop', o.embdPdrop ?? 0.1),
    attnPdrop: prob('attnPdrop', o.attnPdrop ?? 0.1),
    layerNormEpsilon: eps,
    initializerRange: range,
    scaleAttnWeights: o.scaleAttnWeights ?? true,
    scaleAttnByInverseLayerIdx: o.scaleAttnByInverseLayerIdx ?? false,
    bosTokenId: int('bosTokenId', o.bosTokenId ?? 50256, 0),
    eosTokenId: eosIds,
    padTokenId: pad,
  };
}

/** GPT2Options from a config.json (transformers' GPT2Config, snake_case; n_ctx is the old n_positions). */
export function gpt2OptionsFromConfig(config: Record<string, unknown>): GPT2Options {
  const pick = <T>(...keys: string[]): T | undefined => {
    for (const k of keys) if (config[k] !== undefined) return config[k] as T;
    return undefined;
  };
  return {
    vocabSize: pick('vocab_size'),
    nPositions: pick('n_positions', 'n_ctx'),
    nEmbd: pick('n_embd'),
    nLayer: pick('n_layer'),
    nHead: pick('n_head'),
    nInner: pick('n_inner'),
    activationFunction: pick('activation_function'),
    residPdrop: pick('resid_pdrop'),
    embdPdrop: pick('embd_pdrop'),
    attnPdrop: pick('attn_pdrop'),
    layerNormEpsilon: pick('layer_norm_epsilon'),
    initializerRange: pick('initializer_range'),
    scaleAttnWeights: pick('scale_attn_weights'),
    scaleAttnByInverseLayerIdx: pick('scale_attn_by_inverse_layer_idx'),
    bosTokenId: pick('bos_token_id'),
    eosTokenId: pick('eos_token_id'),
    padTokenId: pick('pad_token_id'),
  };
}

/**
 * transformers' Conv1D: y = x @ weight + bias with weight (nx, nf), i.e.
 * (in, out), the transpose of nn.Linear's. Arguments in its order: nf (out), nx (in).
 */
export class Conv1D extends Model {
  constructor(
    readonly nf: number,
    readonly nx: number,
    std = 0.02,
  ) {
    super();
    this.registerParameter('weight', [nx, nf], new Float32Array(nx * nf));
    this.registerParameter('bias', [nf], new Float32Array(nf));
    normalInit(this.namedParameters()[0][1], std);
  }

  /** x (..., nx) -> (..., nf). */
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const name = prefix.slice(0, -1) || 'conv1d';
    const y = g.op1('matmul', [x, this.paramValue(g, prefix, 'weight')], {}, `${name}.matmul`);
    return g.op1('add', [y, this.paramValue(g, prefix, 'bias')], {}, name);
  }
}

/** What a block sees besides its input. */
export interface AttentionContext {
  /** u8 (B, 1, 1, Tk): keys a query may attend to (besides the causal rule); Tk counts past and current keys. */
  keep?: Value;
  /** Keys and values of earlier positions (B, H, P, D), put before this step's. */
  past?: { key: Value; value: Value };
  /**
   * Activations laid out (T, B, E) rather than (B, T, E). Decoding one token
   * per sequence uses it: every Conv1D is then one matrix product over the
   * whole batch instead of one per sequence.
   */
  tokensFirst?: boolean;
}

/** A block's output and the keys and values (B, H, T, D) of its current tokens, for a cache. */
export interface BlockOutput {
  out: Value;
  key: Value;
  value: Value;
}

export class GPT2Attention extends Model {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly attn_dropout: Dropout;
  readonly resid_dropout: Dropout;
  readonly headDim: number;
  readonly scale: number;

  constructor(
    readonly config: GPT2Config,
    readonly layerIdx: number,
  ) {
    super();
    const e = config.nEmbd;
    this.headDim = e / config.nHead;
    this.c_attn = this.registerModule('c_attn', new Conv1D(3 * e, e, config.initializerRange));
    // GPT-2's scaled initialisation of the projections that feed the residual stream.
    this.c_proj = this.registerModule('c_proj', new Conv1D(e, e, config.initializerRange / Math.sqrt(2 * config.nLayer)));
    this.attn_dropout = this.registerModule('attn_dropout', new Dropout(config.attnPdrop));
    this.resid_dropout = this.registerModule('resid_dropout', new Dropout(config.residPdrop));
    let scale = config.scaleAttnWeights ? 1 / Math.sqrt(this.headDim) : 1;
    if (config.scaleAttnByInverseLayerIdx) scale /= layerIdx + 1;
    this.scale = scale;
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.attend(g, x, prefix, {}).out;
  }

  attend(g: GraphBuilder, x: Value, prefix: string, ctx: AttentionContext): BlockOutput {
    const name = prefix.slice(0, -1) || 'attn';
    const { nHead } = this.config;
    const qkv = this.c_attn.build(g, x, `${prefix}c_attn.`); // (B, T, 3E) or (T, B, 3E)
    const heads = g.op1('unflatten', [qkv], { axis: 2, sizes: [3, nHead, this.headDim] }, `${name}.split_heads`);
    const dims = ctx.tokensFirst ? [2, 1, 3, 0, 4] : [2, 0, 3, 1, 4];
    const perm = g.op1('permute', [heads], { dims }, `${name}.heads_first`); // (3, B, H, T, D)
    const [q, k, v] = [0, 1, 2].map((i) => {
      const part = g.op1('slice', [perm], { axis: 0, start: i, end: i + 1 }, `${name}.${'qkv'[i]}`);
      return g.op1('flatten', [part], { start_dim: 0, end_dim: 1 }, `${name}.${'qkv'[i]}_squeeze`); // (B, H, T, D)
    });
    const keys = ctx.past ? g.op1('concat', [ctx.past.key, k], { axis: 2 }, `${name}.past_key`) : k;
    const values = ctx.past ? g.op1('concat', [ctx.past.value, v], { axis: 2 }, `${name}.past_value`) : v;
    // Causal alignment is bottom-right, so queries after a cache of P keys see all of them.
    const attrs = { causal: true, scale: this.scale, dropout_p: this.config.attnPdrop, seed: pathSeed(`${prefix}attn_dropout`) };
    const inputs = ctx.keep ? [q, keys, values, ctx.keep] : [q, keys, values];
    const out = g.op('attention', inputs, attrs, name)[0]; // (B, H, T, D)
    const back = g.op1('permute', [out], { dims: ctx.tokensFirst ? [2, 0, 1, 3] : [0, 2, 1, 3] }, `${name}.tokens_back`);
    const merged = g.op1('flatten', [back], { start_dim: 2 }, `${name}.merge_heads`);
    const proj = this.c_proj.build(g, merged, `${prefix}c_proj.`);
    return { out: this.resid_dropout.build(g, proj, `${prefix}resid_dropout.`), key: k, value: v };
  }
}

export class GPT2MLP extends Model {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly dropout: Dropout;

  constructor(readonly config: GPT2Config) {
    super();
    const { nEmbd, nInner, initializerRange } = config;
    this.c_fc = this.registerModule('c_fc', new Conv1D(nInner, nEmbd, initializerRange));
    this.c_proj = this.registerModule('c_proj', new Conv1D(nEmbd, nInner, initializerRange / Math.sqrt(2 * config.nLayer)));
    this.dropout = this.registerModule('dropout', new Dropout(config.residPdrop));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const [op, attrs] = ACTIVATIONS[this.config.activationFunction];
    let h = this.c_fc.build(g, x, `${prefix}c_fc.`);
    h = g.op1(op, [h], attrs, `${prefix}act`);
    h = this.c_proj.build(g, h, `${prefix}c_proj.`);
    return this.dropout.build(g, h, `${prefix}dropout.`);
  }
}

export class GPT2Block extends Model {
  readonly ln_1: LayerNorm;
  readonly attn: GPT2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: GPT2MLP;

  constructor(config: GPT2Config, layerIdx: number) {
    super();
    const eps = config.layerNormEpsilon;
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(config.nEmbd, { eps }));
    this.attn = this.registerModule('attn', new GPT2Attention(config, layerIdx));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(config.nEmbd, { eps }));
    this.mlp = this.registerModule('mlp', new GPT2MLP(config));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.block(g, x, prefix, {}).out;
  }

  block(g: GraphBuilder, x: Value, prefix: string, ctx: AttentionContext): BlockOutput {
    const a = this.attn.attend(g, this.ln_1.build(g, x, `${prefix}ln_1.`), `${prefix}attn.`, ctx);
    const h = g.op1('add', [a.out, x], {}, `${prefix}attn_residual`);
    const m = this.mlp.build(g, this.ln_2.build(g, h, `${prefix}ln_2.`), `${prefix}mlp.`);
    return { out: g.op1('add', [h, m], {}, `${prefix}mlp_residual`), key: a.key, value: a.value };
  }
}

/** The inputs of GPT2Model.body as graph values. */
export interface BodyInputs extends AttentionContext {
  /** Token ids (B, T), or (T, B) with tokensFirst. */
  inputIds: Value;
  /** Position ids, shaped as inputIds. */
  positionIds: Value;
  /** Per-layer past keys and values. */
  pastPerLayer?: Array<{ key: Value; value: Value }>;
  /** Only the last position goes through ln_f (what generation needs). */
  lastOnly?: boolean;
}

export interface BodyOutputs {
  /** After ln_f. */
  hidden: Value;
  /** transformers' hidden_states: the embeddings, each block's output but the last, then the final (normed) state. */
  hiddenStates: Value[];
  presents: Array<{ key: Value; value: Value }>;
}

export class GPT2Model extends Model {
  readonly config: GPT2Config;
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: Sequential;
  readonly ln_f: LayerNorm;
  /** Also output hidden_states.0 ... hidden_states.{nLayer}, as output_hidden_states=True. */
  outputHiddenStates = false;
  private inference?: Session;

  constructor(options: GPT2Options = {}) {
    super();
    const c = resolveConfig(options, 'models.gpt2');
    this.config = c;
    this.wte = this.registerModule('wte', new Embedding(c.vocabSize, c.nEmbd));
    this.wpe = this.registerModule('wpe', new Embedding(c.nPositions, c.nEmbd));
    // nn.Embedding draws N(0, 1); transformers wants N(0, initializer_range).
    for (const e of [this.wte, this.wpe]) {
      const w = e.namedParameters()[0][1].data;
      for (let i = 0; i < w.length; i++) w[i] *= c.initializerRange;
    }
    this.drop = this.registerModule('drop', new Dropout(c.embdPdrop));
    this.h = this.registerModule('h', new Sequential(...Array.from({ length: c.nLayer }, (_, i) => new GPT2Block(c, i))));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(c.nEmbd, { eps: c.layerNormEpsilon }));
  }

  get blocks(): GPT2Block[] {
    return this.h.layers as GPT2Block[];
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    void g, x, prefix;
    throw tgError('ERR_TG_ARG', 'GPT2Model needs input_ids and position_ids: use forward() (compile, predict) instead of build()');
  }

  /** The transformer on graph values; `prefix` is where its parameters live ('transformer.' in the LM). */
  body(g: GraphBuilder, prefix: string, inputs: BodyInputs): BodyOutputs {
    const { tokensFirst } = inputs;
    const tokens = this.wte.build(g, inputs.inputIds, `${prefix}wte.`);
    const positions = this.wpe.build(g, inputs.positionIds, `${prefix}wpe.`);
    let h = this.drop.build(g, g.op1('add', [tokens, positions], {}, `${prefix}embeddings`), `${prefix}drop.`);
    const hiddenStates = [h];
    const presents: BodyOutputs['presents'] = [];
    this.blocks.forEach((block, i) => {
      const ctx = { keep: inputs.keep, past: inputs.pastPerLayer?.[i], tokensFirst };
      const r = block.block(g, h, `${prefix}h.${i}.`, ctx);
      presents.push({ key: r.key, value: r.value });
      h = r.out;
      if (i < this.blocks.length - 1) hiddenStates.push(h);
    });
    // ln_f works per position, so only the positions asked for need it.
    if (inputs.lastOnly && !tokensFirst) h = g.op1('slice', [h], { axis: 1, start: -1 }, `${prefix}last_position`);
    h = this.ln_f.build(g, h, `${prefix}ln_f.`);
    hiddenStates.push(h);
    return { hidden: h, hiddenStates, presents };
  }

  override inputSpecs(): InputSpec[] {
    return textInputSpecs();
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    const r = this.body(g, '', textBodyInputs(g, inputs));
    return { last_hidden_state: r.hidden, ...(this.outputHiddenStates ? hiddenStateOutputs(r.hiddenStates) : {}) };
  }

  override compile(options: CompileOptions = {}): Session {
    return new TextSession(this, options);
  }

  override async predictAll(input: HostTensorLike | Record<string, HostTensorLike>, { device = 'cpu' } = {}): Promise<Record<string, Tensor>> {
    this.inference ??= new TextSession(this, { device, loss: null, training: false });
    return this.inference.run(input);
  }

  override async loadStateDict(record: Record<string, HostTensorLike>, options: LoadOptions = {}): Promise<LoadReport> {
    return super.loadStateDict(record, withIgnored(options));
  }

  override async load(path: string, options: LoadOptions = {}): Promise<LoadReport> {
    return super.load(path, withIgnored(options));
  }
}

export class GPT2LMHeadModel extends Model {
  readonly config: GPT2Config;
  readonly transformer: GPT2Model;
  readonly task: GPT2Task;
  private inference?: Session;

  constructor(options: GPT2Options = {}) {
    super();
    const task = options.task ?? 'causal-lm';
    if (!TASKS.includes(task)) throw invalid('ERR_TG_ARG', 'models.gpt2', 'task', `one of ${TASKS.join(', ')}`, task);
    this.task = task;
    this.transformer = this.registerModule('transformer', new GPT2Model(options));
    this.config = this.transformer.config;
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.transformer.build(g, x, prefix);
  }

  /** nn.Linear(n_embd, vocab_size, bias=False) whose weight is transformer.wte.weight. */
  private lmHead(g: GraphBuilder, hidden: Value): Value {
    const wte = g.param('transformer.wte.weight', [this.config.vocabSize, this.config.nEmbd]);
    return g.op1('linear', [hidden, wte], {}, 'lm_head');
  }

  override inputSpecs(): InputSpec[] {
    return textInputSpecs();
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    const r = this.transformer.body(g, 'transformer.', textBodyInputs(g, inputs));
    const extra = this.transformer.outputHiddenStates ? hiddenStateOutputs(r.hiddenStates) : {};
    if (this.task === 'feature-extraction') return { last_hidden_state: r.hidden, ...extra };
    return { logits: this.lmHead(g, r.hidden), ...extra };
  }

  override targetName(): string {
    return 'labels';
  }

  /** Next-token prediction, as GPT2LMHeadModel: logits[:, :-1] against labels[:, 1:], flattened; -100 is ignored. */
  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    const shiftLogits = g.op1('slice', [logits], { axis: 1, start: 0, end: -1 }, 'shift_logits');
    const shiftLabels = g.op1('slice', [target], { axis: 1, start: 1 }, 'shift_labels');
    return [
      g.op1('flatten', [shiftLogits], { start_dim: 0, end_dim: 1 }, 'shift_logits_flat'),
      g.op1('flatten', [shiftLabels], { start_dim: 0, end_dim: 1 }, 'shift_labels_flat'),
    ];
  }

  // ---- what generation needs (see generate.ts) ----

  get decoderInfo(): DecoderInfo {
    const c = this.config;
    return {
      numLayers: c.nLayer,
      numHeads: c.nHead,
      headDim: c.nEmbd / c.nHead,
      vocabSize: c.vocabSize,
      maxPositions: c.nPositions,
      eosTokenIds: c.eosTokenId,
      padTokenId: c.padTokenId ?? c.eosTokenId[0] ?? 0,
    };
  }

  /**
   * One forward pass of generation: input_ids and position_ids, the u8
   * attention_mask over past and current keys, and with `past` each layer's
   * past_key_values.{i}.key/value (B, H, P, D); outputs the last position's
   * logits and each layer's present.{i}.key/value (B, H, T, D).
   */
  decoderStep(g: GraphBuilder, inputs: Record<string, Value>, options: DecoderStepOptions): Record<string, Value> {
    this.checkGenerates('generate');
    const keep = g.op1('padding_mask', [inputs.attention_mask], {}, 'padding_mask');
    const pastPerLayer = options.past
      ? this.transformer.blocks.map((_, i) => ({ key: inputs[`past_key_values.${i}.key`], value: inputs[`past_key_values.${i}.value`] }))
      : undefined;
    const r = this.transformer.body(g, 'transformer.', {
      inputIds: inputs.input_ids,
      positionIds: inputs.position_ids,
      keep,
      pastPerLayer,
      tokensFirst: options.tokensFirst,
      lastOnly: true,
    });
    const out: Record<string, Value> = { logits: this.lmHead(g, r.hidden) };
    r.presents.forEach((p, i) => {
      out[`present.${i}.key`] = p.key;
      out[`present.${i}.value`] = p.value;
    });
    return out;
  }

  /**
   * Continues each sequence: resolves to (B, T + n) ids, the prompt followed
   * by the new tokens, as transformers' generate. See GenerateOptions.
   */
  async generate(inputIds: GenerateInput, options: GenerateOptions = {}): Promise<Tensor> {
    this.checkGenerates('generate');
    return generate(this, inputIds, options);
  }

  /** The new tokens as they come: a number per step for one sequence (number[] or a 1-D tensor), else one per sequence. */
  stream(inputIds: number[], options?: GenerateOptions): AsyncGenerator<number>;
  stream(inputIds: number[][], options?: GenerateOptions): AsyncGenerator<number[]>;
  stream(inputIds: GenerateInput, options?: GenerateOptions): AsyncGenerator<number | number[]>;
  stream(inputIds: GenerateInput, options: GenerateOptions = {}): AsyncGenerator<number | number[]> {
    this.checkGenerates('stream');
    return stream(this, inputIds, options);
  }

  private checkGenerates(where: string): void {
    if (this.task === 'feature-extraction') throw tgError('ERR_TG_ARG', `${where}: this GPT-2 was built for feature-extraction and has no language-model head`);
  }

  // ---- loading and saving ----

  /** The state dict of transformers' GPT2LMHeadModel: lm_head.weight is there, a copy of transformer.wte.weight. */
  override async stateDict(): Promise<Record<string, Tensor>> {
    const out = await super.stateDict();
    const wte = out['transformer.wte.weight'];
    out['lm_head.weight'] = new Tensor(wte.data.slice() as Float32Array, [...wte.shape], 'f32');
    return out;
  }

  override async loadStateDict(record: Record<string, HostTensorLike>, options: LoadOptions = {}): Promise<LoadReport> {
    return super.loadStateDict(record, withIgnored(options));
  }

  override async load(path: string, options: LoadOptions = {}): Promise<LoadReport> {
    return super.load(path, withIgnored(options));
  }

  override compile(options: CompileOptions = {}): Session {
    return new TextSession(this, options);
  }

  override async predictAll(input: HostTensorLike | Record<string, HostTensorLike>, { device = 'cpu' } = {}): Promise<Record<string, Tensor>> {
    this.inference ??= new TextSession(this, { device, loss: null, training: false });
    return this.inference.run(input);
  }
}

function withIgnored(options: LoadOptions): LoadOptions {
  const own = options.ignore === undefined ? [] : typeof options.ignore === 'string' ? [options.ignore] : options.ignore;
  // A bad user value is for planLoad to report.
  return Array.isArray(own) ? { ...options, ignore: [...own, ...IGNORED_ON_LOAD] } : options;
}

function hiddenStateOutputs(states: Value[]): Record<string, Value> {
  return Object.fromEntries(states.map((v, i) => [`hidden_states.${i}`, v]));
}

// ---- text feeds ----

function textInputSpecs(): InputSpec[] {
  return [
    { name: 'input_ids', shape: [-1, -1], dtype: null },
    { name: 'attention_mask', shape: [-1, -1], dtype: null },
  ];
}

// GPT2Model.forward's defaults: positions 0..T-1 whatever the padding, and
// the attention mask (all ones unless fed, see TextSession) over the keys.
function textBodyInputs(g: GraphBuilder, inputs: Record<string, Value>): BodyInputs {
  return {
    inputIds: inputs.input_ids,
    positionIds: g.op1('position_ids', [inputs.input_ids], {}, 'position_ids'),
    keep: g.op1('padding_mask', [inputs.attention_mask], {}, 'padding_mask'),
  };
}

/**
 * A GPT-2 from a Hugging Face folder (config.json and weights), as
 * GPT2LMHeadModel.from_pretrained: keys with or without the transformer.
 * prefix, the lm_head tied to wte, the causal-mask buffers ignored. Loads
 * strictly unless strict is false; the report is the model's `loadReport`
 * (the fields tg.fromPretrained reports).
 */
export async function loadGpt2(
  folder: string,
  options: { task?: 'causal-lm' | 'text-generation' | 'feature-extraction'; strict?: boolean } = {},
): Promise<GPT2LMHeadModel> {
  const where = 'loadGpt2';
  if (typeof folder !== 'string' || !folder) throw invalid('ERR_TG_ARG', where, 'folder', 'a Hugging Face model folder', folder);
  if (options === null || typeof options !== 'object') throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  const { task = 'text-generation', strict = true } = options;
  if (!TASKS.includes(task)) throw invalid('ERR_TG_ARG', where, 'task', `one of ${TASKS.join(', ')} for GPT-2`, task);
  if (typeof strict !== 'boolean') throw invalid('ERR_TG_ARG', where, 'strict', 'a boolean', strict);
  const hf = await loadHfFolder(folder);
  const type = hf.config.model_type;
  if (type !== undefined && type !== 'gpt2') throw tgError('ERR_TG_ARG', `${where}: ${folder} holds a '${String(type)}' model, not gpt2`);
  const model = new GPT2LMHeadModel({ ...gpt2OptionsFromConfig(hf.config), task });
  let report: LoadReport;
  try {
    report = await model.loadStateDict(hf.tensors, { strict });
  } catch (err) {
    const e = err as Error;
    e.message = `${where}: ${folder}: ${e.message.replace(/^loadStateDict: /, '')}`;
    throw e;
  }
  report.notes.unshift(...hf.notes);
  const full = { ...report, path: folder, modelType: 'gpt2', task, architecture: 'GPT2LMHeadModel', newlyInitialized: [...report.missing] };
  Object.defineProperty(model, 'loadReport', { value: full, enumerable: false, configurable: true, writable: false });
  return model;
}
