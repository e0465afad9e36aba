// Character offsets of tokens in the text they came from. @huggingface/tokenizers
// (the JS port) gives tokens but not their offsets, so they are recovered here
// by walking the text and the tokens side by side:
//
// - byte-level BPE (GPT-2, RoBERTa) is lossless: the tokens' bytes are the
//   text's UTF-8 bytes, give or take the prefix space the pre-tokenizer adds,
//   so the walk is exact;
// - other models (WordPiece, Metaspace/Unigram) lose case, accents and
//   whitespace, so both sides are folded (NFKD, marks dropped, lower case)
//   before comparing; a token that cannot be placed gets an empty span where
//   the walk stands and the walk resynchronises on the next one.
//
// Offsets never include surrounding whitespace (the tokenizers library's
// trim_offsets), which is what span-level tasks (NER, QA) want.

/** [start, end) in UTF-16 code units of the source text, as String.prototype.slice takes them. */
export type Span = [number, number];

/** How to read a tokenizer's tokens back into text. */
export interface SurfaceRules {
  /** Tokens are GPT-2's printable stand-ins for bytes. */
  byteLevel: boolean;
  /** WordPiece's continuing-subword prefix ('##'). */
  continuingPrefix?: string;
  /** BPE's end-of-word suffix ('</w>'). */
  endOfWordSuffix?: string;
  /** The unknown token, which stands for a whole word. */
  unkToken?: string;
  /** Added tokens (special or not): matched literally. */
  addedTokens: ReadonlySet<string>;
}

let byteTable: Map<string, number> | undefined;

/**
 * GPT-2's map from the printable character standing for each byte back to the
 * byte: printable Latin-1 bytes stand for themselves, the other 68 bytes for
 * U+0100 onwards, in byte order.
 */
export function byteDecoder(): Map<string, number> {
  if (byteTable) return byteTable;
  const table = new Map<string, number>();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  for (let b = 0; b < 256; b++) table.set(String.fromCodePoint(printable(b) ? b : next++), b);
  byteTable = table;
  return table;
}

const encoder = new TextEncoder();

function isSpaceByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
}

/** The bytes a byte-level token stands for; undefined when it is not made of byte characters. */
function tokenBytes(token: string): number[] | undefined {
  const table = byteDecoder();
  const out: number[] = [];
  for (const ch of token) {
    const b = table.get(ch);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}

function byteLevelOffsets(text: string, tokens: string[], rules: SurfaceRules): Span[] {
  const bytes = encoder.encode(text);
  // The UTF-16 index at which each byte's character starts and ends.
  const charStart = new Int32Array(bytes.length + 1);
  const charEnd = new Int32Array(bytes.length + 1);
  let b = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k++, b++) {
      charStart[b] = i;
      charEnd[b] = i + units;
    }
    i += units;
  }
  charStart[bytes.length] = text.length;
  charEnd[bytes.length] = text.length;

  let cursor = 0;
  return tokens.map((token): Span => {
    const want = rules.addedTokens.has(token) ? Array.from(encoder.encode(token)) : tokenBytes(token);
    const here = charStart[cursor];
    if (!want) return [here, here];
    let j = cursor;
    let first = -1;
    let last = -1;
    let k = 0;
    while (k < want.length) {
      if (j < bytes.length && bytes[j] === want[k]) {
        if (!isSpaceByte(want[k])) {
          if (first < 0) first = j;
          last = j;
        }
        j++;
        k++;
      } else if (isSpaceByte(want[k])) {
        k++; // the prefix space the pre-tokenizer added
      } else if (j < bytes.length && isSpaceByte(bytes[j]) && first < 0) {
        j++; // whitespace a normalizer dropped
      } else {
        return [here, here];
      }
    }
    cursor = j;
    if (first < 0) return [charStart[j], charStart[j]];
    return [charStart[first], charEnd[last]];
  });
}

/** Case, accents and compatibility forms removed: what both sides are compared as. */
function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

const PUNCT = /^[\p{P}\p{S}]$/u;

interface Char {
  start: number;
  end: number;
  folded: string;
  space: boolean;
  punct: boolean;
}

function charsOf(text: string): Char[] {
  const out: Char[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    // Control characters are what BertNormalizer's clean_text drops.
    const control = /\p{Cc}|\p{Cf}/u.test(ch) && !/\s/u.test(ch);
    const folded = control ? '' : fold(ch);
    out.push({ start: i, end: i + ch.length, folded, space: /\s/u.test(ch), punct: PUNCT.test(ch) });
    i += ch.length;
  }
  return out;
}

function surfaceOf(token: string, rules: SurfaceRules): string {
  let s = token;
  if (rules.addedTokens.has(s)) return fold(s).replace(/\s+/gu, '');
  const prefix = rules.continuingPrefix;
  if (prefix && s.length > prefix.length && s.startsWith(prefix)) s = s.slice(prefix.length);
  const suffix = rules.endOfWordSuffix;
  if (suffix && s.length > suffix.length && s.endsWith(suffix)) s = s.slice(0, -suffix.length);
  // Metaspace's stand-in for a space.
  return fold(s.replace(/\u2581/g, ' ')).replace(/\s+/gu, '');
}

// Where `surface` matches the text from char `from` on (leading whitespace
// skipped): [first char, one past the last], or undefined.
function matchAt(chars: Char[], from: number, surface: string): [number, number] | undefined {
  let i = from;
  while (i < chars.length && (chars[i].space || chars[i].folded === '')) i++;
  const first = i;
  let pos = 0;
  while (pos < surface.length) {
    if (i >= chars.length) return undefined;
    const f = chars[i].folded;
    if (f === '') {
      i++;
    } else if (surface.startsWith(f, pos)) {
      pos += f.length;
      i++;
    } else if (f.startsWith(surface.slice(pos))) {
      // The token ends inside a character that folds to several (ﬁ → fi).
      pos = surface.length;
      i++;
    } else {
      return undefined;
    }
  }
  return [first, i];
}

// How far ahead (in characters) a token that does not match where the walk
// stands is looked for.
const RESYNC = 64;

function foldedOffsets(text: string, tokens: string[], rules: SurfaceRules): Span[] {
  const chars = charsOf(text);
  const at = (i: number) => (i < chars.length ? chars[i].start : text.length);
  let cursor = 0;
  return tokens.map((token): Span => {
    if (token === rules.unkToken && !matchAt(chars, cursor, fold(token))) {
      // [UNK] replaces a whole pre-token: a run of word characters or one punctuation mark.
      let i = cursor;
      while (i < chars.length && chars[i].space) i++;
      const first = i;
      if (i < chars.length && chars[i].punct) i++;
      else while (i < chars.length && !chars[i].space && !chars[i].punct) i++;
      cursor = i;
      return i > first ? [chars[first].start, chars[i - 1].end] : [at(first), at(first)];
    }
    const surface = surfaceOf(token, rules);
    if (surface === '') return [at(cursor), at(cursor)];
    for (let from = cursor; from < Math.min(chars.length, cursor + RESYNC); from++) {
      const m = matchAt(chars, from, surface);
      if (m) {
        cursor = m[1];
        return [chars[m[0]].start, chars[m[1] - 1].end];
      }
    }
    return [at(cursor), at(cursor)];
  });
}

/** The span of each token in `text` (tokens as the model made them, without added special tokens around them). */
export function tokenOffsets(text: string, tokens: string[], rules: SurfaceRules): Span[] {
  return rules.byteLevel ? byteLevelOffsets(text, tokens, rules) : foldedOffsets(text, tokens, rules);
}

/**
 * The word each token belongs to, given the spans of the words (pre-tokens)
 * and of the tokens: the word whose span holds the token's first character.
 * A token with an empty span joins the word of the token before it.
 */
export function wordIdsFromSpans(tokenSpans: Span[], wordSpans: Span[]): number[] {
  const out: number[] = [];
  let w = 0;
  let prev = 0;
  for (const [start, end] of tokenSpans) {
    if (end <= start) {
      out.push(prev);
      continue;
    }
    while (w < wordSpans.length - 1 && wordSpans[w][1] <= start) w++;
    prev = w;
    out.push(w);
  }
  return out;
}
