// Segmentation data: image/mask pairing in the folder and VOC layouts, every
// mask format (palette PNG indices, grey, 1-bit, binary 0/255 and 0/1, RGB
// through `colors`), joint augmentation that keeps image and mask aligned
// (checked on a drawn rectangle through scale, crop, flip and padding),
// determinism by (seed, epoch, index), the ignore padding, colour palettes,
// and errors that name the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import sharp from 'sharp';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';

const { data } = tg;
const scratch = mkdtempSync(join(tmpdir(), 'tg-seg-data-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
let folders = 0;

function folder(files) {
  const root = join(scratch, `set${folders++}`);
  for (const [rel, bytes] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, bytes);
  }
  return root;
}

/** (H, W, 3) bytes from f(x, y) → [r, g, b]. */
function rgb(width, height, f) {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) buf.set(f(x, y), (y * width + x) * 3);
  return buf;
}

const png = (width, height, f) => sharp(rgb(width, height, f), { raw: { width, height, channels: 3 } }).png().toBuffer();
const jpeg = (width, height, f) => sharp(rgb(width, height, f), { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
const idsOf = (width, height, f) => Uint8Array.from({ length: width * height }, (_, i) => f(i % width, Math.floor(i / width)));
/** A palette PNG whose indices are f(x, y); the palette's colours are deliberately not grey. */
const palettePng = (width, height, f, n = 256) =>
  encodePng({ width, height, data: idsOf(width, height, f), depth: 8, channels: 1, palette: data.vocPalette(n) });
const greyPng = (width, height, f) => encodePng({ width, height, data: idsOf(width, height, f), depth: 8, channels: 1 });

function expectError(err, code, ...fragments) {
  assert.instance(err, Error);
  assert.is(err.code, code, `code of: ${err.message}`);
  for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
}

const sample = (ds, index, seed = 0, epoch = 0) => ds.get(index, data.Rng.keyed(seed, 2, epoch, index));
const noise = (x, y) => [(x * 37 + y * 11) & 255, (x * 5 + y * 23) & 255, (x * y) & 255];
const quad = (x, y) => (x < 6 ? 0 : 1) + (y < 4 ? 0 : 2); // four class blocks on a 12 × 8 image

test('vocPalette is the standard VOC colour map and colorizeMask paints ids with it', async () => {
  const p = data.vocPalette(256);
  assert.is(p.length, 256);
  assert.equal(p[0], [0, 0, 0]);
  assert.equal(p[1], [128, 0, 0]);
  assert.equal(p[2], [0, 128, 0]);
  assert.equal(p[3], [128, 128, 0]);
  assert.equal(p[15], [192, 128, 128]); // person
  assert.equal(p[20], [0, 64, 128]); // tvmonitor
  assert.equal(p[255], [224, 224, 192]); // boundary / ignore
  const rgbBuf = data.colorizeMask(Int32Array.of(0, 1, 15, 255, 300, -100), 3, 2);
  assert.ok(Buffer.isBuffer(rgbBuf));
  assert.equal([...rgbBuf], [0, 0, 0, 128, 0, 0, 192, 128, 128, 224, 224, 192, 0, 0, 0, 0, 0, 0]);
  assert.equal([...data.colorizeMask(Uint8Array.of(1, 0), 2, 1, [[1, 2, 3], [4, 5, 6]])], [4, 5, 6, 1, 2, 3]);
  expectError(await rejection(() => data.colorizeMask(Int32Array.of(0, 1), 3, 1)), 'ERR_TG_SHAPE', 'ids');
});

test('images/ and masks/ are paired by stem; palette PNG masks give their indices, not their colours', async () => {
  const root = folder({
    'images/b.png': await png(12, 8, noise),
    'images/a.jpg': await jpeg(12, 8, noise),
    'images/sub/c.png': await png(12, 8, noise),
    'masks/a.png': palettePng(12, 8, quad),
    'masks/b.png': palettePng(12, 8, (x, y) => (x + y) % 4),
    'masks/sub/c.png': palettePng(12, 8, () => 2),
  });
  const ds = data.segmentationFolder(root, { classes: ['w', 'x', 'y', 'z'], evalSize: 'keep' });
  assert.is(ds.length, 3);
  assert.equal(ds.samples.map((s) => s.image.slice(root.length + 1)), ['images/a.jpg', 'images/b.png', 'images/sub/c.png']);
  assert.equal(ds.samples.map((s) => s.mask.slice(root.length + 1)), ['masks/a.png', 'masks/b.png', 'masks/sub/c.png']);
  assert.equal(ds.classes, ['w', 'x', 'y', 'z']);
  const s = await sample(ds, 0);
  assert.equal(s.input.shape, [3, 8, 12]);
  assert.is(s.input.dtype, 'f32');
  assert.equal(s.target.shape, [8, 12]);
  assert.is(s.target.dtype, 'i32');
  assert.equal([...s.target.data], [...idsOf(12, 8, quad)]);
  // The image is normalized with ImageNet's statistics (PNG: exact bytes).
  const b = await sample(ds, 1);
  const [r0] = noise(5, 3);
  assert.ok(Math.abs(b.input.data[3 * 12 + 5] - (r0 / 255 - MEAN[0]) / STD[0]) < 1e-6);
  assert.equal([...b.target.data], [...idsOf(12, 8, (x, y) => (x + y) % 4)]);
  assert.ok((await sample(ds, 2)).target.data.every((v) => v === 2));
  // Low bit depths are unpacked: a 2-bit palette.
  const packed = new Uint8Array(2 * 2); // 5 pixels of 2 bits → 2 bytes a row
  [[0, 1, 2, 3, 1], [3, 2, 1, 0, 2]].forEach((row, y) =>
    row.forEach((v, x) => (packed[y * 2 + (x >> 2)] |= v << (6 - 2 * (x & 3)))),
  );
  const low = folder({ 'masks/m.png': encodePng({ width: 5, height: 2, data: packed, depth: 2, channels: 1, palette: data.vocPalette(4) }) });
  assert.equal([...(await data.readMask(join(low, 'masks/m.png'))).ids], [0, 1, 2, 3, 1, 3, 2, 1, 0, 2]);
});

test('grey masks (8-bit, 1-bit, written by sharp) give their values; binary maps 0/255 and 0/1 to 0/1 as f32', async () => {
  const root = folder({
    'g8.png': greyPng(4, 3, (x, y) => x + 4 * y),
    'g1.png': encodePng({ width: 4, height: 1, data: Uint8Array.of(0b10110000), depth: 1, channels: 1 }),
    'sharp-grey.png': await sharp(Buffer.from([0, 1, 2, 255, 3, 4]), { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer(),
    'sharp-rgb-grey.png': await sharp(Buffer.from([0, 1, 2, 255, 3, 4]), { raw: { width: 3, height: 2, channels: 1 } }).png().toBuffer(),
    'b255.png': greyPng(3, 1, (x) => [0, 255, 255][x]),
  });
  assert.equal([...(await data.readMask(join(root, 'g8.png'))).ids], Array.from({ length: 12 }, (_, i) => i));
  assert.equal([...(await data.readMask(join(root, 'g1.png'))).ids], [1, 0, 1, 1]);
  assert.equal([...(await data.readMask(join(root, 'sharp-grey.png'))).ids], [0, 1, 2, 255, 3, 4]);
  // An RGB file whose channels are equal everywhere is a grey mask.
  assert.equal([...(await data.readMask(join(root, 'sharp-rgb-grey.png'))).ids], [0, 1, 2, 255, 3, 4]);
  assert.equal([...(await data.readMask(join(root, 'b255.png'), { binary: true })).ids], [0, 1, 1]);
  assert.equal([...(await data.readMask(join(root, 'g1.png'), { binary: true })).ids], [1, 0, 1, 1]);

  const set = folder({
    'images/x.png': await png(3, 2, noise),
    'masks/x.png': greyPng(3, 2, (x, y) => (x === y ? 255 : 0)),
  });
  const ds = data.segmentationFolder(set, { binary: true, evalSize: 'keep' });
  assert.equal(ds.classes, ['background', 'foreground']);
  const s = await sample(ds, 0);
  assert.is(s.target.dtype, 'f32');
  assert.equal(s.target.shape, [1, 2, 3]);
  assert.equal([...s.target.data], [1, 0, 0, 0, 1, 0]);
});

test('RGB masks go through colors (array or object); unknown colours are an error naming file and colour, or ignored', async () => {
  const red = [200, 0, 0];
  const green = [0, 200, 0];
  const f = (x) => [[0, 0, 0], red, green, [1, 2, 3]][x];
  const root = folder({ 'c.png': await png(4, 1, f), 'ok.png': await png(3, 1, f) });
  const ok = join(root, 'ok.png');
  assert.equal([...(await data.readMask(ok, { colors: [[0, 0, 0], red, green] })).ids], [0, 1, 2]);
  assert.equal([...(await data.readMask(ok, { colors: { '0,0,0': 0, '#c80000': 4, '0, 200, 0': 7 } })).ids], [0, 4, 7]);
  const path = join(root, 'c.png');
  const err = await rejection(() => data.readMask(path, { colors: [[0, 0, 0], red, green] }));
  expectError(err, 'ERR_TG_FORMAT', path, '(1, 2, 3)', 'pixel (3, 0)');
  assert.equal([...(await data.readMask(path, { colors: [[0, 0, 0], red, green], unknownColor: 'ignore' })).ids], [0, 1, 2, 255]);
  assert.equal([...(await data.readMask(path, { colors: [[0, 0, 0], red, green], unknownColor: 'ignore', ignoreIndex: -1 })).ids], [0, 1, 2, -1]);
  // Without colors a colour mask cannot be read.
  expectError(await rejection(() => data.readMask(path)), 'ERR_TG_FORMAT', path, 'colors');
  // A palette mask is read through its palette's colours when colors are given.
  const pal = folder({ 'p.png': palettePng(3, 1, (x) => x) });
  const voc = data.vocPalette(3);
  assert.equal([...(await data.readMask(join(pal, 'p.png'), { colors: [voc[2], voc[0], voc[1]] })).ids], [1, 2, 0]);
  expectError(await rejection(() => data.segmentationFolder(root, { colors: [[0, 0, 0], [0, 0, 0, 1]] })), 'ERR_TG_ARG', 'colors[1]');
  expectError(await rejection(() => data.readMask(ok, { colors: { red: 1 } })), 'ERR_TG_ARG', "'red'");
});

test('errors name the file: missing and orphan masks, size mismatch, ids beyond the classes, bad files, bad layout', async () => {
  const img = await png(6, 4, noise);
  const missing = folder({ 'images/a.png': img, 'images/b.png': img, 'masks/a.png': greyPng(6, 4, () => 0) });
  expectError(await rejection(() => data.segmentationFolder(missing)), 'ERR_TG_ARG', join(missing, 'images', 'b.png'), 'no mask');
  const orphan = folder({ 'images/a.png': img, 'masks/a.png': greyPng(6, 4, () => 0), 'masks/z.png': greyPng(6, 4, () => 0) });
  expectError(await rejection(() => data.segmentationFolder(orphan)), 'ERR_TG_ARG', join(orphan, 'masks', 'z.png'), 'no image');
  expectError(await rejection(() => data.segmentationFolder(folder({ 'pictures/a.png': img }))), 'ERR_TG_ARG', 'images');

  const bad = folder({
    'images/a.png': img,
    'masks/a.png': greyPng(5, 4, () => 0),
    'images/b.png': img,
    'masks/b.png': greyPng(6, 4, (x) => (x === 3 ? 9 : 255)),
    'images/c.png': img,
    'masks/c.png': Buffer.from('not a png at all'),
    'images/d.png': img,
    'masks/d.png': Buffer.concat([greyPng(6, 4, () => 0).subarray(0, 40)]),
  });
  const ds = data.segmentationFolder(bad, { classes: ['bg', 'fg'], evalSize: 'keep' });
  expectError(await rejection(() => sample(ds, 0)), 'ERR_TG_FORMAT', join(bad, 'masks', 'a.png'), join(bad, 'images', 'a.png'), '5×4', '6×4');
  expectError(await rejection(() => sample(ds, 1)), 'ERR_TG_FORMAT', join(bad, 'masks', 'b.png'), 'class id 9', 'pixel (3, 0)');
  expectError(await rejection(() => sample(ds, 2)), 'ERR_TG_FORMAT', join(bad, 'masks', 'c.png'));
  expectError(await rejection(() => sample(ds, 3)), 'ERR_TG_FORMAT', join(bad, 'masks', 'd.png'));
  // A loader may skip such samples instead.
  const quiet = process.emitWarning;
  process.emitWarning = () => {};
  try {
    const dl = data.loader(ds, { batchSize: 4, onError: 'skip' });
    assert.is(dl.skipped.length, 0);
    let batches = 0;
    for await (const _ of dl.batches(0)) batches++;
    assert.is(batches, 0);
    assert.equal(dl.skipped.map((s) => s.index).sort(), [0, 1, 2, 3]);
  } finally {
    process.emitWarning = quiet;
  }
  expectError(await rejection(() => data.segmentationFolder(bad, { size: 0 })), 'ERR_TG_ARG', 'size');
  expectError(await rejection(() => data.segmentationFolder(bad, { scale: [2, 1] })), 'ERR_TG_ARG', 'scale');
  expectError(await rejection(() => data.segmentationFolder(bad, { binary: true, colors: [[0, 0, 0]] })), 'ERR_TG_ARG', 'binary or colors');
});

test('the VOC layout: JPEGImages + SegmentationClass, ImageSets lists as train/val, VOC classes, 255 kept for ignoring', async () => {
  const files = {};
  for (const id of ['2007_000001', '2007_000002', '2007_000003', '2007_000004', '2007_000005']) {
    files[`JPEGImages/${id}.jpg`] = await jpeg(10, 6, noise);
    files[`SegmentationClass/${id}.png`] = palettePng(10, 6, (x, y) => (x === 0 || y === 0 ? 255 : (x + y) % 21));
  }
  files['JPEGImages/2008_000009.jpg'] = await jpeg(10, 6, noise); // a detection-only image: no mask
  const plain = folder(files);
  const all = data.segmentationFolder(plain, { size: 4, evalSize: 'keep' });
  assert.is(all.length, 5);
  assert.equal(all.classes, data.VOC_CLASSES);
  assert.is(all.classes.length, 21);
  const s = await sample(all, 0);
  assert.equal(s.target.shape, [6, 10]);
  assert.is(s.target.data[0], 255);
  assert.is(s.target.data[10 + 1], 2);

  const listed = folder({
    ...files,
    'ImageSets/Segmentation/train.txt': '2007_000001\n2007_000003\n2007_000004\n',
    'ImageSets/Segmentation/val.txt': '2007_000002\r\n2007_000005\r\n',
  });
  const voc = data.segmentationFolder(listed, { size: 4, loader: { batchSize: 2 } });
  assert.is(voc.train.size, 3);
  assert.is(voc.val.size, 2);
  const batches = [];
  for await (const b of voc.val.batches(0)) batches.push(b);
  assert.equal(batches[0].input.shape, [2, 3, 4, 4]);
  assert.equal(batches[0].target.shape, [2, 4, 4]);
  assert.is(batches[0].target.dtype, 'i32');
  for await (const b of voc.train.batches(0)) {
    assert.equal(b.input.shape.slice(1), [3, 4, 4]);
    assert.equal(b.target.shape.slice(1), [4, 4]);
  }
  const broken = folder({ ...files, 'ImageSets/Segmentation/train.txt': '2007_000001\n2008_000009\n', 'ImageSets/Segmentation/val.txt': '2007_000002\n' });
  expectError(await rejection(() => data.segmentationFolder(broken)), 'ERR_TG_ARG', 'train.txt', join(broken, 'SegmentationClass', '2008_000009'));
});

// A bright rectangle at (x0..x1) × (y0..y1) in the image, id 1 in the mask; left-right asymmetric, so a flip shows.
const rect = { x0: 5, x1: 17, y0: 4, y1: 11 };
const inRect = (x, y) => x >= rect.x0 && x <= rect.x1 && y >= rect.y0 && y <= rect.y1;

async function rectSet(extra = {}) {
  const root = folder({
    'images/r.png': await png(30, 20, (x, y) => (inRect(x, y) ? [255, 255, 255] : [0, 0, 0])),
    'masks/r.png': greyPng(30, 20, (x, y) => (inRect(x, y) ? 1 : 0)),
    ...extra,
  });
  return root;
}

// Mask pixels vs image brightness of one augmented sample: agreement away from edges, centroids.
function alignment(s) {
  const [, H, W] = s.input.shape;
  const bright = (x, y) => s.input.data[y * W + x] * STD[0] + MEAN[0] > 0.5;
  const id = (x, y) => s.target.data[y * W + x];
  let disagree = 0;
  let counted = 0;
  const cm = [0, 0, 0];
  const ci = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (id(x, y) === 1) cm.splice(0, 3, cm[0] + x, cm[1] + y, cm[2] + 1);
      if (bright(x, y)) ci.splice(0, 3, ci[0] + x, ci[1] + y, ci[2] + 1);
      // Pixels whose 3×3 neighbourhood has one class, away from resampling edges.
      let uniform = true;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = Math.min(W - 1, Math.max(0, x + dx));
        const yy = Math.min(H - 1, Math.max(0, y + dy));
        if (id(xx, yy) !== id(x, y)) uniform = false;
      }
      if (!uniform || id(x, y) === 255) continue;
      counted++;
      if ((id(x, y) === 1) !== bright(x, y)) disagree++;
    }
  }
  return { disagree, counted, mask: cm, image: ci };
}

test('joint augmentation keeps the mask on the image through random scale, crop and flip', async () => {
  const root = await rectSet();
  const ds = data.segmentationFolder(root, { size: [16, 24], valFraction: 0 }).withMode('train');
  const sizes = new Set();
  for (let i = 0; i < 24; i++) {
    const s = await ds.get(0, data.Rng.keyed(i, 2, 0, 0));
    assert.equal(s.input.shape, [3, 16, 24]);
    assert.equal(s.target.shape, [16, 24]);
    const a = alignment(s);
    assert.is(a.disagree, 0, `seed ${i}: ${a.disagree} of ${a.counted} interior pixels disagree`);
    if (a.mask[2] > 0) {
      // The rectangle's centroid in the mask and in the image agree to within a pixel.
      assert.ok(a.image[2] > 0, `seed ${i}: the mask has the rectangle but the image does not`);
      assert.ok(Math.abs(a.mask[0] / a.mask[2] - a.image[0] / a.image[2]) < 1, `seed ${i}: x centroids`);
      assert.ok(Math.abs(a.mask[1] / a.mask[2] - a.image[1] / a.image[2]) < 1, `seed ${i}: y centroids`);
      sizes.add(a.mask[2]);
    }
  }
  assert.ok(sizes.size > 5, `the scale varies (rectangle areas ${[...sizes]})`);
});

test('a flip mirrors image and mask together (scale fixed at 1 on a full-size crop)', async () => {
  const root = await rectSet();
  // Shorter side 20 = crop's shorter side, scale 1: no resampling, no crop freedom; only the flip varies.
  const ds = data.segmentationFolder(root, { size: [20, 30], scale: [1, 1] }).withMode('train');
  const seen = new Set();
  for (let i = 0; i < 12; i++) {
    const s = await ds.get(0, data.Rng.keyed(i, 2, 0, 0));
    const row = 6;
    const ids = [...s.target.data.subarray(row * 30, row * 30 + 30)];
    const flipped = ids[29 - rect.x0] === 1 && ids[rect.x0 - 1] === 0 && ids[29 - rect.x1] === 1 && ids[29 - rect.x1 - 1] === 0;
    const straight = ids.every((v, x) => v === (x >= rect.x0 && x <= rect.x1 ? 1 : 0));
    assert.ok(flipped !== straight, `seed ${i}: ${ids.join('')}`);
    seen.add(flipped);
    for (let x = 0; x < 30; x++) assert.is(s.input.data[row * 30 + x] * STD[0] + MEAN[0] > 0.5, ids[x] === 1);
  }
  assert.equal(seen.size, 2, 'both flipped and unflipped samples');
});

test('an image smaller than the crop is padded: black image, ignoreIndex in the mask, right and bottom', async () => {
  const root = await rectSet();
  for (const ignoreIndex of [255, 7]) {
    const ds = data.segmentationFolder(root, { size: 20, scale: [0.5, 0.5], flip: false, ignoreIndex }).withMode('train');
    const s = await ds.get(0, data.Rng.keyed(3, 2, 0, 0));
    // 30 × 20 → 15 × 10 inside a 20 × 20 crop: the image spans x < 15, y < 10 wherever the crop starts.
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        const v = s.target.data[y * 20 + x];
        if (x < 15 && y < 10) {
          assert.is(v, inRect(Math.floor((x + 0.5) * 2), Math.floor((y + 0.5) * 2)) ? 1 : 0, `(${x}, ${y})`);
        } else {
          assert.is(v, ignoreIndex, `(${x}, ${y})`);
          for (let c = 0; c < 3; c++) assert.ok(Math.abs(s.input.data[(c * 20 + y) * 20 + x] - -MEAN[c] / STD[c]) < 1e-6);
        }
      }
    }
  }
});

test('augmentation is a function of (seed, epoch, index); eval resizes the mask by nearest neighbour', async () => {
  const root = await rectSet({ 'images/s.png': await png(30, 20, noise), 'masks/s.png': greyPng(30, 20, (x, y) => (x + y) % 3) });
  const ds = data.segmentationFolder(root, { size: 12, valFraction: 0.5, seed: 4, loader: { batchSize: 1 } });
  const train = ds.withMode('train');
  const a = await train.get(1, data.Rng.keyed(9, 2, 3, 1));
  const b = await train.get(1, data.Rng.keyed(9, 2, 3, 1));
  assert.equal([...a.input.data], [...b.input.data]);
  assert.equal([...a.target.data], [...b.target.data]);
  let differs = false;
  for (let e = 0; e < 4 && !differs; e++) {
    const c = await train.get(1, data.Rng.keyed(9, 2, e + 10, 1));
    differs = c.target.data.some((v, i) => v !== a.target.data[i]) || c.input.data.some((v, i) => v !== a.input.data[i]);
  }
  assert.ok(differs, 'another epoch draws another crop');
  // Loader batches repeat for the same epoch, whatever the concurrency.
  const collect = async (loader, epoch) => {
    const out = [];
    for await (const batch of loader.batches(epoch)) out.push([...batch.target.data]);
    return out;
  };
  const again = data.segmentationFolder(root, { size: 12, valFraction: 0.5, seed: 4, loader: { batchSize: 1, concurrency: 1 } });
  assert.equal(await collect(ds.train, 2), await collect(again.train, 2));
  assert.is(ds.train.size + ds.val.size, 2);

  // Eval: 30 × 20 → 12 × 12, mask by Pillow's nearest (source pixel floor((i + 0.5) · in / out)).
  const e = await sample(ds, 1);
  assert.equal(e.target.shape, [12, 12]);
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 12; x++) {
      const sx = Math.floor((x + 0.5) * (30 / 12));
      const sy = Math.floor((y + 0.5) * (20 / 12));
      assert.is(e.target.data[y * 12 + x], (sx + sy) % 3);
    }
  }
  // 'keep' leaves eval samples at their own size; augment 'none' resizes train samples to size.
  const keep = data.segmentationFolder(root, { size: 12, evalSize: 'keep' });
  assert.equal((await sample(keep, 0)).target.shape, [20, 30]);
  const none = data.segmentationFolder(root, { size: [8, 10], augment: 'none' }).withMode('train');
  assert.equal((await none.get(0, data.Rng.keyed(0))).target.shape, [8, 10]);
});

test.run();
