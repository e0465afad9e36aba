// tg.data: image pipeline, data sets and the batch loader (torchvision.transforms,
// torchvision.datasets.ImageFolder, torch.utils.data's Dataset, Subset,
// random_split, TensorDataset and DataLoader), and generated image tasks for
// transfer-learning demos (synthetic).
export type { Batch, BatchSource, Dataset, Sample } from './types.js';
export { Rng } from './rng.js';
export { PipelineImage, type DecodeOptions, type Interpolation } from './image.js';
export * as transforms from './transforms.js';
export type { Transform } from './transforms.js';
export { loader, collate, DataLoader, type LoaderOptions, type SkippedSample } from './loader.js';
export { split, subset, Subset, type SplitOptions } from './split.js';
export {
  ImageDataset,
  loadImage,
  type ImageDatasetOptions,
  type ImageSample,
  type LoadImageOptions,
} from './image-dataset.js';
export { imageFolder, IMAGE_EXTENSIONS, type ImageFolderOptions } from './folder.js';
export { imageList, parseCsv, type ImageListOptions } from './list.js';
export {
  colorizeMask,
  readMask,
  segmentationFolder,
  SegmentationDataset,
  vocPalette,
  MASK_EXTENSIONS,
  VOC_CLASSES,
  type ColorMap,
  type Mask,
  type MaskOptions,
  type Rgb,
  type SegmentationFolderOptions,
  type SegmentationSample,
} from './segmentation.js';
export { tensorDataset, TensorDataset, type TensorDatasetOptions } from './tensor-dataset.js';
export * as synthetic from './synthetic.js';
export * as syntheticSegmentation from './synthetic-masks.js';
