// The demo (`npm start`): the bundled pretrained model is what its log says
// it is, the experiment runs each method with the right parameters trainable,
// pretrained features beat training from scratch with few labels, and the
// report (Markdown, SVG, PNG, JSON) and the CLI table come out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tg from 'tensorgraft';

const dir = mkdtempSync(join(tmpdir(), 'tg-demo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;

const { DEMO_WEIGHTS, DEMO_LOG } = tg.demo;
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

test('the bundled model: a quarter-width ResNet-18 under 5 MB whose every tensor loads, with its recipe and log', async () => {
  assert.ok(statSync(DEMO_WEIGHTS).size <= 5 * 2 ** 20, `${statSync(DEMO_WEIGHTS).size} bytes`);
  const info = await tg.weights.inspectWeights(DEMO_WEIGHTS);
  assert.is(info.metadata.arch, 'resnet18');
  assert.is(info.metadata.width, '16');
  assert.is(info.metadata.classes, tg.data.synthetic.SOURCE_CLASSES.join(','));
  const net = await tg.models.resnet18({ weights: DEMO_WEIGHTS, width: 16, numClasses: tg.data.synthetic.SOURCE_CLASSES.length, strict: true });
  assert.equal(net.loadReport.missing, []);
  assert.equal(net.loadReport.unexpected, []);
  assert.equal(net.parameters()['fc.weight'], [tg.data.synthetic.SOURCE_CLASSES.length, 128]);
  const log = readFileSync(DEMO_LOG, 'utf8');
  assert.match(log, 'npm run pretrain-demo');
  assert.match(log, `${(100 * Number(info.metadata.test_accuracy)).toFixed(1)}% test accuracy`);
});

test('the bundled model scores on the generated source test set what its file says (the generator has not drifted)', async () => {
  const info = await tg.weights.inspectWeights(DEMO_WEIGHTS);
  const recipe = JSON.parse(info.metadata.recipe);
  const classes = tg.data.synthetic.SOURCE_CLASSES;
  const net = await tg.models.resnet18({ weights: DEMO_WEIGHTS, width: 16, numClasses: classes.length });
  const testSet = tg.data.synthetic.syntheticDataset({ task: 'source', perClass: recipe.testPerClass, split: 'test', seed: recipe.seed, size: 32 });
  const trainer = new tg.Trainer(net, { progress: false });
  const evaluation = await trainer.evaluate(tg.data.loader(testSet, { batchSize: 200 }));
  assert.ok(Math.abs(evaluation.accuracy - Number(info.metadata.test_accuracy)) < 0.005, `${evaluation.accuracy} against ${info.metadata.test_accuracy}`);
  assert.ok(evaluation.accuracy > 3 / classes.length, `well above chance: ${evaluation.accuracy}`);
});

test('with 5 images per class the pretrained linear probe beats training from scratch by a wide margin', async () => {
  const result = await tg.demo.runDemo({ ks: [5], modes: ['linear-probe', 'scratch'], epochs: () => 15, testPerClass: 20, seed: 3 });
  const [probe, scratch] = result.runs;
  assert.is(probe.mode, 'linear-probe');
  assert.is(scratch.mode, 'scratch');
  assert.ok(probe.accuracy > scratch.accuracy + 0.15, `probe ${probe.accuracy}, scratch ${scratch.accuracy}`);
  assert.ok(probe.accuracy > 0.25, `probe ${probe.accuracy} (chance 0.1)`);
  assert.ok(probe.seconds < scratch.seconds, `the probe trains only the head: ${probe.seconds} s against ${scratch.seconds} s`);
});

let small; // a tiny run of every method, reused by the report tests

test('every method trains what it says: head only, layer4 and head, everything', async () => {
  const events = [];
  small = await tg.demo.runDemo({ ks: [2], epochs: () => 2, testPerClass: 3, target: 0.05, onProgress: (e) => events.push(e) });
  assert.equal(small.runs.map((r) => r.mode), ['linear-probe', 'partial', 'full', 'scratch']);
  const net = tg.demo.demoNetwork(10);
  const params = net.parameters();
  const count = (pred) => Object.entries(params).filter(([n]) => pred(n)).reduce((a, [, s]) => a + numel(s), 0);
  const all = count(() => true);
  assert.is(small.runs[0].trainable, count((n) => n.startsWith('fc.')));
  assert.is(small.runs[1].trainable, count((n) => n.startsWith('fc.') || n.startsWith('layer4.')));
  assert.is(small.runs[2].trainable, all);
  assert.is(small.runs[3].trainable, all);
  for (const r of small.runs) {
    assert.is(r.curve.length, 2);
    assert.ok(r.curve.every((p) => p.accuracy >= 0 && p.accuracy <= 1 && p.seconds > 0 && Number.isFinite(p.loss)));
    assert.is(r.accuracy, r.curve[1].accuracy);
    assert.is(r.epochsToTarget, 1, 'a target of 5% is reached after the first epoch');
  }
  assert.is(small.testImages, 30);
  assert.is(events.filter((e) => e.type === 'runStart').length, 4);
  assert.is(events.filter((e) => e.type === 'epoch').length, 8);
});

test('the report: Markdown table, SVG and PNG curves, JSON results', async () => {
  const files = await tg.demo.writeReport(small, join(dir, 'report'), { command: 'test', machine: 'test machine' });
  const md = readFileSync(files.markdown, 'utf8');
  assert.match(md, '| k / class | method | test accuracy |');
  assert.is(md.split('\n').filter((l) => l.startsWith('| 2 |')).length, 4);
  assert.match(md, '![test accuracy against training time](curves.png)');
  const svg = readFileSync(files.svg, 'utf8');
  assert.is((svg.match(/<polyline/g) ?? []).length, 4);
  const png = readFileSync(files.png);
  assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(png.length > 5000, 'a drawn picture');
  assert.equal(JSON.parse(readFileSync(files.json, 'utf8')).runs.length, 4);
});

test('tensorgraft demo prints the table and writes the report; bad options are refused', async () => {
  const out = join(dir, 'cli');
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'demo', '--k', '2', '--epochs', '1', '--test-per-class', '2', '--modes', 'linear-probe,scratch', '--out', out]);
  assert.match(stdout, 'pretrained, linear probe (backbone frozen)');
  assert.match(stdout, 'from scratch');
  assert.match(stdout, `Report: ${join(out, 'report.md')}`);
  assert.ok(existsSync(join(out, 'curves.png')));
  const err = await promisify(execFile)(process.execPath, [cli, 'demo', '--modes', 'magic']).catch((e) => e);
  assert.is(err.code, 1);
  assert.match(err.stderr, '--modes');
});

test.run();
