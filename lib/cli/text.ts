// The text commands. `finetune --task <text task>` fine-tunes a Hugging Face
// model folder on a data file, as transformers' run_glue.py / run_ner.py /
// run_clm.py do (the whole model trains, AdamW), and writes a model folder
// that tg.fromPretrained and transformers both load (config.json with the
// labels, model.safetensors, the tokenizer files). `generate` continues a
// prompt with a causal language model, printing tokens as they come.
//
// `finetune` is shared with the image workflow: its --task option picks the
// text path here, and image classification stays the default.
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { tgError } from '../errors.js';
import { fromPretrained, type PretrainedModel } from '../models/from-pretrained.js';
import { adamw } from '../optim.js';
import { manualSeed } from '../random.js';
import { evaluateLanguageModel, evaluateNer } from '../text/evaluate.js';
import { languageModeling, textClassification, tokenClassification, type TextData } from '../text/data.js';
import { loadTokenizer } from '../text/load-tokenizer.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { entityReport } from '../train/text-metrics.js';
import { Trainer } from '../train/index.js';
import { fraction, nonNegativeInt, positiveInt, positiveNumber } from './options.js';
import { epochLines } from './epoch-lines.js';

export const TEXT_TASKS = ['sequence-classification', 'token-classification', 'causal-lm'] as const;
type TextTask = (typeof TEXT_TASKS)[number];

// transformers' TrainingArguments defaults for the options both workflows share.
const TEXT_DEFAULTS = { lr: 5e-5, batchSize: 16, epochs: 3 } as const;

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt'];

interface TextFinetuneOptions {
  task: string;
  model: string;
  data: string;
  val?: string;
  valSplit?: number;
  freeze?: string[];
  unfreeze?: string[];
  epochs: number;
  lr: number;
  schedule: 'constant' | 'cosine';
  batchSize: number;
  maxLength?: number;
  blockSize?: number;
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  labelAllTokens?: boolean;
  entityMode: 'default' | 'strict';
  device: string;
  out?: string;
  resume?: boolean;
  seed: number;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** config.json of the source folder, updated with the trained architecture and labels. */
async function writeConfig(from: string, to: string, architecture: string, labels?: readonly string[]): Promise<void> {
  const path = join(from, 'config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw tgError('ERR_TG_IO', `finetune: cannot read ${path}: ${(err as Error).message}`);
  }
  config.architectures = [architecture];
  if (labels) {
    config.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    config.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
    delete config.num_labels;
  }
  await writeAtomic(join(to, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** The model folder: weights, config.json and the tokenizer, loadable by fromPretrained and transformers. */
async function writeModelFolder(o: TextFinetuneOptions, model: PretrainedModel, out: string, labels?: readonly string[]): Promise<void> {
  await mkdir(out, { recursive: true });
  await model.save(join(out, 'model.safetensors'));
  await writeConfig(o.model, out, model.loadReport.architecture, labels);
  for (const f of TOKENIZER_FILES) if (await isFile(join(o.model, f))) await copyFile(join(o.model, f), join(out, f));
}

function valShare(o: TextFinetuneOptions): number {
  if (o.val) return 0;
  return o.valSplit ?? 0.1;
}

async function textData(o: TextFinetuneOptions, tokenizer: Tokenizer): Promise<{ data: TextData; val?: TextData['all']; labels?: string[] }> {
  const common = { tokenizer, batchSize: o.batchSize, seed: o.seed, valFraction: valShare(o) };
  switch (o.task as TextTask) {
    case 'sequence-classification': {
      const columns = { textColumn: o.textColumn, textPairColumn: o.textPairColumn, labelColumn: o.labelColumn };
      const data = await textClassification(o.data, { ...common, ...columns, maxLength: o.maxLength });
      const val = o.val ? (await textClassification(o.val, { ...common, ...columns, maxLength: o.maxLength, valFraction: 0, classes: data.classes })).all : data.val;
      return { data, val, labels: data.classes };
    }
    case 'token-classification': {
      const data = await tokenClassification(o.data, { ...common, maxLength: o.maxLength, labelAllTokens: o.labelAllTokens });
      const val = o.val ? (await tokenClassification(o.val, { ...common, maxLength: o.maxLength, labelAllTokens: o.labelAllTokens, valFraction: 0, labels: data.labels })).all : data.val;
      return { data, val, labels: data.labels };
    }
    case 'causal-lm': {
      const data = await languageModeling(o.data, { ...common, blockSize: o.blockSize });
      const val = o.val ? (await languageModeling(o.val, { ...common, blockSize: o.blockSize, valFraction: 0 })).all : data.val;
      return { data, val };
    }
  }
}

async function textFinetune(o: TextFinetuneOptions): Promise<void> {
  const where = 'finetune';
  if (o.val && o.valSplit !== undefined) throw tgError('ERR_TG_ARG', `${where}: give --val or --val-split, not both`);
  manualSeed(o.seed);
  const task = o.task as TextTask;
  const tokenizer = await loadTokenizer(o.model);
  const { data, val, labels } = await textData(o, tokenizer);
  if (data.train.size === 0) throw tgError('ERR_TG_ARG', `${where}: no training examples left in ${o.data} after the validation split`);

  const model = await fromPretrained(o.model, { task, ...(labels ? { labels } : {}) });
  const report = model.loadReport;
  for (const note of report.notes) process.stderr.write(`note: ${note}\n`);
  console.log(`loaded ${o.model} as ${report.architecture}${report.newlyInitialized.length ? ` (new: ${report.newlyInitialized.join(', ')})` : ''}`);

  const out = resolve(o.out ?? `finetuned-${basename(resolve(o.model))}`);
  const checkpoints = join(out, 'checkpoints');
  // The Trainer scores one prediction per example; token-level tasks are scored below instead.
  const perExample = task === 'sequence-classification';
  const trainer = new Trainer(model, {
    optimizer: adamw({ lr: o.lr, weightDecay: 0.01 }),
    ...(o.schedule === 'cosine' ? { schedule: { type: 'cosine' as const } } : {}),
    device: o.device,
    epochs: o.epochs,
    ...(o.freeze ? { freeze: o.freeze, unfreeze: [...(o.unfreeze ?? []), ...model.headPrefixes().map((p) => `${p}*`)] } : {}),
    ...(perExample ? { metrics: ['accuracy', 'f1'] } : { metrics: [] }),
    checkpoint: { dir: checkpoints, keepLast: 1, ...(perExample && val ? {} : { monitor: 'loss' }) },
    progress: process.stderr.isTTY ? true : epochLines(),
  });
  const what = task === 'causal-lm' ? 'blocks' : 'examples';
  const classes = labels ? ` in ${labels.length} classes (${labels.slice(0, 10).join(', ')}${labels.length > 10 ? ', ...' : ''})` : '';
  console.log(
    `training on ${data.train.size} ${what}${classes}, ${val ? `${val.size} for validation` : 'no validation'}; ` +
      `${model.trainableParameters().length} of ${Object.keys(model.parameters()).length} parameter tensors train`,
  );

  const history = await trainer.fit(data.train, { ...(perExample && val ? { validation: val } : {}), ...(o.resume ? { resume: 'latest' } : {}) });
  await writeModelFolder(o, model, out, labels);

  const last = history.epochs.at(-1);
  if (last) console.log(`training loss: ${last.loss.toFixed(4)} (epoch ${last.epoch + 1})`);
  if (val && task === 'sequence-classification' && last) {
    const m = last.metrics;
    console.log(`validation accuracy: ${m.val_accuracy.toFixed(4)}, macro F1: ${m.val_f1.toFixed(4)} (${val.size} examples)`);
  } else if (val && task === 'token-classification') {
    const r = await evaluateNer(model, val, labels!, { mode: o.entityMode, device: o.device });
    console.log(`validation entity F1: ${r.f1.toFixed(4)} (precision ${r.precision.toFixed(4)}, recall ${r.recall.toFixed(4)}, token accuracy ${r.accuracy.toFixed(4)}; ${r.counts.true} entities)`);
    console.log(entityReport(r.truthTags, r.predictedTags, { mode: o.entityMode, digits: 4 }));
  } else if (val && task === 'causal-lm') {
    const r = await evaluateLanguageModel(model, val, { device: o.device });
    console.log(`validation loss: ${r.loss.toFixed(4)}, perplexity: ${r.perplexity.toFixed(2)} (${r.tokens} tokens)`);
  }
  console.log(`wrote ${out} (model.safetensors, config.json, tokenizer); checkpoints in ${checkpoints}`);
}

interface GenerateCliOptions {
  model: string;
  prompt: string;
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  device: string;
}

interface Streaming {
  stream(ids: number[], options: Record<string, unknown>): AsyncIterable<number>;
}

function isStreaming(m: unknown): m is Streaming {
  return typeof (m as Streaming).stream === 'function';
}

async function generateCommand(o: GenerateCliOptions): Promise<void> {
  const where = 'generate';
  const tokenizer = await loadTokenizer(o.model);
  const model = await fromPretrained(o.model, { task: 'text-generation' });
  if (!isStreaming(model)) throw tgError('ERR_TG_ARG', `${where}: ${o.model} is not a language model that generates text`);
  const prompt = tokenizer.encodeOne(o.prompt, undefined, { alignment: false }).ids;
  if (!prompt.length) {
    const bos = tokenizer.bosTokenId;
    if (bos === undefined) throw tgError('ERR_TG_ARG', `${where}: the prompt is empty and ${o.model} has no beginning-of-text token to start from`);
    prompt.push(bos);
  }
  const options: Record<string, unknown> = { maxNewTokens: o.maxNewTokens, device: o.device };
  for (const k of ['temperature', 'topK', 'topP', 'repetitionPenalty', 'seed'] as const) if (o[k] !== undefined) options[k] = o[k];
  process.stdout.write(o.prompt);
  // Decode everything so far and print what is new: a character split over
  // two byte-level tokens shows once whole (U+FFFD until then).
  const ids: number[] = [];
  let shown = 0;
  for await (const id of model.stream(prompt, options)) {
    ids.push(id);
    const text = tokenizer.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false });
    if (text.endsWith('\uFFFD')) continue;
    process.stdout.write(text.slice(shown));
    shown = text.length;
  }
  const text = tokenizer.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false });
  process.stdout.write(`${text.slice(shown)}\n`);
}

function has(cmd: Command, flag: string): boolean {
  return cmd.options.some((opt) => opt.long === flag);
}

function addOption(cmd: Command, option: Option): void {
  if (!has(cmd, option.long!)) cmd.addOption(option);
}

/**
 * Adds the text tasks to `finetune` (registering the command when the image
 * workflow has not) and registers `generate`.
 */
export function registerText(program: Command): void {
  let finetune = program.commands.find((c) => c.name() === 'finetune');
  if (!finetune) {
    finetune = program
      .command('finetune')
      .requiredOption('--model <folder>', 'a Hugging Face model folder')
      .requiredOption('--data <file>', 'training data')
      .action(() => {
        throw tgError('ERR_TG_ARG', 'finetune: give --task');
      });
  }
  finetune.description(`${finetune.description() || 'fine-tune a pretrained model'}; text tasks with --task ${TEXT_TASKS.join('|')} (--model is then a Hugging Face model folder, --data a CSV/TSV/JSON Lines file, a CoNLL file or plain text; text defaults: --epochs ${TEXT_DEFAULTS.epochs}, --lr ${TEXT_DEFAULTS.lr}, --batch-size ${TEXT_DEFAULTS.batchSize}, nothing frozen)`);
  addOption(finetune, new Option('--task <task>', 'what to fine-tune for').choices(['image-classification', 'segmentation', ...TEXT_TASKS]).default('image-classification'));
  addOption(finetune, new Option('--val <file>', 'validation data in the format of --data'));
  addOption(finetune, new Option('--val-split <fraction>', 'share of --data held out for validation (text default 0.1 without --val)').argParser(fraction));
  addOption(finetune, new Option('--freeze <globs...>', 'parameters to freeze (text default: none; the head always trains)'));
  addOption(finetune, new Option('--unfreeze <globs...>', 'parameters to train besides the head'));
  addOption(finetune, new Option('--epochs <n>', 'epochs').argParser(positiveInt).default(TEXT_DEFAULTS.epochs));
  addOption(finetune, new Option('--lr <rate>', 'AdamW learning rate').argParser(positiveNumber).default(TEXT_DEFAULTS.lr));
  addOption(finetune, new Option('--schedule <type>', "the learning rate over the run: 'constant' or 'cosine' decay").choices(['constant', 'cosine']).default('constant'));
  addOption(finetune, new Option('--batch-size <n>', 'examples per batch').argParser(positiveInt).default(TEXT_DEFAULTS.batchSize));
  addOption(finetune, new Option('--device <device>', "'cpu' or 'auto'").default('cpu'));
  addOption(finetune, new Option('--out <dir>', 'where to write the fine-tuned model folder (default finetuned-<model>)'));
  addOption(finetune, new Option('--resume', 'continue from the latest checkpoint in <out>/checkpoints'));
  addOption(finetune, new Option('--seed <n>', 'seeds the split, the shuffle and the new head').argParser(nonNegativeInt).default(0));
  addOption(finetune, new Option('--max-length <n>', 'text tasks: truncate to this many tokens (default: the tokenizer\'s model_max_length)').argParser(positiveInt));
  addOption(finetune, new Option('--block-size <n>', 'causal-lm: tokens per training block (default min(1024, model_max_length))').argParser(positiveInt));
  addOption(finetune, new Option('--text-column <name>', 'sequence-classification: the text column (default text, sentence, sentence1, ...)'));
  addOption(finetune, new Option('--text-pair-column <name>', 'sequence-classification: a second text column (default text_pair or sentence2 when present)'));
  addOption(finetune, new Option('--label-column <name>', 'sequence-classification: the label column (default label)'));
  addOption(finetune, new Option('--label-all-tokens', 'token-classification: label every sub-word token, not only the first'));
  addOption(finetune, new Option('--entity-mode <mode>', "token-classification: seqeval's scoring, 'default' (lenient) or 'strict' (IOB2)").choices(['default', 'strict']).default('default'));

  // The text path replaces the action for this run; image classification keeps its own.
  finetune.hook('preAction', (cmd) => {
    const opts = cmd.opts() as TextFinetuneOptions & Record<string, unknown>;
    if (!(TEXT_TASKS as readonly string[]).includes(opts.task)) return;
    for (const flag of ['weights', 'size']) {
      if (cmd.getOptionValueSource(flag) === 'cli') throw tgError('ERR_TG_ARG', `finetune: --${flag} is for image classification, not --task ${opts.task}`);
    }
    // Options the image workflow registered with its own defaults take the text ones.
    for (const [key, value] of Object.entries(TEXT_DEFAULTS)) {
      if (cmd.getOptionValueSource(key) !== 'cli') opts[key] = value;
    }
    cmd.action(() => textFinetune(opts));
  });

  program
    .command('generate')
    .description('continue a prompt with a causal language model (a Hugging Face GPT-2 folder), printing the tokens as they come')
    .requiredOption('--model <folder>', 'a model folder with config.json, weights and the tokenizer (finetune --task causal-lm writes one)')
    .requiredOption('--prompt <text>', 'the text to continue')
    .option('--max-new-tokens <n>', 'tokens to add at most', positiveInt, 50)
    .option('--temperature <t>', 'sample from softmax(logits / t) (default: greedy unless --top-k or --top-p)', (v) => {
      const n = Number(v);
      if (!(v.trim() !== '' && Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError('expected a number >= 0.');
      return n;
    })
    .option('--top-k <k>', 'sample among the k most likely tokens', nonNegativeInt)
    .option('--top-p <p>', 'sample among the most likely tokens up to this total probability', (v) => {
      const n = Number(v);
      if (!(v.trim() !== '' && Number.isFinite(n) && n > 0 && n <= 1)) throw new InvalidArgumentError('expected a number in (0, 1].');
      return n;
    })
    .option('--repetition-penalty <r>', 'divide the logits of tokens already present by r (> 1 discourages repeats)', positiveNumber)
    .option('--seed <n>', 'seeds sampling: the same seed, the same text', nonNegativeInt)
    .option('--device <device>', "'cpu' or 'auto'", 'cpu')
    .action((opts: GenerateCliOptions) => generateCommand(opts));
}
