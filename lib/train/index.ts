// The training API: the Trainer, its metrics, checkpoints, progress reporting
// and the learning-rate schedules it and plain sessions use.
export * from './schedules.js';
export {
  Trainer,
  type Batch,
  type BatchSource,
  type CheckpointOptions,
  type EarlyStoppingOptions,
  type EpochLog,
  type Evaluation,
  type FitOptions,
  type GradualUnfreezeOptions,
  type History,
  type Monitor,
  type ScheduleOption,
  type ScheduleSpec,
  type ScheduleUnit,
  type TrainerAbortError,
  type TrainerOptions,
} from './trainer.js';
export * as metrics from './metrics.js';
export {
  SegmentationMeter,
  segmentationReport,
  segmentationScores,
  meanIoU,
  type SegmentationMetricOptions,
  type SegmentationReport,
} from './seg-metrics.js';
export { CheckpointStore, locateCheckpoint, readCheckpoint, type LoadedCheckpoint, type OptimizerSnapshot } from './checkpoint.js';
export {
  progressBar,
  type BatchEndEvent,
  type CheckpointEvent,
  type EpochEndEvent,
  type EpochStartEvent,
  type ProgressCallback,
  type ProgressEvent,
  type TrainerEvents,
  type UnfreezeEvent,
} from './progress.js';
