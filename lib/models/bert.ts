// BERT as Hugging Face transformers' models/bert/modeling_bert.py builds it:
// BertModel (embeddings, encoder, pooler) and the task models
// BertForSequenceClassification, BertForTokenClassification and
// BertForMaskedLM, with the same module names
// (bert.encoder.layer.0.attention.self.query.weight, cls.predictions.*) so
// that published checkpoints load unchanged, and BertPreTrainedModel's
// initialisation (normal(0, initializer_range) weights, zero biases).
// Self-attention runs on the fused attention op with the attention_mask as
// its key-padding mask; dropout is active in training mode only.
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Dropout, Embedding, LayerNorm, Linear, Model, Sequential } from '../nn/index.js';
import { pathSeed } from '../nn/layers.js';
import type { InputSpec } from '../nn/module.js';
import { random } from '../random.js';
import { Session, type CompileOptions, type StepInfo } from '../session.js';
import { Tensor, type HostTensorLike } from '../tensor.js';
import type { LoadOptions, LoadReport } from '../weights/mapping.js';
import { checkNumClasses, type HeadOptions } from './head.js';
import { encoderConfig, type EncoderConfig, type HiddenAct } from './config.js';

/** Buffers that transformers keeps in some state dicts but recomputes (position_ids, token_type_ids). */
export const RECOMPUTED_BUFFERS = ['*embeddings.position_ids', '*embeddings.token_type_ids'];

/** transformers' ACT2FN[hidden_act] as a graph node. */
export function activation(g: GraphBuilder, act: HiddenAct, x: Value, name: string): Value {
  switch (act) {
    case 'gelu':
      return g.op1('gelu', [x], { approximate: 'none' }, name);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return g.op1('gelu', [x], { approximate: 'tanh' }, name);
    case 'relu':
      return g.op1('relu', [x], {}, name);
    case 'silu':
    case 'swish':
      return g.op1('silu', [x], {}, name);
    case 'tanh':
      return g.op1('tanh', [x], {}, name);
  }
}

/** A submodule whose forward pass needs more than one input: its parent layer builds it. */
export abstract class Part extends Model {
  build(): Value {
    throw tgError('ERR_TG_ARG', `${this.constructor.name} is built by its parent layer, not on its own`);
  }
}

// ---- the text-model session: transformers' defaults for the optional feeds ----

type Feeds = HostTensorLike | Record<string, HostTensorLike>;

function isTensor(v: unknown): v is HostTensorLike {
  return typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'dtype' in v;
}

/**
 * A bare tensor is input_ids; a missing attention_mask means every token
 * counts and missing token_type_ids mean segment 0, as in transformers.
 */
function completeFeeds(model: Model, feeds: Feeds, where: string): Record<string, HostTensorLike> {
  if (typeof feeds !== 'object' || feeds === null) throw tgError('ERR_TG_ARG', `${where}: feeds must be { input_ids, attention_mask, ... } or an input_ids tensor`);
  const f: Record<string, HostTensorLike> = isTensor(feeds) ? { input_ids: feeds } : { ...feeds };
  const ids = f.input_ids;
  if (!isTensor(ids)) throw tgError('ERR_TG_ARG', `${where}: the feed 'input_ids' (N, T) is missing`);
  const n = ids.shape.reduce((a, b) => a * b, 1);
  const names = new Set(model.inputSpecs().map((s) => s.name));
  if (names.has('attention_mask') && f.attention_mask === undefined) f.attention_mask = new Tensor(new Int32Array(n).fill(1), [...ids.shape], 'i32');
  if (names.has('token_type_ids') && f.token_type_ids === undefined) f.token_type_ids = new Tensor(new Int32Array(n), [...ids.shape], 'i32');
  return f;
}

/** A Session whose feeds get transformers' defaults (see completeFeeds). */
export class TextSession extends Session {
  override run(feeds: Feeds): Promise<Record<string, Tensor>> {
    return super.run(completeFeeds(this.model, feeds, 'run'));
  }

  override step(feeds: Record<string, HostTensorLike>): Promise<{ loss: number }> {
    return super.step(completeFeeds(this.model, feeds, 'step'));
  }

  override stepInfo(feeds: Record<string, { shape: number[]; dtype?: string }>): StepInfo {
    const ids = feeds?.input_ids;
    if (!ids) return super.stepInfo(feeds);
    const names = new Set(this.model.inputSpecs().map((s) => s.name));
    const filled = { ...feeds };
    for (const name of ['attention_mask', 'token_type_ids']) if (names.has(name) && !filled[name]) filled[name] = { shape: ids.shape, dtype: 'i32' };
    return super.stepInfo(filled);
  }
}

// ---- the shared base ----

/**
 * transformers' BertPreTrainedModel: the config, the text feeds
 * (input_ids, attention_mask, token_type_ids), and _init_weights.
 */
export abstract class BertPreTrainedModel extends Model {
  private textPredict?: Session;

  constructor(readonly config: EncoderConfig) {
    super();
  }

  override inputSpecs(): InputSpec[] {
    const specs: InputSpec[] = [
      { name: 'input_ids', shape: [-1, -1], dtype: null },
      { name: 'attention_mask', shape: [-1, -1], dtype: null },
    ];
    // One token type is always type 0: the embeddings add that row without a feed.
    if (this.config.typeVocabSize > 1) specs.push({ name: 'token_type_ids', shape: [-1, -1], dtype: null });
    return specs;
  }

  override targetName(): string {
    return 'labels';
  }

  override compile(options: CompileOptions = {}): Session {
    return new TextSession(this, options);
  }

  override async predictAll(input: Feeds, { device = 'cpu' } = {}): Promise<Record<string, Tensor>> {
    this.textPredict ??= new TextSession(this, { device, loss: null, training: false });
    return this.textPredict.run(input);
  }

  /** As Model.loadStateDict, skipping the buffers transformers recomputes (position_ids). */
  override loadStateDict(record: Record<string, HostTensorLike>, options: LoadOptions = {}): Promise<LoadReport> {
    return super.loadStateDict(record, withRecomputed(options));
  }

  override load(path: string, options: LoadOptions = {}): Promise<LoadReport> {
    return super.load(path, withRecomputed(options));
  }

  /** Class names by index (transformers' id2label). */
  get labels(): string[] {
    return this.config.labels;
  }

  /**
   * _init_weights: normal(0, initializer_range) for linear and embedding
   * weights (padding rows zero), LayerNorm weight 1 and bias 0, other biases
   * 0. Only the parameters named (all by default).
   */
  initWeights(names?: Iterable<string>): void {
    const only = names === undefined ? undefined : new Set(names);
    const params = new Map(this.namedParameters());
    const std = this.config.initializerRange;
    for (const [name, p] of params) {
      if (only && !only.has(name)) continue;
      if (/(LayerNorm|layer_norm)\.weight$/.test(name)) p.data.fill(1);
      else if (/(^|\.)bias$/.test(name)) p.data.fill(0);
      else gaussian(p.data, std);
    }
    for (const [name, row] of this.paddingRows()) {
      if (only && !only.has(name)) continue;
      const p = params.get(name)!;
      p.data.fill(0, row * p.shape[1], (row + 1) * p.shape[1]);
    }
  }

  /** Embedding tables with a padding row, which the initialisation keeps zero: [parameter, row]. */
  paddingRows(): Array<[string, number]> {
    return [];
  }
}

export function prefixed(prefix: string, rows: Array<[string, number]>): Array<[string, number]> {
  return rows.map(([name, row]) => [prefix + name, row]);
}

/** Fills `out` with normal(0, std) draws from the seeded generator, both Box-Muller values of each pair used (bert-base has 110M weights). */
function gaussian(out: Float32Array, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(1 - random()));
    const a = 2 * Math.PI * random();
    out[i] = r * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(a);
  }
}

function withRecomputed(options: LoadOptions): LoadOptions {
  const ignore = options.ignore === undefined ? [] : typeof options.ignore === 'string' ? [options.ignore] : options.ignore;
  return { ...options, ignore: Array.isArray(ignore) ? [...ignore, ...RECOMPUTED_BUFFERS] : ignore };
}

// ---- BertModel's parts ----

export class BertEmbeddings extends Model {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings?: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  /** positionPadding: RoBERTa's positions, counted over non-padding tokens from padding_idx + 1. */
  constructor(
    readonly config: EncoderConfig,
    readonly positionPadding = false,
  ) {
    super();
    const c = config;
    const pad = c.padTokenId ?? undefined;
    this.word_embeddings = this.registerModule('word_embeddings', new Embedding(c.vocabSize, c.hiddenSize, { paddingIdx: pad }));
    this.position_embeddings = this.registerModule(
      'position_embeddings',
      new Embedding(c.maxPositionEmbeddings, c.hiddenSize, { paddingIdx: positionPadding ? pad : undefined }),
    );
    if (c.typeVocabSize > 0) this.token_type_embeddings = this.registerModule('token_type_embeddings', new Embedding(c.typeVocabSize, c.hiddenSize));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(c.hiddenSize, { eps: c.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(c.hiddenDropoutProb));
  }

  /** input_ids (N, T) and token_type_ids (N, T) or none (all type 0) -> (N, T, D). */
  embed(g: GraphBuilder, inputIds: Value, tokenTypeIds: Value | undefined, prefix: string): Value {
    const words = this.word_embeddings.build(g, inputIds, `${prefix}word_embeddings.`);
    let h = words;
    if (this.token_type_embeddings) {
      const tt = `${prefix}token_type_embeddings.`;
      const types = tokenTypeIds
        ? this.token_type_embeddings.build(g, tokenTypeIds, tt)
        : g.op1('slice', [g.param(`${tt}weight`, [this.config.typeVocabSize, this.config.hiddenSize])], { axis: 0, start: 0, end: 1 }, `${tt.slice(0, -1)}.type0`);
      h = g.op1('add', [h, types], {}, `${prefix}add_token_types`);
    }
    const pad = this.config.padTokenId ?? 0;
    const positionIds = g.op1('position_ids', [inputIds], this.positionPadding ? { padding_idx: pad } : {}, `${prefix}position_ids`);
    const positions = this.position_embeddings.build(g, positionIds, `${prefix}position_embeddings.`);
    h = g.op1('add', [h, positions], {}, `${prefix}add_positions`);
    h = this.LayerNorm.build(g, h, `${prefix}LayerNorm.`);
    return this.dropout.build(g, h, `${prefix}dropout.`);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.embed(g, x, undefined, prefix);
  }
}

export class BertSelfAttention extends Part {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly numHeads: number;
  readonly headDim: number;

  constructor(readonly config: EncoderConfig) {
    super();
    const d = config.hiddenSize;
    this.numHeads = config.numAttentionHeads;
    this.headDim = d / this.numHeads;
    this.query = this.registerModule('query', new Linear(d, d));
    this.key = this.registerModule('key', new Linear(d, d));
    this.value = this.registerModule('value', new Linear(d, d));
  }

  /** x (N, T, D), mask bool (N, 1, 1, T) or none -> (N, T, D). */
  attend(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    const name = `${prefix}attention`;
    // transpose_for_scores: (N, T, D) -> (N, E, T, D/E)
    const heads = (proj: Linear, which: string) => {
      const y = proj.build(g, x, `${prefix}${which}.`);
      const split = g.op1('unflatten', [y], { axis: 2, sizes: [this.numHeads, this.headDim] }, `${prefix}${which}.split_heads`);
      return g.op1('permute', [split], { dims: [0, 2, 1, 3] }, `${prefix}${which}.heads_first`);
    };
    const inputs = [heads(this.query, 'query'), heads(this.key, 'key'), heads(this.value, 'value')];
    if (mask) inputs.push(mask);
    const attrs = { causal: false, dropout_p: this.config.attentionProbsDropoutProb, seed: pathSeed(name) };
    const context = g.op('attention', inputs, attrs, name)[0]; // (N, E, T, D/E)
    const tokensFirst = g.op1('permute', [context], { dims: [0, 2, 1, 3] }, `${prefix}tokens_first`);
    return g.op1('flatten', [tokensFirst], { start_dim: 2 }, `${prefix}merge_heads`);
  }
}

/** dense, dropout, then LayerNorm of the sum with the block's input (BertSelfOutput and BertOutput alike). */
export class BertResidualOutput extends Part {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(config: EncoderConfig, inFeatures: number) {
    super();
    this.dense = this.registerModule('dense', new Linear(inFeatures, config.hiddenSize));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb));
  }

  apply(g: GraphBuilder, hidden: Value, input: Value, prefix: string): Value {
    let h = this.dense.build(g, hidden, `${prefix}dense.`);
    h = this.dropout.build(g, h, `${prefix}dropout.`);
    return this.LayerNorm.build(g, g.op1('add', [h, input], {}, `${prefix}residual`), `${prefix}LayerNorm.`);
  }
}

export class BertAttention extends Part {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(config: EncoderConfig) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(config));
    this.output = this.registerModule('output', new BertResidualOutput(config, config.hiddenSize));
  }

  apply(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    const context = this.self.attend(g, x, mask, `${prefix}self.`);
    return this.output.apply(g, context, x, `${prefix}output.`);
  }
}

export class BertIntermediate extends Model {
  readonly dense: Linear;

  constructor(readonly config: EncoderConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.intermediateSize));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return activation(g, this.config.hiddenAct, this.dense.build(g, x, `${prefix}dense.`), `${prefix}intermediate_act_fn`);
  }
}

export class BertLayer extends Part {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(config: EncoderConfig) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(config));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(config));
    this.output = this.registerModule('output', new BertResidualOutput(config, config.intermediateSize));
  }

  apply(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    const attended = this.attention.apply(g, x, mask, `${prefix}attention.`);
    const inner = this.intermediate.build(g, attended, `${prefix}intermediate.`);
    return this.output.apply(g, inner, attended, `${prefix}output.`);
  }
}

export class BertEncoder extends Part {
  readonly layer: Sequential;

  constructor(config: EncoderConfig) {
    super();
    const layers = Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config));
    this.layer = this.registerModule('layer', new Sequential(...layers));
  }

  apply(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    return (this.layer.layers as BertLayer[]).reduce((h, l, i) => l.apply(g, h, mask, `${prefix}layer.${i}.`), x);
  }
}

/** The first token's hidden state through dense and tanh. */
export class BertPooler extends Model {
  readonly dense: Linear;

  constructor(config: EncoderConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.hiddenSize));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const first = g.op1('flatten', [g.op1('slice', [x], { axis: 1, start: 0, end: 1 }, `${prefix}first_token`)], { start_dim: 1 }, `${prefix}squeeze`);
    return g.op1('tanh', [this.dense.build(g, first, `${prefix}dense.`)], {}, `${prefix}activation`);
  }
}

// ---- the models ----

export interface BertOutputs {
  /** (N, T, D) */
  sequence: Value;
  /** (N, D), when the model has a pooler. */
  pooled?: Value;
}

export interface BertOptions {
  /** transformers' add_pooling_layer (token-level heads leave the pooler out). */
  addPoolingLayer?: boolean;
  /** RoBERTa's position ids (see BertEmbeddings). */
  positionPadding?: boolean;
  /** false: skip transformers' initialisation (weights about to be loaded keep the layers' defaults until then). */
  init?: boolean;
}

export interface InitOptions {
  /** false: skip transformers' initialisation, for weights about to be loaded (see BertOptions). */
  init?: boolean;
}

/** The encoder: { last_hidden_state (N, T, D), pooler_output (N, D) }. */
export class BertModel extends BertPreTrainedModel {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler?: BertPooler;

  constructor(config: Partial<EncoderConfig> = {}, { addPoolingLayer = true, positionPadding = false, init = true }: BertOptions = {}) {
    super(encoderConfig(config, 'models.BertModel'));
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(this.config, positionPadding));
    this.encoder = this.registerModule('encoder', new BertEncoder(this.config));
    if (addPoolingLayer) this.pooler = this.registerModule('pooler', new BertPooler(this.config));
    if (init) this.initWeights();
  }

  override paddingRows(): Array<[string, number]> {
    const pad = this.config.padTokenId;
    if (pad === null) return [];
    const rows: Array<[string, number]> = [['embeddings.word_embeddings.weight', pad]];
    if (this.embeddings.positionPadding) rows.push(['embeddings.position_embeddings.weight', pad]);
    return rows;
  }

  /** The encoder on the text feeds; `prefix` is its path ('bert.' inside a task model). */
  encode(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): BertOutputs {
    const h = this.embeddings.embed(g, inputs.input_ids, inputs.token_type_ids, `${prefix}embeddings.`);
    const mask = inputs.attention_mask ? g.op1('padding_mask', [inputs.attention_mask], {}, `${prefix}padding_mask`) : undefined;
    const sequence = this.encoder.apply(g, h, mask, `${prefix}encoder.`);
    return { sequence, pooled: this.pooler?.build(g, sequence, `${prefix}pooler.`) };
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    const { sequence, pooled } = this.encode(g, inputs, '');
    return pooled ? { last_hidden_state: sequence, pooler_output: pooled } : { last_hidden_state: sequence };
  }

  /** input_ids alone (every token counts, type 0) -> last_hidden_state. */
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.encode(g, { input_ids: x }, prefix).sequence;
  }
}

/** A new Linear initialised as transformers does (normal(0, initializer_range) weight, zero bias). */
export function classifierLinear(config: EncoderConfig, inFeatures: number, numLabels: number): Linear {
  const l = new Linear(inFeatures, numLabels);
  for (const [name, p] of l.namedParameters()) {
    if (name === 'bias') p.data.fill(0);
    else gaussian(p.data, config.initializerRange);
  }
  return l;
}

/** The labels for numClasses: the config's names when the count agrees, else LABEL_i. */
export function labelsFor(config: EncoderConfig, numClasses: number): string[] {
  return config.labels.length === numClasses ? config.labels : Array.from({ length: numClasses }, (_, i) => `LABEL_${i}`);
}

abstract class BertClassifierModel extends BertPreTrainedModel {
  readonly bert: BertModel;
  readonly dropout: Dropout;
  classifier: Linear;

  constructor(config: Partial<EncoderConfig>, addPoolingLayer: boolean, init: boolean, where: string) {
    super(encoderConfig(config, where));
    this.bert = this.registerModule('bert', new BertModel(this.config, { addPoolingLayer, init }));
    this.dropout = this.registerModule('dropout', new Dropout(this.config.classifierDropout ?? this.config.hiddenDropoutProb));
    this.classifier = this.registerModule('classifier', classifierLinear(this.config, this.config.hiddenSize, this.config.labels.length));
  }

  override paddingRows(): Array<[string, number]> {
    return prefixed('bert.', this.bert.paddingRows());
  }

  get numLabels(): number {
    return this.classifier.outFeatures;
  }

  /** A fresh classifier for `numClasses` labels (the config's label names are replaced unless they number the same). */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.constructor.name}.replaceHead`, numClasses);
    this.classifier = this.replaceModule('classifier', classifierLinear(this.config, this.config.hiddenSize, numClasses));
    this.config.labels = labelsFor(this.config, numClasses);
    return this;
  }

  override headPrefixes(): string[] {
    return ['classifier.'];
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.forwardFrom(g, { input_ids: x }, prefix);
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return { logits: this.forwardFrom(g, inputs, '') };
  }

  protected abstract forwardFrom(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value;
}

/** Pooled output, dropout, classifier -> logits (N, numLabels). */
export class BertForSequenceClassification extends BertClassifierModel {
  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, true, init, 'models.BertForSequenceClassification');
  }

  protected forwardFrom(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const { pooled } = this.bert.encode(g, inputs, `${prefix}bert.`);
    return this.classifier.build(g, this.dropout.build(g, pooled!, `${prefix}dropout.`), `${prefix}classifier.`);
  }
}

/** Flattens token logits (N, T, C) and labels (N, T) for a per-token loss; label -100 is ignored. */
export function tokenLossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
  return [
    g.op1('flatten', [logits], { start_dim: 0, end_dim: 1 }, 'loss.flatten_logits'),
    g.op1('flatten', [target], { start_dim: 0, end_dim: -1 }, 'loss.flatten_labels'),
  ];
}

/** Every token's hidden state, dropout, classifier -> logits (N, T, numLabels). */
export class BertForTokenClassification extends BertClassifierModel {
  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, false, init, 'models.BertForTokenClassification');
  }

  protected forwardFrom(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const { sequence } = this.bert.encode(g, inputs, `${prefix}bert.`);
    return this.classifier.build(g, this.dropout.build(g, sequence, `${prefix}dropout.`), `${prefix}classifier.`);
  }

  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    return tokenLossOperands(g, logits, target);
  }
}

/** BertPredictionHeadTransform: dense, activation, LayerNorm. */
export class BertPredictionHeadTransform extends Model {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;

  constructor(readonly config: EncoderConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.hiddenSize));
    this.LayerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const h = activation(g, this.config.hiddenAct, this.dense.build(g, x, `${prefix}dense.`), `${prefix}transform_act_fn`);
    return this.LayerNorm.build(g, h, `${prefix}LayerNorm.`);
  }
}

/**
 * BertLMPredictionHead: the transform, then a decoder whose weight is the
 * word embedding table (tied: one parameter, gradients from both uses) plus
 * its own bias. The decoder's weight comes in as a graph value.
 */
export class BertLMPredictionHead extends Part {
  readonly transform: BertPredictionHeadTransform;

  constructor(readonly config: EncoderConfig) {
    super();
    this.transform = this.registerModule('transform', new BertPredictionHeadTransform(config));
    this.registerParameter('bias', [config.vocabSize], new Float32Array(config.vocabSize));
  }

  apply(g: GraphBuilder, x: Value, decoderWeight: Value, prefix: string): Value {
    const h = this.transform.build(g, x, `${prefix}transform.`);
    return g.op1('linear', [h, decoderWeight, this.paramValue(g, prefix, 'bias')], {}, `${prefix}decoder`);
  }
}

/** BertOnlyMLMHead: the module 'cls' holding 'predictions'. */
export class BertOnlyMLMHead extends Part {
  readonly predictions: BertLMPredictionHead;

  constructor(config: EncoderConfig) {
    super();
    this.predictions = this.registerModule('predictions', new BertLMPredictionHead(config));
  }
}

/** Token logits over the vocabulary (N, T, V), the decoder tied to the word embeddings. */
export class BertForMaskedLM extends BertPreTrainedModel {
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(encoderConfig(config, 'models.BertForMaskedLM'));
    this.bert = this.registerModule('bert', new BertModel(this.config, { addPoolingLayer: false, init }));
    this.cls = this.registerModule('cls', new BertOnlyMLMHead(this.config));
    if (init) this.initWeights(Object.keys(this.parameters()).filter((n) => n.startsWith('cls.')));
  }

  override headPrefixes(): string[] {
    return ['cls.'];
  }

  override paddingRows(): Array<[string, number]> {
    return prefixed('bert.', this.bert.paddingRows());
  }

  /** The parameter the decoder shares (transformers' get_output_embeddings() is tied to it). */
  static readonly tiedWeight = 'bert.embeddings.word_embeddings.weight';

  private logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const { sequence } = this.bert.encode(g, inputs, `${prefix}bert.`);
    const table = g.param(`${prefix}${BertForMaskedLM.tiedWeight}`, [this.config.vocabSize, this.config.hiddenSize]);
    return this.cls.predictions.apply(g, sequence, table, `${prefix}cls.predictions.`);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.logits(g, { input_ids: x }, prefix);
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return { logits: this.logits(g, inputs, '') };
  }

  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    return tokenLossOperands(g, logits, target);
  }
}

export type BertTask = 'feature-extraction' | 'sequence-classification' | 'token-classification' | 'fill-mask';

export interface BertFactoryOptions extends Partial<EncoderConfig> {
  /** Which model: BertModel (default), or the task model with its head. */
  task?: BertTask;
  /** Classes of a classification head (default: labels' count, else 2). */
  numLabels?: number;
}

/**
 * A freshly initialised BERT (bert-base-uncased's shape unless told
 * otherwise): tg.models.bert({ task: 'sequence-classification', numLabels: 3, numHiddenLayers: 4 }).
 * Published weights come with tg.fromPretrained.
 */
export function bert({ task = 'feature-extraction', numLabels, ...config }: BertFactoryOptions = {}): BertPreTrainedModel {
  const where = 'models.bert';
  if (numLabels !== undefined) {
    if (!(Number.isInteger(numLabels) && numLabels > 0)) throw invalid('ERR_TG_ARG', where, 'numLabels', 'a positive integer', numLabels);
    if (config.labels && config.labels.length !== numLabels) {
      throw tgError('ERR_TG_ARG', `${where}: numLabels is ${numLabels} but labels names ${config.labels.length} classes`);
    }
    config.labels ??= Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  }
  switch (task) {
    case 'feature-extraction':
      return new BertModel(config);
    case 'sequence-classification':
      return new BertForSequenceClassification(config);
    case 'token-classification':
      return new BertForTokenClassification(config);
    case 'fill-mask':
      return new BertForMaskedLM(config);
    default:
      throw tgError('ERR_TG_ARG', `${where}: task must be one of feature-extraction, sequence-classification, token-classification, fill-mask, got ${JSON.stringify(task)}`);
  }
}
