// Weight files: readers for safetensors and torch.save checkpoints, the
// safetensors writer, and the element conversions the mapping uses.
export type { TensorInfo, WeightFile, WeightFormat } from './types.js';
export { detectWeightFormat, inspectWeights, readWeights } from './read.js';
export { readSafetensors, readSafetensorsHeader, writeSafetensors, type SafetensorsEntry, type SafetensorsHeader } from './safetensors.js';
export { extractStateDict, readTorchCheckpoint, storedDTypeOf, UnsupportedTensor } from './torch.js';
export { toDType } from './convert.js';
export { unpickle, PyGlobal, PyObject, type UnpickleOptions } from './pickle.js';
// Mapping onto models, Hugging Face folders and Hub downloads.
export {
  planLoad,
  nearMiss,
  type LoadOptions,
  type LoadReport,
  type LoadPlan,
  type RenameFunction,
  type RenameRules,
  type ShapeMismatch,
  type Slot,
} from './mapping.js';
export {
  loadHfFolder,
  findHfWeights,
  readHfWeights,
  readModelWeights,
  TOKENIZER_FILES,
  WEIGHT_FILES,
  type HfFolder,
  type HfWeightsLocation,
  type TokenizerFile,
} from './hf.js';
export { hubDownload, hubCacheDir, repoCacheFolder, defaultFiles, type HubDownloadOptions } from './hub.js';
