// tg.demo: the experiment behind `npm start` and the pretraining of its
// bundled model, for programs that want to run or extend them.
export { DEMO_ARCH, DEMO_IMAGE_SIZE, DEMO_LOG, DEMO_WEIGHTS, DEMO_WIDTH, demoNetwork } from './config.js';
export {
  defaultEpochs,
  DEMO_MODES,
  MODE_LABELS,
  runDemo,
  type CurvePoint,
  type DemoMode,
  type DemoOptions,
  type DemoProgress,
  type DemoResult,
  type DemoRun,
} from './experiment.js';
export { curvesSvg, markdownTable, textTable, writeReport, type ReportFiles } from './report.js';
export { pretrainDemo, savePretrained, type PretrainOptions, type PretrainResult } from './pretrain.js';
