// Tokenizers: loading a model folder (tokenizer.json, vocab.txt, vocab.json +
// merges.txt), special tokens, pairs, truncation, padding, offsets and word
// ids against hand-worked expectations, decoding, and the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';
import { EOT, mergesForWords, wordPieceVocab, writeByteLevelFolder, writeVocabFolder, writeVocabMergesFolder, writeWordPieceFolder } from './text-fixtures.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tg-text-tok-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const VOCAB = wordPieceVocab(['the', 'movie', 'was', 'great', 'bad', 'un', '##believ', '##able', '!', ',', '.', 'new', '-', 'york', 'cafe', 'is', 'in']);
const id = (t) => VOCAB.indexOf(t);
const ids = (t) => Array.from(t.data, Number);

const wp = writeWordPieceFolder(join(dir, 'wp'), VOCAB);
const txt = writeVocabFolder(join(dir, 'txt'), VOCAB);
const WORDS = ['the', ' world', ' is', ' new', ' york'];
const bpe = writeByteLevelFolder(join(dir, 'bpe'), mergesForWords(WORDS));
const slowBpe = writeVocabMergesFolder(join(dir, 'slow-bpe'), mergesForWords(WORDS));

test('a WordPiece tokenizer.json folder: special tokens, ids and model_max_length', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  assert.equal(tok.specialTokens, { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' });
  assert.is(tok.padTokenId, 0);
  assert.is(tok.clsTokenId, 2);
  assert.is(tok.sepTokenId, 3);
  assert.is(tok.modelMaxLength, 64);
  assert.is(tok.vocabSize, VOCAB.length);
  assert.ok(tok.returnsTokenTypeIds);
  assert.equal(tok.tokenize('The movie was UNBELIEVABLE!'), ['the', 'movie', 'was', 'un', '##believ', '##able', '!']);
  const enc = tok.encode('The movie was great');
  assert.equal(Object.keys(enc), ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.is(enc.input_ids.dtype, 'i64');
  assert.equal(enc.input_ids.shape, [1, 6]);
  assert.equal(ids(enc.input_ids), [id('[CLS]'), id('the'), id('movie'), id('was'), id('great'), id('[SEP]')]);
  assert.equal(ids(enc.attention_mask), [1, 1, 1, 1, 1, 1]);
  assert.equal(enc.specialTokensMask(), [1, 0, 0, 0, 0, 1]);
});

test('vocab.txt + do_lower_case builds the same tokenizer as tokenizer.json', async () => {
  const a = await tg.text.loadTokenizer(wp);
  const b = await tg.text.loadTokenizer(txt);
  const text = 'The café in New-York was unbelievable, the movie bad.';
  assert.equal(ids(b.encode(text).input_ids), ids(a.encode(text).input_ids));
  assert.equal(b.specialTokens, a.specialTokens);
  // Loading the file itself works too.
  const c = await tg.text.loadTokenizer(join(txt, 'vocab.txt'));
  assert.equal(c.tokenize('UNBELIEVABLE'), ['un', '##believ', '##able']);
  // do_lower_case false keeps the case, so capitalised words are unknown.
  const cased = writeVocabFolder(join(dir, 'cased'), VOCAB, { do_lower_case: false });
  assert.equal((await tg.text.loadTokenizer(cased)).tokenize('The movie'), ['[UNK]', 'movie']);
});

test('offsets and word ids of raw text', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  const text = 'The movie was UNBELIEVABLE! Café xyz, New-York';
  const enc = tok.encode(text, { returnOffsets: true });
  assert.equal(enc.tokens(), ['[CLS]', 'the', 'movie', 'was', 'un', '##believ', '##able', '!', 'cafe', '[UNK]', ',', 'new', '-', 'york', '[SEP]']);
  assert.equal(
    enc.offsets().map(([a, b]) => text.slice(a, b)),
    ['', 'The', 'movie', 'was', 'UN', 'BELIEV', 'ABLE', '!', 'Café', 'xyz', ',', 'New', '-', 'York', ''],
  );
  assert.equal(enc.offsets()[0], [0, 0]);
  // Words are the pre-tokenizer's: punctuation stands alone.
  assert.equal(enc.wordIds(), [null, 0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, null]);
  assert.equal(enc.sequenceIds(), [null, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null]);
  // Without returnOffsets the spans are empty, word ids still there.
  const plain = tok.encode(text);
  assert.equal(plain.offsets()[1], [0, 0]);
  assert.is(plain.wordIds()[4], 3);
});

test('pre-split words: word ids are the word indices, offsets within each word', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  const enc = tok.encode(['New-York', 'was', 'unbelievable', 'xyz'], { isSplitIntoWords: true, returnOffsets: true });
  assert.equal(enc.tokens(), ['[CLS]', 'new', '-', 'york', 'was', 'un', '##believ', '##able', '[UNK]', '[SEP]']);
  assert.equal(enc.wordIds(), [null, 0, 0, 0, 1, 2, 2, 2, 3, null]);
  assert.equal(enc.offsets(), [[0, 0], [0, 3], [3, 4], [4, 8], [0, 3], [0, 2], [2, 8], [8, 12], [0, 3], [0, 0]]);
});

test('text pairs: template, token type ids, longest_first / only_first truncation', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  const enc = tok.encode('the movie', { textPair: 'was bad' });
  assert.equal(enc.tokens(), ['[CLS]', 'the', 'movie', '[SEP]', 'was', 'bad', '[SEP]']);
  assert.equal(ids(enc.token_type_ids), [0, 0, 0, 0, 1, 1, 1]);
  assert.equal(enc.sequenceIds(), [null, 0, 0, null, 1, 1, null]);
  assert.is(tok.numSpecialTokensToAdd(true), 3);

  const long = 'the movie was great the movie was great';
  // 8 + 2 tokens into 9 - 3 = 6: the longer text gives up tokens first.
  const cut = tok.encode(long, { textPair: 'was bad', truncation: true, maxLength: 9 });
  assert.equal(cut.tokens(), ['[CLS]', 'the', 'movie', 'was', 'great', '[SEP]', 'was', 'bad', '[SEP]']);
  const first = tok.encode('the movie', { textPair: long, truncation: 'only_second', maxLength: 8 });
  assert.equal(first.tokens(), ['[CLS]', 'the', 'movie', '[SEP]', 'the', 'movie', 'was', '[SEP]']);
  // Single texts: maxLength counts the special tokens; the default is model_max_length.
  assert.equal(tok.encode(long, { truncation: true, maxLength: 4 }).tokens(), ['[CLS]', 'the', 'movie', '[SEP]']);
  assert.is(tok.encode(Array(100).fill('the').join(' '), { truncation: true }).input_ids.shape[1], 64);
  assert.is(tok.encode(Array(100).fill('the').join(' ')).input_ids.shape[1], 102);
});

test('encodeBatch pads to the longest, to max_length, to a multiple, on either side', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  const texts = ['the movie', 'the movie was great', 'bad'];
  const b = tok.encodeBatch(texts);
  assert.equal(b.input_ids.shape, [3, 6]);
  assert.is(b.length, 3);
  assert.equal(ids(b.input_ids).slice(0, 6), [2, id('the'), id('movie'), 3, 0, 0]);
  assert.equal(ids(b.attention_mask).slice(0, 6), [1, 1, 1, 1, 0, 0]);
  assert.equal(b.wordIds(0), [null, 0, 1, null, null, null]);
  assert.equal(tok.encodeBatch(texts, { padding: 'max_length', maxLength: 10 }).input_ids.shape, [3, 10]);
  assert.equal(tok.encodeBatch(texts, { padToMultipleOf: 8 }).input_ids.shape, [3, 8]);
  const left = tok.encodeBatch(texts, { paddingSide: 'left', dtype: 'i32' });
  assert.is(left.input_ids.dtype, 'i32');
  assert.equal(Array.from(left.input_ids.data).slice(12, 18), [0, 0, 0, 2, id('bad'), 3]);
  assert.equal(ids(left.attention_mask).slice(12, 18), [0, 0, 0, 1, 1, 1]);
  const pairs = tok.encodeBatch(['the', 'bad'], { pairs: ['movie', 'movie was'] });
  assert.equal(ids(pairs.token_type_ids), [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
  // Unpadded rows of different lengths cannot be a tensor.
  assert.throws(() => tok.encodeBatch(texts, { padding: false }), /rows of one length/);
});

test('decode: special tokens kept or skipped, WordPiece pieces joined', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  const enc = tok.encode('The movie was unbelievable!');
  assert.is(tok.decode(enc.input_ids), '[CLS] the movie was unbelievable! [SEP]');
  assert.is(tok.decode(enc.input_ids, { skipSpecialTokens: true }), 'the movie was unbelievable!');
  assert.is(tok.decode([]), '');
  assert.equal(tok.decodeBatch(tok.encodeBatch(['the movie', 'bad']).input_ids, { skipSpecialTokens: true }), ['the movie', 'bad']);
  assert.throws(() => tok.decode([1, 999]), /ids\[1\] must be a token id in \[0, \d+\], got 999/);
});

test('byte-level BPE: no token type ids, pad falls back to <|endoftext|>, exact offsets', async () => {
  const tok = await tg.text.loadTokenizer(bpe);
  assert.ok(tok.byteLevel);
  assert.not.ok(tok.returnsTokenTypeIds);
  assert.equal(tok.specialTokens, { bos: EOT, eos: EOT });
  assert.is(tok.paddingId, tok.eosTokenId);
  assert.is(tok.numSpecialTokensToAdd(), 0);
  const text = 'the world is théâtre 日本<|endoftext|> new york';
  const enc = tok.encode(text, { returnOffsets: true });
  assert.equal(Object.keys(enc), ['input_ids', 'attention_mask']);
  const tokens = enc.tokens();
  assert.equal(tokens.slice(0, 3), ['the', 'Ġworld', 'Ġis']);
  assert.ok(tokens.includes(EOT));
  const pieces = enc.offsets().map(([a, b]) => text.slice(a, b));
  assert.equal(pieces.slice(0, 3), ['the', 'world', 'is']);
  // é is two bytes, two tokens, both spanning the one character.
  const e = tokens.indexOf('Ã');
  assert.equal(pieces.slice(e, e + 2), ['é', 'é']);
  assert.equal(pieces.slice(-3), [EOT, 'new', 'york']);
  assert.is(tok.decode(enc.input_ids), text);
  assert.is(tok.decode(enc.input_ids, { skipSpecialTokens: true }), 'the world is théâtre 日本 new york');
  // Pre-split words get the space that marks a word start in byte-level BPE.
  const words = tok.encode(['the', 'world', 'is'], { isSplitIntoWords: true });
  assert.equal(words.tokens(), ['the', 'Ġworld', 'Ġis']);
  assert.equal(words.wordIds(), [0, 1, 2]);
});

test('vocab.json + merges.txt builds the same byte-level tokenizer', async () => {
  const a = await tg.text.loadTokenizer(bpe);
  const b = await tg.text.loadTokenizer(slowBpe);
  const text = 'the world is new york, isn\'t it?';
  assert.equal(ids(b.encode(text).input_ids), ids(a.encode(text).input_ids));
  assert.is(b.eosTokenId, a.eosTokenId);
});

test('a BatchEncoding is a feed record: only its tensors are enumerable', async () => {
  const tok = await tg.text.loadTokenizer(wp);
  const b = tok.encodeBatch(['the movie']);
  assert.equal(Object.keys({ ...b }), ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.ok(b.input_ids instanceof tg.Tensor);
  // .feeds is the same record as a plain object, for TypeScript callers.
  assert.equal(Object.keys(b.feeds), ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.is(b.feeds.input_ids, b.input_ids);
  const noTypes = tok.encodeBatch(['the movie'], { returnTokenTypeIds: false });
  assert.not.ok('token_type_ids' in noTypes);
});

test('errors name the file and the problem', async () => {
  assert.match((await rejection(() => tg.text.loadTokenizer(join(dir, 'missing')))).message, /cannot read .*missing/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  assert.match((await rejection(() => tg.text.loadTokenizer(empty))).message, /has no tokenizer\.json, vocab\.txt, or vocab\.json with merges\.txt/);
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'tokenizer.json'), '{"model": ');
  const err = await rejection(() => tg.text.loadTokenizer(bad));
  assert.is(err.code, 'ERR_TG_FORMAT');
  assert.ok(err.message.includes(join(bad, 'tokenizer.json')), err.message);
  const tok = await tg.text.loadTokenizer(wp);
  assert.throws(() => tok.encode(42), /text must be a string/);
  assert.throws(() => tok.encode('the', { padding: 'sideways' }), /padding must be 'longest', 'max_length', true or false/);
  assert.throws(() => tok.encode('the movie', { truncation: true, maxLength: 1 }), /leaves no room for the 2 special tokens/);
});

test.run();
