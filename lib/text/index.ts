// tg.text: tokenizers for Hugging Face model folders, text data sets
// (classification, CoNLL NER, language modelling), NER label alignment and
// the metrics of text tasks (tg.text.metrics).
export { loadTokenizer, wordPieceTokenizer } from './load-tokenizer.js';
export {
  Tokenizer,
  type EncodeOptions,
  type DecodeOptions,
  type TokenizerConfig,
  type SpecialTokenName,
  type TextInput,
  type Truncation,
} from './tokenizer.js';
export { BatchEncoding, padEncodings, type Encoding, type Padding, type PadOptions, type IdDType } from './encoding.js';
export { byteDecoder, tokenOffsets, type Span } from './offsets.js';
export { alignLabels, alignBatchLabels, beginToInside, wordValues, IGNORE_INDEX, type AlignOptions } from './align.js';
export { TextBatches, type TextExample, type TextBatchOptions, type TextBatchSetup } from './batches.js';
export { parseConll, readConll, iob1ToIob2, detectScheme, tagNames, type ConllSentence, type ConllOptions, type ConllData, type TagScheme } from './conll.js';
export {
  textClassification,
  tokenClassification,
  languageModeling,
  readClassificationFile,
  encodeSentences,
  chunkIds,
  type TextData,
  type SplitChoice,
  type ClassificationFileOptions,
  type ClassificationRecord,
  type TextClassificationOptions,
  type TextClassificationData,
  type TokenClassificationOptions,
  type TokenClassificationData,
  type LanguageModelingOptions,
  type LanguageModelingData,
} from './data.js';
export { tokenPredictions, evaluateNer, evaluateLanguageModel, argmaxLastAxis, tagWords, type NerEvaluation } from './evaluate.js';
export * as metrics from '../train/text-metrics.js';
