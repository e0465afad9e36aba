// Segmentation losses and metrics. Losses: cross-entropy over (N, C, H, W)
// with ignored pixels against a hand computation; 'dice', 'bce_dice' and
// 'cross_entropy_dice' against PyTorch running segmentation_models_pytorch's
// formulas (fixtures/seg_losses.json, from test/parity/seg_losses.py) and
// against a float64 reference written here, its gradient by central
// differences. Logits gradients are read from one SGD step with lr 1 on a
// model whose only parameter is the logits. Metrics: confusion cases worked
// by hand (ignored pixels, absent classes, binary outputs). Then the Trainer
// fine-tunes small conv nets on generated image/mask folders and reports
// val_miou, val_dice and val_pixel_accuracy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import sharp from 'sharp';
import * as tg from 'tensorgraft';
import { values } from './parity/gen.mjs';
import { rejection, rng } from './helpers.mjs';

const fixture = JSON.parse(readFileSync(new URL('./parity/fixtures/seg_losses.json', import.meta.url), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'tg-seg-loss-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** A model whose logits are its one parameter: one SGD step with lr 1 subtracts exactly the logits gradient. */
class Logits extends tg.Model {
  constructor(shape, init) {
    super();
    this.registerParameter('logits', shape, Float32Array.from(init));
  }
  build(g, x, prefix) {
    return this.paramValue(g, prefix, 'logits');
  }
}

const dummy = tg.tensor(new Float32Array(1), [1]);

async function lossAndGrad(loss, shape, init, target) {
  const m = new Logits(shape, init);
  const before = Float64Array.from(m.namedParameters()[0][1].data);
  const session = m.compile({ loss, optimizer: tg.optim.sgd({ lr: 1 }) });
  const r = await session.step({ input: dummy, target });
  const after = m.namedParameters()[0][1].data;
  session.dispose();
  return { loss: r.loss, grad: Array.from(before, (b, i) => b - after[i]) };
}

function close(actual, expected, { atol, rtol = 0, label }) {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) assert.unreachable(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (±${tol})`);
  }
}

function expectError(err, code, ...fragments) {
  assert.instance(err, Error);
  assert.is(err.code, code, `code of: ${err.message}`);
  for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
}

// ------------------------------------------------------------ references

function softmaxAt(x, [, C, H, W], n, p) {
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, x[(n * C + c) * H * W + p]);
  const e = Array.from({ length: C }, (_, c) => Math.exp(x[(n * C + c) * H * W + p] - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** smp 0.5 DiceLoss(mode='multiclass') in float64: logits (N, C, H, W), ids (N, H, W). */
function diceRef(x, shape, ids, { smooth = 0, eps = 1e-7, ignoreIndex } = {}) {
  const [N, C, H, W] = shape;
  const inter = new Float64Array(C);
  const sp = new Float64Array(C);
  const st = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < H * W; p++) {
      const t = ids[n * H * W + p];
      if (t === ignoreIndex) continue;
      const prob = softmaxAt(x, shape, n, p);
      for (let c = 0; c < C; c++) {
        sp[c] += prob[c];
        if (c === t) {
          st[c] += 1;
          inter[c] += prob[c];
        }
      }
    }
  }
  let loss = 0;
  for (let c = 0; c < C; c++) {
    const score = (inter[c] + smooth) / Math.max(0.5 * (sp[c] + st[c]) + smooth, eps);
    loss += st[c] > 0 ? 1 - score : 0;
  }
  return loss / C;
}

/** BCEWithLogits (mean over kept pixels) · wb + smp DiceLoss(mode='binary') · wd, float64. */
function bceDiceRef(x, t, { smooth = 0, eps = 1e-7, ignoreIndex, bceWeight = 1, diceWeight = 1 } = {}) {
  let bce = 0;
  let kept = 0;
  let inter = 0;
  let sp = 0;
  let st = 0;
  for (let i = 0; i < x.length; i++) {
    if (t[i] === ignoreIndex) continue;
    kept++;
    bce += Math.max(x[i], 0) - x[i] * t[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
    const p = 1 / (1 + Math.exp(-x[i]));
    inter += Math.min(p, t[i]);
    sp += p;
    st += t[i];
  }
  const dice = st > 0 ? 1 - (inter + smooth) / Math.max(0.5 * (sp + st) + smooth, eps) : 0;
  return bceWeight * (bce / Math.max(kept, 1)) + diceWeight * dice;
}

function centralDifferences(f, x, h = 1e-5) {
  const xs = Float64Array.from(x);
  return Array.from(xs, (v, i) => {
    xs[i] = v + h;
    const up = f(xs);
    xs[i] = v - h;
    const down = f(xs);
    xs[i] = v;
    return (up - down) / (2 * h);
  });
}

// --------------------------------------------------------------- losses

test('cross_entropy on (N, C, H, W) logits and (N, H, W) targets skips ignored pixels; gradient as computed by hand', async () => {
  const shape = [2, 3, 2, 2];
  const x = values(24, 5, 2); // exact dyadic values, identical in float32 and float64
  const ids = [0, 2, 255, 1, 1, 255, 0, 2];
  const { loss, grad } = await lossAndGrad({ type: 'cross_entropy', ignoreIndex: 255 }, shape, x, tg.tensor(Int32Array.from(ids), [2, 2, 2]));
  // loss = mean over the 6 kept pixels of -log softmax(x)[target]; dL/dx = (softmax - onehot) / 6 there, 0 at ignored ones.
  let expected = 0;
  const g = new Float64Array(24);
  for (let n = 0; n < 2; n++) {
    for (let p = 0; p < 4; p++) {
      const t = ids[n * 4 + p];
      if (t === 255) continue;
      const prob = softmaxAt(x, shape, n, p);
      expected -= Math.log(prob[t]) / 6;
      for (let c = 0; c < 3; c++) g[(n * 3 + c) * 4 + p] = (prob[c] - (c === t ? 1 : 0)) / 6;
    }
  }
  assert.ok(Math.abs(loss - expected) < 1e-6, `loss ${loss} vs ${expected}`);
  close(grad, [...g], { atol: 2e-7, label: 'grad' });
  for (const p of [2, 5]) for (let c = 0; c < 3; c++) assert.is(grad[(Math.floor(p / 4) * 3 + c) * 4 + (p % 4)], 0);
});

for (const c of fixture.cases) {
  test(`${c.loss_spec.type} matches PyTorch (smp's formula): ${c.name}`, async () => {
    const { shape, seed, scale } = c.logits;
    const n = shape.reduce((a, b) => a * b, 1);
    const T = c.target.dtype === 'i64' ? Int32Array : Float32Array;
    const { loss, grad } = await lossAndGrad(c.loss_spec, shape, values(n, seed, scale), tg.tensor(T.from(c.target.data), c.target.shape));
    assert.ok(Math.abs(loss - c.loss) <= 1e-6 * Math.max(1, Math.abs(c.loss)), `loss ${loss} vs torch ${c.loss}`);
    close(grad, c.grad, { atol: 3e-7, rtol: 1e-4, label: 'dL/dlogits' });
  });
}

test('dice: value and gradient equal a float64 reference and its central differences (ignored pixels, absent class, smooth)', async () => {
  const r = rng(21);
  const shape = [2, 4, 3, 5];
  const x = Array.from({ length: 120 }, () => (r() - 0.5) * 6);
  // Class 2 never occurs; every fifth pixel is ignored.
  const ids = Array.from({ length: 30 }, (_, i) => (i % 5 === 4 ? 255 : [0, 1, 3][Math.floor(r() * 3)]));
  for (const spec of [{ type: 'dice', ignoreIndex: 255 }, { type: 'dice', ignoreIndex: 255, smooth: 1 }]) {
    const opts = { smooth: spec.smooth ?? 0, ignoreIndex: 255 };
    const xf = Float32Array.from(x);
    const { loss, grad } = await lossAndGrad(spec, shape, xf, tg.tensor(Int32Array.from(ids), [2, 3, 5]));
    const ref = diceRef(xf, shape, ids, opts);
    assert.ok(Math.abs(loss - ref) < 1e-6, `smooth ${opts.smooth}: loss ${loss} vs ${ref}`);
    const fd = centralDifferences((v) => diceRef(v, shape, ids, opts), xf);
    close(grad, fd, { atol: 2e-7, rtol: 1e-4, label: `smooth ${opts.smooth} grad` });
    // Class 2's channel still gets gradient (it takes probability from the others); ignored pixels none.
    for (let c = 0; c < 4; c++) assert.is(grad[c * 15 + 4], 0);
  }
});

test('bce_dice: value and gradient equal a float64 reference and its central differences', async () => {
  const r = rng(22);
  const x = Array.from({ length: 2 * 4 * 4 }, () => (r() - 0.5) * 8);
  const t = Array.from({ length: 32 }, (_, i) => (i % 7 === 3 ? 255 : r() < 0.4 ? 1 : 0));
  const spec = { type: 'bce_dice', ignoreIndex: 255, bceWeight: 0.7, diceWeight: 1.3, smooth: 0.25 };
  const xf = Float32Array.from(x);
  const { loss, grad } = await lossAndGrad(spec, [2, 1, 4, 4], xf, tg.tensor(Float32Array.from(t), [2, 4, 4]));
  const ref = bceDiceRef(xf, t, spec);
  assert.ok(Math.abs(loss - ref) < 1e-6, `loss ${loss} vs ${ref}`);
  close(grad, centralDifferences((v) => bceDiceRef(v, t, spec), xf), { atol: 2e-7, rtol: 1e-4, label: 'grad' });
  // Without ignoreIndex it is F.binary_cross_entropy_with_logits (mean) + Dice.
  const t01 = t.map((v) => (v === 255 ? 1 : v));
  const plain = await lossAndGrad('bce_dice', [2, 1, 4, 4], xf, tg.tensor(Float32Array.from(t01), [2, 1, 4, 4]));
  assert.ok(Math.abs(plain.loss - bceDiceRef(xf, t01)) < 1e-6);
});

test('degenerate batches stay finite: every pixel ignored gives 0 for dice and bce_dice', async () => {
  const x = values(2 * 3 * 2 * 2, 3, 2);
  const dice = await lossAndGrad({ type: 'dice', ignoreIndex: 255 }, [2, 3, 2, 2], x, tg.tensor(new Int32Array(8).fill(255), [2, 2, 2]));
  assert.is(dice.loss, 0);
  assert.ok(dice.grad.every((v) => v === 0));
  const bin = await lossAndGrad({ type: 'bce_dice', ignoreIndex: 255 }, [2, 1, 2, 2], values(8, 4, 2), tg.tensor(new Float32Array(8).fill(255), [2, 2, 2]));
  assert.is(bin.loss, 0);
  assert.ok(bin.grad.every((v) => v === 0));
});

test('loss errors: bad options, class ids beyond the logits, wrong target dtype, unknown type', async () => {
  const x = values(12, 1, 1);
  const m = new Logits([1, 3, 2, 2], x);
  expectError(await rejection(() => m.compile({ loss: { type: 'dice', smooth: -1 } })), 'ERR_TG_ARG', 'smooth');
  expectError(await rejection(() => m.compile({ loss: { type: 'bce_dice', bceWeight: 'x' } })), 'ERR_TG_ARG', 'bceWeight');
  expectError(await rejection(() => m.compile({ loss: { type: 'dice', ignoreIndex: 0.5 } })), 'ERR_TG_ARG', 'ignoreIndex');
  expectError(await rejection(() => m.compile({ loss: 'focal' })), 'ERR_TG_ARG', "'dice'");
  const err = await rejection(() => lossAndGrad({ type: 'dice', ignoreIndex: 255 }, [1, 3, 2, 2], x, tg.tensor(Int32Array.of(0, 1, 7, 255), [1, 2, 2])));
  assert.match(err.message, /7 is out of range for 3 classes/);
  const dtype = await rejection(() => lossAndGrad('bce_dice', [1, 1, 2, 2], x.slice(0, 4), tg.tensor(Int32Array.of(0, 1, 1, 0), [1, 2, 2])));
  assert.is(dtype.code, 'ERR_TG_DTYPE');
});

// --------------------------------------------------------------- metrics

/** Logits (N, C, H, W) whose argmax is `pred` (N·H·W ids). */
function logitsFor(pred, [N, C, H, W]) {
  const x = new Float32Array(N * C * H * W);
  pred.forEach((k, i) => {
    const n = Math.floor(i / (H * W));
    x[(n * C + k) * H * W + (i % (H * W))] = 1;
  });
  return tg.tensor(x, [N, C, H, W]);
}

test('SegmentationMeter: per-class IoU/Dice/accuracy, mIoU over present classes, ignore index, confusion matrix', () => {
  // pred  0 0 1 | target 0   1 1
  //       1 2 2 |        255 2 0       class 3: nowhere
  const logits = logitsFor([0, 0, 1, 1, 2, 2], [1, 4, 2, 3]);
  const target = tg.tensor(Int32Array.of(0, 1, 1, 255, 2, 0), [1, 2, 3]);
  const r = tg.metrics.segmentationReport(logits, target);
  assert.equal(r.confusionMatrix, [
    [1, 0, 1, 0],
    [1, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 0],
  ]);
  assert.is(r.pixels, 5);
  assert.is(r.numClasses, 4);
  const near = (a, b) => Math.abs(a - b) < 1e-12;
  [1 / 3, 1 / 2, 1 / 2].forEach((v, k) => assert.ok(near(r.perClass.iou[k], v), `IoU ${k}`));
  [1 / 2, 2 / 3, 2 / 3].forEach((v, k) => assert.ok(near(r.perClass.dice[k], v), `Dice ${k}`));
  [1 / 2, 1 / 2, 1].forEach((v, k) => assert.ok(near(r.perClass.accuracy[k], v), `acc ${k}`));
  assert.ok(Number.isNaN(r.perClass.iou[3]) && Number.isNaN(r.perClass.dice[3]) && Number.isNaN(r.perClass.accuracy[3]));
  assert.equal(r.perClass.support, [2, 2, 1, 0]);
  assert.ok(near(r.miou, 4 / 9), `mIoU ${r.miou}`);
  assert.ok(near(r.dice, 11 / 18), `mDice ${r.dice}`);
  assert.ok(near(r.pixelAccuracy, 3 / 5));
  assert.ok(near(r.meanAccuracy, 2 / 3));
  assert.ok(near(tg.metrics.meanIoU(logits, target), 4 / 9));

  // A class only predicted (never a target) scores 0 and counts in the mean.
  const fp = tg.metrics.segmentationReport(logitsFor([3, 0], [1, 4, 1, 2]), tg.tensor(Int32Array.of(0, 0), [1, 1, 2]));
  assert.equal(fp.perClass.iou.slice(0, 1), [0.5]);
  assert.is(fp.perClass.iou[3], 0);
  assert.ok(Number.isNaN(fp.perClass.iou[1]));
  assert.is(fp.miou, 0.25);

  // Batch by batch equals all at once; ignoreIndex is configurable; ties go to the lower class.
  const meter = new tg.metrics.SegmentationMeter({ ignoreIndex: -1 });
  meter.add(logitsFor([0, 1], [1, 2, 1, 2]), tg.tensor(Int32Array.of(0, -1), [1, 1, 2]));
  meter.add(tg.tensor(Float32Array.of(0.5, 0.5, 0.5, 0.5), [1, 2, 1, 2]), tg.tensor(Int32Array.of(1, 0), [1, 1, 2]));
  assert.equal(meter.report().confusionMatrix, [[2, 0], [1, 0]]);
  assert.ok(Math.abs(meter.report().miou - (2 / 3 + 0) / 2) < 1e-12);
});

test('SegmentationMeter: one channel is binary (logit > 0), with f32 or integer targets, (N, H, W) or (N, 1, H, W)', () => {
  const logits = tg.tensor(Float32Array.of(2, -1, 0, 3), [1, 1, 2, 2]);
  for (const target of [
    tg.tensor(Float32Array.of(1, 1, 0, 255), [1, 2, 2]),
    tg.tensor(Float32Array.of(0.9, 0.6, 0.2, 255), [1, 1, 2, 2]),
    tg.tensor(Int32Array.of(1, 1, 0, 255), [1, 2, 2]),
  ]) {
    const r = tg.metrics.segmentationReport(logits, target);
    assert.equal(r.confusionMatrix, [[1, 0], [1, 1]]);
    assert.equal(r.perClass.iou, [0.5, 0.5]);
    assert.is(r.miou, 0.5);
    assert.ok(Math.abs(r.perClass.dice[1] - 2 / 3) < 1e-12);
    assert.ok(Math.abs(r.pixelAccuracy - 2 / 3) < 1e-12);
  }
});

test('SegmentationMeter errors: mismatched shapes, ids beyond the classes, f32 ids for several classes', async () => {
  const logits = logitsFor([0, 1, 1, 0], [1, 2, 2, 2]);
  expectError(await rejection(() => tg.metrics.segmentationReport(logits, tg.tensor(Int32Array.of(0, 1, 0), [1, 3]))), 'ERR_TG_SHAPE', 'targets');
  expectError(await rejection(() => tg.metrics.segmentationReport(logits, tg.tensor(Int32Array.of(0, 1, 5, 0), [1, 2, 2]))), 'ERR_TG_ARG', 'is 5');
  expectError(await rejection(() => tg.metrics.segmentationReport(logits, tg.tensor(new Float32Array(4), [1, 2, 2]))), 'ERR_TG_DTYPE');
  const meter = new tg.metrics.SegmentationMeter();
  meter.add(logits, tg.tensor(new Int32Array(4), [1, 2, 2]));
  expectError(await rejection(() => meter.add(logitsFor([0], [1, 3, 1, 1]), tg.tensor(new Int32Array(1), [1, 1, 1]))), 'ERR_TG_SHAPE', '3 classes');
});

// --------------------------------------------------------------- trainer

// Noisy grey backgrounds with a red rectangle (class 1) and a blue one (class 2), as PNG pairs.
async function shapesFolder(count, seed, binary = false) {
  const root = join(scratch, `shapes-${seed}-${binary}`);
  mkdirSync(join(root, 'images'), { recursive: true });
  mkdirSync(join(root, 'masks'), { recursive: true });
  const r = rng(seed);
  const S = 24;
  for (let k = 0; k < count; k++) {
    const img = Buffer.alloc(S * S * 3);
    const ids = new Uint8Array(S * S);
    for (let i = 0; i < S * S; i++) img.fill(80 + Math.floor(r() * 60), i * 3, i * 3 + 3);
    for (const cls of binary ? [1] : [1, 2]) {
      const w = 6 + Math.floor(r() * 8);
      const h = 6 + Math.floor(r() * 8);
      const x0 = Math.floor(r() * (S - w));
      const y0 = Math.floor(r() * (S - h));
      for (let y = y0; y < y0 + h; y++) {
        for (let x = x0; x < x0 + w; x++) {
          const i = y * S + x;
          img.set(cls === 1 ? [200 + Math.floor(r() * 40), 30, 30] : [30, 30, 200 + Math.floor(r() * 40)], i * 3);
          ids[i] = binary ? 255 : cls;
        }
      }
    }
    writeFileSync(join(root, 'images', `${k}.png`), await sharp(img, { raw: { width: S, height: S, channels: 3 } }).png().toBuffer());
    const mask = binary
      ? encodePng({ width: S, height: S, data: ids, depth: 8, channels: 1 })
      : encodePng({ width: S, height: S, data: ids, depth: 8, channels: 1, palette: tg.data.vocPalette(256) });
    writeFileSync(join(root, 'masks', `${k}.png`), mask);
  }
  return root;
}

test('the Trainer fine-tunes a small conv net on image/mask folders and reports val_miou, val_dice, val_pixel_accuracy', async () => {
  tg.manualSeed(7);
  const ds = tg.data.segmentationFolder(await shapesFolder(20, 31), {
    size: 24,
    scale: [0.75, 1.25],
    classes: ['background', 'red', 'blue'],
    valFraction: 0.25,
    seed: 1,
    loader: { batchSize: 5 },
  });
  const net = new tg.nn.Sequential(new tg.nn.Conv2d(3, 8, 3, { padding: 1 }), new tg.nn.ReLU(), new tg.nn.Conv2d(8, 3, 1));
  const trainer = new tg.Trainer(net, {
    loss: { type: 'cross_entropy_dice', ignoreIndex: 255 },
    optimizer: tg.optim.adamw({ lr: 0.03, weightDecay: 0 }),
    metrics: ['miou', 'dice', 'pixel_accuracy'],
    progress: false,
  });
  const history = await trainer.fit(ds.train, { epochs: 10, validation: ds.val });
  const first = history.epochs[0].metrics;
  const last = history.epochs.at(-1).metrics;
  for (const key of ['val_loss', 'val_miou', 'val_dice', 'val_pixel_accuracy']) assert.ok(Number.isFinite(last[key]), key);
  assert.ok(last.val_miou > 0.85, `val_miou ${last.val_miou}`);
  assert.ok(last.val_miou > first.val_miou, `val_miou rose from ${first.val_miou} to ${last.val_miou}`);
  assert.ok(last.val_pixel_accuracy > 0.95, `val_pixel_accuracy ${last.val_pixel_accuracy}`);
  assert.ok(last.loss < first.loss, `train loss fell from ${first.loss} to ${last.loss}`);

  // evaluate() reports the same figures as a meter over predict()'s logits and the targets.
  const ev = await trainer.evaluate(ds.val);
  assert.ok(ev.segmentation, 'evaluate has a segmentation report');
  assert.ok(Math.abs(ev.segmentation.miou - last.val_miou) < 1e-12);
  const logits = await trainer.predict(ds.val);
  const targets = [];
  for await (const b of ds.val.batches(0)) targets.push(...b.target.data);
  const ref = tg.metrics.segmentationReport(logits, tg.tensor(Int32Array.from(targets), [logits.shape[0], 24, 24]), { ignoreIndex: 255 });
  assert.equal(ev.segmentation.confusionMatrix, ref.confusionMatrix);
  assert.is(ev.segmentation.dice, ref.dice);
  assert.is(ev.segmentation.perClass.iou.length, 3);
  // The classification figures are per pixel for such outputs, and agree.
  assert.ok(Math.abs(ev.accuracy - ref.pixelAccuracy) < 1e-12);
});

test('the Trainer trains binary segmentation with bce_dice on 0/255 masks; the default metric is val_miou', async () => {
  tg.manualSeed(8);
  const ds = tg.data.segmentationFolder(await shapesFolder(16, 41, true), { size: 24, binary: true, valFraction: 0.25, seed: 2, loader: { batchSize: 4 } });
  const net = new tg.nn.Sequential(new tg.nn.Conv2d(3, 4, 3, { padding: 1 }), new tg.nn.ReLU(), new tg.nn.Conv2d(4, 1, 1));
  const trainer = new tg.Trainer(net, {
    loss: { type: 'bce_dice', ignoreIndex: 255 },
    optimizer: tg.optim.adamw({ lr: 0.03, weightDecay: 0 }),
    progress: false,
  });
  const history = await trainer.fit(ds.train, { epochs: 15, validation: ds.val });
  const last = history.epochs.at(-1).metrics;
  assert.equal(Object.keys(last).sort(), ['loss', 'val_loss', 'val_miou']);
  assert.ok(last.val_miou > 0.85, `val_miou ${last.val_miou}`);
  const ev = await trainer.evaluate(ds.val);
  assert.is(ev.segmentation.numClasses, 2);
  assert.ok(ev.segmentation.perClass.iou[1] > 0.8, `foreground IoU ${ev.segmentation.perClass.iou[1]}`);
  assert.ok(Number.isNaN(ev.accuracy), 'no argmax accuracy for one channel');
  expectError(await rejection(() => new tg.Trainer(net, { metrics: ['mIoU'], progress: false })), 'ERR_TG_ARG', "'miou'");
});

test.run();
