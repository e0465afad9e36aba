// Text data sets: classification files (CSV, TSV, JSON Lines, JSON; names or
// ids; sentence pairs), CoNLL files (IOB1 → IOB2, -DOCSTART-, columns),
// language-modelling blocks, and the batches they give the Trainer
// (seeded shuffle, per-batch padding, labels).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';
import { mergesForWords, wordPieceJson, wordPieceVocab, byteLevelJson } from './text-fixtures.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tg-text-data-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name, text) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const VOCAB = wordPieceVocab(['good', 'bad', 'film', 'plot', 'a', 'the', ',', 'very', 'john', '##son', 'lives', 'in', 'paris', 'berlin', 'eu', '.', 'acme', 'corp', 'works', 'at']);
const tok = new tg.text.Tokenizer(wordPieceJson(VOCAB), { model_max_length: 16 });
const ids = (t) => Array.from(t.data, Number);

async function collect(source, epoch = 0) {
  const out = [];
  for await (const b of source.batches(epoch)) out.push(b);
  return out;
}

test('CSV with class names: sorted classes, quoted fields, dynamic padding', async () => {
  const path = file('reviews.csv', 'text,label\n"a good film, very good",pos\nbad plot,neg\n"the film",pos\nbad,neg\n');
  const data = await tg.text.textClassification(path, { tokenizer: tok, batchSize: 2, shuffle: false });
  assert.equal(data.classes, ['neg', 'pos']);
  assert.equal(data.records.map((r) => [r.label, r.line]), [[1, 2], [0, 3], [1, 4], [0, 5]]);
  assert.is(data.all.size, 4);
  assert.is(data.all.batchesPerEpoch, 2);
  assert.equal(data.all.classes, ['neg', 'pos']);
  const [b0, b1] = await collect(data.all);
  assert.equal(Object.keys(b0), ['input_ids', 'attention_mask', 'token_type_ids', 'labels']);
  // "a good film, very good" is 6 tokens + 2 specials; each batch pads to its own longest.
  assert.equal(b0.input_ids.shape, [2, 8]);
  assert.equal(b1.input_ids.shape, [2, 4]);
  assert.equal(ids(b0.labels), [1, 0]);
  assert.equal(ids(b0.attention_mask).slice(8), [1, 1, 1, 1, 0, 0, 0, 0]);
  assert.equal(ids(b0.input_ids).slice(8), [2, VOCAB.indexOf('bad'), VOCAB.indexOf('plot'), 3, 0, 0, 0, 0]);
});

test('JSON Lines with ids and a text pair; TSV; a JSON array', async () => {
  const jl = file('pairs.jsonl', '{"sentence1": "good film", "sentence2": "bad plot", "label": 1}\n\n{"sentence1": "the plot", "sentence2": "a film", "label": 0}\n');
  const data = await tg.text.textClassification(jl, { tokenizer: tok, shuffle: false, dtype: 'i32' });
  assert.equal(data.classes, ['0', '1']);
  const [b] = await collect(data.all);
  assert.is(b.labels.dtype, 'i32');
  assert.equal(Array.from(b.token_type_ids.data).slice(0, 7), [0, 0, 0, 0, 1, 1, 1]);
  const tsv = await tg.text.readClassificationFile(file('x.tsv', 'label\treview\npos\tgood film\nneg\tbad film\n'), { classes: ['neg', 'pos'] });
  assert.equal(tsv.records.map((r) => [r.text, r.label]), [['good film', 1], ['bad film', 0]]);
  assert.equal(tsv.columns, { text: 'review', label: 'label' });
  const arr = await tg.text.readClassificationFile(file('x.json', JSON.stringify([{ content: 'good', label: 'spam' }, { content: 'bad', label: 'ham' }])));
  assert.equal(arr.classes, ['ham', 'spam']);
  // Given classes, ids and names both map to them.
  const mixed = await tg.text.readClassificationFile(file('mixed.csv', 'text,label\ngood,1\nbad,neg\n'), { classes: ['neg', 'pos'] });
  assert.equal(mixed.records.map((r) => r.label), [1, 0]);
});

test('classification files: errors name the file and line', async () => {
  let e = await rejection(() => tg.text.readClassificationFile(file('nolabel.csv', 'text,stars\ngood,5\n')));
  assert.match(e.message, /nolabel\.csv: no label column \(looked for label, labels; columns: text, stars\)/);
  e = await rejection(() => tg.text.readClassificationFile(file('short.csv', 'text,label\ngood,pos\nbad\n')));
  assert.match(e.message, /short\.csv: line 3: 1 fields but the header has 2/);
  e = await rejection(() => tg.text.readClassificationFile(file('bad.jsonl', '{"text": "a", "label": 0}\n{"text": \n')));
  assert.match(e.message, /bad\.jsonl: line 2: not valid JSON/);
  e = await rejection(() => tg.text.readClassificationFile(file('unknown.csv', 'text,label\ngood,maybe\n'), { classes: ['neg', 'pos'] }));
  assert.match(e.message, /unknown\.csv: line 2: the label "maybe" is not among the classes \(neg, pos\)/);
  e = await rejection(() => tg.text.textClassification(join(dir, 'none.csv'), { tokenizer: tok }));
  assert.is(e.code, 'ERR_TG_IO');
  e = await rejection(() => tg.text.textClassification(join(dir, 'none.csv'), {}));
  assert.match(e.message, /tokenizer must be a Tokenizer/);
});

test('train / val: a stratified seeded split; the train order is shuffled per epoch and reproducible', async () => {
  const rows = Array.from({ length: 20 }, (_, i) => `${i % 2 ? 'good film' : 'bad plot'} ${'very '.repeat(i % 4)},${i % 2 ? 'pos' : 'neg'}`);
  const path = file('many.csv', `text,label\n${rows.join('\n')}\n`);
  const data = await tg.text.textClassification(path, { tokenizer: tok, valFraction: 0.2, seed: 3, batchSize: 4 });
  assert.is(data.train.size, 16);
  assert.is(data.val.size, 4);
  const valLabels = data.val.examples.map((e) => e.labels).sort();
  assert.equal(valLabels, [0, 0, 1, 1]);
  assert.ok(data.train.shuffle);
  assert.not.ok(data.val.shuffle);
  const again = await tg.text.textClassification(path, { tokenizer: tok, valFraction: 0.2, seed: 3, batchSize: 4 });
  assert.equal(Array.from(data.train.order(1)), Array.from(again.train.order(1)));
  assert.not.equal(Array.from(data.train.order(0)), Array.from(data.train.order(1)));
  const epoch = await collect(data.train, 1);
  assert.is(epoch.length, 4);
  assert.equal(ids(epoch[0].labels), Array.from(data.train.order(1).subarray(0, 4), (i) => data.train.examples[i].labels));
});

const CONLL_IOB1 = `-DOCSTART- -X- -X- O

John NNP B-NP I-PER
Johnson NNP I-NP I-PER
lives VBZ B-VP O
in IN B-PP O
Paris NNP B-NP I-LOC
. . O O

Acme NNP B-NP I-ORG
Corp NNP I-NP I-ORG
works VBZ B-VP O
in IN B-PP O
Berlin NNP B-NP I-LOC
Paris NNP I-NP B-LOC
. . O O
`;

test('CoNLL: -DOCSTART- skipped, IOB1 detected and converted to IOB2, tags in the last column', () => {
  const { sentences, scheme } = tg.text.parseConll(CONLL_IOB1, {}, 'train.txt');
  assert.is(scheme, 'IOB1');
  assert.is(sentences.length, 2);
  assert.equal(sentences[0].tokens, ['John', 'Johnson', 'lives', 'in', 'Paris', '.']);
  assert.equal(sentences[0].tags, ['B-PER', 'I-PER', 'O', 'O', 'B-LOC', 'O']);
  assert.equal(sentences[1].tags, ['B-ORG', 'I-ORG', 'O', 'O', 'B-LOC', 'B-LOC', 'O']);
  assert.is(sentences[1].line, 10);
  // Kept as written when asked; the chunk column when named.
  assert.equal(tg.text.parseConll(CONLL_IOB1, { toIob2: false }).sentences[0].tags.slice(0, 2), ['I-PER', 'I-PER']);
  assert.equal(tg.text.parseConll(CONLL_IOB1, { tagColumn: 2 }).sentences[0].tags[0], 'B-NP');
  assert.is(tg.text.detectScheme([['B-PER', 'I-PER', 'O']]), 'IOB2');
  assert.equal(tg.text.iob1ToIob2(['I-PER', 'I-LOC', 'I-LOC', 'B-LOC', 'O', 'I-PER']), ['B-PER', 'B-LOC', 'I-LOC', 'B-LOC', 'O', 'B-PER']);
  assert.equal(tg.text.tagNames(sentences.map((s) => s.tags)), ['O', 'B-LOC', 'B-ORG', 'I-ORG', 'B-PER', 'I-PER']);
  assert.throws(() => tg.text.parseConll('John B-PER\nParis\n', {}, 'bad.txt'), /bad\.txt: line 2: expected a token and a tag/);
  assert.throws(() => tg.text.parseConll('John PER\n', {}, 'bad.txt'), /bad\.txt: line 1: the tag "PER" is neither O nor a prefix/);
});

test('tokenClassification: sub-word labels aligned, padded with -100 per batch', async () => {
  const path = file('ner.txt', CONLL_IOB1);
  const data = await tg.text.tokenClassification(path, { tokenizer: tok, batchSize: 2, shuffle: false });
  assert.is(data.scheme, 'IOB1');
  assert.equal(data.labels, ['O', 'B-LOC', 'B-ORG', 'I-ORG', 'B-PER', 'I-PER']);
  const L = (t) => data.labels.indexOf(t);
  const [b] = await collect(data.all);
  assert.equal(b.input_ids.shape, [2, 9]);
  // [CLS] john john ##son lives in paris . [SEP] [PAD]
  assert.equal(ids(b.labels).slice(0, 9), [-100, L('B-PER'), L('I-PER'), -100, L('O'), L('O'), L('B-LOC'), L('O'), -100]);
  // acme corp works in berlin paris . → 7 tokens + 2 specials.
  assert.equal(ids(b.labels).slice(9), [-100, L('B-ORG'), L('I-ORG'), L('O'), L('O'), L('B-LOC'), L('B-LOC'), L('O'), -100]);
  // A validation file read with the training labels; an unknown tag is an error with its line.
  const val = file('val.txt', 'Paris B-LOC\nEU B-MISC\n');
  const e = await rejection(() => tg.text.tokenClassification(val, { tokenizer: tok, labels: data.labels }));
  assert.match(e.message, /val\.txt: line 2: the tag B-MISC is not among the labels/);
});

test('languageModeling: concatenated, cut into blocks, labels = inputs, no token types', async () => {
  const words = ['the', ' cat', ' sat', '\n'];
  const bpe = new tg.text.Tokenizer(byteLevelJson(mergesForWords(words)), { model_max_length: 1024 });
  const text = 'the cat sat\n'.repeat(10);
  const path = file('corpus.txt', text);
  const data = await tg.text.languageModeling(path, { tokenizer: bpe, blockSize: 8, shuffle: false });
  // 4 tokens a line ("the", " cat", " sat", "\n") × 10 = 40 → 5 blocks of 8.
  assert.is(data.tokens, 40);
  assert.is(data.all.size, 5);
  const [b] = await collect(data.all);
  assert.equal(Object.keys(b), ['input_ids', 'attention_mask', 'labels']);
  assert.equal(b.input_ids.shape, [5, 8]);
  assert.equal(ids(b.labels), ids(b.input_ids));
  assert.is(bpe.decode(Array.from(b.input_ids.data, Number)), text);
  assert.equal(tg.text.chunkIds([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4]]);
  assert.equal(tg.text.chunkIds([1, 2, 3], 8), [[1, 2, 3]]);
  const split = await tg.text.languageModeling(path, { tokenizer: bpe, blockSize: 4, valFraction: 0.2 });
  assert.is(split.train.size + split.val.size, 10);
  assert.is(split.val.size, 2);
});

test.run();
