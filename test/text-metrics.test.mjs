// Text metrics against results worked out by hand with seqeval's and
// scikit-learn's definitions (the examples are those of their documentation,
// where they give one).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';

const m = tg.text.metrics;
const close = (a, b, msg) => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} vs ${b}`);

test('classification: accuracy and macro / micro / weighted F1 (scikit-learn f1_score example)', () => {
  const yTrue = [0, 1, 2, 0, 1, 2];
  const yPred = [0, 2, 1, 0, 0, 1];
  const s = m.classificationScores(yTrue, yPred);
  close(s.accuracy, 1 / 3);
  // Class 0: P = 2/3, R = 1, F1 = 0.8; classes 1 and 2: nothing right.
  close(s.perClass.get(0).f1, 0.8);
  close(s.perClass.get(1).f1, 0);
  close(s.macro.f1, 0.8 / 3);
  close(s.micro.f1, 1 / 3);
  close(s.weighted.f1, 0.8 / 3);
  close(m.f1Score(yTrue, yPred), 0.8 / 3);
  close(m.f1Score(yTrue, yPred, { average: 'micro' }), 1 / 3);
  close(m.accuracy(yTrue, yPred), 1 / 3);
  // Names work the same; a label only predicted still counts in the macro mean.
  const names = m.classificationScores(['pos', 'neg', 'pos'], ['pos', 'pos', 'spam']);
  assert.equal([...names.perClass.keys()], ['neg', 'pos', 'spam']);
  close(names.macro.f1, (0 + 0.5 + 0) / 3);
  assert.throws(() => m.accuracy([1, 2], [1]), /2 true labels but 1 predictions/);
});

test('entities, default mode: seqeval precision_recall_fscore_support example', () => {
  const yTrue = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const yPred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const s = m.entityScores(yTrue, yPred);
  close(s.precision, 0.5);
  close(s.recall, 0.5);
  close(s.f1, 0.5);
  close(s.macro.f1, 0.5);
  close(s.weighted.f1, 0.5);
  assert.equal(s.perType.MISC, { precision: 0, recall: 0, f1: 0, support: 1 });
  assert.equal(s.perType.PER, { precision: 1, recall: 1, f1: 1, support: 1 });
  close(s.accuracy, 0.8);
  assert.equal(s.counts, { true: 2, predicted: 2, correct: 1 });
});

test('entities, default mode: seqeval f1_score example (micro 2/3, macro 0.75)', () => {
  const yTrue = [['O', 'O', 'B-MISC', 'I-MISC', 'B-MISC', 'O', 'O'], ['B-PER', 'I-PER', 'O']];
  const yPred = [['O', 'O', 'B-MISC', 'I-MISC', 'B-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const s = m.entityScores(yTrue, yPred);
  close(s.f1, 2 / 3);
  close(s.macro.f1, 0.75);
  close(s.weighted.f1, 2 / 3);
  close(s.perType.MISC.f1, 0.5);
  close(s.perType.PER.f1, 1);
});

test('getEntities: lenient chunking reads IOB1 and broken IOB2 like seqeval', () => {
  // seqeval's docstring: [('PER', 0, 1), ('LOC', 3, 3)], our ends exclusive.
  assert.equal(m.getEntities(['B-PER', 'I-PER', 'O', 'B-LOC']), [
    { type: 'PER', sentence: 0, start: 0, end: 2 },
    { type: 'LOC', sentence: 0, start: 3, end: 4 },
  ]);
  // IOB1: I- starts an entity; B- splits two of a kind.
  assert.equal(
    m.getEntities(['I-PER', 'I-PER', 'B-PER', 'O', 'I-LOC']).map((e) => [e.type, e.start, e.end]),
    [['PER', 0, 2], ['PER', 2, 3], ['LOC', 4, 5]],
  );
  // A type change inside a chunk ends it and starts another.
  assert.equal(m.getEntities(['B-PER', 'I-LOC']).map((e) => [e.type, e.start, e.end]), [['PER', 0, 1], ['LOC', 1, 2]]);
  // Entities never run across sentences.
  assert.equal(m.getEntities([['O', 'I-PER'], ['I-PER', 'O']]).map((e) => [e.sentence, e.start, e.end]), [[0, 1, 2], [1, 0, 1]]);
  // IOBES and suffix-style tags.
  assert.equal(m.getEntities(['B-ORG', 'E-ORG', 'S-PER']).map((e) => [e.type, e.start, e.end]), [['ORG', 0, 2], ['PER', 2, 3]]);
  assert.equal(m.getEntities(['PER-B', 'PER-I', 'O'], { suffix: true }).map((e) => [e.type, e.start, e.end]), [['PER', 0, 2]]);
});

test('entities, strict IOB2 mode: only chunks that start with B- count (seqeval README example)', () => {
  const yTrue = [['B-NP', 'I-NP', 'O']];
  const yPred = [['I-NP', 'I-NP', 'O']];
  close(m.entityScores(yTrue, yPred).f1, 1);
  const strict = m.entityScores(yTrue, yPred, { mode: 'strict' });
  assert.equal(strict.perType.NP, { precision: 0, recall: 0, f1: 0, support: 1 });
  close(strict.f1, 0);
  // B-PER I-LOC: PER ends at the type change, the stray I-LOC is no entity.
  assert.equal(m.getEntities(['B-PER', 'I-LOC', 'O'], { mode: 'strict' }), [{ type: 'PER', sentence: 0, start: 0, end: 1 }]);
  // One of two predicted entities broken: P = 1/1, R = 1/2, F1 = 2/3.
  const s = m.entityScores([['B-PER', 'I-PER', 'O', 'B-LOC']], [['I-PER', 'I-PER', 'O', 'B-LOC']], { mode: 'strict', scheme: 'IOB2' });
  close(s.precision, 1);
  close(s.recall, 0.5);
  close(s.f1, 2 / 3);
  close(s.macro.f1, 0.5);
  assert.throws(() => m.entityScores([['E-PER']], [['O']], { mode: 'strict' }), /tag "E-PER" at sentence 0, token 0 is not valid IOB2/);
  // Strict IOBES.
  assert.equal(m.getEntities(['B-ORG', 'E-ORG', 'S-PER', 'I-PER'], { mode: 'strict', scheme: 'IOBES' }).map((e) => [e.type, e.start, e.end]), [['ORG', 0, 2], ['PER', 2, 3]]);
});

test('no entities anywhere: micro scores 0, macro NaN (numpy mean of nothing)', () => {
  const s = m.entityScores([['O', 'O']], [['O', 'O']]);
  assert.is(s.f1, 0);
  assert.ok(Number.isNaN(s.macro.f1));
  assert.is(s.accuracy, 1);
  assert.throws(() => m.entityScores([['O']], [['O', 'O']]), /sentence 0 has 1 true tags but 2 predicted/);
});

test('entityReport lays out seqeval classification_report', () => {
  const yTrue = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const yPred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const lines = m.entityReport(yTrue, yPred).split('\n');
  assert.match(lines[0], /precision\s+recall\s+f1-score\s+support/);
  assert.match(lines[2], /^\s+MISC\s+0\.00\s+0\.00\s+0\.00\s+1$/);
  assert.match(lines[3], /^\s+PER\s+1\.00\s+1\.00\s+1\.00\s+1$/);
  assert.match(lines[5], /^\s+micro avg\s+0\.50\s+0\.50\s+0\.50\s+2$/);
  assert.match(lines[7], /^weighted avg\s+0\.50\s+0\.50\s+0\.50\s+2$/);
});

test.run();
