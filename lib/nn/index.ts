export { Model } from './module.js';
export { Linear, ReLU, GELU, SiLU, Sigmoid, Tanh, Dropout, Flatten, Sequential } from './layers.js';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from './pooling.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm } from './normalization.js';
export { Upsample } from './resize.js';
export { Embedding } from './embedding.js';
export { MultiheadAttention } from './attention.js';
