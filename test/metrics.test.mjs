// tg.metrics against values worked out by hand (and, for the averages, with
// scikit-learn's definitions): accuracy, top-k with ties, the confusion
// matrix, per-class precision/recall/F1 and their macro and weighted means.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { metrics } from '../dist/train/index.js';
import { rejection } from './helpers.mjs';

// Five samples, three classes. Row by row: prediction (first maximum), target,
// and where the target ranks (ties go to the lower class id):
//   [2, 1, 0] -> 0, target 0, rank 0
//   [0, 3, 1] -> 1, target 2, rank 1
//   [1, 1, 0] -> 0 (tie), target 1, rank 1
//   [0, 0, 5] -> 2, target 2, rank 0
//   [4, 0, 2] -> 0, target 1, rank 2
const logits = tg.tensor(new Float32Array([2, 1, 0, 0, 3, 1, 1, 1, 0, 0, 0, 5, 4, 0, 2]), [5, 3]);
const targets = tg.tensor(new Int32Array([0, 2, 1, 2, 1]), [5]);

const close = (a, b, label) => assert.ok(Math.abs(a - b) < 1e-12, `${label}: ${a}, expected ${b}`);

test('argmax takes the first maximum; accuracy and top-k rank ties to the lower class id', () => {
  assert.equal([...metrics.argmax(logits)], [0, 1, 0, 2, 0]);
  close(metrics.accuracy(logits, targets), 2 / 5, 'accuracy');
  close(metrics.topKAccuracy(logits, targets, 1), 2 / 5, 'top1 equals accuracy');
  close(metrics.topKAccuracy(logits, targets, 2), 4 / 5, 'top2');
  close(metrics.topKAccuracy(logits, targets, 3), 1, 'top3');
  close(metrics.topKAccuracy(logits, targets, 10), 1, 'k beyond the classes');
  // Plain arrays and i64 targets are the same targets.
  close(metrics.accuracy(logits, [0, 2, 1, 2, 1]), 2 / 5, 'array targets');
  close(metrics.accuracy(logits, tg.tensor(new BigInt64Array([0n, 2n, 1n, 2n, 1n]), [5])), 2 / 5, 'i64 targets');
});

test('confusion matrix: rows are targets, columns predictions', () => {
  const want = [
    [1, 0, 0],
    [2, 0, 0],
    [0, 1, 1],
  ];
  assert.equal(metrics.confusionMatrix(logits, targets), want);
  assert.equal(metrics.confusionMatrix(new Int32Array([0, 1, 0, 2, 0]), targets), want, 'from predicted ids');
  assert.equal(metrics.confusionMatrix([0, 1], [0, 0], { numClasses: 3 }), [
    [1, 1, 0],
    [0, 0, 0],
    [0, 0, 0],
  ]);
});

test('precision, recall and F1 per class, macro and weighted', () => {
  const r = metrics.classificationReport(logits, targets, { topK: [2] });
  // class 0: TP 1 of 3 predicted, 1 of 1 true; class 1: none right; class 2: 1 of 1 predicted, 1 of 2 true.
  const want = {
    precision: [1 / 3, 0, 1],
    recall: [1, 0, 1 / 2],
    f1: [1 / 2, 0, 2 / 3],
  };
  for (const key of ['precision', 'recall', 'f1']) {
    want[key].forEach((v, k) => close(r.perClass[key][k], v, `${key}[${k}]`));
  }
  assert.equal(r.perClass.support, [1, 2, 2]);
  close(r.macro.precision, 4 / 9, 'macro precision');
  close(r.macro.recall, 1 / 2, 'macro recall');
  close(r.macro.f1, 7 / 18, 'macro f1');
  close(r.weighted.precision, 7 / 15, 'weighted precision');
  close(r.weighted.recall, 2 / 5, 'weighted recall equals accuracy');
  close(r.weighted.f1, 11 / 30, 'weighted f1');
  close(r.topK[2], 4 / 5, 'top2 in the report');
  assert.is(r.count, 5);
});

test('the macro mean skips classes that are neither targets nor predictions (as scikit-learn)', () => {
  // f1_score([0, 0], [0, 1], average='macro') == 1/3: classes 2 and 3 do not count.
  const s = metrics.precisionRecallF1(metrics.confusionMatrix([0, 1], [0, 0], { numClasses: 4 }));
  close(s.perClass.f1[0], 2 / 3, 'f1 of class 0');
  close(s.macro.f1, 1 / 3, 'macro f1');
  close(s.weighted.f1, 2 / 3, 'weighted f1');
  // A zero denominator gives 0, not NaN.
  assert.equal(s.perClass.precision, [1, 0, 0, 0]);
});

test('dense outputs: every position is a sample; ignoreIndex leaves targets out', () => {
  // (N=1, C=2, H=1, W=3): position scores (1,0) (0,1) (2,3) -> predictions 0, 1, 1.
  const dense = tg.tensor(new Float32Array([1, 0, 2, 0, 1, 3]), [1, 2, 1, 3]);
  const t = tg.tensor(new Int32Array([0, 0, 1]), [1, 1, 3]);
  close(metrics.accuracy(dense, t), 2 / 3, 'dense accuracy');
  close(metrics.accuracy(dense, tg.tensor(new Int32Array([0, -100, 1]), [1, 1, 3])), 1, 'ignored position');
  close(metrics.accuracy(dense, [0, 9, 1], { ignoreIndex: 9 }), 1, 'custom ignoreIndex');
});

test('a meter over batches gives exactly the figures of one call over all the data', () => {
  const meter = new metrics.ClassificationMeter({ topK: [2] });
  meter.add(tg.tensor(logits.data.slice(0, 6), [2, 3]), targets.data.slice(0, 2));
  meter.add(tg.tensor(logits.data.slice(6), [3, 3]), targets.data.slice(2));
  assert.equal(meter.report(), metrics.classificationReport(logits, targets, { topK: [2] }));
});

test('bad input names what is wrong', async () => {
  let err = await rejection(() => metrics.accuracy(logits, [0, 1, 2]));
  assert.is(err.code, 'ERR_TG_SHAPE');
  assert.match(err.message, /5 predictions but 3 targets/);
  err = await rejection(() => metrics.accuracy(logits, [0, 1, 2, 3, 0]));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, /target 3 is 3, outside the 3 classes/);
  err = await rejection(() => metrics.accuracy(tg.tensor(new Float32Array(3), [3]), [0, 1, 2]));
  assert.is(err.code, 'ERR_TG_SHAPE');
  err = await rejection(() => metrics.topKAccuracy(logits, targets, 0));
  assert.match(err.message, /k must be an integer >= 1/);
  err = await rejection(() => metrics.accuracy(logits, tg.tensor(new Float32Array(5), [5])));
  assert.is(err.code, 'ERR_TG_DTYPE');
});

test.run();
