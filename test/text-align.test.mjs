// Word labels onto sub-word tokens (tokenize_and_align_labels) and back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { wordPieceVocab, wordPieceJson } from './text-fixtures.mjs';

const VOCAB = wordPieceVocab(['john', '##son', 'lives', 'in', 'new', 'york', '.', 'un', '##believ', '##able']);
const tok = new tg.text.Tokenizer(wordPieceJson(VOCAB), { model_max_length: 32 });
const LABELS = ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER'];

test('the first token of each word takes its label; other tokens and specials get -100', () => {
  const words = ['Johnson', 'lives', 'in', 'New', 'York', '.'];
  const tags = [3, 0, 0, 1, 2, 0];
  const enc = tok.encode(words, { isSplitIntoWords: true });
  assert.equal(enc.tokens(), ['[CLS]', 'john', '##son', 'lives', 'in', 'new', 'york', '.', '[SEP]']);
  assert.equal(tg.text.alignLabels(enc.wordIds(), tags), [-100, 3, -100, 0, 0, 1, 2, 0, -100]);
  // labelAllTokens with B→I for the later pieces, as run_ner.py's b_to_i_label.
  const continuation = tg.text.beginToInside(LABELS);
  assert.equal(continuation, [0, 2, 2, 4, 4]);
  assert.equal(tg.text.alignLabels(enc.wordIds(), tags, { labelAllTokens: true, continuation }), [-100, 3, 4, 0, 0, 1, 2, 0, -100]);
});

test('a batch: labels padded with -100 to the batch length, in the ids dtype', () => {
  const batch = tok.encodeBatch([['Johnson'], ['New', 'York', '.']], { isSplitIntoWords: true, dtype: 'i32' });
  const labels = tg.text.alignBatchLabels(batch, [[3], [1, 2, 0]]);
  assert.is(labels.dtype, 'i32');
  assert.equal(labels.shape, [2, 5]);
  assert.equal(Array.from(labels.data), [-100, 3, -100, -100, -100, -100, 1, 2, 0, -100]);
  assert.throws(() => tg.text.alignBatchLabels(batch, [[3]]), /one label list per text \(2\)/);
});

test('truncation drops the labels of cut words; wordValues reads predictions back per word', () => {
  const words = ['unbelievable', 'Johnson', 'lives'];
  const enc = tok.encode(words, { isSplitIntoWords: true, truncation: true, maxLength: 5 });
  assert.equal(enc.tokens(), ['[CLS]', 'un', '##believ', '##able', '[SEP]']);
  assert.equal(tg.text.alignLabels(enc.wordIds(), [0, 3, 0]), [-100, 0, -100, -100, -100]);
  // Predictions per token → per word (first token), words cut off get the filler.
  assert.equal(tg.text.wordValues(enc.wordIds(), [9, 1, 7, 7, 9], 3, 'cut'), [1, 'cut', 'cut']);
  const full = tok.encode(words, { isSplitIntoWords: true });
  assert.equal(tg.text.wordValues(full.wordIds(), ['x', 'O', 'y', 'y', 'B-PER', 'z', 'O', 'x'], 3, 'O'), ['O', 'B-PER', 'O']);
  assert.throws(() => tg.text.alignLabels(full.wordIds(), [0]), /belongs to word 1 but there are labels for 1 words/);
});

test.run();
