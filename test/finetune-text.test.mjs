// Fine-tuning text models end to end through the library, as a user would:
// a Hugging Face folder (a tiny BERT standing in for bert-base-uncased,
// written by the test) loaded with tg.fromPretrained for a task, its
// tokenizer with tg.text.loadTokenizer, the data from files, the Trainer.
//
// Stated scores, on held-out generated data:
// - sentiment (templated reviews): accuracy ≥ 0.95 and macro F1 ≥ 0.95
//   (1.0 and 1.0 when written);
// - NER (generated CoNLL in IOB1, scored in IOB2 as seqeval does):
//   entity F1 ≥ 0.9, default and strict mode (0.99 when written).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { nerConll, sentimentCsv, sentimentRows, writeTinyBertFolder } from './text-fixtures.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tg-finetune-text-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const folder = join(dir, 'tiny-bert');

test.before(async () => {
  await writeTinyBertFolder(folder);
  writeFileSync(join(dir, 'reviews-train.csv'), sentimentCsv(sentimentRows(192, 1)));
  writeFileSync(join(dir, 'reviews-val.csv'), sentimentCsv(sentimentRows(64, 2)));
  writeFileSync(join(dir, 'ner-train.txt'), nerConll(240, 11, { iob1: true }));
  writeFileSync(join(dir, 'ner-val.txt'), nerConll(80, 12));
});

test('sentiment: fromPretrained + a new head, trained to accuracy ≥ 0.95 on held-out reviews', async () => {
  const tokenizer = await tg.text.loadTokenizer(folder);
  const train = await tg.text.textClassification(join(dir, 'reviews-train.csv'), { tokenizer, batchSize: 16, seed: 0 });
  const val = await tg.text.textClassification(join(dir, 'reviews-val.csv'), { tokenizer, batchSize: 32, classes: train.classes });
  assert.equal(train.classes, ['negative', 'positive']);

  tg.manualSeed(0);
  const model = await tg.fromPretrained(folder, { task: 'sequence-classification', labels: train.classes });
  assert.is(model.loadReport.architecture, 'BertForSequenceClassification');
  // The base checkpoint has no classifier: the head is new, the rest loaded.
  assert.equal([...model.loadReport.newlyInitialized].sort(), ['classifier.bias', 'classifier.weight']);

  const trainer = new tg.Trainer(model, { optimizer: tg.optim.adamw({ lr: 3e-3 }), schedule: { type: 'cosine' }, epochs: 8, metrics: ['accuracy', 'f1'], progress: false });
  const history = await trainer.fit(train.train, { validation: val.all });
  const last = history.epochs.at(-1);
  assert.ok(last.loss < history.epochs[0].loss, 'the training loss falls');
  const ev = await trainer.evaluate(val.all);
  assert.ok(ev.accuracy >= 0.95, `validation accuracy ${ev.accuracy}`);
  assert.ok(ev.f1 >= 0.95, `validation macro F1 ${ev.f1}`);
  assert.is(ev.samples, 64);

  // The same through the text metrics, from predictions on new sentences.
  const enc = tokenizer.encodeBatch(['The plot was really dreadful!', 'I thought this show was quite brilliant.']);
  const logits = await model.predict(enc);
  const predicted = Array.from(tg.metrics.argmax(logits), (i) => train.classes[i]);
  assert.equal(predicted, ['negative', 'positive']);
  const s = tg.text.metrics.classificationScores(['negative', 'positive'], predicted);
  assert.is(s.macro.f1, 1);
});

test('NER: IOB1 CoNLL data, sub-word labels, entity F1 ≥ 0.9 on held-out sentences', async () => {
  const tokenizer = await tg.text.loadTokenizer(folder);
  const train = await tg.text.tokenClassification(join(dir, 'ner-train.txt'), { tokenizer, batchSize: 16, seed: 0 });
  const val = await tg.text.tokenClassification(join(dir, 'ner-val.txt'), { tokenizer, batchSize: 32, labels: train.labels });
  assert.is(train.scheme, 'IOB1');
  assert.is(val.scheme, 'IOB2');
  assert.equal(train.labels, ['O', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-PER', 'I-PER']);

  tg.manualSeed(0);
  const model = await tg.fromPretrained(folder, { task: 'token-classification', labels: train.labels });
  assert.is(model.loadReport.architecture, 'BertForTokenClassification');
  const trainer = new tg.Trainer(model, { optimizer: tg.optim.adamw({ lr: 3e-3 }), epochs: 8, metrics: [], progress: false });
  const history = await trainer.fit(train.train);
  assert.ok(history.epochs.at(-1).loss < 0.2, `final training loss ${history.epochs.at(-1).loss}`);

  const r = await tg.text.evaluateNer(model, val.all, train.labels);
  assert.ok(r.f1 >= 0.9, `entity F1 ${r.f1}\n${tg.text.metrics.entityReport(r.truthTags, r.predictedTags)}`);
  assert.equal(Object.keys(r.perType), ['LOC', 'ORG', 'PER']);
  for (const [type, s] of Object.entries(r.perType)) assert.ok(s.f1 >= 0.8, `${type} F1 ${s.f1}`);
  // Every word was scored once: the labelled tokens are the words.
  assert.is(r.truthTags.flat().length, val.sentences.reduce((a, s) => a + s.tokens.length, 0));
  const strict = await tg.text.evaluateNer(model, val.all, train.labels, { mode: 'strict' });
  assert.ok(strict.f1 >= 0.9, `strict entity F1 ${strict.f1}`);

  // Tagging a new sentence: word predictions from the first sub-token.
  const tagged = await tg.text.tagWords(model, tokenizer, [['Jordan', 'Okafor', 'visited', 'Jordan', '.'], ['Acme', 'Corp', 'opened', 'an', 'office', 'in', 'Lima', '.']], train.labels);
  assert.equal(tagged, [
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'O'],
    ['B-ORG', 'I-ORG', 'O', 'O', 'O', 'O', 'B-LOC', 'O'],
  ]);
});

test.run();
