// tensorgraft: transfer learning for Node.js. See README.md and DESIGN.md.
export { tensor, Tensor, DTYPES, type DType, type HostTensorLike, type TypedArrayFor } from './tensor.js';
export * as ops from './ops.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export { fromPretrained, type FromPretrainedOptions, type FromPretrainedReport, type Task } from './models/from-pretrained.js';
export * as data from './data/index.js';
export * as text from './text/index.js';
export * as demo from './demo/index.js';
export type { Batch, BatchSource } from './data/types.js';
export { Model } from './nn/module.js';
export * as weights from './weights/index.js';
export type { LoadOptions, LoadReport } from './weights/mapping.js';
export { Session, type CompileOptions, type LossSpec, type StepInfo } from './session.js';
export * as optim from './optim.js';
export * as schedules from './train/schedules.js';
export { LRScheduler } from './train/schedules.js';
export {
  Trainer,
  progressBar,
  type TrainerOptions,
  type FitOptions,
  type History,
  type EpochLog,
  type Evaluation,
  type TrainerAbortError,
  type ProgressEvent,
} from './train/index.js';
export * as metrics from './train/metrics.js';
export { GraphBuilder, Value, type GraphDesc } from './graph.js';
export { manualSeed, getRandomState, setRandomState } from './random.js';
export { buildInfo, devices, setSimd, setFloat32Precision, type BuildInfo, type DeviceInfo } from './device.js';
export { tgError, type TgError, type ErrorCode } from './errors.js';
