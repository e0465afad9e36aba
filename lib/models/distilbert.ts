// DistilBERT as transformers' models/distilbert/modeling_distilbert.py builds
// it: embeddings without token types (BERT's module names), a 'transformer'
// of TransformerBlocks (attention.q_lin/k_lin/v_lin/out_lin, sa_layer_norm,
// ffn.lin1/lin2, output_layer_norm), no pooler; the task models
// DistilBertForSequenceClassification (first token through pre_classifier,
// ReLU, dropout, classifier), DistilBertForTokenClassification and
// DistilBertForMaskedLM (vocab_transform, activation, vocab_layer_norm,
// vocab_projector tied to the word embeddings).
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Dropout, LayerNorm, Linear, Model, Sequential } from '../nn/index.js';
import { pathSeed } from '../nn/layers.js';
import {
  activation,
  BertEmbeddings,
  BertPreTrainedModel,
  classifierLinear,
  labelsFor,
  Part,
  prefixed,
  tokenLossOperands,
  type InitOptions,
} from './bert.js';
import { encoderConfig, type EncoderConfig } from './config.js';
import { checkNumClasses, type HeadOptions } from './head.js';

/** distilbert-base-uncased's config.json. */
export const DISTILBERT_BASE: Readonly<EncoderConfig> = Object.freeze({
  modelType: 'distilbert',
  vocabSize: 30522,
  hiddenSize: 768,
  numHiddenLayers: 6,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  hiddenAct: 'gelu',
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  maxPositionEmbeddings: 512,
  typeVocabSize: 0,
  initializerRange: 0.02,
  layerNormEps: 1e-12,
  padTokenId: 0,
  classifierDropout: 0.2,
  labels: ['LABEL_0', 'LABEL_1'],
});

function distilConfig(config: Partial<EncoderConfig>, where: string): EncoderConfig {
  const c = encoderConfig(config, where, DISTILBERT_BASE);
  if (c.typeVocabSize !== 0) throw invalid('ERR_TG_ARG', where, 'typeVocabSize', '0 (DistilBERT has no token types)', c.typeVocabSize);
  return c;
}

export class MultiHeadSelfAttention extends Part {
  readonly q_lin: Linear;
  readonly k_lin: Linear;
  readonly v_lin: Linear;
  readonly out_lin: Linear;

  constructor(readonly config: EncoderConfig) {
    super();
    const d = config.hiddenSize;
    this.q_lin = this.registerModule('q_lin', new Linear(d, d));
    this.k_lin = this.registerModule('k_lin', new Linear(d, d));
    this.v_lin = this.registerModule('v_lin', new Linear(d, d));
    this.out_lin = this.registerModule('out_lin', new Linear(d, d));
  }

  /** x (N, T, D), mask bool (N, 1, 1, T) or none -> (N, T, D). */
  apply(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    const heads = this.config.numAttentionHeads;
    const size = this.config.hiddenSize / heads;
    const shape = (lin: Linear, which: string) => {
      const y = g.op1('unflatten', [lin.build(g, x, `${prefix}${which}.`)], { axis: 2, sizes: [heads, size] }, `${prefix}${which}.split_heads`);
      return g.op1('permute', [y], { dims: [0, 2, 1, 3] }, `${prefix}${which}.heads_first`);
    };
    const inputs = [shape(this.q_lin, 'q_lin'), shape(this.k_lin, 'k_lin'), shape(this.v_lin, 'v_lin')];
    if (mask) inputs.push(mask);
    const name = `${prefix}attention`;
    const context = g.op('attention', inputs, { causal: false, dropout_p: this.config.attentionProbsDropoutProb, seed: pathSeed(name) }, name)[0];
    const unshaped = g.op1('flatten', [g.op1('permute', [context], { dims: [0, 2, 1, 3] }, `${prefix}tokens_first`)], { start_dim: 2 }, `${prefix}merge_heads`);
    return this.out_lin.build(g, unshaped, `${prefix}out_lin.`);
  }
}

export class FFN extends Model {
  readonly lin1: Linear;
  readonly lin2: Linear;
  readonly dropout: Dropout;

  constructor(readonly config: EncoderConfig) {
    super();
    this.lin1 = this.registerModule('lin1', new Linear(config.hiddenSize, config.intermediateSize));
    this.lin2 = this.registerModule('lin2', new Linear(config.intermediateSize, config.hiddenSize));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb));
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const h = activation(g, this.config.hiddenAct, this.lin1.build(g, x, `${prefix}lin1.`), `${prefix}activation`);
    return this.dropout.build(g, this.lin2.build(g, h, `${prefix}lin2.`), `${prefix}dropout.`);
  }
}

export class TransformerBlock extends Part {
  readonly attention: MultiHeadSelfAttention;
  readonly sa_layer_norm: LayerNorm;
  readonly ffn: FFN;
  readonly output_layer_norm: LayerNorm;

  constructor(config: EncoderConfig) {
    super();
    this.attention = this.registerModule('attention', new MultiHeadSelfAttention(config));
    this.sa_layer_norm = this.registerModule('sa_layer_norm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.ffn = this.registerModule('ffn', new FFN(config));
    this.output_layer_norm = this.registerModule('output_layer_norm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
  }

  apply(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    const sa = this.attention.apply(g, x, mask, `${prefix}attention.`);
    const h = this.sa_layer_norm.build(g, g.op1('add', [sa, x], {}, `${prefix}sa_residual`), `${prefix}sa_layer_norm.`);
    const ffn = this.ffn.build(g, h, `${prefix}ffn.`);
    return this.output_layer_norm.build(g, g.op1('add', [ffn, h], {}, `${prefix}ffn_residual`), `${prefix}output_layer_norm.`);
  }
}

export class Transformer extends Part {
  readonly layer: Sequential;

  constructor(config: EncoderConfig) {
    super();
    this.layer = this.registerModule('layer', new Sequential(...Array.from({ length: config.numHiddenLayers }, () => new TransformerBlock(config))));
  }

  apply(g: GraphBuilder, x: Value, mask: Value | undefined, prefix: string): Value {
    return (this.layer.layers as TransformerBlock[]).reduce((h, l, i) => l.apply(g, h, mask, `${prefix}layer.${i}.`), x);
  }
}

/** The encoder: { last_hidden_state (N, T, D) }. */
export class DistilBertModel extends BertPreTrainedModel {
  readonly embeddings: BertEmbeddings;
  readonly transformer: Transformer;

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(distilConfig(config, 'models.DistilBertModel'));
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(this.config));
    this.transformer = this.registerModule('transformer', new Transformer(this.config));
    if (init) this.initWeights();
  }

  override paddingRows(): Array<[string, number]> {
    return this.config.padTokenId === null ? [] : [['embeddings.word_embeddings.weight', this.config.padTokenId]];
  }

  /** The encoder on the text feeds; `prefix` is its path ('distilbert.' inside a task model). */
  encode(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const h = this.embeddings.embed(g, inputs.input_ids, undefined, `${prefix}embeddings.`);
    const mask = inputs.attention_mask ? g.op1('padding_mask', [inputs.attention_mask], {}, `${prefix}padding_mask`) : undefined;
    return this.transformer.apply(g, h, mask, `${prefix}transformer.`);
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return { last_hidden_state: this.encode(g, inputs, '') };
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.encode(g, { input_ids: x }, prefix);
  }
}

abstract class DistilBertTaskModel extends BertPreTrainedModel {
  readonly distilbert: DistilBertModel;

  constructor(config: Partial<EncoderConfig>, init: boolean, where: string) {
    super(distilConfig(config, where));
    this.distilbert = this.registerModule('distilbert', new DistilBertModel(this.config, { init }));
  }

  override paddingRows(): Array<[string, number]> {
    return prefixed('distilbert.', this.distilbert.paddingRows());
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.logits(g, { input_ids: x }, prefix);
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return { logits: this.logits(g, inputs, '') };
  }

  protected abstract logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value;
}

export class DistilBertForSequenceClassification extends DistilBertTaskModel {
  readonly pre_classifier: Linear;
  classifier: Linear;
  readonly dropout: Dropout;

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, init, 'models.DistilBertForSequenceClassification');
    const c = this.config;
    this.pre_classifier = this.registerModule('pre_classifier', classifierLinear(c, c.hiddenSize, c.hiddenSize));
    this.classifier = this.registerModule('classifier', classifierLinear(c, c.hiddenSize, c.labels.length));
    this.dropout = this.registerModule('dropout', new Dropout(c.classifierDropout ?? c.hiddenDropoutProb));
  }

  get numLabels(): number {
    return this.classifier.outFeatures;
  }

  /** A fresh classifier for `numClasses` labels; pre_classifier keeps its values. */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.constructor.name}.replaceHead`, numClasses);
    this.classifier = this.replaceModule('classifier', classifierLinear(this.config, this.config.hiddenSize, numClasses));
    this.config.labels = labelsFor(this.config, numClasses);
    return this;
  }

  override headPrefixes(): string[] {
    return ['classifier.', 'pre_classifier.'];
  }

  protected logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const hidden = this.distilbert.encode(g, inputs, `${prefix}distilbert.`);
    const first = g.op1('flatten', [g.op1('slice', [hidden], { axis: 1, start: 0, end: 1 }, `${prefix}first_token`)], { start_dim: 1 }, `${prefix}squeeze`);
    const pooled = g.op1('relu', [this.pre_classifier.build(g, first, `${prefix}pre_classifier.`)], {}, `${prefix}relu`);
    return this.classifier.build(g, this.dropout.build(g, pooled, `${prefix}dropout.`), `${prefix}classifier.`);
  }
}

export class DistilBertForTokenClassification extends DistilBertTaskModel {
  readonly dropout: Dropout;
  classifier: Linear;

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, init, 'models.DistilBertForTokenClassification');
    this.dropout = this.registerModule('dropout', new Dropout(this.config.hiddenDropoutProb));
    this.classifier = this.registerModule('classifier', classifierLinear(this.config, this.config.hiddenSize, this.config.labels.length));
  }

  get numLabels(): number {
    return this.classifier.outFeatures;
  }

  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.constructor.name}.replaceHead`, numClasses);
    this.classifier = this.replaceModule('classifier', classifierLinear(this.config, this.config.hiddenSize, numClasses));
    this.config.labels = labelsFor(this.config, numClasses);
    return this;
  }

  override headPrefixes(): string[] {
    return ['classifier.'];
  }

  protected logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const h = this.dropout.build(g, this.distilbert.encode(g, inputs, `${prefix}distilbert.`), `${prefix}dropout.`);
    return this.classifier.build(g, h, `${prefix}classifier.`);
  }

  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    return tokenLossOperands(g, logits, target);
  }
}

/** vocab_projector: the word embeddings as its weight (tied), its own bias. */
export class VocabProjector extends Part {
  constructor(vocabSize: number) {
    super();
    this.registerParameter('bias', [vocabSize], new Float32Array(vocabSize));
  }

  apply(g: GraphBuilder, x: Value, weight: Value, prefix: string): Value {
    return g.op1('linear', [x, weight, this.paramValue(g, prefix, 'bias')], {}, prefix.slice(0, -1));
  }
}

export class DistilBertForMaskedLM extends DistilBertTaskModel {
  readonly vocab_transform: Linear;
  readonly vocab_layer_norm: LayerNorm;
  readonly vocab_projector: VocabProjector;
  static readonly tiedWeight = 'distilbert.embeddings.word_embeddings.weight';

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, init, 'models.DistilBertForMaskedLM');
    const c = this.config;
    this.vocab_transform = this.registerModule('vocab_transform', new Linear(c.hiddenSize, c.hiddenSize));
    this.vocab_layer_norm = this.registerModule('vocab_layer_norm', new LayerNorm(c.hiddenSize, { eps: 1e-12 }));
    this.vocab_projector = this.registerModule('vocab_projector', new VocabProjector(c.vocabSize));
    if (init) this.initWeights(Object.keys(this.parameters()).filter((n) => n.startsWith('vocab_')));
  }

  override headPrefixes(): string[] {
    return ['vocab_transform.', 'vocab_layer_norm.', 'vocab_projector.'];
  }

  protected logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const hidden = this.distilbert.encode(g, inputs, `${prefix}distilbert.`);
    let x = activation(g, this.config.hiddenAct, this.vocab_transform.build(g, hidden, `${prefix}vocab_transform.`), `${prefix}activation`);
    x = this.vocab_layer_norm.build(g, x, `${prefix}vocab_layer_norm.`);
    const table = g.param(`${prefix}${DistilBertForMaskedLM.tiedWeight}`, [this.config.vocabSize, this.config.hiddenSize]);
    return this.vocab_projector.apply(g, x, table, `${prefix}vocab_projector.`);
  }

  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    return tokenLossOperands(g, logits, target);
  }
}

export type DistilBertTask = 'feature-extraction' | 'sequence-classification' | 'token-classification' | 'fill-mask';

/** A freshly initialised DistilBERT (distilbert-base-uncased's shape unless told otherwise); see models.bert. */
export function distilbert({ task = 'feature-extraction', numLabels, ...config }: Partial<EncoderConfig> & { task?: DistilBertTask; numLabels?: number } = {}): BertPreTrainedModel {
  const where = 'models.distilbert';
  if (numLabels !== undefined) {
    if (!(Number.isInteger(numLabels) && numLabels > 0)) throw invalid('ERR_TG_ARG', where, 'numLabels', 'a positive integer', numLabels);
    config.labels ??= Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  }
  switch (task) {
    case 'feature-extraction':
      return new DistilBertModel(config);
    case 'sequence-classification':
      return new DistilBertForSequenceClassification(config);
    case 'token-classification':
      return new DistilBertForTokenClassification(config);
    case 'fill-mask':
      return new DistilBertForMaskedLM(config);
    default:
      throw tgError('ERR_TG_ARG', `${where}: task must be one of feature-extraction, sequence-classification, token-classification, fill-mask, got ${JSON.stringify(task)}`);
  }
}
