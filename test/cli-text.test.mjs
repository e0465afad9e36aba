// The text commands end to end on tiny Hugging Face folders the test writes:
// `finetune --task sequence-classification | token-classification |
// causal-lm` (what it prints, the model folder it writes and that
// fromPretrained loads back), `generate` on the fine-tuned language model,
// and the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tg from 'tensorgraft';
import { nerConll, sentimentCsv, sentimentRows, writeTinyBertFolder, writeTinyGpt2Folder } from './text-fixtures.mjs';

const cli = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tg-cli-text-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const bert = join(dir, 'tiny-bert');
const gpt = join(dir, 'tiny-gpt2');
const path = (name) => join(dir, name);

function run(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

test.before(async () => {
  await writeTinyBertFolder(bert);
  await writeTinyGpt2Folder(gpt, ['the', ' cat', ' sat', ' on', ' mat', '.\n']);
  writeFileSync(path('reviews.csv'), sentimentCsv(sentimentRows(256, 1)));
  writeFileSync(path('ner-train.txt'), nerConll(240, 11, { iob1: true }));
  writeFileSync(path('ner-val.txt'), nerConll(80, 12));
  writeFileSync(path('corpus.txt'), 'the cat sat on the mat.\n'.repeat(60));
});

test('finetune --task sequence-classification: trains, reports validation scores, writes a loadable model folder', async () => {
  const out = path('sentiment');
  const r = await run('finetune', '--task', 'sequence-classification', '--model', bert, '--data', path('reviews.csv'), '--val-split', '0.25', '--epochs', '8', '--lr', '3e-3', '--schedule', 'cosine', '--out', out);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /loaded .*tiny-bert as BertForSequenceClassification \(new: classifier\.weight, classifier\.bias\)/);
  assert.match(r.stdout, /training on 192 examples in 2 classes \(negative, positive\), 64 for validation/);
  const acc = Number(/validation accuracy: ([\d.]+), macro F1: ([\d.]+)/.exec(r.stdout)?.[1]);
  assert.ok(acc >= 0.95, r.stdout);
  assert.match(r.stderr, /epoch 8\/8 {2}loss [\d.]+ {2}val_loss [\d.]+ {2}val_accuracy [\d.]+ {2}val_f1/);
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(existsSync(join(out, f)), f);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.architectures, ['BertForSequenceClassification']);
  assert.equal(config.id2label, { 0: 'negative', 1: 'positive' });
  assert.equal(config.label2id, { negative: 0, positive: 1 });

  // The folder is a Hugging Face folder: the task and labels come from config.json.
  const model = await tg.fromPretrained(out);
  assert.is(model.loadReport.architecture, 'BertForSequenceClassification');
  assert.equal(model.loadReport.newlyInitialized, []);
  assert.equal(model.labels, ['negative', 'positive']);
  const tokenizer = await tg.text.loadTokenizer(out);
  const logits = await model.predict(tokenizer.encodeBatch(['The ending was so awful.', 'This film is wonderful!']).feeds);
  assert.equal(Array.from(tg.metrics.argmax(logits), (i) => model.labels[i]), ['negative', 'positive']);
});

test('finetune --task token-classification: IOB1 CoNLL in, entity F1 and the per-type report out', async () => {
  const out = path('ner');
  const r = await run('finetune', '--task', 'token-classification', '--model', bert, '--data', path('ner-train.txt'), '--val', path('ner-val.txt'), '--epochs', '8', '--lr', '3e-3', '--out', out);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /training on 240 examples in 7 classes \(O, B-LOC, I-LOC, B-ORG, I-ORG, B-PER, I-PER\), 80 for validation/);
  const f1 = Number(/validation entity F1: ([\d.]+)/.exec(r.stdout)?.[1]);
  assert.ok(f1 >= 0.9, r.stdout);
  assert.match(r.stdout, /^\s+LOC\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+63$/m);
  assert.match(r.stdout, /^\s+micro avg\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+171$/m);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.architectures, ['BertForTokenClassification']);
  assert.is(config.id2label[5], 'B-PER');
  const model = await tg.fromPretrained(out);
  const tagged = await tg.text.tagWords(model, await tg.text.loadTokenizer(out), [['Mary', 'Garcia', 'lives', 'in', 'Washington', '.']], model.labels);
  assert.equal(tagged, [['B-PER', 'I-PER', 'O', 'O', 'B-LOC', 'O']]);
});

test('finetune --task causal-lm, then generate streams the learned text', async () => {
  const out = path('lm');
  const r = await run('finetune', '--task', 'causal-lm', '--model', gpt, '--data', path('corpus.txt'), '--block-size', '12', '--batch-size', '8', '--epochs', '8', '--lr', '5e-3', '--out', out);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /loaded .*tiny-gpt2 as GPT2LMHeadModel/);
  const ppl = Number(/validation loss: [\d.]+, perplexity: ([\d.]+)/.exec(r.stdout)?.[1]);
  assert.ok(ppl < 1.5, r.stdout);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).architectures, ['GPT2LMHeadModel']);

  const g = await run('generate', '--model', out, '--prompt', 'the cat', '--max-new-tokens', '12');
  assert.is(g.code, 0, g.stderr);
  assert.ok(g.stdout.startsWith('the cat sat on the mat.\nthe cat sat'), JSON.stringify(g.stdout));
  // Sampling is reproducible from its seed.
  const args = ['generate', '--model', out, '--prompt', 'the', '--max-new-tokens', '10', '--temperature', '1.5', '--top-k', '4', '--seed', '7'];
  const [a, b] = await Promise.all([run(...args), run(...args)]);
  assert.is(a.code, 0, a.stderr);
  assert.is(a.stdout, b.stdout);
});

test('errors: options of the image workflow, missing files, a model that cannot generate', async () => {
  let r = await run('finetune', '--task', 'sequence-classification', '--model', bert, '--data', path('reviews.csv'), '--size', '64');
  assert.is(r.code, 1);
  assert.match(r.stderr, /--size is for image classification, not --task sequence-classification/);
  r = await run('finetune', '--task', 'token-classification', '--model', bert, '--data', path('missing.txt'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /cannot read .*missing\.txt/);
  r = await run('finetune', '--task', 'translation', '--model', bert, '--data', path('reviews.csv'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /argument 'translation' is invalid/);
  r = await run('generate', '--model', bert, '--prompt', 'the movie');
  assert.is(r.code, 1);
  assert.match(r.stderr, /tensorgraft: .*text-generation/);
  r = await run('generate', '--model', gpt, '--prompt', 'x', '--top-p', '2');
  assert.is(r.code, 1);
  assert.match(r.stderr, /--top-p/);
});

test.run();
