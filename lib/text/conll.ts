// CoNLL-2003-style named-entity files: one token per line, its columns
// separated by spaces or tabs (word, part of speech, chunk, entity tag...),
// the entity tag in the last column, a blank line between sentences, and
// -DOCSTART- lines between documents (skipped).
//
// The original CoNLL-2003 files use IOB1 (an entity starts with I-X; B-X
// only where two entities of one type touch); Hugging Face's copy and most
// models use IOB2 (every entity starts with B-X). Files are read in either
// and converted to IOB2 unless told not to.
import { readFile } from 'node:fs/promises';
import { invalid, tgError } from '../errors.js';

export interface ConllSentence {
  tokens: string[];
  tags: string[];
  /** The line of its first token (1-based), for messages. */
  line: number;
}

export type TagScheme = 'IOB1' | 'IOB2';

export interface ConllOptions {
  /** The column of the tag (0-based; negative counts from the end); default -1, the last. */
  tagColumn?: number;
  /** The column of the token; default 0. */
  tokenColumn?: number;
  /** The file's scheme; default 'auto' (IOB1 if any entity starts with I-, else IOB2). */
  scheme?: TagScheme | 'auto';
  /** Convert IOB1 to IOB2; default true. */
  toIob2?: boolean;
}

export interface ConllData {
  sentences: ConllSentence[];
  /** The scheme the file was written in (before any conversion). */
  scheme: TagScheme;
}

const typeOf = (tag: string) => tag.slice(2);

/** Whether an I- tag at position i starts an entity (no B-X or I-X of its type before it). */
function startsWithInside(tags: readonly string[], i: number): boolean {
  const tag = tags[i];
  if (!tag.startsWith('I-')) return false;
  const prev = i > 0 ? tags[i - 1] : 'O';
  return !((prev.startsWith('B-') || prev.startsWith('I-')) && typeOf(prev) === typeOf(tag));
}

/** IOB1 if some entity starts with I-X (which IOB2 never has), else IOB2. */
export function detectScheme(sequences: ReadonlyArray<readonly string[]>): TagScheme {
  for (const tags of sequences) for (let i = 0; i < tags.length; i++) if (startsWithInside(tags, i)) return 'IOB1';
  return 'IOB2';
}

/** IOB1 → IOB2: an I-X that starts an entity becomes B-X; everything else stays. */
export function iob1ToIob2(tags: readonly string[]): string[] {
  return tags.map((tag, i) => (startsWithInside(tags, i) ? `B-${typeOf(tag)}` : tag));
}

/** Parses the text of a CoNLL file; `file` names it in messages. */
export function parseConll(text: string, options: ConllOptions = {}, file = 'CoNLL data'): ConllData {
  const where = 'text.parseConll';
  if (typeof text !== 'string') throw invalid('ERR_TG_ARG', where, 'text', 'the text of a CoNLL file', text);
  const tagColumn = options.tagColumn ?? -1;
  const tokenColumn = options.tokenColumn ?? 0;
  for (const [name, v] of [['tagColumn', tagColumn], ['tokenColumn', tokenColumn]] as const) {
    if (!Number.isSafeInteger(v)) throw invalid('ERR_TG_ARG', where, name, 'an integer', v);
  }
  const sentences: ConllSentence[] = [];
  let current: ConllSentence | undefined;
  const end = () => {
    if (current) sentences.push(current);
    current = undefined;
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const lineNo = i + 1;
    if (line.trim() === '') {
      end();
      return;
    }
    const cols = line.trim().split(/[ \t]+/);
    if (cols[0] === '-DOCSTART-') {
      end();
      return;
    }
    const at = (c: number) => cols[c < 0 ? cols.length + c : c];
    const token = at(tokenColumn);
    const tag = at(tagColumn);
    if (cols.length < 2 || token === undefined || tag === undefined) {
      throw tgError('ERR_TG_FORMAT', `${file}: line ${lineNo}: expected a token and a tag separated by spaces or tabs, got ${JSON.stringify(line)}`);
    }
    if (!(tag === 'O' || /^[BIESLU]-./.test(tag))) {
      throw tgError('ERR_TG_FORMAT', `${file}: line ${lineNo}: the tag ${JSON.stringify(tag)} is neither O nor a prefix (B-, I-, E-, S-, L-, U-) and a type`);
    }
    current ??= { tokens: [], tags: [], line: lineNo };
    current.tokens.push(token);
    current.tags.push(tag);
  });
  end();
  const given = options.scheme ?? 'auto';
  if (!['auto', 'IOB1', 'IOB2'].includes(given)) throw invalid('ERR_TG_ARG', where, 'scheme', "'auto', 'IOB1' or 'IOB2'", given);
  const scheme = given === 'auto' ? detectScheme(sentences.map((s) => s.tags)) : (given as TagScheme);
  if (scheme === 'IOB1' && (options.toIob2 ?? true)) for (const s of sentences) s.tags = iob1ToIob2(s.tags);
  return { sentences, scheme };
}

/** Reads a CoNLL file (see parseConll). */
export async function readConll(path: string, options: ConllOptions = {}): Promise<ConllData> {
  if (typeof path !== 'string' || !path) throw invalid('ERR_TG_ARG', 'text.readConll', 'path', 'a file path', path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseConll(text, options, path);
}

/** Tag names in a stable order: O first, then by entity type (sorted), B before I (then E, S, L, U). */
export function tagNames(sequences: ReadonlyArray<readonly string[]>): string[] {
  const set = new Set<string>();
  for (const s of sequences) for (const t of s) set.add(t);
  const rank = (t: string) => 'BIESLU'.indexOf(t[0]);
  return [...set].sort((a, b) => {
    if (a === 'O' || b === 'O') return a === 'O' ? (b === 'O' ? 0 : -1) : 1;
    const ta = a.slice(2);
    const tb = b.slice(2);
    if (ta !== tb) return ta < tb ? -1 : 1;
    return rank(a) - rank(b);
  });
}
