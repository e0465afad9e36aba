// Hugging Face config.json for the encoder models (BERT, RoBERTa,
// DistilBERT), read into one typed shape. Field names and defaults follow
// transformers' BertConfig, RobertaConfig and DistilBertConfig; DistilBERT's
// own names (dim, n_layers, ...) map onto BERT's.
import { invalid, tgError } from '../errors.js';

/** The activations transformers' ACT2FN names that the encoders here can run. */
export type HiddenAct = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu' | 'silu' | 'swish' | 'tanh';
const ACTIVATIONS: readonly HiddenAct[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu', 'swish', 'tanh'];

export interface EncoderConfig {
  /** config.json's model_type: 'bert', 'roberta', 'distilbert'. */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: HiddenAct;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  /** 0: no token type embeddings (DistilBERT). */
  typeVocabSize: number;
  initializerRange: number;
  layerNormEps: number;
  /** The padding token, whose embedding row gets no gradient (null: none). */
  padTokenId: number | null;
  /** Dropout before a classifier; null: hiddenDropoutProb. */
  classifierDropout: number | null;
  /** Label names by class index (transformers' id2label). */
  labels: string[];
}

export const BERT_BASE: Readonly<EncoderConfig> = Object.freeze({
  modelType: 'bert',
  vocabSize: 30522,
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  hiddenAct: 'gelu',
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  initializerRange: 0.02,
  layerNormEps: 1e-12,
  padTokenId: 0,
  classifierDropout: null,
  labels: ['LABEL_0', 'LABEL_1'],
});

type Raw = Record<string, unknown>;

function int(raw: Raw, key: string, fallback: number, where: string, min = 1): number {
  const v = raw[key] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < min) invalidField(where, key, `an integer >= ${min}`, v);
  return v as number;
}

function prob(raw: Raw, key: string, fallback: number, where: string): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) invalidField(where, key, 'a probability in [0, 1)', v);
  return v;
}

function positive(raw: Raw, key: string, fallback: number, where: string): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) invalidField(where, key, 'a number > 0', v);
  return v;
}

function invalidField(where: string, key: string, expected: string, v: unknown): never {
  throw invalid('ERR_TG_FORMAT', where, key, expected, v);
}

function activation(raw: Raw, key: string, fallback: HiddenAct, where: string): HiddenAct {
  const v = raw[key] ?? fallback;
  if (!ACTIVATIONS.includes(v as HiddenAct)) invalidField(where, key, `one of ${ACTIVATIONS.join(', ')}`, v);
  return v as HiddenAct;
}

/**
 * Class names from id2label (keys "0", "1", ... as transformers writes them),
 * or LABEL_i for num_labels classes; transformers' default is 2.
 */
export function labelsOf(raw: Raw, where: string): string[] {
  const id2label = raw.id2label;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) invalidField(where, 'id2label', 'an object of index → name', id2label);
    const entries = Object.entries(id2label as Raw);
    const labels: string[] = new Array(entries.length);
    for (const [k, name] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || labels[i] !== undefined) {
        invalidField(where, 'id2label', `indices 0..${entries.length - 1}, each once`, id2label);
      }
      labels[i] = String(name);
    }
    if (raw.num_labels !== undefined && raw.num_labels !== entries.length) {
      throw tgError('ERR_TG_FORMAT', `${where}: num_labels is ${String(raw.num_labels)} but id2label names ${entries.length} classes`);
    }
    if (labels.length) return labels;
  }
  const n = int(raw, 'num_labels', 2, where);
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

function classifierDropout(raw: Raw, key: string, where: string): number | null {
  return raw[key] === undefined || raw[key] === null ? null : prob(raw, key, 0, where);
}

function padToken(raw: Raw, fallback: number | null, where: string): number | null {
  const v = raw.pad_token_id === undefined ? fallback : raw.pad_token_id;
  if (v === null) return null;
  if (!Number.isInteger(v) || (v as number) < 0) invalidField(where, 'pad_token_id', 'a token id >= 0 or null', v);
  return v as number;
}

function checkHeads(c: EncoderConfig, where: string): EncoderConfig {
  if (c.hiddenSize % c.numAttentionHeads) {
    throw tgError('ERR_TG_FORMAT', `${where}: hidden size ${c.hiddenSize} is not a multiple of the ${c.numAttentionHeads} attention heads`);
  }
  if (c.padTokenId !== null && c.padTokenId >= c.vocabSize) invalidField(where, 'pad_token_id', `below vocab_size (${c.vocabSize})`, c.padTokenId);
  return c;
}

/** BertConfig and RobertaConfig: the same fields, RobertaConfig's defaults when model_type is 'roberta'. */
export function bertConfig(raw: Raw, where = 'config.json'): EncoderConfig {
  if (raw === null || typeof raw !== 'object') throw invalid('ERR_TG_FORMAT', where, 'config', 'an object', raw);
  const pet = raw.position_embedding_type ?? 'absolute';
  if (pet !== 'absolute') {
    throw tgError('ERR_TG_FORMAT', `${where}: position_embedding_type '${String(pet)}' is not supported (only 'absolute')`);
  }
  if (raw.is_decoder === true || raw.add_cross_attention === true) {
    throw tgError('ERR_TG_FORMAT', `${where}: decoder BERT models (is_decoder, add_cross_attention) are not supported`);
  }
  const roberta = raw.model_type === 'roberta';
  return checkHeads(
    {
      modelType: typeof raw.model_type === 'string' ? raw.model_type : 'bert',
      vocabSize: int(raw, 'vocab_size', roberta ? 50265 : BERT_BASE.vocabSize, where),
      hiddenSize: int(raw, 'hidden_size', BERT_BASE.hiddenSize, where),
      numHiddenLayers: int(raw, 'num_hidden_layers', BERT_BASE.numHiddenLayers, where),
      numAttentionHeads: int(raw, 'num_attention_heads', BERT_BASE.numAttentionHeads, where),
      intermediateSize: int(raw, 'intermediate_size', BERT_BASE.intermediateSize, where),
      hiddenAct: activation(raw, 'hidden_act', 'gelu', where),
      hiddenDropoutProb: prob(raw, 'hidden_dropout_prob', BERT_BASE.hiddenDropoutProb, where),
      attentionProbsDropoutProb: prob(raw, 'attention_probs_dropout_prob', BERT_BASE.attentionProbsDropoutProb, where),
      maxPositionEmbeddings: int(raw, 'max_position_embeddings', roberta ? 514 : BERT_BASE.maxPositionEmbeddings, where),
      typeVocabSize: int(raw, 'type_vocab_size', roberta ? 1 : BERT_BASE.typeVocabSize, where),
      initializerRange: positive(raw, 'initializer_range', BERT_BASE.initializerRange, where),
      layerNormEps: positive(raw, 'layer_norm_eps', roberta ? 1e-5 : BERT_BASE.layerNormEps, where),
      padTokenId: padToken(raw, roberta ? 1 : 0, where),
      classifierDropout: classifierDropout(raw, 'classifier_dropout', where),
      labels: labelsOf(raw, where),
    },
    where,
  );
}

/** DistilBertConfig: dim, n_layers, n_heads, hidden_dim, dropout, attention_dropout, activation. */
export function distilBertConfig(raw: Raw, where = 'config.json'): EncoderConfig {
  if (raw === null || typeof raw !== 'object') throw invalid('ERR_TG_FORMAT', where, 'config', 'an object', raw);
  // sinusoidal_pos_embds only changes how a fresh table is initialised; the
  // published checkpoints store position_embeddings.weight either way.
  const dropout = prob(raw, 'dropout', 0.1, where);
  return checkHeads(
    {
      modelType: 'distilbert',
      vocabSize: int(raw, 'vocab_size', 30522, where),
      hiddenSize: int(raw, 'dim', 768, where),
      numHiddenLayers: int(raw, 'n_layers', 6, where),
      numAttentionHeads: int(raw, 'n_heads', 12, where),
      intermediateSize: int(raw, 'hidden_dim', 3072, where),
      hiddenAct: activation(raw, 'activation', 'gelu', where),
      hiddenDropoutProb: dropout,
      attentionProbsDropoutProb: prob(raw, 'attention_dropout', 0.1, where),
      maxPositionEmbeddings: int(raw, 'max_position_embeddings', 512, where),
      typeVocabSize: 0,
      initializerRange: positive(raw, 'initializer_range', 0.02, where),
      layerNormEps: 1e-12,
      padTokenId: padToken(raw, 0, where),
      classifierDropout: classifierDropout(raw, 'seq_classif_dropout', where),
      labels: labelsOf(raw, where),
    },
    where,
  );
}

/** A config from options (camelCase, any subset) over bert-base's, checked as a file's would be. */
export function encoderConfig(options: Partial<EncoderConfig>, where: string, base: Readonly<EncoderConfig> = BERT_BASE): EncoderConfig {
  if (options === null || typeof options !== 'object') throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  const c: EncoderConfig = { ...base, ...options, labels: [...(options.labels ?? base.labels)] };
  const ints: Array<keyof EncoderConfig> = ['vocabSize', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'maxPositionEmbeddings'];
  for (const k of ints) if (!Number.isInteger(c[k]) || (c[k] as number) < 1) throw invalid('ERR_TG_ARG', where, k, 'a positive integer', c[k]);
  if (!Number.isInteger(c.typeVocabSize) || c.typeVocabSize < 0) throw invalid('ERR_TG_ARG', where, 'typeVocabSize', 'an integer >= 0', c.typeVocabSize);
  for (const k of ['hiddenDropoutProb', 'attentionProbsDropoutProb'] as const) {
    if (typeof c[k] !== 'number' || !(c[k] >= 0 && c[k] < 1)) throw invalid('ERR_TG_ARG', where, k, 'a probability in [0, 1)', c[k]);
  }
  if (c.classifierDropout !== null && !(c.classifierDropout >= 0 && c.classifierDropout < 1)) {
    throw invalid('ERR_TG_ARG', where, 'classifierDropout', 'null or a probability in [0, 1)', c.classifierDropout);
  }
  for (const k of ['initializerRange', 'layerNormEps'] as const) {
    if (typeof c[k] !== 'number' || !(c[k] > 0)) throw invalid('ERR_TG_ARG', where, k, 'a number > 0', c[k]);
  }
  if (!ACTIVATIONS.includes(c.hiddenAct)) throw invalid('ERR_TG_ARG', where, 'hiddenAct', `one of ${ACTIVATIONS.join(', ')}`, c.hiddenAct);
  if (c.padTokenId !== null && !(Number.isInteger(c.padTokenId) && c.padTokenId >= 0 && c.padTokenId < c.vocabSize)) {
    throw invalid('ERR_TG_ARG', where, 'padTokenId', `null or a token id below vocabSize (${c.vocabSize})`, c.padTokenId);
  }
  if (c.hiddenSize % c.numAttentionHeads) {
    throw invalid('ERR_TG_ARG', where, 'numAttentionHeads', `a divisor of hiddenSize (${c.hiddenSize})`, c.numAttentionHeads);
  }
  if (!c.labels.length) throw invalid('ERR_TG_ARG', where, 'labels', 'at least one name', c.labels);
  return c;
}
