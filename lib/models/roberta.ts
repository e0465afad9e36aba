// RoBERTa as transformers' models/roberta/modeling_roberta.py builds it: BERT's
// encoder (RobertaLayer is BertLayer) under the name 'roberta', with
// positions counted over the non-padding tokens from padding_idx + 1
// (create_position_ids_from_input_ids) and one token type; the task heads
// RobertaForSequenceClassification (RobertaClassificationHead on the first
// token, no pooler), RobertaForTokenClassification and RobertaForMaskedLM
// (lm_head: dense, GELU, layer_norm, decoder tied to the word embeddings).
import { invalid, tgError } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { Dropout, LayerNorm, Linear, Model } from '../nn/index.js';
import { BertModel, BertPreTrainedModel, classifierLinear, labelsFor, Part, prefixed, tokenLossOperands, type InitOptions } from './bert.js';
import { BERT_BASE, encoderConfig, type EncoderConfig } from './config.js';
import { checkNumClasses, type HeadOptions } from './head.js';

/** roberta-base's config.json. */
export const ROBERTA_BASE: Readonly<EncoderConfig> = Object.freeze({
  ...BERT_BASE,
  modelType: 'roberta',
  vocabSize: 50265,
  maxPositionEmbeddings: 514,
  typeVocabSize: 1,
  layerNormEps: 1e-5,
  padTokenId: 1,
  labels: ['LABEL_0', 'LABEL_1'],
});

function robertaConfig(config: Partial<EncoderConfig>, where: string): EncoderConfig {
  const c = encoderConfig(config, where, ROBERTA_BASE);
  if (c.padTokenId === null) throw invalid('ERR_TG_ARG', where, 'padTokenId', 'a token id (RoBERTa counts positions from it)', c.padTokenId);
  return c;
}

/** The encoder: BertModel with RoBERTa's positions. */
export class RobertaModel extends BertModel {
  constructor(config: Partial<EncoderConfig> = {}, { addPoolingLayer = true, init = true }: { addPoolingLayer?: boolean; init?: boolean } = {}) {
    super(robertaConfig(config, 'models.RobertaModel'), { addPoolingLayer, positionPadding: true, init });
  }
}

/** The first token (<s>) through dropout, dense, tanh, dropout and out_proj. */
export class RobertaClassificationHead extends Model {
  readonly dense: Linear;
  readonly dropout: Dropout;
  out_proj: Linear;

  constructor(config: EncoderConfig, numLabels: number) {
    super();
    this.dense = this.registerModule('dense', classifierLinear(config, config.hiddenSize, config.hiddenSize));
    this.dropout = this.registerModule('dropout', new Dropout(config.classifierDropout ?? config.hiddenDropoutProb));
    this.out_proj = this.registerModule('out_proj', classifierLinear(config, config.hiddenSize, numLabels));
  }

  /** features (N, T, D) -> logits (N, numLabels). */
  build(g: GraphBuilder, features: Value, prefix: string): Value {
    const first = g.op1('flatten', [g.op1('slice', [features], { axis: 1, start: 0, end: 1 }, `${prefix}first_token`)], { start_dim: 1 }, `${prefix}squeeze`);
    let x = this.dropout.build(g, first, `${prefix}dropout.`);
    x = g.op1('tanh', [this.dense.build(g, x, `${prefix}dense.`)], {}, `${prefix}tanh`);
    // The same module applied twice: a path of its own so that its mask is drawn independently.
    x = this.dropout.build(g, x, `${prefix}dropout_2.`);
    return this.out_proj.build(g, x, `${prefix}out_proj.`);
  }
}

abstract class RobertaTaskModel extends BertPreTrainedModel {
  readonly roberta: RobertaModel;

  constructor(config: Partial<EncoderConfig>, init: boolean, where: string) {
    super(robertaConfig(config, where));
    this.roberta = this.registerModule('roberta', new RobertaModel(this.config, { addPoolingLayer: false, init }));
  }

  override paddingRows(): Array<[string, number]> {
    return prefixed('roberta.', this.roberta.paddingRows());
  }

  protected sequence(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    return this.roberta.encode(g, inputs, `${prefix}roberta.`).sequence;
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return this.logits(g, { input_ids: x }, prefix);
  }

  override forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return { logits: this.logits(g, inputs, '') };
  }

  protected abstract logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value;
}

export class RobertaForSequenceClassification extends RobertaTaskModel {
  classifier: RobertaClassificationHead;

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, init, 'models.RobertaForSequenceClassification');
    this.classifier = this.registerModule('classifier', new RobertaClassificationHead(this.config, this.config.labels.length));
  }

  get numLabels(): number {
    return this.classifier.out_proj.outFeatures;
  }

  /** A fresh classification head (dense and out_proj) for `numClasses` labels. */
  override replaceHead({ numClasses }: HeadOptions): this {
    checkNumClasses(`${this.constructor.name}.replaceHead`, numClasses);
    this.classifier = this.replaceModule('classifier', new RobertaClassificationHead(this.config, numClasses));
    this.config.labels = labelsFor(this.config, numClasses);
    return this;
  }

  override headPrefixes(): string[] {
    return ['classifier.'];
  }

  protected logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    return this.classifier.build(g, this.sequence(g, inputs, prefix), `${prefix}classifier.`);
  }
}

export class RobertaForTokenClassification extends RobertaTaskModel {
  readonly dropout: Dropout;
  classifier: Linear;

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, init, 'models.RobertaForTokenClassification');
    this.dropout = this.registerModule('dropout', new Dropout(this.config.classifierDropout ?? this.config.hiddenDropoutProb));
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
    const h = this.dropout.build(g, this.sequence(g, inputs, prefix), `${prefix}dropout.`);
    return this.classifier.build(g, h, `${prefix}classifier.`);
  }

  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    return tokenLossOperands(g, logits, target);
  }
}

/** dense, GELU (always the erf one, whatever hidden_act says), layer_norm, then the tied decoder plus bias. */
export class RobertaLMHead extends Part {
  readonly dense: Linear;
  readonly layer_norm: LayerNorm;

  constructor(readonly config: EncoderConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.hiddenSize));
    this.layer_norm = this.registerModule('layer_norm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.registerParameter('bias', [config.vocabSize], new Float32Array(config.vocabSize));
  }

  apply(g: GraphBuilder, features: Value, decoderWeight: Value, prefix: string): Value {
    let x = g.op1('gelu', [this.dense.build(g, features, `${prefix}dense.`)], { approximate: 'none' }, `${prefix}gelu`);
    x = this.layer_norm.build(g, x, `${prefix}layer_norm.`);
    return g.op1('linear', [x, decoderWeight, this.paramValue(g, prefix, 'bias')], {}, `${prefix}decoder`);
  }
}

export class RobertaForMaskedLM extends RobertaTaskModel {
  readonly lm_head: RobertaLMHead;
  /** The parameter the decoder shares. */
  static readonly tiedWeight = 'roberta.embeddings.word_embeddings.weight';

  constructor(config: Partial<EncoderConfig> = {}, { init = true }: InitOptions = {}) {
    super(config, init, 'models.RobertaForMaskedLM');
    this.lm_head = this.registerModule('lm_head', new RobertaLMHead(this.config));
    if (init) this.initWeights(Object.keys(this.parameters()).filter((n) => n.startsWith('lm_head.')));
  }

  override headPrefixes(): string[] {
    return ['lm_head.'];
  }

  protected logits(g: GraphBuilder, inputs: Record<string, Value>, prefix: string): Value {
    const table = g.param(`${prefix}${RobertaForMaskedLM.tiedWeight}`, [this.config.vocabSize, this.config.hiddenSize]);
    return this.lm_head.apply(g, this.sequence(g, inputs, prefix), table, `${prefix}lm_head.`);
  }

  override lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    return tokenLossOperands(g, logits, target);
  }
}

export type RobertaTask = 'feature-extraction' | 'sequence-classification' | 'token-classification' | 'fill-mask';

/** A freshly initialised RoBERTa (roberta-base's shape unless told otherwise); see models.bert. */
export function roberta({ task = 'feature-extraction', numLabels, ...config }: Partial<EncoderConfig> & { task?: RobertaTask; numLabels?: number } = {}): BertPreTrainedModel {
  const where = 'models.roberta';
  if (numLabels !== undefined) {
    if (!(Number.isInteger(numLabels) && numLabels > 0)) throw invalid('ERR_TG_ARG', where, 'numLabels', 'a positive integer', numLabels);
    config.labels ??= Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  }
  switch (task) {
    case 'feature-extraction':
      return new RobertaModel(config);
    case 'sequence-classification':
      return new RobertaForSequenceClassification(config);
    case 'token-classification':
      return new RobertaForTokenClassification(config);
    case 'fill-mask':
      return new RobertaForMaskedLM(config);
    default:
      throw tgError('ERR_TG_ARG', `${where}: task must be one of feature-extraction, sequence-classification, token-classification, fill-mask, got ${JSON.stringify(task)}`);
  }
}
