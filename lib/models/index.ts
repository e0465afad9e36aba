// tg.models: the architectures with published weights, built from tg.nn
// layers under the module names their reference implementations use.
//
// Every factory builds a freshly initialised model synchronously; given
// `weights` it also loads them and returns a Promise instead (reading a
// checkpoint is asynchronous), the way torchvision's `resnet50(weights=...)`
// is the one call that gives a pretrained network:
//
//   const net = tg.models.resnet50();                                        // ResNet
//   const tuned = await tg.models.resnet50({ weights: 'r50.pth', numClasses: 5 }); // Pretrained<ResNet>
//   const byName = await tg.models.load('resnet50', { weights: 'r50.pth' });
import { invalid } from '../errors.js';
import type { Model } from '../nn/module.js';
import { checkWeightsPath, loadPretrained, unknownArchitecture, type Pretrained, type WeightsOptions } from './pretrained.js';
import { resnet, type ResNet, type ResNetOptions } from './resnet.js';
import { vgg, type VGG, type VGGOptions } from './vgg.js';
import { GPT2LMHeadModel, type GPT2Options } from './gpt2.js';
import { Unet, type UnetOptions } from './unet.js';
import { UNetClassic, type UNetClassicOptions } from './unet-classic.js';
import { deeplabv3, type DeepLabV3, type DeepLabV3Options } from './deeplab.js';

export { ResNet, BasicBlock, Bottleneck, type ResNetOptions } from './resnet.js';
export { VGG, type VGGOptions } from './vgg.js';
export { Unet, UnetDecoder, DecoderBlock, Conv2dReLU, UNET_ENCODERS, type UnetOptions } from './unet.js';
export { UNetClassic, DoubleConv, type UNetClassicOptions } from './unet-classic.js';
export { DeepLabV3, DeepLabHead, ASPP, ASPPConv, ASPPPooling, FCNHead, type DeepLabV3Options } from './deeplab.js';
export type { HeadOptions } from './head.js';
export type { HeadReport, Pretrained, PretrainedReport, WeightsOptions } from './pretrained.js';
export { IMAGENET_CLASSES } from './imagenet-classes.js';
export {
  bert,
  BertModel,
  BertForSequenceClassification,
  BertForTokenClassification,
  BertForMaskedLM,
  BertPreTrainedModel,
  TextSession,
  type BertFactoryOptions,
  type BertOptions,
  type BertTask,
} from './bert.js';
export { BERT_BASE, bertConfig, distilBertConfig, type EncoderConfig, type HiddenAct } from './config.js';
export {
  roberta,
  ROBERTA_BASE,
  RobertaModel,
  RobertaForSequenceClassification,
  RobertaForTokenClassification,
  RobertaForMaskedLM,
  type RobertaTask,
} from './roberta.js';
export {
  distilbert,
  DISTILBERT_BASE,
  DistilBertModel,
  DistilBertForSequenceClassification,
  DistilBertForTokenClassification,
  DistilBertForMaskedLM,
  type DistilBertTask,
} from './distilbert.js';
export { fromPretrained, TASKS, type FromPretrainedOptions, type FromPretrainedReport, type PretrainedModel, type Task } from './from-pretrained.js';
export {
  GPT2Model,
  GPT2LMHeadModel,
  GPT2Block,
  GPT2Attention,
  GPT2MLP,
  Conv1D,
  loadGpt2,
  gpt2OptionsFromConfig,
  type GPT2Options,
  type GPT2Config,
  type GPT2Task,
} from './gpt2.js';
export type { GenerateInput, GenerateOptions } from './generate.js';

/**
 * A model factory. Without `weights`: the model, freshly initialised. With
 * `weights`: a Promise of the model with the file loaded (see load()).
 */
export interface Factory<M extends Model, O> {
  (options?: O & { weights?: undefined }): M;
  (options: O & WeightsOptions & { weights: string }): Promise<Pretrained<M>>;
  (options?: O & WeightsOptions): M | Promise<Pretrained<M>>;
}

/** Options every architecture takes: its build options and, for load(), the weights. */
export type ModelOptions = { numClasses?: number } & Record<string, unknown>;

function isOptions(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const builders = new Map<string, (options: ModelOptions) => Model>();

function factory<M extends Model, O extends { numClasses?: number }>(arch: string, build: (options: O) => M): Factory<M, O> {
  builders.set(arch, build as unknown as (options: ModelOptions) => Model);
  const where = `models.${arch}`;
  return ((options: O & WeightsOptions = {} as O) => {
    if (!isOptions(options)) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
    const { weights, strict, rename, ignore, ...rest } = options;
    if (weights === undefined) return build(rest as unknown as O);
    // With weights the call returns a Promise, so every failure is a rejection.
    return (async () => {
      const path = checkWeightsPath(where, weights);
      return loadPretrained(() => build(rest as unknown as O), path, { numClasses: rest.numClasses, strict, rename, ignore }, where);
    })();
  }) as Factory<M, O>;
}

export const resnet18 = factory('resnet18', (o: ResNetOptions): ResNet => resnet('resnet18', o));
export const resnet34 = factory('resnet34', (o: ResNetOptions): ResNet => resnet('resnet34', o));
export const resnet50 = factory('resnet50', (o: ResNetOptions): ResNet => resnet('resnet50', o));
export const resnet101 = factory('resnet101', (o: ResNetOptions): ResNet => resnet('resnet101', o));
export const resnet152 = factory('resnet152', (o: ResNetOptions): ResNet => resnet('resnet152', o));
export const vgg11 = factory('vgg11', (o: VGGOptions): VGG => vgg('vgg11', o));
export const vgg11_bn = factory('vgg11_bn', (o: VGGOptions): VGG => vgg('vgg11_bn', o));
export const vgg13 = factory('vgg13', (o: VGGOptions): VGG => vgg('vgg13', o));
export const vgg13_bn = factory('vgg13_bn', (o: VGGOptions): VGG => vgg('vgg13_bn', o));
export const vgg16 = factory('vgg16', (o: VGGOptions): VGG => vgg('vgg16', o));
export const vgg16_bn = factory('vgg16_bn', (o: VGGOptions): VGG => vgg('vgg16_bn', o));
export const vgg19 = factory('vgg19', (o: VGGOptions): VGG => vgg('vgg19', o));
export const vgg19_bn = factory('vgg19_bn', (o: VGGOptions): VGG => vgg('vgg19_bn', o));
export const gpt2 = factory('gpt2', (o: GPT2Options & { numClasses?: number }): GPT2LMHeadModel => {
  if (o.numClasses !== undefined) throw invalid('ERR_TG_ARG', 'models.gpt2', 'numClasses', 'left out (GPT-2 has a language-model head, no classifier)', o.numClasses);
  return new GPT2LMHeadModel(o);
});

const unetModel = factory('unet', ({ encoderWeights, ...o }: UnetOptions & { encoderWeights?: unknown }): Unet => {
  // Loading is asynchronous: only the unet() factory itself takes encoderWeights.
  if (encoderWeights !== undefined) throw invalid('ERR_TG_ARG', 'models.unet', 'encoderWeights', 'given to tg.models.unet() itself (create() and load() build synchronously)', encoderWeights);
  return new Unet(o);
});

/** unet(): as Factory, and with `encoderWeights` (a torchvision ResNet checkpoint) a Promise of the model with them in its encoder. */
export interface UnetFactory {
  (options?: UnetOptions & { weights?: undefined; encoderWeights?: undefined }): Unet;
  (options: UnetOptions & WeightsOptions & ({ weights: string } | { encoderWeights: string })): Promise<Pretrained<Unet>>;
  (options?: UnetOptions & WeightsOptions & { encoderWeights?: string }): Unet | Promise<Pretrained<Unet>>;
}

/**
 * segmentation_models_pytorch's Unet with a ResNet encoder. `weights`: a whole
 * smp checkpoint, as every factory; `encoderWeights`: ImageNet weights for the
 * encoder alone (smp's encoder_weights), loaded by Unet.loadEncoder with the
 * load options (strict, rename, ignore); the report is the model's loadReport.
 */
type UnetFactoryOptions = UnetOptions & WeightsOptions & { encoderWeights?: string };
export const unet: UnetFactory = ((options: UnetFactoryOptions = {}) => {
  if (!isOptions(options) || options.encoderWeights === undefined) return unetModel(options as UnetFactoryOptions);
  const where = 'models.unet';
  const { encoderWeights, weights, strict, rename, ignore, ...rest } = options as UnetFactoryOptions;
  return (async () => {
    if (typeof encoderWeights !== 'string' || encoderWeights === '') throw invalid('ERR_TG_ARG', where, 'encoderWeights', 'a weight file path', encoderWeights);
    if (weights !== undefined) throw invalid('ERR_TG_ARG', where, 'encoderWeights', 'left out when weights (a whole Unet checkpoint) is given', encoderWeights);
    const model = unetModel(rest);
    const report = await model.loadEncoder(encoderWeights, { strict, rename, ignore });
    Object.defineProperty(model, 'loadReport', { value: { ...report, path: encoderWeights }, enumerable: false, configurable: true, writable: false });
    return model as Pretrained<Unet>;
  })();
}) as UnetFactory;

const unetClassicModel = factory('unetClassic', (o: UNetClassicOptions): UNetClassic => new UNetClassic(o));
/** milesial/Pytorch-UNet's UNet; nClasses (its name) counts as numClasses for `weights` too. */
export const unetClassic = ((options: UNetClassicOptions & WeightsOptions = {}) => {
  const renamed = isOptions(options) && options.numClasses === undefined && options.nClasses !== undefined;
  return unetClassicModel((renamed ? { ...options, numClasses: options.nClasses } : options) as UNetClassicOptions & WeightsOptions);
}) as Factory<UNetClassic, UNetClassicOptions>;
export const deeplabv3_resnet50 = factory('deeplabv3_resnet50', (o: DeepLabV3Options): DeepLabV3 => deeplabv3('deeplabv3_resnet50', o));
export const deeplabv3_resnet101 = factory('deeplabv3_resnet101', (o: DeepLabV3Options): DeepLabV3 => deeplabv3('deeplabv3_resnet101', o));

/** The names create() and load() accept, in the order above. */
export const architectures: readonly string[] = Object.freeze([...builders.keys()]);

function builder(where: string, arch: unknown): (options: ModelOptions) => Model {
  const build = typeof arch === 'string' ? builders.get(arch) : undefined;
  if (!build) throw unknownArchitecture(where, arch, architectures);
  return build;
}

/** A freshly initialised model by architecture name: create('resnet50', { numClasses: 5 }). */
export function create(arch: string, options: ModelOptions = {}): Model {
  if (!isOptions(options)) throw invalid('ERR_TG_ARG', 'models.create', 'options', 'an object', options);
  return builder('models.create', arch)(options);
}

/**
 * A model by architecture name with `weights` loaded: strictly, except that a
 * head of another size than `numClasses` is left freshly initialised (the
 * report says so); without `numClasses` the head takes the file's size. The
 * report is the model's `loadReport`.
 */
export async function load(arch: string, options: ModelOptions & WeightsOptions & { weights: string }): Promise<Pretrained<Model>> {
  const where = 'models.load';
  const build = builder(where, arch);
  if (!isOptions(options)) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  const { weights, strict, rename, ignore, ...rest } = options;
  const path = checkWeightsPath(where, weights);
  return loadPretrained(() => build(rest), path, { numClasses: rest.numClasses, strict, rename, ignore }, `models.load(${arch})`);
}
