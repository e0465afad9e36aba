// Tokenizers from Hugging Face model folders. A folder without
// tokenizer.json is read the way transformers builds a fast tokenizer from
// the slow one's files: vocab.txt (+ tokenizer_config.json's do_lower_case)
// is BERT's WordPiece, vocab.json + merges.txt GPT-2's byte-level BPE.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { invalid, tgError } from '../errors.js';
import { isObject, tokenText, Tokenizer, type Json, type TokenizerConfig } from './tokenizer.js';

/** A WordPiece tokenizer from a vocabulary (vocab.txt's lines, in order), as BertTokenizerFast builds it. */
export function wordPieceTokenizer(vocab: string[], config: TokenizerConfig = {}, source = 'vocab.txt'): Tokenizer {
  return new Tokenizer(wordPieceJson(vocab, config, source), config, source);
}

/** tokenizer.json for BERT's WordPiece, as transformers' converter writes it. */
function wordPieceJson(vocab: string[], config: TokenizerConfig, source: string): Json {
  if (!Array.isArray(vocab) || !vocab.length) throw invalid('ERR_TG_FORMAT', 'text.wordPieceTokenizer', source, 'a non-empty list of tokens', vocab);
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => {
    if (!(t in ids)) ids[t] = i;
  });
  const token = (name: string, fallback: string) => tokenText(config[`${name}_token`]) ?? fallback;
  const [cls, sep, unk, pad, mask] = [token('cls', '[CLS]'), token('sep', '[SEP]'), token('unk', '[UNK]'), token('pad', '[PAD]'), token('mask', '[MASK]')];
  for (const t of [cls, sep, unk]) {
    if (!(t in ids)) throw tgError('ERR_TG_FORMAT', `${source}: the special token ${t} is not in the vocabulary`);
  }
  const lowercase = config.do_lower_case ?? true;
  return {
    added_tokens: [pad, unk, cls, sep, mask]
      .filter((t) => t in ids)
      .map((t) => ({ id: ids[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {},
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

/** tokenizer.json for GPT-2's byte-level BPE from vocab.json and merges.txt. */
function byteLevelBpeJson(vocab: Record<string, number>, merges: string[], config: TokenizerConfig): Json {
  const prefix = config.add_prefix_space ?? false;
  const specials = ['<|endoftext|>', ...['bos', 'eos', 'unk', 'pad'].map((n) => tokenText(config[`${n}_token`]))].filter(
    (t, i, all): t is string => t !== undefined && t in vocab && all.indexOf(t) === i,
  );
  const level = { type: 'ByteLevel', add_prefix_space: prefix, trim_offsets: true, use_regex: true };
  return {
    added_tokens: specials.map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: level,
    post_processor: { ...level, trim_offsets: false },
    decoder: level,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read ${path}: ${(err as Error).message}`);
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await readText(path);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** tokenizer_config.json with special_tokens_map.json under it, from a model folder. */
async function readConfig(folder: string): Promise<TokenizerConfig> {
  const config: TokenizerConfig = {};
  for (const name of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const path = join(folder, name);
    if (!(await exists(path))) continue;
    const value = await readJson(path);
    if (!isObject(value)) throw tgError('ERR_TG_FORMAT', `${path}: expected a JSON object`);
    Object.assign(config, value);
  }
  return config;
}

/**
 * A tokenizer from a Hugging Face model folder (tokenizer.json, else
 * vocab.txt, else vocab.json + merges.txt; tokenizer_config.json and
 * special_tokens_map.json when present), or from one of those files.
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  const where = 'text.loadTokenizer';
  if (typeof path !== 'string' || !path) throw invalid('ERR_TG_ARG', where, 'path', 'a model folder or a tokenizer file', path);
  const info = await stat(path).catch((err: Error) => {
    throw tgError('ERR_TG_IO', `${where}: cannot read ${path}: ${err.message}`);
  });
  const folder = info.isDirectory() ? path : dirname(path);
  const config = await readConfig(folder);
  const file = info.isDirectory() ? undefined : basename(path);
  const tokenizerJson = join(folder, 'tokenizer.json');
  if (file ? file.endsWith('.json') && file !== 'vocab.json' : await exists(tokenizerJson)) {
    const jsonPath = file ? path : tokenizerJson;
    return new Tokenizer(await readJson(jsonPath), config, jsonPath);
  }
  const vocabTxt = join(folder, 'vocab.txt');
  if (file ? file.endsWith('.txt') : await exists(vocabTxt)) {
    const txtPath = file ? path : vocabTxt;
    const lines = (await readText(txtPath)).split('\n');
    if (lines.at(-1) === '') lines.pop();
    return wordPieceTokenizer(
      lines.map((l) => l.replace(/\r$/, '')),
      config,
      txtPath,
    );
  }
  const vocabJson = join(folder, 'vocab.json');
  const mergesTxt = join(folder, 'merges.txt');
  if ((await exists(vocabJson)) && (await exists(mergesTxt))) {
    const vocab = await readJson(vocabJson);
    if (!isObject(vocab) || !Object.values(vocab).every((v) => Number.isSafeInteger(v))) {
      throw tgError('ERR_TG_FORMAT', `${vocabJson}: expected an object of token → id`);
    }
    const merges = (await readText(mergesTxt))
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l, i) => l !== '' && !(i === 0 && l.startsWith('#version')));
    return new Tokenizer(byteLevelBpeJson(vocab as Record<string, number>, merges, config), config, vocabJson);
  }
  throw tgError('ERR_TG_IO', `${where}: ${path} has no tokenizer.json, vocab.txt, or vocab.json with merges.txt`);
}
