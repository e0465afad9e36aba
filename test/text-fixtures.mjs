// Small tokenizers written by the tests themselves: a BERT-style WordPiece
// (as tokenizer.json, and as vocab.txt + tokenizer_config.json) and a
// GPT-2-style byte-level BPE (as tokenizer.json, and as vocab.json +
// merges.txt), with vocabularies made for the sentences the tests use.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tg from 'tensorgraft';

export const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Specials first (ids 0..4), then the given tokens, in order. */
export function wordPieceVocab(tokens) {
  return [...SPECIALS, ...tokens.filter((t, i) => tokens.indexOf(t) === i && !SPECIALS.includes(t))];
}

/** tokenizer.json as transformers' BertTokenizerFast writes it, for a vocabulary list. */
export function wordPieceJson(vocab, { lowercase = true } = {}) {
  const ids = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const special = (id) => ({ SpecialToken: { id, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t) => ({ id: ids[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [ids[t]], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

/** A model folder with tokenizer.json and tokenizer_config.json. */
export function writeWordPieceFolder(dir, vocab, config = { do_lower_case: true, model_max_length: 64 }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordPieceJson(vocab, { lowercase: config.do_lower_case ?? true })));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

/** A model folder with only vocab.txt and tokenizer_config.json (a slow BERT tokenizer's files). */
export function writeVocabFolder(dir, vocab, config = { do_lower_case: true, model_max_length: 64 }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

export const EOT = '<|endoftext|>';

/**
 * GPT-2-style byte-level BPE: the 256 byte characters, then one token per
 * merge (merges given as pairs of byte-level strings, 'Ġ' standing for a
 * space), then <|endoftext|>.
 */
export function byteLevelVocab(merges) {
  const charOf = new Map([...tg.text.byteDecoder()].map(([ch, b]) => [b, ch]));
  const vocab = {};
  let id = 0;
  for (let b = 0; b < 256; b++) vocab[charOf.get(b)] = id++;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = id++;
  vocab[EOT] = id++;
  return vocab;
}

/** Merges that spell each word (with its leading space) as one token, left to right. */
export function mergesForWords(words) {
  const merges = [];
  const seen = new Set();
  for (const w of words) {
    const chars = [...w.replace(/ /g, 'Ġ')];
    let acc = chars[0];
    for (const ch of chars.slice(1)) {
      const key = `${acc} ${ch}`;
      if (!seen.has(key)) {
        seen.add(key);
        merges.push([acc, ch]);
      }
      acc += ch;
    }
  }
  return merges;
}

export function byteLevelJson(merges) {
  const vocab = byteLevelVocab(merges);
  const level = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: vocab[EOT], content: EOT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: level,
    post_processor: { ...level, trim_offsets: false },
    decoder: level,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map((m) => m.join(' ')) },
  };
}

export function writeByteLevelFolder(dir, merges, config = { model_max_length: 1024 }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelJson(merges)));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

/** The same tokenizer as GPT-2's slow files: vocab.json and merges.txt. */
export function writeVocabMergesFolder(dir, merges) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(byteLevelVocab(merges)));
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${merges.map((m) => m.join(' ')).join('\n')}\n`);
  return dir;
}

// ---- generated task data and tiny "pretrained" model folders ----

/** mulberry32, as test/helpers.mjs's rng (kept here so fixtures stand alone). */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = ['the movie', 'this film', 'the plot', 'the acting', 'the story', 'the ending', 'the cast', 'this show'];
const VERBS = ['was', 'is', 'felt', 'seemed'];
const ADVERBS = ['really', 'very', 'quite', 'so', ''];
const POSITIVE = ['great', 'wonderful', 'excellent', 'brilliant', 'good', 'amazing', 'delightful'];
const NEGATIVE = ['terrible', 'awful', 'boring', 'bad', 'dreadful', 'poor', 'dull'];

/** Review-like sentences labelled positive / negative by their adjective, as [text, label] rows. */
export function sentimentRows(n, seed) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  return Array.from({ length: n }, () => {
    const positive = r() < 0.5;
    const adverb = pick(ADVERBS);
    let s = `${pick(SUBJECTS)} ${pick(VERBS)} ${adverb ? `${adverb} ` : ''}${pick(positive ? POSITIVE : NEGATIVE)}`;
    if (r() < 0.3) s = `i thought ${s}`;
    s += pick(['.', '!', '']);
    return [s[0].toUpperCase() + s.slice(1), positive ? 'positive' : 'negative'];
  });
}

export function sentimentCsv(rows) {
  return `text,label\n${rows.map(([t, l]) => `"${t}",${l}`).join('\n')}\n`;
}

const FIRST = ['John', 'Mary', 'Ahmed', 'Yuki', 'Carlos', 'Anna', 'Jordan'];
const LAST = ['Smith', 'Johnson', 'Garcia', 'Tanaka', 'Washington', 'Okafor'];
const PLACES = ['Paris', 'Berlin', 'New York', 'Tokyo', 'Cairo', 'Lima', 'Jordan', 'Washington'];
const ORGS = ['Acme Corp', 'Globex', 'United Bank', 'Initech', 'Red Cross'];
const TEMPLATES = [
  '{PER} lives in {LOC} .',
  '{PER} works for {ORG} .',
  '{ORG} opened an office in {LOC} .',
  'Yesterday {PER} met {PER} in {LOC} .',
  '{PER} , a manager at {ORG} , visited {LOC} .',
  'The {ORG} report was published on Monday .',
  'It rained in {LOC} on Monday .',
];

/**
 * Sentences with persons, places and organisations (Jordan and Washington
 * are both names and places: context decides), as CoNLL text: word, a POS
 * column, the tag; IOB1 (CoNLL-2003's own scheme) or IOB2.
 */
export function nerConll(n, seed, { iob1 = false } = {}) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const lines = ['-DOCSTART- -X- -X- O', ''];
  for (let i = 0; i < n; i++) {
    const words = [];
    const tags = [];
    for (const part of pick(TEMPLATES).split(' ')) {
      const m = /^\{(\w+)\}$/.exec(part);
      if (!m) {
        words.push(part);
        tags.push('O');
        continue;
      }
      const entity = m[1] === 'PER' ? (r() < 0.5 ? pick(FIRST) : `${pick(FIRST)} ${pick(LAST)}`) : pick(m[1] === 'LOC' ? PLACES : ORGS);
      entity.split(' ').forEach((w, k) => {
        words.push(w);
        tags.push(`${k ? 'I' : 'B'}-${m[1]}`);
      });
    }
    // IOB1: an entity starts with I- unless it follows one of its own type.
    const written = iob1 ? tags.map((t, k) => (t.startsWith('B-') && !(k > 0 && tags[k - 1].slice(2) === t.slice(2)) ? `I-${t.slice(2)}` : t)) : tags;
    words.forEach((w, k) => lines.push(`${w} NNP ${written[k]}`));
    lines.push('');
  }
  return lines.join('\n');
}

/** WordPiece pieces for both generated tasks; some words split (brill ##iant, john ##son, ok ##af ##or). */
export const TASK_VOCAB = wordPieceVocab([
  'the', 'movie', 'this', 'film', 'plot', 'acting', 'story', 'ending', 'cast', 'show', ...VERBS, 'really', 'very', 'quite', 'so',
  'great', 'wonderful', 'excellent', 'brill', '##iant', 'good', 'amazing', 'delight', '##ful', 'terrible', 'awful', 'boring', 'bad', 'dread',
  'poor', 'dull', '.', '!', 'i', 'thought', 'it',
  'john', 'mary', 'ahmed', 'yuki', 'carlos', 'anna', 'jordan', 'smith', '##son', 'garcia', 'tanaka', 'washington', 'ok', '##af', '##or',
  'paris', 'berlin', 'new', 'york', 'tokyo', 'cairo', 'lima', 'acme', 'corp', 'glob', '##ex', 'united', 'bank', 'init', '##ech', 'red', 'cross',
  'lives', 'in', 'works', 'for', 'opened', 'an', 'office', 'yesterday', 'met', ',', 'a', 'manager', 'at', 'visited', 'report', 'published',
  'on', 'monday', 'rained',
]);

/** The tiny BERT every text fine-tune test starts from: hidden 32, 2 layers, 2 heads. */
export const TINY_BERT = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 };

/**
 * A Hugging Face BERT folder: config.json, model.safetensors (a freshly
 * initialised BertModel, saved the way the Hub's base checkpoints are) and the
 * tokenizer files. Stands in for bert-base-uncased.
 */
export async function writeTinyBertFolder(dir, { vocab = TASK_VOCAB, seed = 0 } = {}) {
  writeWordPieceFolder(dir, vocab, { do_lower_case: true, model_max_length: TINY_BERT.max_position_embeddings });
  const config = { model_type: 'bert', architectures: ['BertModel'], vocab_size: vocab.length, type_vocab_size: 2, hidden_act: 'gelu', ...TINY_BERT };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  tg.manualSeed(seed);
  const base = tg.models.bert({
    vocabSize: vocab.length,
    hiddenSize: TINY_BERT.hidden_size,
    numHiddenLayers: TINY_BERT.num_hidden_layers,
    numAttentionHeads: TINY_BERT.num_attention_heads,
    intermediateSize: TINY_BERT.intermediate_size,
    maxPositionEmbeddings: TINY_BERT.max_position_embeddings,
  });
  await base.save(join(dir, 'model.safetensors'));
  return dir;
}

/** A GPT-2 folder: byte-level tokenizer with merges for `words`, a tiny GPT2LMHeadModel (hidden 32, 2 layers, 2 heads). */
export async function writeTinyGpt2Folder(dir, words, { seed = 0, positions = 64 } = {}) {
  const merges = mergesForWords(words);
  writeByteLevelFolder(dir, merges, { model_max_length: positions });
  const vocab = byteLevelVocab(merges);
  const vocabSize = Object.keys(vocab).length;
  const eos = vocab[EOT];
  const config = {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: vocabSize, n_positions: positions, n_embd: 32, n_layer: 2, n_head: 2,
    bos_token_id: eos, eos_token_id: eos,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  tg.manualSeed(seed);
  const lm = tg.models.gpt2({ vocabSize, nPositions: positions, nEmbd: 32, nLayer: 2, nHead: 2, bosTokenId: eos, eosTokenId: eos });
  await lm.save(join(dir, 'model.safetensors'));
  return dir;
}
