// The image-classification commands end to end on a tiny generated folder:
// `finetune` from 1000-class ResNet-18 weights the test writes (what it
// prints, the files and checkpoints it leaves, --resume), then `eval` and
// `predict` on its output, and `predict` on the 1000-class weights, whose
// head is set so that the answer is known and named from the ImageNet list.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tg from 'tensorgraft';
import { rng } from './helpers.mjs';

const cli = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tg-cli-vision-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function run(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

const data = join(dir, 'photos');
const out = join(dir, 'run');
const imagenet = join(dir, 'resnet18-imagenet.safetensors');
const CLASSES = ['blue', 'green', 'red'];
const image = (cls, i) => join(data, cls, `${i}.png`);

test.before(async () => {
  const colours = { red: [210, 40, 40], green: [40, 190, 60], blue: [40, 70, 210] };
  const r = rng(5);
  for (const [name, rgb] of Object.entries(colours)) {
    mkdirSync(join(data, name), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const px = Buffer.alloc(32 * 32 * 3);
      for (let p = 0; p < px.length; p++) px[p] = Math.max(0, Math.min(255, Math.round(rgb[p % 3] + (r() - 0.5) * 80)));
      await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(image(name, i));
    }
  }
  // "ImageNet" weights with a known answer: a zero head weight and a bias
  // that favours class 281 (tabby), then 285 (Egyptian cat), for any image.
  tg.manualSeed(3);
  const net = tg.models.resnet18();
  assert.instance(net, tg.models.ResNet, 'without weights a factory returns the model itself');
  const params = Object.fromEntries(net.namedParameters());
  params['fc.weight'].data.fill(0);
  params['fc.bias'].data.fill(0);
  params['fc.bias'].data[281] = 10;
  params['fc.bias'].data[285] = 8;
  await net.save(imagenet);
});

test('finetune trains a new head on an image folder and writes weights, labels and checkpoints', async () => {
  const r = await run('finetune', '--model', 'resnet18', '--weights', imagenet, '--data', data, '--epochs', '1', '--size', '32', '--batch-size', '8', '--out', out);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, "new head fc.* for 3 classes (the file's has 1000)");
  assert.match(r.stdout, 'training resnet18 on 14 images in 3 classes (blue, green, red), 4 for validation; 2 of 62 parameter tensors train');
  assert.match(r.stdout, /validation accuracy: [01]\.\d{4} \(4 images, epoch 1\)/);
  // Not a terminal: one line per epoch instead of a bar.
  assert.match(r.stderr, /^epoch 1\/1 {2}loss \d+\.\d{4} {2}val_loss \d+\.\d{4} {2}val_accuracy [01]\.\d{4} {2}\(\d+\.\d s\)$/m);

  assert.equal(JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')), CLASSES);
  assert.ok(existsSync(join(out, 'checkpoints', 'latest.json')));
  const saved = await tg.weights.readSafetensors(join(out, 'model.safetensors'));
  assert.is(saved.metadata['tensorgraft.arch'], 'resnet18');
  assert.is(saved.metadata['tensorgraft.image_size'], '32');
  assert.equal(saved.tensors['fc.weight'].shape, [3, 512]);
  const source = (await tg.weights.readSafetensors(imagenet)).tensors;
  const bytes = (t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (const k of ['conv1.weight', 'layer4.1.bn2.running_var']) assert.ok(bytes(saved.tensors[k]).equals(bytes(source[k])), `${k} frozen`);
});

test('finetune --resume continues from the latest checkpoint', async () => {
  const r = await run('finetune', '--model', 'resnet18', '--weights', imagenet, '--data', data, '--epochs', '2', '--size', '32', '--batch-size', '8', '--out', out, '--resume');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^epoch 2\/2 /m);
  assert.not.match(r.stderr, /^epoch 1\/2 /m);
  assert.match(r.stdout, /validation accuracy: [01]\.\d{4} \(4 images, epoch 2\)/);
});

test('eval prints loss, accuracy, top-5, per-class scores and the confusion matrix', async () => {
  const weights = join(out, 'model.safetensors');
  const r = await run('eval', '--weights', weights, '--data', data);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `resnet18 (3 classes, names from ${join(out, 'labels.json')}) on ${data}, 32x32`);
  assert.match(r.stdout, /^samples 18 {2}loss \d+\.\d{4} {2}accuracy [01]\.\d{4} {2}top-5 1\.0000$/m);
  for (const c of CLASSES) assert.match(r.stdout, new RegExp(`^${c} +[01]\\.\\d{4} +[01]\\.\\d{4} +[01]\\.\\d{4} +6$`, 'm'));
  assert.match(r.stdout, /^macro avg +/m);
  assert.match(r.stdout, 'confusion matrix (rows: true class, columns: predicted)');
  assert.match(r.stdout, /^ +blue +green +red$/m);

  const j = await run('eval', '--weights', weights, '--data', data, '--json');
  assert.is(j.code, 0, j.stderr);
  const report = JSON.parse(j.stdout);
  assert.equal(report.classes, CLASSES);
  assert.is(report.samples, 18);
  assert.is(report.top5, 1);
  assert.ok(report.accuracy >= 0 && report.accuracy <= 1 && Number.isFinite(report.loss));
  assert.is(report.confusionMatrix.length, 3);
  assert.is(report.confusionMatrix.flat().reduce((a, b) => a + b, 0), 18);
  assert.equal(report.perClass.map((p) => [p.class, p.support]), CLASSES.map((c) => [c, 6]));
});

test('predict --json gives the top-k classes of each image, named as recorded in the weights', async () => {
  // Away from its labels.json, the file still knows its architecture, size and class names.
  const moved = join(dir, 'moved.safetensors');
  copyFileSync(join(out, 'model.safetensors'), moved);
  const r = await run('predict', '--weights', moved, '--top-k', '2', '--json', image('red', 0), image('blue', 1));
  assert.is(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout);
  assert.equal(results.map((x) => x.image), [image('red', 0), image('blue', 1)]);
  for (const { top } of results) {
    assert.is(top.length, 2);
    for (const g of top) assert.is(g.label, CLASSES[g.index]);
    assert.ok(top[0].probability >= top[1].probability && top[0].probability + top[1].probability <= 1 + 1e-9, JSON.stringify(top));
  }
});

test('predict names 1000-class outputs from the bundled ImageNet list', async () => {
  const r = await run('predict', '--model', 'resnet18', '--weights', imagenet, '--size', '32', image('green', 2));
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.is(lines.length, 6, r.stdout);
  // Logits equal to the bias: softmax of (10, 8, 0 × 998); the rest tie and go to the lowest indices.
  const z = Math.exp(10) + Math.exp(8) + 998;
  assert.equal(lines.slice(0, 5), [
    image('green', 2),
    `  ${(Math.exp(10) / z).toFixed(4)}  tabby`,
    `  ${(Math.exp(8) / z).toFixed(4)}  Egyptian cat`,
    `  ${(1 / z).toFixed(4)}  tench`,
    `  ${(1 / z).toFixed(4)}  goldfish`,
  ]);
});

test('errors say what to give and exit with status 1', async () => {
  // Weights not written by finetune do not record their architecture.
  const r = await run('predict', '--weights', imagenet, image('red', 0));
  assert.is(r.code, 1);
  assert.match(r.stderr, 'tensorgraft: predict: give --model');
  const bad = await run('finetune', '--model', 'resnet18', '--data', data, '--epochs', 'two');
  assert.is(bad.code, 1);
  assert.match(bad.stderr, "option '--epochs <n>' argument 'two' is invalid");
  const unknown = await run('finetune', '--model', 'resnet19', '--data', data);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, "tensorgraft: finetune: unknown model 'resnet19' (use one of resnet18, ");
  const both = await run('finetune', '--model', 'resnet18', '--data', data, '--val', data, '--val-split', '0.3');
  assert.is(both.code, 1);
  assert.match(both.stderr, 'give --val or --val-split, not both');
});

test.run();
