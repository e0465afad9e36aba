// The image pipeline against values computed here from the pixel formulas:
// decoding of each format (grey and alpha inputs become RGB as PIL's
// convert('RGB')), Resize + CenterCrop + Normalize with torchvision's size and
// offset rules and float32 arithmetic, antialiased bilinear reduction, padding,
// flips folded into the output pass, and errors that name the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as data from '../dist/data/index.js';
import { probe } from '../dist/data/probe.js';
import { rejection } from './helpers.mjs';

const { transforms: T, PipelineImage, Rng } = data;
const dir = mkdtempSync(join(tmpdir(), 'tg-data-image-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** (H, W, 3) bytes from f(x, y, c). */
function pixels(width, height, f) {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) buf[(y * width + x) * 3 + c] = f(x, y, c);
  return buf;
}

const pattern = (x, y, c) => (c === 0 ? x * 7 + y : c === 1 ? x + y * 3 : (x * y) ^ 0x55) & 255;

function write(name, bytes) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function encode(width, height, f, format, channels = 3) {
  return sharp(pixels(width, height, f), { raw: { width, height, channels: 3 } })
    [format](format === 'webp' ? { lossless: true } : format === 'jpeg' ? { quality: 100, chromaSubsampling: '4:4:4' } : {})
    .toBuffer();
}

function expectError(err, code, ...fragments) {
  assert.instance(err, Error);
  assert.is(err.code, code, `code of: ${err.message}`);
  for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
}

/** The value at (c, y, x) of a (3, H, W) tensor. */
const at = (t, c, y, x) => t.data[(c * t.shape[1] + y) * t.shape[2] + x];

test('lossless formats decode to the exact RGB bytes (PNG, WebP) and JPEG closely', async () => {
  for (const format of ['png', 'webp', 'jpeg']) {
    const f = (x, y, c) => 40 + x * 3 + y * 2 + c * 30; // smooth, so JPEG stays close
    const path = write(`rgb.${format === 'jpeg' ? 'jpg' : format}`, await encode(24, 16, f, format));
    const img = await PipelineImage.open(path);
    assert.is(img.width, 24);
    assert.is(img.height, 16);
    const t = await img.tensor();
    assert.equal(t.shape, [3, 16, 24]);
    const tol = format === 'jpeg' ? 4 / 255 : 1e-7;
    let worst = 0;
    for (let y = 0; y < 16; y++) for (let x = 0; x < 24; x++) for (let c = 0; c < 3; c++) {
      worst = Math.max(worst, Math.abs(at(t, c, y, x) - f(x, y, c) / 255));
    }
    assert.ok(worst <= tol, `${format}: largest difference ${worst * 255} grey levels`);
  }
});

test('grey, grey+alpha, RGBA and 16-bit inputs become 8-bit RGB; alpha is dropped, not blended', async () => {
  const W = 8;
  const H = 4;
  const grey = Buffer.alloc(W * H);
  for (let i = 0; i < grey.length; i++) grey[i] = i * 7;
  const greyPng = await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  const greyJpg = await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 100 }).toBuffer();
  // Transparent pixels keep their own colour: PIL's convert('RGB') ignores alpha.
  const rgba = Buffer.alloc(W * H * 4);
  for (let i = 0; i < W * H; i++) rgba.set([200, i, 30, i % 2 ? 0 : 255], i * 4);
  const rgbaPng = await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
  const la = Buffer.alloc(W * H * 2);
  for (let i = 0; i < W * H; i++) la.set([i * 5, i % 3 ? 0 : 255], i * 2);
  const laPng = await sharp(la, { raw: { width: W, height: H, channels: 2 } }).toColourspace('b-w').png().toBuffer();
  const deep = new Uint16Array(W * H * 3);
  for (let i = 0; i < deep.length; i++) deep[i] = i * 300;
  const png16 = await sharp(deep, { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16').png().toBuffer();

  const cases = [
    ['grey.png', greyPng, (i) => [grey[i], grey[i], grey[i]], 0],
    ['grey.jpg', greyJpg, (i) => [grey[i], grey[i], grey[i]], 3],
    ['rgba.png', rgbaPng, (i) => [200, i, 30], 0],
    ['la.png', laPng, (i) => [i * 5, i * 5, i * 5], 0],
    ['deep.png', png16, (i) => [0, 1, 2].map((c) => (deep[i * 3 + c] >> 8) & 255), 1],
  ];
  for (const [name, bytes, expected, tol] of cases) {
    const img = await PipelineImage.open(write(name, bytes));
    const rgb = await img.rgb();
    assert.is(rgb.length, W * H * 3, name);
    for (let i = 0; i < W * H; i++) {
      const want = expected(i);
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(rgb[i * 3 + c] - want[c]) <= tol, `${name} pixel ${i} channel ${c}: ${rgb[i * 3 + c]} vs ${want[c]}`);
      }
    }
  }
  // Alpha is also dropped before resampling, so transparent colours still blend in.
  const img = await PipelineImage.open(write('rgba2.png', rgbaPng));
  const small = await T.resize([2, 4])(img, Rng.keyed(0));
  const rgb = await small.rgb();
  for (let i = 0; i < 8; i++) assert.ok(rgb[i * 3] === 200, `red stays 200 after resizing, got ${rgb[i * 3]}`);
});

/** The PNG chunk of `type` (length, type, data and CRC), or undefined. */
function pngChunk(png, type) {
  for (let i = 8; i + 8 <= png.length; ) {
    const len = png.readUInt32BE(i);
    if (png.toString('latin1', i + 4, i + 8) === type) return png.subarray(i, i + 12 + len);
    i += 12 + len;
  }
  return undefined;
}

test('an embedded ICC profile is ignored, as PIL does: the stored values come out', async () => {
  const W = 6;
  const H = 5;
  const stored = pixels(W, H, (x, y, c) => [230, 40, 40][c] + x - y);
  const plain = await sharp(stored, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  // Borrow a Display P3 profile chunk and put it in front of the image data.
  const tagged = await sharp(stored, { raw: { width: W, height: H, channels: 3 } }).withIccProfile('p3').png().toBuffer();
  const iccp = pngChunk(tagged, 'iCCP');
  assert.ok(iccp, 'sharp wrote an iCCP chunk');
  const idat = plain.indexOf(Buffer.from('IDAT')) - 4;
  const withProfile = Buffer.concat([plain.subarray(0, idat), iccp, plain.subarray(idat)]);
  assert.ok((await sharp(withProfile).metadata()).icc, 'the profile is seen');
  const rgb = await (await PipelineImage.open(withProfile)).rgb();
  assert.equal(Array.from(rgb), Array.from(stored));
});

test('header probe agrees with libvips on JPEG, PNG and WebP variants', async () => {
  const f = (x, y, c) => (x * 9 + y * 5 + c * 70) & 255;
  const rgba = Buffer.alloc(30 * 20 * 4, 128);
  const variants = [
    await encode(30, 20, f, 'jpeg'),
    await sharp(pixels(30, 20, f), { raw: { width: 30, height: 20, channels: 3 } }).jpeg({ progressive: true }).toBuffer(),
    await encode(30, 20, f, 'png'),
    await sharp(pixels(30, 20, f), { raw: { width: 30, height: 20, channels: 3 } }).png({ palette: true }).toBuffer(),
    await sharp(rgba, { raw: { width: 30, height: 20, channels: 4 } }).png().toBuffer(),
    await sharp(rgba, { raw: { width: 30, height: 20, channels: 4 } }).png({ palette: true }).toBuffer(),
    await sharp(pixels(30, 20, f), { raw: { width: 30, height: 20, channels: 3 } }).webp({ quality: 80 }).toBuffer(),
    await encode(30, 20, f, 'webp'),
    await sharp(rgba, { raw: { width: 30, height: 20, channels: 4 } }).webp({ lossless: true }).toBuffer(),
    await sharp(rgba, { raw: { width: 30, height: 20, channels: 4 } }).webp({ quality: 80 }).toBuffer(),
  ];
  for (const [k, bytes] of variants.entries()) {
    const meta = await sharp(bytes).metadata();
    const p = probe(bytes);
    assert.ok(p, `variant ${k} (${meta.format}) is probed`);
    assert.equal([p.width, p.height, p.alpha], [meta.width, meta.height, meta.hasAlpha], `variant ${k} (${meta.format})`);
  }
  assert.is(probe(Buffer.from('not an image at all, just text')), undefined);
});

test('imagenetEval: Resize(256) + CenterCrop(224) + Normalize equal the formula exactly', async () => {
  // 320×256: Resize(256) keeps the size; the crop starts at ((256-224)/2, (320-224)/2) = (16, 48).
  const path = write('eval.png', await encode(320, 256, pattern, 'png'));
  const t = await data.loadImage(path, { transform: T.imagenetEval({ size: 224 }) });
  assert.equal(t.shape, [3, 224, 224]);
  const f = Math.fround;
  for (let y = 0; y < 224; y += 3) {
    for (let x = 0; x < 224; x += 5) {
      for (let c = 0; c < 3; c++) {
        // torchvision: img.float().div(255), then sub_(mean).div_(std), all in float32.
        const want = f(f(f(pattern(x + 48, y + 16, c) / 255) - f(MEAN[c])) / f(STD[c]));
        assert.is(at(t, c, y, x), want, `(${c}, ${y}, ${x})`);
      }
    }
  }
  // Computed in float64 the values agree to float32 rounding.
  const v = ((pattern(48, 16, 0) / 255 - MEAN[0]) / STD[0]);
  assert.ok(Math.abs(at(t, 0, 0, 0) - v) < 1e-6);
});

test('CenterCrop offsets round halves to even, as Python round(); too-large crops pad with black', async () => {
  const img = PipelineImage.fromRgb(pixels(11, 9, pattern), 11, 9);
  // (11-8)/2 = 1.5 → 2, (9-4)/2 = 2.5 → 2.
  const t = await (await T.centerCrop([4, 8])(img, Rng.keyed(0))).tensor();
  assert.equal(t.shape, [3, 4, 8]);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) assert.is(at(t, 0, y, x), Math.fround(pattern(x + 2, y + 2, 0) / 255));
  // 11×9 to 13×12: pad left (13-11)//2 = 1, top (12-9)//2 = 1, then crop at 0.
  const big = await (await T.centerCrop([12, 13])(PipelineImage.fromRgb(pixels(11, 9, pattern), 11, 9), Rng.keyed(0))).tensor();
  assert.equal(big.shape, [3, 12, 13]);
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 13; x++) {
      const inside = x >= 1 && x < 12 && y >= 1 && y < 10;
      assert.is(at(big, 1, y, x), inside ? Math.fround(pattern(x - 1, y - 1, 1) / 255) : 0, `(${y}, ${x})`);
    }
  }
});

test('Resize: output size as torchvision computes it, without decoding', async () => {
  const cases = [
    [[500, 375], 256, [341, 256]],
    [[375, 500], 256, [256, 341]],
    [[640, 480], 224, [298, 224]],
    [[300, 300], 256, [256, 256]],
    [[100, 50], 256, [512, 256]],
  ];
  for (const [[w, h], size, [ew, eh]] of cases) {
    const img = PipelineImage.fromRgb(new Uint8Array(w * h * 3), w, h);
    const out = await T.resize(size)(img, Rng.keyed(0));
    assert.equal([out.width, out.height], [ew, eh], `${w}×${h} → Resize(${size})`);
  }
  const capped = await T.resize(256, { maxSize: 300 })(PipelineImage.fromRgb(new Uint8Array(600 * 200 * 3), 600, 200), Rng.keyed(0));
  assert.equal([capped.width, capped.height], [300, 100]);
  const exact = await T.resize([10, 20])(PipelineImage.fromRgb(new Uint8Array(600 * 200 * 3), 600, 200), Rng.keyed(0));
  assert.equal([exact.width, exact.height], [20, 10]);
});

test('bilinear reduction is antialiased and pixel-centred like PIL (a 2× reduction averages a 4-tap triangle)', async () => {
  // A ramp v(x) = x: PIL's 2× bilinear gives 2x' + 0.5 away from the edges.
  const ramp = (x) => x;
  const img = PipelineImage.fromRgb(pixels(256, 8, (x) => ramp(x)), 256, 8);
  const out = await (await T.resize([4, 128])(img, Rng.keyed(0))).rgb();
  for (let x = 2; x < 126; x++) {
    const got = out[(2 * 128 + x) * 3];
    assert.ok(Math.abs(got - (2 * x + 0.5)) <= 1, `x=${x}: ${got} vs ${2 * x + 0.5}`);
  }
  // A constant image stays constant whatever the kernel.
  for (const interpolation of ['bilinear', 'bicubic', 'nearest', 'lanczos']) {
    const flat = PipelineImage.fromRgb(pixels(50, 40, (x, y, c) => [10, 128, 250][c]), 50, 40);
    const px = await (await T.resize([17, 23], { interpolation })(flat, Rng.keyed(0))).rgb();
    for (let i = 0; i < px.length; i++) assert.is(px[i], [10, 128, 250][i % 3], `${interpolation} at ${i}`);
  }
});

/** Pillow's resampling in float64: a filter centred at (x + 0.5)·scale, widened when reducing, edge weights renormalised. */
function pilReference(row, outSize, filter, support) {
  const scale = row.length / outSize;
  const fs = Math.max(scale, 1);
  return Array.from({ length: outSize }, (_, x) => {
    const center = (x + 0.5) * scale;
    let sum = 0;
    let wsum = 0;
    for (let i = 0; i < row.length; i++) {
      const w = filter((i + 0.5 - center) / fs);
      if (Math.abs(i + 0.5 - center) < support * fs) {
        sum += w * row[i];
        wsum += w;
      }
    }
    return Math.min(255, Math.max(0, Math.round(sum / wsum)));
  });
}

test('enlarging follows Pillow: centre-aligned filters, renormalised edges, nearest at floor((x + 0.5)·scale)', async () => {
  // By hand: centres at 0.25, 0.75, ...; e.g. output 1 = 0.75·0 + 0.25·10 = 2.5 → 3.
  const ramp = PipelineImage.fromRgb(pixels(4, 1, (x) => x * 10), 4, 1);
  const up = await (await T.resize([1, 8])(ramp, Rng.keyed(0))).rgb();
  assert.equal(Array.from(up).filter((_, i) => i % 3 === 0), [0, 3, 8, 13, 18, 23, 28, 30]);
  const abc = PipelineImage.fromRgb(pixels(3, 1, (x) => [7, 70, 200][x]), 3, 1);
  const near = await (await T.resize([1, 6], { interpolation: 'nearest' })(abc, Rng.keyed(0))).rgb();
  assert.equal(Array.from(near).filter((_, i) => i % 3 === 0), [7, 7, 70, 70, 200, 200]);

  const tri = (x) => Math.max(0, 1 - Math.abs(x));
  const cubic = (x) => {
    x = Math.abs(x);
    return x < 1 ? 1.5 * x ** 3 - 2.5 * x ** 2 + 1 : x < 2 ? -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2 : 0;
  };
  const row = Array.from({ length: 13 }, (_, i) => (i * 97 + 31) % 256);
  for (const [interpolation, filter, support] of [['bilinear', tri, 1], ['bicubic', cubic, 2]]) {
    for (const out of [20, 29, 64]) {
      const img = PipelineImage.fromRgb(pixels(13, 1, (x) => row[x]), 13, 1);
      const got = Array.from(await (await T.resize([1, out], { interpolation })(img, Rng.keyed(0))).rgb()).filter((_, i) => i % 3 === 0);
      const want = pilReference(row, out, filter, support);
      // Pillow rounds fixed-point sums, so a value may land one level away from float rounding.
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1, `${interpolation} 13 → ${out}, x=${i}: ${v} vs ${want[i]}`));
    }
  }
});

// Geometry after a flip is planned in mirrored coordinates; resampling is
// mirror-symmetric (up to fixed-point rounding when enlarging), so reductions
// give identical bytes.
test('planned geometry equals the same steps done one at a time', async () => {
  const src = await encode(90, 70, pattern, 'png');
  const steps = [
    (img) => img.crop(5, 7, 60, 50),
    (img) => img.resize(45, 33),
    (img) => img.flip(),
    (img) => img.crop(3, 2, 30, 25),
    (img) => img.resize(20, 18, 'bicubic'),
    (img) => img.crop(4, 0, 12, 18),
  ];
  const planned = await PipelineImage.open(src);
  for (const s of steps) await s(planned);
  const stepped = await PipelineImage.open(src);
  for (const s of steps) {
    await s(stepped);
    await stepped.rgb(); // forces each step to run on its own
  }
  assert.equal(Array.from(await planned.rgb()), Array.from(await stepped.rgb()));
});

test('a flip mirrors the columns of the output, also with crops after it', async () => {
  const img = PipelineImage.fromRgb(pixels(10, 6, pattern), 10, 6);
  const flipped = await (await T.compose([T.randomHorizontalFlip(1), T.centerCrop([4, 6])])(img, Rng.keyed(0))).tensor();
  // Mirror first (x → 9 - x), then crop at left 2, top 1.
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) for (let c = 0; c < 3; c++) {
    assert.is(at(flipped, c, y, x), Math.fround(pattern(9 - (x + 2), y + 1, c) / 255), `(${c}, ${y}, ${x})`);
  }
  const never = await (await T.randomHorizontalFlip(0)(PipelineImage.fromRgb(pixels(10, 6, pattern), 10, 6), Rng.keyed(0))).tensor();
  assert.is(at(never, 0, 0, 0), Math.fround(pattern(0, 0, 0) / 255));
});

test('bad files: unreadable is ERR_TG_IO, undecodable ERR_TG_FORMAT, both naming the file', async () => {
  const missing = join(dir, 'nope.jpg');
  expectError(await rejection(() => PipelineImage.open(missing)), 'ERR_TG_IO', missing);
  const junk = write('junk.jpg', Buffer.from('this is not a JPEG file, only text pretending'));
  expectError(await rejection(() => PipelineImage.open(junk)), 'ERR_TG_FORMAT', junk);
  // A valid header with the data cut off fails when the pixels are decoded.
  const whole = await encode(64, 64, pattern, 'jpeg');
  const cut = write('cut.jpg', whole.subarray(0, Math.floor(whole.length / 2)));
  expectError(await rejection(() => data.loadImage(cut)), 'ERR_TG_FORMAT', cut);
  const svg = write('pic.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'));
  expectError(await rejection(() => PipelineImage.open(svg)), 'ERR_TG_FORMAT', svg, 'not a raster');
});

test('bad arguments to transforms and geometry name the parameter', async () => {
  expectError(await rejection(() => T.resize(0)), 'ERR_TG_ARG', 'size');
  expectError(await rejection(() => T.randomResizedCrop(224, { scale: [0.5, 0.1] })), 'ERR_TG_ARG', 'scale');
  expectError(await rejection(() => T.normalize([0.5, 0.5], [1, 1, 1])), 'ERR_TG_ARG', 'mean');
  expectError(await rejection(() => T.normalize([0.5, 0.5, 0.5], [1, 0, 1])), 'ERR_TG_ARG', 'std');
  expectError(await rejection(() => T.colorJitter({ hue: 0.7 })), 'ERR_TG_ARG', 'hue');
  expectError(await rejection(() => T.randomHorizontalFlip(2)), 'ERR_TG_ARG', 'p');
  const img = PipelineImage.fromRgb(new Uint8Array(4 * 4 * 3), 4, 4, 'tiny.png');
  expectError(await rejection(() => img.crop(2, 0, 3, 4)), 'ERR_TG_ARG', 'tiny.png', 'left');
  // Colour transforms act on [0, 1] pixels, so they must come before Normalize.
  const late = T.compose([T.normalize(), T.colorJitter({ brightness: 0.5 })]);
  expectError(await rejection(() => late(PipelineImage.fromRgb(new Uint8Array(48), 4, 4), Rng.keyed(0))), 'ERR_TG_ARG', 'before normalize');
});

test.run();
