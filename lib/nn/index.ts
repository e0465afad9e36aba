export { Model } from './module.js';
export { Linear, ReLU, GELU, SiLU, Sigmoid, Tanh, Dropout, Flatten, Sequential } from './layers.js';
