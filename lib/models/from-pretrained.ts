// tg.fromPretrained: a Hugging Face model folder (config.json, weights,
// tokenizer files) as a model for a task, as transformers'
// AutoModelFor<Task>.from_pretrained does: the architecture from
// config.model_type, the weights in whichever layout was published (with or
// without the base-model prefix, old LayerNorm gamma/beta names, pretraining
// heads the task does not use), and a new task head initialised as
// transformers initialises it when the checkpoint has none (or one of another
// size). Everything that was ignored or newly initialised is reported.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, tgError, type TgError } from '../errors.js';
import type { Model } from '../nn/module.js';
import type { HostTensorLike } from '../tensor.js';
import { loadHfFolder } from '../weights/hf.js';
import { planLoad, type LoadReport, type Slot } from '../weights/mapping.js';
import {
  BertForMaskedLM,
  BertForSequenceClassification,
  BertForTokenClassification,
  BertModel,
  RECOMPUTED_BUFFERS,
  type BertPreTrainedModel,
} from './bert.js';
import { bertConfig, distilBertConfig, type EncoderConfig } from './config.js';
import {
  DistilBertForMaskedLM,
  DistilBertForSequenceClassification,
  DistilBertForTokenClassification,
  DistilBertModel,
} from './distilbert.js';
import { loadGpt2, type GPT2Task } from './gpt2.js';
import type { HeadReport, PretrainedReport } from './pretrained.js';
import { RobertaForMaskedLM, RobertaForSequenceClassification, RobertaForTokenClassification, RobertaModel } from './roberta.js';

export const TASKS = [
  'feature-extraction',
  'sequence-classification',
  'token-classification',
  'fill-mask',
  'causal-lm',
  'text-generation',
] as const;
export type Task = (typeof TASKS)[number];

export interface FromPretrainedOptions {
  /** What the model is for; default: from config.architectures (a *ForSequenceClassification checkpoint: 'sequence-classification'), else 'feature-extraction'. */
  task?: Task;
  /** Classes of a classification head; default: the checkpoint's head, else config.json's labels. */
  numLabels?: number;
  /** Class names (transformers' id2label), which also set numLabels. */
  labels?: string[];
  /** Every parameter outside a new head must come from the checkpoint (default true). */
  strict?: boolean;
}

export interface FromPretrainedReport extends PretrainedReport {
  /** config.json's model_type. */
  modelType: string;
  task: Task;
  /** The class built (BertForSequenceClassification, ...). */
  architecture: string;
  /** Parameters that did not come from the checkpoint and keep transformers' initialisation (a new head). */
  newlyInitialized: string[];
}

export type PretrainedModel<M extends Model = Model> = M & { readonly loadReport: FromPretrainedReport };

/** An encoder family: how its config reads, which task builds what, where its heads are. */
interface Family {
  config(raw: Record<string, unknown>, where: string): EncoderConfig;
  /** The base model's module name inside task models. */
  base: string;
  /** Top-level modules of the base model whose keys must fit. */
  baseParts: string[];
  /** Top-level modules of the base model that a checkpoint may lack (transformers then initialises them afresh). */
  optionalParts: string[];
  /** The model for a task, left uninitialised (the load fills it), or undefined when the family has none. */
  build(task: Task, config: EncoderConfig): BertPreTrainedModel | undefined;
  /** The head parameter whose first dimension counts the labels. */
  headWeight: Partial<Record<Task, string>>;
}

const FAMILIES: Record<string, Family> = {
  bert: {
    config: bertConfig,
    base: 'bert',
    baseParts: ['embeddings', 'encoder'],
    optionalParts: ['pooler'],
    build(task, config) {
      switch (task) {
        case 'feature-extraction':
          return new BertModel(config, { init: false });
        case 'sequence-classification':
          return new BertForSequenceClassification(config, { init: false });
        case 'token-classification':
          return new BertForTokenClassification(config, { init: false });
        case 'fill-mask':
          return new BertForMaskedLM(config, { init: false });
        default:
          return undefined;
      }
    },
    headWeight: { 'sequence-classification': 'classifier.weight', 'token-classification': 'classifier.weight' },
  },
  roberta: {
    config: bertConfig,
    base: 'roberta',
    baseParts: ['embeddings', 'encoder'],
    optionalParts: ['pooler'],
    build(task, config) {
      switch (task) {
        case 'feature-extraction':
          return new RobertaModel(config, { init: false });
        case 'sequence-classification':
          return new RobertaForSequenceClassification(config, { init: false });
        case 'token-classification':
          return new RobertaForTokenClassification(config, { init: false });
        case 'fill-mask':
          return new RobertaForMaskedLM(config, { init: false });
        default:
          return undefined;
      }
    },
    headWeight: { 'sequence-classification': 'classifier.out_proj.weight', 'token-classification': 'classifier.weight' },
  },
  distilbert: {
    config: distilBertConfig,
    base: 'distilbert',
    baseParts: ['embeddings', 'transformer'],
    optionalParts: [],
    build(task, config) {
      switch (task) {
        case 'feature-extraction':
          return new DistilBertModel(config, { init: false });
        case 'sequence-classification':
          return new DistilBertForSequenceClassification(config, { init: false });
        case 'token-classification':
          return new DistilBertForTokenClassification(config, { init: false });
        case 'fill-mask':
          return new DistilBertForMaskedLM(config, { init: false });
        default:
          return undefined;
      }
    },
    headWeight: { 'sequence-classification': 'classifier.weight', 'token-classification': 'classifier.weight' },
  },
};

/** Families whose own modules load them: model_type -> loader. */
const DELEGATED: Record<string, (folder: string, options: FromPretrainedOptions) => Promise<Model>> = {
  // loadGpt2 checks the task itself (causal-lm, text-generation, feature-extraction).
  gpt2: (folder, { task, strict }) => loadGpt2(folder, { task: task as GPT2Task | undefined, strict }),
};

const ARCHITECTURE_TASKS: Array<[RegExp, Task]> = [
  [/ForSequenceClassification$/, 'sequence-classification'],
  [/ForTokenClassification$/, 'token-classification'],
  [/For(MaskedLM|PreTraining)$/, 'fill-mask'],
  [/(LMHeadModel|ForCausalLM)$/, 'text-generation'],
];

/**
 * Configs written before transformers recorded model_type: the type from
 * the architecture's class name, else from the fields only one family uses.
 */
function inferModelType(config: Record<string, unknown>): string | undefined {
  const arch = Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? config.architectures[0] : '';
  const byName: Array<[RegExp, string]> = [
    [/^DistilBert/, 'distilbert'],
    [/^Roberta/, 'roberta'],
    [/^Bert/, 'bert'],
    [/^GPT2/, 'gpt2'],
  ];
  const named = byName.find(([re]) => re.test(arch));
  if (named) return named[1];
  if ('n_layers' in config && 'dim' in config) return 'distilbert';
  if ('n_embd' in config && 'n_layer' in config) return 'gpt2';
  if ('hidden_size' in config && 'num_attention_heads' in config && 'type_vocab_size' in config) return 'bert';
  return undefined;
}

function defaultTask(config: Record<string, unknown>): Task {
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  const first = typeof archs[0] === 'string' ? archs[0] : '';
  return ARCHITECTURE_TASKS.find(([re]) => re.test(first))?.[1] ?? 'feature-extraction';
}

async function readConfig(folder: string, where: string): Promise<Record<string, unknown>> {
  let isDir = false;
  try {
    isDir = (await stat(folder)).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw tgError(
      'ERR_TG_IO',
      `${where}: ${folder} is not a folder (a Hugging Face model folder with config.json and weights; tg.weights.hubDownload fetches one from the Hub)`,
    );
  }
  const path = join(folder, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw tgError('ERR_TG_IO', `${where}: ${folder} has no config.json (not a Hugging Face model folder?)`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `${where}: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw tgError('ERR_TG_FORMAT', `${where}: ${path} must hold a JSON object`);
  return config as Record<string, unknown>;
}

function checkOptions(options: unknown, where: string): FromPretrainedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  const o = options as FromPretrainedOptions;
  if (o.task !== undefined && !TASKS.includes(o.task)) throw invalid('ERR_TG_ARG', where, 'task', `one of ${TASKS.join(', ')}`, o.task);
  if (o.numLabels !== undefined && !(Number.isInteger(o.numLabels) && o.numLabels > 0)) {
    throw invalid('ERR_TG_ARG', where, 'numLabels', 'a positive integer', o.numLabels);
  }
  if (o.labels !== undefined) {
    if (!Array.isArray(o.labels) || !o.labels.length || !o.labels.every((l) => typeof l === 'string')) {
      throw invalid('ERR_TG_ARG', where, 'labels', 'a non-empty array of class names', o.labels);
    }
    if (o.numLabels !== undefined && o.numLabels !== o.labels.length) {
      throw tgError('ERR_TG_ARG', `${where}: numLabels is ${o.numLabels} but labels names ${o.labels.length} classes`);
    }
  }
  if (o.strict !== undefined && typeof o.strict !== 'boolean') throw invalid('ERR_TG_ARG', where, 'strict', 'a boolean', o.strict);
  return o;
}

/**
 * Loads a Hugging Face model folder for a task. Resolves to the model, whose
 * `loadReport` says what was loaded, renamed, ignored (other heads, buffers
 * transformers recomputes) and newly initialised (a new head to train).
 *
 *   const clf = await tg.fromPretrained('bert-base-uncased/', { task: 'sequence-classification', numLabels: 2 });
 */
export async function fromPretrained(folder: string, options: FromPretrainedOptions = {}): Promise<PretrainedModel> {
  const where = 'fromPretrained';
  if (typeof folder !== 'string' || !folder) throw invalid('ERR_TG_ARG', where, 'folder', 'a Hugging Face model folder path', folder);
  const opts = checkOptions(options, where);
  const raw = await readConfig(folder, where);
  const type = raw.model_type ?? inferModelType(raw);
  if (typeof type === 'string' && Object.hasOwn(DELEGATED, type)) {
    return (await DELEGATED[type](folder, opts)) as PretrainedModel;
  }
  const family = typeof type === 'string' && Object.hasOwn(FAMILIES, type) ? FAMILIES[type] : undefined;
  if (!family) {
    const known = [...Object.keys(FAMILIES), ...Object.keys(DELEGATED)].join(', ');
    throw tgError('ERR_TG_ARG', `${where}: ${folder}: model_type ${JSON.stringify(type)} is not supported (known: ${known})`);
  }
  const task = opts.task ?? defaultTask(raw);

  const hf = await loadHfFolder(folder);
  const config = family.config({ ...hf.config, model_type: type }, `${where}: ${join(folder, 'config.json')}`);
  const headWeight = family.headWeight[task];
  const fileClasses = headWeight ? fileHeadClasses(hf.tensors[headWeight], config.hiddenSize) : undefined;
  const numLabels = opts.labels?.length ?? opts.numLabels ?? fileClasses ?? config.labels.length;
  config.labels = opts.labels
    ? [...opts.labels]
    : config.labels.length === numLabels
      ? config.labels
      : Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);

  const model = family.build(task, config);
  if (!model) throw tgError('ERR_TG_ARG', `${where}: task '${task}' is not available for ${type} models (try ${Object.keys(family.headWeight).concat('feature-extraction', 'fill-mask').join(', ')})`);
  const report = await loadInto(model, hf.tensors, family, opts.strict ?? true, `${where}(${folder})`);
  report.notes.unshift(...hf.notes);
  const head: HeadReport | undefined = headWeight
    ? {
        globs: model.headPrefixes().map((p) => `${p}*`),
        ...(fileClasses !== undefined ? { checkpointClasses: fileClasses } : {}),
        numClasses: numLabels,
        loaded: !report.newlyInitialized.some((n) => model.headPrefixes().some((p) => n.startsWith(p))),
      }
    : undefined;
  const full: FromPretrainedReport = {
    ...report,
    path: folder,
    ...(head ? { head } : {}),
    modelType: type as string,
    task,
    architecture: model.constructor.name,
  };
  Object.defineProperty(model, 'loadReport', { value: full, enumerable: false, configurable: true, writable: false });
  return model as unknown as PretrainedModel;
}

/** The label count of a checkpoint's classifier weight (numLabels, hidden), if it has one of that width. */
function fileHeadClasses(weight: HostTensorLike | undefined, hidden: number): number | undefined {
  return weight && weight.shape.length === 2 && weight.shape[1] === hidden && weight.shape[0] > 0 ? weight.shape[0] : undefined;
}

/**
 * Loads what the task model uses: strictly for the base model; the head
 * from the checkpoint when it has one of the right shape, else left as
 * initialised; keys outside the base model that this model has no place for
 * (other tasks' heads, a pooler the model lacks, the tied decoder copy) are
 * ignored and reported.
 */
async function loadInto(
  model: BertPreTrainedModel,
  tensors: Record<string, HostTensorLike>,
  family: Family,
  strict: boolean,
  where: string,
): Promise<LoadReport & { newlyInitialized: string[] }> {
  const slots = new Map<string, Slot>(Object.entries(model.parameters()).map(([n, shape]) => [n, { shape, dtype: 'f32' }]));
  const probe = planLoad(slots, tensors, { strict: false, ignore: RECOMPUTED_BUFFERS }, where).report;
  const heads = model.headPrefixes();
  const inHead = (name: string) => heads.some((p) => name.startsWith(p));
  const within = (parts: string[]) => (key: string) => {
    const k = key.startsWith(`${family.base}.`) ? key.slice(family.base.length + 1) : key;
    return parts.some((p) => k.startsWith(`${p}.`));
  };
  const unused = probe.unexpected.filter((k) => !within(family.baseParts)(k));
  const optional = within(family.optionalParts);
  const fresh = [...probe.missing.filter((n) => inHead(n) || optional(n)), ...probe.mismatched.filter((m) => inHead(m.key)).map((m) => m.key)];

  let report: LoadReport;
  try {
    report = await model.loadStateDict(tensors, { strict, ignore: [...unused, ...fresh] });
  } catch (err) {
    const e = err as TgError;
    if (typeof e?.message === 'string') e.message = `${where}: ${e.message.replace(/^loadStateDict: /, '')}`;
    throw e;
  }
  const newlyInitialized = [...fresh, ...report.missing];
  model.initWeights(newlyInitialized);
  if (unused.length) report.notes.push(`not used by ${model.constructor.name} (ignored): ${listed(unused)}`);
  const mismatchedHead = probe.mismatched.filter((m) => inHead(m.key));
  for (const m of mismatchedHead) report.notes.push(`${m.key}: the checkpoint's is [${m.checkpoint.join(', ')}], the model's [${m.model.join(', ')}]`);
  if (newlyInitialized.length) report.notes.push(`newly initialised (train them before use): ${listed(newlyInitialized)}`);
  return { ...report, newlyInitialized };
}

function listed(items: string[], limit = 12): string {
  return items.length > limit ? `${items.slice(0, limit).join(', ')} and ${items.length - limit} more` : items.join(', ');
}
