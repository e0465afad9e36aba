// Metrics of text tasks. Classification: accuracy and macro/micro/weighted
// F1 on label ids or names (scikit-learn's definitions). Sequence labelling:
// entity-level precision, recall and F1 with seqeval's conventions, which is
// what the Hugging Face NER examples report:
//
// - default mode: seqeval's get_entities, the conlleval-compatible lenient
//   chunker. It reads IOB1 and IOB2 alike (an I-X after O starts an entity),
//   runs over all sentences as one sequence with an O between sentences, and
//   an entity is (type, first, last);
// - strict mode: seqeval's mode='strict' with a scheme (IOB2 by default):
//   only chunks the scheme allows are entities (an I-X without its B-X is
//   none), an entity is (sentence, type, start, end), and a tag whose prefix
//   the scheme does not have is an error.
//
// Zero denominators give 0, as seqeval's zero_division default; a macro
// average over no entity types at all is NaN (numpy's mean of nothing).
import { invalid, tgError } from '../errors.js';
import { precisionRecallF1 } from './metrics.js';

export interface Scores {
  precision: number;
  recall: number;
  f1: number;
  /** Entities (or samples) of the type in the truth. */
  support: number;
}

export type Label = number | string;

function checkPairs(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, where: string): void {
  if (yTrue === null || typeof yTrue !== 'object' || typeof yTrue.length !== 'number') throw invalid('ERR_TG_ARG', where, 'yTrue', 'an array of labels', yTrue);
  if (yPred === null || typeof yPred !== 'object' || typeof yPred.length !== 'number') throw invalid('ERR_TG_ARG', where, 'yPred', 'an array of labels', yPred);
  if (yTrue.length !== yPred.length) throw tgError('ERR_TG_SHAPE', `${where}: ${yTrue.length} true labels but ${yPred.length} predictions`);
}

export interface ClassificationScores {
  accuracy: number;
  /** Unweighted mean over the labels present in the truth or the predictions. */
  macro: Omit<Scores, 'support'>;
  /** From the summed counts: for single-label classification, precision = recall = F1 = accuracy. */
  micro: Omit<Scores, 'support'>;
  weighted: Omit<Scores, 'support'>;
  /** By label, in sorted label order (numbers ascending, names by code point). */
  perClass: Map<Label, Scores>;
  count: number;
}

/** Accuracy and precision/recall/F1 (macro, micro, weighted, per class) of class labels. */
export function classificationScores(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): ClassificationScores {
  const where = 'text.metrics.classificationScores';
  checkPairs(yTrue, yPred, where);
  const labels = [...new Set([...Array.from(yTrue), ...Array.from(yPred)])].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0,
  );
  const index = new Map(labels.map((l, i) => [l, i]));
  const confusion = labels.map(() => new Array<number>(labels.length).fill(0));
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    confusion[index.get(yTrue[i])!][index.get(yPred[i])!]++;
    if (yTrue[i] === yPred[i]) correct++;
  }
  const n = yTrue.length;
  const perClass = new Map<Label, Scores>();
  if (!labels.length) {
    const zero = { precision: 0, recall: 0, f1: 0 };
    return { accuracy: NaN, macro: zero, micro: zero, weighted: zero, perClass, count: 0 };
  }
  const s = precisionRecallF1(confusion);
  labels.forEach((l, k) => perClass.set(l, { precision: s.perClass.precision[k], recall: s.perClass.recall[k], f1: s.perClass.f1[k], support: s.perClass.support[k] }));
  const acc = correct / n;
  return { accuracy: acc, macro: s.macro, micro: { precision: acc, recall: acc, f1: acc }, weighted: s.weighted, perClass, count: n };
}

export function accuracy(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  checkPairs(yTrue, yPred, 'text.metrics.accuracy');
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return yTrue.length ? correct / yTrue.length : NaN;
}

export type Average = 'macro' | 'micro' | 'weighted';

/** F1 of class labels; default the macro average. */
export function f1Score(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, { average = 'macro' }: { average?: Average } = {}): number {
  if (!['macro', 'micro', 'weighted'].includes(average)) throw invalid('ERR_TG_ARG', 'text.metrics.f1Score', 'average', "'macro', 'micro' or 'weighted'", average);
  return classificationScores(yTrue, yPred)[average].f1;
}

// ---- Entities -------------------------------------------------------------

export type Scheme = 'IOB1' | 'IOB2' | 'IOE1' | 'IOE2' | 'IOBES' | 'BILOU';

export interface EntityOptions {
  /** 'default' (seqeval's lenient chunking) or 'strict' (only what the scheme allows). */
  mode?: 'default' | 'strict';
  /** The tagging scheme of strict mode; default IOB2. */
  scheme?: Scheme;
  /** Tags are written type first (PER-B) instead of prefix first (B-PER). */
  suffix?: boolean;
}

export interface Entity {
  type: string;
  /** Sentence index. */
  sentence: number;
  /** First token, in the sentence. */
  start: number;
  /** One past the last token, in the sentence. */
  end: number;
}

type Tags = ReadonlyArray<string> | ReadonlyArray<ReadonlyArray<string>>;

function sentencesOf(tags: Tags, where: string, param: string): ReadonlyArray<ReadonlyArray<string>> {
  if (!Array.isArray(tags)) throw invalid('ERR_TG_ARG', where, param, 'an array of tags, or of sentences of tags', tags);
  const nested = tags.some((t) => Array.isArray(t));
  const sentences = (nested ? tags : [tags]) as ReadonlyArray<ReadonlyArray<string>>;
  sentences.forEach((s, i) => {
    if (!Array.isArray(s)) throw invalid('ERR_TG_ARG', where, `${param}[${i}]`, 'an array of tags', s);
    s.forEach((t, j) => {
      if (typeof t !== 'string' || t === '') throw invalid('ERR_TG_ARG', where, `${param}[${i}][${j}]`, 'a tag such as "B-PER" or "O"', t);
    });
  });
  return sentences;
}

// seqeval's get_entities: conlleval's chunk boundaries over one sequence.
function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if ((prevTag === 'B' || prevTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

function lenientEntities(sentences: ReadonlyArray<ReadonlyArray<string>>, suffix: boolean): Entity[] {
  // One sequence with an O after each sentence, as seqeval flattens nested lists.
  const flat: string[] = [];
  const sentenceOf: number[] = [];
  const offsetOf: number[] = [];
  sentences.forEach((s, i) => {
    const base = flat.length;
    for (const t of [...s, 'O']) {
      sentenceOf.push(i);
      offsetOf.push(base);
      flat.push(t);
    }
  });
  const out: Entity[] = [];
  let prevTag = 'O';
  let prevType = '';
  let begin = 0;
  flat.push('O');
  flat.forEach((chunk, i) => {
    const tag = suffix ? chunk.slice(-1) : chunk[0];
    let type: string;
    if (suffix) {
      const body = chunk.slice(0, -1);
      const cut = body.lastIndexOf('-');
      type = (cut < 0 ? body : body.slice(0, cut)) || '_';
    } else {
      const body = chunk.slice(1);
      const cut = body.indexOf('-');
      type = (cut < 0 ? body : body.slice(cut + 1)) || '_';
    }
    if (endOfChunk(prevTag, tag, prevType, type)) {
      // Chunks never cross a sentence: the O between sentences ends them.
      const s = sentenceOf[begin];
      out.push({ type: prevType, sentence: s, start: begin - offsetOf[begin], end: i - offsetOf[begin] });
    }
    if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  });
  return out;
}

// seqeval.scheme: which prefixes a scheme allows and the (previous prefix,
// prefix, same type?) patterns that start, continue and end a chunk.
type Prefix = 'I' | 'O' | 'B' | 'E' | 'S' | 'U' | 'L';
type TagCond = 'same' | 'diff' | 'any';
type Pattern = [string, string, TagCond];
interface SchemeDef {
  allowed: string;
  start: Pattern[];
  inside: Pattern[];
  end: Pattern[];
}
const ANY = 'IOBESUL';
const SCHEMES: Record<Scheme, SchemeDef> = {
  IOB1: {
    allowed: 'IOB',
    start: [['O', 'I', 'any'], ['I', 'I', 'diff'], ['B', 'I', 'any'], ['I', 'B', 'same'], ['B', 'B', 'same']],
    inside: [['B', 'I', 'same'], ['I', 'I', 'same']],
    end: [['I', 'I', 'diff'], ['I', 'O', 'any'], ['I', 'B', 'any'], ['B', 'O', 'any'], ['B', 'I', 'diff'], ['B', 'B', 'same']],
  },
  IOE1: {
    allowed: 'IOE',
    start: [['O', 'I', 'any'], ['I', 'I', 'diff'], ['E', 'I', 'any'], ['E', 'E', 'same']],
    inside: [['I', 'I', 'same'], ['I', 'E', 'same']],
    end: [['I', 'I', 'diff'], ['I', 'O', 'any'], ['I', 'E', 'diff'], ['E', 'I', 'same'], ['E', 'E', 'same']],
  },
  IOB2: {
    allowed: 'IOB',
    start: [[ANY, 'B', 'any']],
    inside: [['B', 'I', 'same'], ['I', 'I', 'same']],
    end: [['I', 'O', 'any'], ['I', 'I', 'diff'], ['I', 'B', 'any'], ['B', 'O', 'any'], ['B', 'I', 'diff'], ['B', 'B', 'any']],
  },
  IOE2: {
    allowed: 'IOE',
    start: [['O', 'I', 'any'], ['O', 'E', 'any'], ['E', 'I', 'any'], ['E', 'E', 'any'], ['I', 'I', 'diff'], ['I', 'E', 'diff']],
    inside: [['I', 'E', 'same'], ['I', 'I', 'same']],
    end: [['E', ANY, 'any']],
  },
  IOBES: {
    allowed: 'IOBES',
    start: [[ANY, 'B', 'any'], [ANY, 'S', 'any']],
    inside: [['B', 'I', 'same'], ['B', 'E', 'same'], ['I', 'I', 'same'], ['I', 'E', 'same']],
    end: [['S', ANY, 'any'], ['E', ANY, 'any']],
  },
  BILOU: {
    allowed: 'BILOU',
    start: [[ANY, 'B', 'any'], [ANY, 'U', 'any']],
    inside: [['B', 'I', 'same'], ['B', 'L', 'same'], ['I', 'I', 'same'], ['I', 'L', 'same']],
    end: [['U', ANY, 'any'], ['L', ANY, 'any']],
  },
};

interface Tok {
  prefix: Prefix;
  type: string;
}

function parseTag(tag: string, suffix: boolean, where: string, at: string): Tok {
  const prefix = (suffix ? tag.slice(-1) : tag[0]) as Prefix;
  if (!ANY.includes(prefix)) throw tgError('ERR_TG_ARG', `${where}: tag ${JSON.stringify(tag)} at ${at} has no prefix among ${[...ANY].join(', ')}`);
  const body = suffix ? tag.slice(0, -1) : tag.slice(1);
  return { prefix, type: body.replace(/^-+|-+$/g, '') || '_' };
}

function matches(prev: Tok, cur: Tok, patterns: Pattern[]): boolean {
  return patterns.some(([p, c, cond]) => p.includes(prev.prefix) && c.includes(cur.prefix) && (cond === 'any' || (cond === 'same') === (prev.type === cur.type)));
}

function strictEntities(sentences: ReadonlyArray<ReadonlyArray<string>>, scheme: Scheme, suffix: boolean, where: string): Entity[] {
  const def = SCHEMES[scheme];
  const outside: Tok = { prefix: 'O', type: '_' };
  const out: Entity[] = [];
  sentences.forEach((sentence, sid) => {
    const tokens = sentence.map((t, j) => {
      const tok = parseTag(t, suffix, where, `sentence ${sid}, token ${j}`);
      if (!def.allowed.includes(tok.prefix)) {
        throw tgError('ERR_TG_ARG', `${where}: tag ${JSON.stringify(t)} at sentence ${sid}, token ${j} is not valid ${scheme} (prefixes ${[...def.allowed].join(', ')})`);
      }
      return tok;
    });
    const ext = [...tokens, outside];
    // seqeval's Tokens.entities, step for step.
    const forward = (start: number, prev: Tok): number => {
      for (let i = start; i < ext.length; i++) {
        if (matches(prev, ext[i], def.inside)) prev = ext[i];
        else return i;
      }
      return tokens.length - 1;
    };
    let i = 0;
    let prev = outside;
    while (i < ext.length) {
      const tok = ext[i];
      if (matches(prev, tok, def.start)) {
        const end = forward(i + 1, tok);
        if (matches(ext[end - 1], ext[end], def.end)) out.push({ type: tok.type, sentence: sid, start: i, end });
        i = end;
      } else {
        i++;
      }
      prev = ext[i - 1];
    }
  });
  return out;
}

/** The entities in tags (one sentence, or a list of sentences), as seqeval finds them. */
export function getEntities(tags: Tags, options: EntityOptions = {}): Entity[] {
  const where = 'text.metrics.getEntities';
  const sentences = sentencesOf(tags, where, 'tags');
  return entitiesOf(sentences, options, where);
}

function entitiesOf(sentences: ReadonlyArray<ReadonlyArray<string>>, options: EntityOptions, where: string): Entity[] {
  const mode = options.mode ?? 'default';
  if (mode === 'default') return lenientEntities(sentences, options.suffix ?? false);
  if (mode !== 'strict') throw invalid('ERR_TG_ARG', where, 'mode', "'default' or 'strict'", mode);
  const scheme = options.scheme ?? 'IOB2';
  if (!(scheme in SCHEMES)) throw invalid('ERR_TG_ARG', where, 'scheme', Object.keys(SCHEMES).join(', '), scheme);
  return strictEntities(sentences, scheme, options.suffix ?? false, where);
}

export interface EntityScores {
  /** Micro averages: from the counts summed over types (seqeval's default average). */
  precision: number;
  recall: number;
  f1: number;
  /** Share of tokens whose predicted tag is the true tag (seqeval's accuracy_score). */
  accuracy: number;
  micro: Scores;
  macro: Scores;
  weighted: Scores;
  /** By entity type, types sorted. */
  perType: Record<string, Scores>;
  /** Entities in the truth and in the predictions, and those predicted exactly. */
  counts: { true: number; predicted: number; correct: number };
}

const div = (a: number, b: number) => (b > 0 ? a / b : 0);
const f1Of = (p: number, r: number) => (p + r > 0 ? (2 * p * r) / (p + r) : 0);

/** Entity-level precision, recall and F1 of predicted tags against true tags (sentences of IOB tags). */
export function entityScores(yTrue: Tags, yPred: Tags, options: EntityOptions = {}): EntityScores {
  const where = 'text.metrics.entityScores';
  const truth = sentencesOf(yTrue, where, 'yTrue');
  const pred = sentencesOf(yPred, where, 'yPred');
  if (truth.length !== pred.length || truth.some((s, i) => s.length !== pred[i].length)) {
    const i = truth.findIndex((s, k) => s.length !== pred[k]?.length);
    throw tgError(
      'ERR_TG_SHAPE',
      truth.length !== pred.length
        ? `${where}: ${truth.length} true sentences but ${pred.length} predicted`
        : `${where}: sentence ${i} has ${truth[i].length} true tags but ${pred[i].length} predicted`,
    );
  }
  const key = (e: Entity) => `${e.sentence}\u0000${e.start}\u0000${e.end}`;
  const byType = (entities: Entity[]) => {
    const m = new Map<string, Set<string>>();
    for (const e of entities) {
      if (!m.has(e.type)) m.set(e.type, new Set());
      m.get(e.type)!.add(key(e));
    }
    return m;
  };
  const t = byType(entitiesOf(truth, options, where));
  const p = byType(entitiesOf(pred, options, where));
  const types = [...new Set([...t.keys(), ...p.keys()])].sort();
  const perType: Record<string, Scores> = {};
  let tpSum = 0;
  let predSum = 0;
  let trueSum = 0;
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  for (const type of types) {
    const ts = t.get(type) ?? new Set<string>();
    const ps = p.get(type) ?? new Set<string>();
    let tp = 0;
    for (const k of ps) if (ts.has(k)) tp++;
    const precision = div(tp, ps.size);
    const recall = div(tp, ts.size);
    const s = { precision, recall, f1: f1Of(precision, recall), support: ts.size };
    perType[type] = s;
    tpSum += tp;
    predSum += ps.size;
    trueSum += ts.size;
    for (const k of ['precision', 'recall', 'f1'] as const) {
      macro[k] += s[k];
      weighted[k] += s[k] * ts.size;
    }
  }
  for (const k of ['precision', 'recall', 'f1'] as const) {
    macro[k] = types.length ? macro[k] / types.length : NaN;
    weighted[k] = div(weighted[k], trueSum);
  }
  const mp = div(tpSum, predSum);
  const mr = div(tpSum, trueSum);
  const micro = { precision: mp, recall: mr, f1: f1Of(mp, mr), support: trueSum };
  let tokens = 0;
  let right = 0;
  truth.forEach((s, i) =>
    s.forEach((tag, j) => {
      tokens++;
      if (pred[i][j] === tag) right++;
    }),
  );
  return {
    precision: mp,
    recall: mr,
    f1: micro.f1,
    accuracy: tokens ? right / tokens : NaN,
    micro,
    macro: { ...macro, support: trueSum },
    weighted: { ...weighted, support: trueSum },
    perType,
    counts: { true: trueSum, predicted: predSum, correct: tpSum },
  };
}

/** seqeval's classification_report as text: one line per entity type, then the averages. */
export function entityReport(yTrue: Tags, yPred: Tags, options: EntityOptions & { digits?: number } = {}): string {
  const s = entityScores(yTrue, yPred, options);
  const digits = options.digits ?? 2;
  const rows: Array<[string, Scores]> = [
    ...Object.entries(s.perType),
    ['micro avg', s.micro],
    ['macro avg', s.macro],
    ['weighted avg', s.weighted],
  ];
  const width = Math.max(12, ...rows.map(([name]) => name.length));
  const num = (v: number) => v.toFixed(digits).padStart(9);
  const line = ([name, r]: [string, Scores]) => `${name.padStart(width)} ${num(r.precision)} ${num(r.recall)} ${num(r.f1)} ${String(r.support).padStart(9)}`;
  const header = `${''.padStart(width)} ${'precision'.padStart(9)} ${'recall'.padStart(9)} ${'f1-score'.padStart(9)} ${'support'.padStart(9)}`;
  const types = rows.length - 3;
  return [header, '', ...rows.slice(0, types).map(line), '', ...rows.slice(types).map(line), ''].join('\n');
}
