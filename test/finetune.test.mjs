// Transfer learning end to end on generated images: a ResNet-18 trained on a
// source task (four colour classes) is saved, rebuilt by the factory from its
// weights file with a 3-class head for a target task (the file's 4-class head
// left out on purpose), and fine-tuned with the backbone frozen. Also the
// factories' `weights` option and tg.models.load: head sizes, the load
// report, strict failures that name the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tg from 'tensorgraft';
import { rejection, rng } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tg-finetune-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SIZE = 32;

/**
 * An image folder of SIZE×SIZE PNGs: per class a base colour, per image a
 * brightness shift, per pixel noise (so no two images are alike).
 */
async function colourFolder(root, classes, perClass, seed) {
  const r = rng(seed);
  for (const [name, rgb] of Object.entries(classes)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const shift = (r() - 0.5) * 60;
      const px = Buffer.alloc(SIZE * SIZE * 3);
      for (let p = 0; p < SIZE * SIZE; p++) {
        for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, Math.round(rgb[c] + shift + (r() - 0.5) * 90)));
      }
      await sharp(px, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(join(root, name, `${i}.png`));
    }
  }
  return root;
}

const bytes = (t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const same = (a, b) => bytes(a).equals(bytes(b));
// stateDict() copies, so a snapshot stays as it was while the model trains.
const snapshot = (model) => model.stateDict();

let pretrained; // the source-task weights file
let source; // its state dict, as saved
let backboneOnly; // the same without the head
let broken; // the same without one backbone tensor

test.before(async () => {
  tg.manualSeed(7);
  const root = await colourFolder(
    join(dir, 'source'),
    { red: [210, 40, 40], green: [40, 190, 60], blue: [40, 70, 210], yellow: [220, 210, 40] },
    8,
    1,
  );
  const data = tg.data.imageFolder(root, { size: SIZE, augment: 'none', valFraction: 0, seed: 1, loader: { batchSize: 16 } });
  const net = tg.models.create('resnet18', { numClasses: 4 });
  assert.instance(net, tg.models.ResNet);
  await new tg.Trainer(net, { optimizer: tg.optim.adamw({ lr: 1e-3 }), progress: false }).fit(data.train, { epochs: 2 });
  pretrained = join(dir, 'source.safetensors');
  await net.save(pretrained);
  source = await snapshot(net);
  const { 'fc.weight': _w, 'fc.bias': _b, ...backbone } = source;
  backboneOnly = join(dir, 'backbone.safetensors');
  await tg.weights.writeSafetensors(backboneOnly, backbone);
  const { 'layer1.0.conv1.weight': _gone, ...rest } = source;
  broken = join(dir, 'broken.safetensors');
  await tg.weights.writeSafetensors(broken, rest);
});

test('a frozen pretrained backbone with a new 3-class head reaches >= 0.9 validation accuracy', async () => {
  tg.manualSeed(8);
  const root = await colourFolder(join(dir, 'target'), { cherry: [190, 30, 70], moss: [70, 150, 40], sea: [30, 110, 190] }, 16, 2);
  const net = await tg.models.resnet18({ weights: pretrained, numClasses: 3 });
  const report = net.loadReport;
  assert.equal(report.head, { globs: ['fc.*'], checkpointClasses: 4, numClasses: 3, loaded: false });
  assert.equal(report.ignored.sort(), ['fc.bias', 'fc.weight']);
  assert.equal(report.missing, []);
  assert.equal(report.unexpected, []);
  assert.ok(report.notes.some((n) => n.includes("fc.*: the file's head has 4 classes, the model 3")), report.notes.join('; '));
  assert.equal(net.parameters()['fc.weight'], [3, 512]);

  const before = await snapshot(net);
  for (const [k, v] of Object.entries(before)) if (!k.startsWith('fc.')) assert.ok(same(v, source[k]), `${k} loaded from the file`);

  const data = tg.data.imageFolder(root, { size: SIZE, valFraction: 0.25, seed: 3, loader: { batchSize: 12 } });
  const trainer = new tg.Trainer(net, {
    optimizer: tg.optim.adamw({ lr: 1e-2 }),
    freeze: '*',
    unfreeze: 'fc.*',
    metrics: ['accuracy'],
    progress: false,
  });
  assert.equal(net.trainableParameters(), ['fc.weight', 'fc.bias']);
  const history = await trainer.fit(data.train, { epochs: 3, validation: data.val });
  const last = history.epochs.at(-1);
  assert.is(data.val.size, 12);
  assert.ok(last.metrics.val_accuracy >= 0.9, `validation accuracy ${last.metrics.val_accuracy} (history ${JSON.stringify(history.epochs.map((e) => e.metrics))})`);
  assert.ok(last.loss < history.epochs[0].loss, `training loss fell: ${history.epochs.map((e) => e.loss.toFixed(3)).join(' → ')}`);

  const after = await snapshot(net);
  for (const [k, v] of Object.entries(after)) {
    // BatchNorm statistics included: frozen layers stay in eval mode.
    if (!k.startsWith('fc.')) assert.ok(same(v, before[k]), `${k} is frozen and unchanged`);
  }
  assert.not.ok(same(after['fc.weight'], before['fc.weight']), 'the head trained');
});

test('without numClasses the head takes the file size, and loads', async () => {
  const net = await tg.models.load('resnet18', { weights: pretrained });
  assert.instance(net, tg.models.ResNet);
  assert.equal(net.parameters()['fc.weight'], [4, 512]);
  assert.equal(net.loadReport.head, { globs: ['fc.*'], checkpointClasses: 4, numClasses: 4, loaded: true });
  assert.equal(net.loadReport.ignored, []);
  assert.is(net.loadReport.path, pretrained);
  const state = await snapshot(net);
  for (const k of Object.keys(source)) assert.ok(same(state[k], source[k]), k);
});

test('the bundled ImageNet class names and the architecture list', () => {
  assert.is(tg.models.IMAGENET_CLASSES.length, 1000);
  assert.is(new Set(tg.models.IMAGENET_CLASSES).size, 1000);
  assert.equal([tg.models.IMAGENET_CLASSES[0], tg.models.IMAGENET_CLASSES[281], tg.models.IMAGENET_CLASSES[999]], ['tench', 'tabby', 'toilet tissue']);
  for (const a of ['resnet18', 'resnet152', 'vgg11', 'vgg16_bn']) assert.ok(tg.models.architectures.includes(a), a);
});

test('a file without a head gives a fresh one when numClasses is asked for, and fails strictly otherwise', async () => {
  const net = await tg.models.resnet18({ weights: backboneOnly, numClasses: 6 });
  assert.equal(net.loadReport.head, { globs: ['fc.*'], numClasses: 6, loaded: false });
  assert.ok(net.loadReport.notes.some((n) => n.includes('the file has no head')), net.loadReport.notes.join('; '));
  const err = await rejection(() => tg.models.resnet18({ weights: backboneOnly }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.ok(err.message.startsWith(`models.resnet18: ${backboneOnly}: `), err.message);
  assert.ok(err.message.includes('missing fc.weight'), err.message);
});

test('a backbone that does not fit fails strictly, naming the file', async () => {
  const err = await rejection(() => tg.models.load('resnet18', { weights: broken, numClasses: 3 }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.ok(err.message.includes(broken) && err.message.includes('missing layer1.0.conv1.weight'), err.message);
});

test('bad arguments are rejected with ERR_TG_ARG', async () => {
  let err = await rejection(() => tg.models.load('resnet19', { weights: pretrained }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, "unknown model 'resnet19'");
  err = await rejection(() => tg.models.resnet18({ weights: 42 }));
  assert.is(err.code, 'ERR_TG_ARG');
  assert.match(err.message, 'models.resnet18: weights must be a weight file or folder path, got 42');
  err = await rejection(() => tg.models.resnet18({ weights: join(dir, 'nope.pth') }));
  assert.is(err.code, 'ERR_TG_IO');
  assert.match(err.message, 'nope.pth');
  err = await rejection(() => tg.models.resnet18({ weights: pretrained, numClasses: 0 }));
  assert.match(err.message, 'numClasses must be a positive integer');
  assert.throws(() => tg.models.create('nope'), /unknown model 'nope'/);
});

test.run();
