// tg.models: the architectures with published weights, built from tg.nn
// layers under the module names their reference implementations use.
import { resnet, type ResNet, type ResNetOptions } from './resnet.js';
import { vgg, type VGG, type VGGOptions } from './vgg.js';

export { ResNet, BasicBlock, Bottleneck, type ResNetOptions } from './resnet.js';
export { VGG, type VGGOptions } from './vgg.js';
export type { HeadOptions } from './head.js';

export const resnet18 = (o?: ResNetOptions): ResNet => resnet('resnet18', o);
export const resnet34 = (o?: ResNetOptions): ResNet => resnet('resnet34', o);
export const resnet50 = (o?: ResNetOptions): ResNet => resnet('resnet50', o);
export const resnet101 = (o?: ResNetOptions): ResNet => resnet('resnet101', o);
export const resnet152 = (o?: ResNetOptions): ResNet => resnet('resnet152', o);
export const vgg11 = (o?: VGGOptions): VGG => vgg('vgg11', o);
export const vgg11_bn = (o?: VGGOptions): VGG => vgg('vgg11_bn', o);
export const vgg13 = (o?: VGGOptions): VGG => vgg('vgg13', o);
export const vgg13_bn = (o?: VGGOptions): VGG => vgg('vgg13_bn', o);
export const vgg16 = (o?: VGGOptions): VGG => vgg('vgg16', o);
export const vgg16_bn = (o?: VGGOptions): VGG => vgg('vgg16_bn', o);
export const vgg19 = (o?: VGGOptions): VGG => vgg('vgg19', o);
export const vgg19_bn = (o?: VGGOptions): VGG => vgg('vgg19_bn', o);
