// Data sets: imageFolder's class mapping as torchvision's ImageFolder, CSV and
// JSON lists with class names or ids and errors that name the line, seeded
// and stratified splits, and in-memory tensor data sets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tg from 'tensorgraft';
import * as data from '../dist/data/index.js';
import { rejection } from './helpers.mjs';

const root = mkdtempSync(join(tmpdir(), 'tg-data-sets-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A small PNG whose red channel holds `value` everywhere. */
async function png(path, value, width = 12, height = 10) {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: value, g: 0, b: 0 } } }).png().toFile(path);
}

function expectError(err, code, ...fragments) {
  assert.instance(err, Error);
  assert.is(err.code, code, `code of: ${err.message}`);
  for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
}

const rel = (ds) => ds.samples.map((s) => [s.path.slice(ds.root.length + 1), s.target]);

test('imageFolder: sorted classes, class_to_idx, recursive sorted files, extensions, hidden names ignored', async () => {
  const dir = join(root, 'folder');
  await png(join(dir, 'tulip', 'b.png'), 10);
  await png(join(dir, 'tulip', 'A.PNG'), 11); // extensions match case-insensitively
  await png(join(dir, 'tulip', 'sub', 'c.png'), 12);
  await png(join(dir, 'daisy', '2.png'), 20);
  await png(join(dir, 'daisy', '10.png'), 21);
  await png(join(dir, 'daisy', '.hidden.png'), 22);
  await png(join(dir, 'Rose', 'r.png'), 30);
  writeFileSync(join(dir, 'daisy', 'notes.txt'), 'not an image');
  await png(join(dir, '.ipynb_checkpoints', 'x.png'), 40);
  writeFileSync(join(dir, 'README.md'), 'a file beside the classes is no class');
  symlinkSync(join(dir, 'tulip', 'sub'), join(dir, 'daisy', 'linked'));

  const ds = data.imageFolder(dir);
  assert.equal(ds.classes, ['Rose', 'daisy', 'tulip']); // code-point order, as Python's sorted
  assert.equal(ds.classToIdx, { Rose: 0, daisy: 1, tulip: 2 });
  assert.equal(rel(ds), [
    ['Rose/r.png', 0],
    ['daisy/10.png', 1],
    ['daisy/2.png', 1],
    ['daisy/linked/c.png', 1],
    ['tulip/A.PNG', 2],
    ['tulip/b.png', 2],
    ['tulip/sub/c.png', 2],
  ]);
  assert.equal(Array.from(ds.targets), [0, 1, 1, 1, 2, 2, 2]);
  assert.is(ds.length, 7);

  const only = data.imageFolder(dir, { extensions: ['.PNG'], transform: data.transforms.compose([]) });
  assert.is(only.length, 7);
  const sample = await only.get(1, data.Rng.keyed(0));
  assert.equal(sample.input.shape, [3, 10, 12]);
  assert.is(sample.input.data[0], Math.fround(21 / 255));
  assert.equal([sample.target.dtype, Array.from(sample.target.data), sample.target.shape], ['i32', [1], []]);
  assert.is(only.describe(1), join(dir, 'daisy', '10.png'));
});

test('imageFolder: clear errors for a missing folder, no classes, and a class with no images', async () => {
  expectError(await rejection(() => data.imageFolder(join(root, 'missing'))), 'ERR_TG_IO', join(root, 'missing'));
  const empty = join(root, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'a.png'), 'loose files are no classes');
  expectError(await rejection(() => data.imageFolder(empty)), 'ERR_TG_ARG', 'no class folders', empty);
  const holes = join(root, 'holes');
  await png(join(holes, 'cat', 'x.png'), 1);
  mkdirSync(join(holes, 'dog'));
  writeFileSync(join(holes, 'dog', 'x.gif'), 'GIF89a');
  mkdirSync(join(holes, 'emu'));
  expectError(await rejection(() => data.imageFolder(holes)), 'ERR_TG_ARG', "'dog'", "'emu'", holes, '.jpg');
  const allowed = data.imageFolder(holes, { allowEmpty: true });
  assert.equal(allowed.classes, ['cat', 'dog', 'emu']);
  assert.is(allowed.length, 1);
});

test('CSV list with class names: sorted names, quoted fields, paths relative to the list', async () => {
  const dir = join(root, 'csv');
  await png(join(dir, 'img', 'one.png'), 1);
  await png(join(dir, 'img', 'two, too.png'), 2);
  await png(join(dir, 'img', 'three.png'), 3);
  const file = join(dir, 'labels.csv');
  writeFileSync(file, '\ufeffid,Path,Label\r\n7,img/one.png,zebra\r\n8,"img/two, too.png","ant"\r\n\r\n9,img/three.png, zebra \r\n');
  const ds = data.imageList(file);
  assert.equal(ds.classes, ['ant', 'zebra']);
  assert.equal(rel({ root: dir, samples: ds.samples }), [['img/one.png', 1], ['img/two, too.png', 0], ['img/three.png', 1]]);
  const s = await ds.withTransform(data.transforms.compose([])).get(1, data.Rng.keyed(0));
  assert.is(s.input.data[0], Math.fround(2 / 255));
  // Given classes fix the numbering.
  assert.equal(Array.from(data.imageList(file, { classes: ['zebra', 'ant', 'bee'] }).targets), [0, 1, 0]);
});

test('CSV list with integer ids, without a header, and with named columns', () => {
  const dir = join(root, 'csv-ids');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.csv'), 'path,label\nx.png,2\ny.png,0\n');
  const ids = data.imageList(join(dir, 'a.csv'));
  assert.equal(Array.from(ids.targets), [2, 0]);
  assert.equal(ids.classes, ['0', '1', '2']);
  assert.equal(data.imageList(join(dir, 'a.csv'), { classes: ['cat', 'dog', 'emu'] }).classes, ['cat', 'dog', 'emu']);
  // Ids read as names when asked.
  assert.equal(data.imageList(join(dir, 'a.csv'), { labels: 'name' }).classes, ['0', '2']);
  writeFileSync(join(dir, 'b.csv'), 'x.png,1\n/abs/y.png,0\n');
  const bare = data.imageList(join(dir, 'b.csv'), { header: false });
  assert.equal(bare.samples.map((s) => s.path), [join(dir, 'x.png'), '/abs/y.png']);
  writeFileSync(join(dir, 'c.csv'), 'file,split,class\nx.png,train,cat\ny.png,val,dog\n');
  const named = data.imageList(join(dir, 'c.csv'), { pathColumn: 'file', labelColumn: 'class' });
  assert.equal(Array.from(named.targets), [0, 1]);
});

test('JSON lists: objects, pairs, and { classes, samples }', () => {
  const dir = join(root, 'json');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.json'), JSON.stringify([{ path: 'p/1.png', label: 'dog' }, { path: 'p/2.png', label: 'cat' }]));
  const a = data.imageList(join(dir, 'a.json'));
  assert.equal(a.classes, ['cat', 'dog']);
  assert.equal(Array.from(a.targets), [1, 0]);
  assert.is(a.samples[0].path, join(dir, 'p', '1.png'));
  writeFileSync(join(dir, 'b.json'), JSON.stringify([['1.png', 1], ['2.png', 0]]));
  assert.equal(Array.from(data.imageList(join(dir, 'b.json')).targets), [1, 0]);
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ classes: ['x', 'y', 'z'], samples: [['1.png', 'z'], ['2.png', 2]] }));
  const c = data.imageList(join(dir, 'c.json'));
  assert.equal(c.classes, ['x', 'y', 'z']);
  assert.equal(Array.from(c.targets), [2, 2]); // a JSON number is an id, a string a name
  writeFileSync(join(dir, 'd.json'), JSON.stringify([['1.png', 'z'], ['2.png', 2]]));
  assert.throws(() => data.imageList(join(dir, 'd.json')), /mix class ids and names/);
});

test('list errors name the file and the line or item', async () => {
  const dir = join(root, 'bad-lists');
  mkdirSync(dir, { recursive: true });
  const w = (name, text) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const short = w('short.csv', 'path,label\na.png,cat\nb.png\n');
  expectError(await rejection(() => data.imageList(short)), 'ERR_TG_FORMAT', short, 'line 3');
  const nocol = w('nocol.csv', 'file,label\na.png,cat\n');
  expectError(await rejection(() => data.imageList(nocol)), 'ERR_TG_FORMAT', nocol, "'path'", 'file, label');
  const unknown = w('unknown.csv', 'path,label\na.png,cat\nb.png,cow\n');
  expectError(await rejection(() => data.imageList(unknown, { classes: ['cat', 'dog'] })), 'ERR_TG_FORMAT', 'line 3', '"cow"');
  const range = w('range.csv', 'path,label\na.png,0\nb.png,5\n');
  expectError(await rejection(() => data.imageList(range, { classes: ['cat', 'dog'] })), 'ERR_TG_FORMAT', 'line 3', '5');
  const quote = w('quote.csv', 'path,label\n"a.png,cat\n');
  expectError(await rejection(() => data.imageList(quote)), 'ERR_TG_FORMAT', 'line 2', 'not closed');
  const json = w('bad.json', '[{"path": "a.png", "label": "x"}, {"file": "b.png"}]');
  expectError(await rejection(() => data.imageList(json)), 'ERR_TG_FORMAT', json, 'item 1');
  const broken = w('broken.json', '[{"path": ');
  expectError(await rejection(() => data.imageList(broken)), 'ERR_TG_FORMAT', broken, 'JSON');
  expectError(await rejection(() => data.imageList(join(dir, 'none.csv'))), 'ERR_TG_IO', 'none.csv');
  expectError(await rejection(() => data.imageList(w('list.txt', ''))), 'ERR_TG_ARG', 'format');
  expectError(await rejection(() => data.imageList(w('empty.csv', 'path,label\n'))), 'ERR_TG_ARG', 'no images');
});

test('split: sizes, disjoint and complete, reproducible from the seed', () => {
  const ds = data.tensorDataset(tg.tensor(new Float32Array(103), [103, 1]), Array.from({ length: 103 }, (_, i) => i % 3));
  const { train, val } = data.split(ds, { valFraction: 0.2, seed: 5 });
  assert.is(val.length, 21); // round(20.6)
  assert.is(train.length, 82);
  const all = [...train.indices, ...val.indices].sort((a, b) => a - b);
  assert.equal(all, Array.from({ length: 103 }, (_, i) => i));
  assert.equal(Array.from(data.split(ds, { valFraction: 0.2, seed: 5 }).val.indices), Array.from(val.indices));
  assert.not.equal(Array.from(data.split(ds, { valFraction: 0.2, seed: 6 }).val.indices), Array.from(val.indices));
  assert.is(data.split(ds, { valSize: 10 }).val.length, 10);
  assert.is(data.split(ds, { valFraction: 0 }).val.length, 0);
});

test('split: stratified keeps each class share in both parts', () => {
  const labels = [...Array(10).fill(0), ...Array(20).fill(1), ...Array(30).fill(2), ...Array(7).fill(3)];
  const ds = data.tensorDataset(tg.tensor(new Float32Array(labels.length), [labels.length]), labels);
  const { train, val } = data.split(ds, { valFraction: 0.3, seed: 1, stratify: true });
  const count = (part) => [0, 1, 2, 3].map((c) => Array.from(part.targets).filter((t) => t === c).length);
  // Quotas 3, 6, 9, 2.1 of round(67 · 0.3) = 20: the last place goes to the largest remainder.
  assert.equal(count(val), [3, 6, 9, 2]);
  assert.equal(count(train), [7, 14, 21, 5]);
  const noTargets = data.tensorDataset({ x: tg.tensor(new Float32Array(4), [4]) });
  assert.is(data.split(noTargets, { valSize: 1 }).val.length, 1);
  assert.throws(() => data.split(noTargets, { stratify: true }), /targets/);
});

test('tensorDataset: slices along the first axis, records of feeds, classes and transforms', async () => {
  const x = tg.tensor(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3]);
  const ds = data.tensorDataset(x, [3, 1, 0, 2], { classes: ['a', 'b', 'c', 'd'] });
  assert.is(ds.length, 4);
  const s = await ds.get(2, data.Rng.keyed(0));
  assert.equal([s.input.shape, Array.from(s.input.data)], [[3], [6, 7, 8]]);
  assert.equal([s.target.shape, s.target.dtype, Array.from(s.target.data)], [[], 'i32', [0]]);
  assert.equal(ds.classes, ['a', 'b', 'c', 'd']);
  const rec = data.tensorDataset({ input_ids: tg.tensor(new Int32Array(8), [2, 4], 'i32'), labels: tg.tensor(new Int32Array([1, 0]), [2], 'i32') });
  assert.equal(Object.keys(await rec.get(0, data.Rng.keyed(0))), ['input_ids', 'labels']);
  assert.throws(() => data.tensorDataset(x, [1, 2]), /length of input/);
  const noisy = data.tensorDataset(x, [0, 0, 0, 0], {
    transform: (sample, rng) => ({ ...sample, input: tg.tensor(sample.input.data.map((v) => v + rng.next()), sample.input.shape) }),
  });
  const a = await noisy.get(1, data.Rng.keyed(3, 1));
  const b = await noisy.get(1, data.Rng.keyed(3, 1));
  assert.equal(Array.from(a.input.data), Array.from(b.input.data));
});

test.run();
