// Random transforms: RandomResizedCrop's boxes stay within torchvision's bounds
// and fall back to its center crop, ColorJitter draws within its ranges in a
// random order and each adjustment does what torchvision's tensor functions
// do, and every random choice is a function of the sample's key alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as data from '../dist/data/index.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation } from '../dist/data/color.js';

const { transforms: T, PipelineImage, Rng } = data;

function image(width, height, f = (x, y, c) => (x * 5 + y * 3 + c * 60) & 255) {
  const buf = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) buf[(y * width + x) * 3 + c] = f(x, y, c);
  return PipelineImage.fromRgb(buf, width, height);
}

test('RandomResizedCrop: boxes inside the image, area and aspect within scale and ratio', () => {
  const rrc = T.randomResizedCrop(224);
  const [W, H] = [500, 375];
  let minArea = 1;
  let maxArea = 0;
  let minRatio = Infinity;
  let maxRatio = 0;
  for (let i = 0; i < 2000; i++) {
    const b = rrc.params(W, H, Rng.keyed(7, i));
    assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= W && b.top + b.height <= H, `box ${JSON.stringify(b)}`);
    const area = (b.width * b.height) / (W * H);
    const ratio = b.width / b.height;
    // Rounding w and h to integers moves area and ratio by a little.
    assert.ok(area > 0.08 * 0.9 && area <= 1, `area ${area}`);
    assert.ok(ratio > (3 / 4) * 0.93 && ratio < (4 / 3) * 1.07, `ratio ${ratio}`);
    minArea = Math.min(minArea, area);
    maxArea = Math.max(maxArea, area);
    minRatio = Math.min(minRatio, ratio);
    maxRatio = Math.max(maxRatio, ratio);
  }
  // The draws cover the ranges rather than sitting in a corner of them.
  assert.ok(minArea < 0.1 && maxArea > 0.9, `areas ${minArea}..${maxArea}`);
  assert.ok(minRatio < 0.8 && maxRatio > 1.25, `ratios ${minRatio}..${maxRatio}`);
});

test('RandomResizedCrop: after 10 failed tries, the center crop clamped to the ratio range', () => {
  // Too wide for any box with area ≥ half the image: h would exceed 10 every time.
  const rrc = T.randomResizedCrop(32, { scale: [0.5, 1] });
  for (let i = 0; i < 20; i++) {
    // in_ratio 100 > 4/3: h = 10, w = round(10 · 4/3) = 13, centred.
    assert.equal(rrc.params(1000, 10, Rng.keyed(i)), { top: 0, left: 493, height: 10, width: 13 });
  }
  // Too tall: in_ratio 0.01 < 3/4: w = 10, h = round(10 / 0.75) = 13.
  assert.equal(rrc.params(10, 1000, Rng.keyed(1)), { top: 493, left: 0, height: 13, width: 10 });
  // Inside the ratio range the whole image is the fallback.
  assert.equal(T.randomResizedCrop(8, { scale: [2, 3] }).params(40, 30, Rng.keyed(1)), { top: 0, left: 0, height: 30, width: 40 });
});

test('RandomResizedCrop: the output has the requested size, the crop is the drawn box', async () => {
  const rrc = T.randomResizedCrop([24, 32]);
  const img = image(120, 90);
  const box = rrc.params(120, 90, Rng.keyed(3, 4));
  const out = rrc(img, Rng.keyed(3, 4));
  assert.equal([out.width, out.height], [32, 24]);
  // Same box, cropped and resized by hand.
  const byHand = image(120, 90).crop(box.left, box.top, box.width, box.height).resize(32, 24);
  assert.equal(Array.from(await out.rgb()), Array.from(await byHand.rgb()));
});

test('RandomHorizontalFlip: about half the samples, decided by the key alone', async () => {
  const flip = T.randomHorizontalFlip();
  let flips = 0;
  for (let i = 0; i < 1000; i++) {
    const out = await (await flip(image(4, 1, (x) => x * 50), Rng.keyed(5, i))).tensor();
    const flipped = out.data[0] === Math.fround(150 / 255);
    assert.ok(flipped || out.data[0] === 0, `first pixel ${out.data[0]}`);
    assert.is(flipped, Rng.keyed(5, i).next() < 0.5, `sample ${i}`);
    flips += flipped ? 1 : 0;
  }
  assert.ok(flips > 430 && flips < 570, `${flips} flips in 1000`);
});

test('ColorJitter: factors within their ranges, order a permutation, ranges as torchvision builds them', () => {
  const jitter = T.colorJitter({ brightness: 0.4, contrast: [0.5, 0.7], saturation: 1.5, hue: 0.1 });
  const seen = { brightness: [Infinity, -Infinity], contrast: [Infinity, -Infinity], saturation: [Infinity, -Infinity], hue: [Infinity, -Infinity] };
  const firsts = new Set();
  for (let i = 0; i < 2000; i++) {
    const p = jitter.params(Rng.keyed(11, i));
    assert.equal([...p.order].sort(), [0, 1, 2, 3]);
    firsts.add(p.order[0]);
    for (const k of Object.keys(seen)) {
      seen[k][0] = Math.min(seen[k][0], p[k]);
      seen[k][1] = Math.max(seen[k][1], p[k]);
    }
  }
  assert.is(firsts.size, 4);
  const within = (k, lo, hi) => {
    const [a, b] = seen[k];
    assert.ok(a >= lo && b <= hi, `${k} in [${a}, ${b}], expected within [${lo}, ${hi}]`);
    assert.ok(a - lo < 0.02 * (hi - lo) && hi - b < 0.02 * (hi - lo), `${k} covers [${lo}, ${hi}]: [${a}, ${b}]`);
  };
  within('brightness', 0.6, 1.4);
  within('contrast', 0.5, 0.7);
  within('saturation', 0, 2.5); // 1 - 1.5 is clipped at 0
  within('hue', -0.1, 0.1);
  // Zero strength draws nothing for that adjustment.
  const none = T.colorJitter({ brightness: 0 }).params(Rng.keyed(1));
  assert.is(none.brightness, undefined);
});

test('ColorJitter adjustments: brightness, contrast, saturation and hue as torchvision tensors', () => {
  const px = new Float32Array([0.2, 0.4, 0.6, 0.9, 0.1, 0.5]);
  const b = px.slice();
  adjustBrightness(b, 1.5);
  for (const [i, v] of [0.3, 0.6, 0.9, 1, 0.15, 0.75].entries()) assert.ok(Math.abs(b[i] - v) < 1e-6, `brightness ${i}: ${b[i]}`);

  const c = px.slice();
  adjustContrast(c, 0);
  const grey = (r, g, bl) => 0.2989 * r + 0.587 * g + 0.114 * bl;
  const mean = (grey(0.2, 0.4, 0.6) + grey(0.9, 0.1, 0.5)) / 2;
  for (const v of c) assert.ok(Math.abs(v - mean) < 1e-6);

  const s = px.slice();
  adjustSaturation(s, 0);
  for (let i = 0; i < 6; i += 3) {
    const g = grey(px[i], px[i + 1], px[i + 2]);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(s[i + k] - g) < 1e-6);
  }

  // A third of a turn takes red to green and green to blue; grey has no hue.
  const h = new Float32Array([1, 0, 0, 0, 0.8, 0, 0.5, 0.5, 0.5]);
  adjustHue(h, 1 / 3);
  const want = [0, 1, 0, 0, 0, 0.8, 0.5, 0.5, 0.5];
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(h[i] - want[i]) < 1e-6, `hue ${i}: ${h[i]} vs ${want[i]}`);
  const back = new Float32Array([0.3, 0.7, 0.2]);
  adjustHue(back, 0.25);
  adjustHue(back, -0.25);
  for (const [i, v] of [0.3, 0.7, 0.2].entries()) assert.ok(Math.abs(back[i] - v) < 1e-6);
});

test('ColorJitter in a pipeline applies the factors it draws, before normalisation', async () => {
  const jitter = T.colorJitter({ brightness: 0.5 });
  const { brightness } = jitter.params(Rng.keyed(2, 9));
  const f = (x, y, c) => 30 + x * 10 + c * 20;
  const out = await (await T.compose([jitter, T.normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])(image(8, 4, f), Rng.keyed(2, 9))).tensor();
  for (let c = 0; c < 3; c++) {
    for (let x = 0; x < 8; x++) {
      const v = Math.min(1, (f(x, 0, c) / 255) * brightness);
      assert.ok(Math.abs(out.data[c * 32 + x] - (v - 0.5) / 0.25) < 1e-5, `c=${c} x=${x}`);
    }
  }
});

test('the presets: imagenetTrain gives size×size with flips and crops that vary by key only', async () => {
  const train = T.imagenetTrain({ size: 48, colorJitter: { brightness: 0.2, hue: 0.05 } });
  const run = async (key) => (await (await train(image(120, 90), Rng.keyed(...key))).tensor()).data;
  const a = await run([1, 2, 3]);
  const b = await run([1, 2, 3]);
  const c = await run([1, 2, 4]);
  assert.is(a.length, 3 * 48 * 48);
  assert.equal(Array.from(a), Array.from(b));
  assert.ok(a.some((v, i) => v !== c[i]), 'another key gives another crop');
  const evalT = T.imagenetEval({ size: 48 });
  const e = await evalT(image(120, 90), Rng.keyed(0));
  assert.equal([e.width, e.height], [48, 48]);
});

test('Python rounding and keyed streams', () => {
  assert.equal([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(T.roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
  const a = Rng.keyed(1, 2, 3);
  const b = Rng.keyed(1, 2, 3);
  const seqA = Array.from({ length: 5 }, () => a.nextU32());
  assert.equal(seqA, Array.from({ length: 5 }, () => b.nextU32()));
  assert.not.equal(seqA, Array.from({ length: 5 }, ((r) => () => r.nextU32())(Rng.keyed(1, 2, 4))));
  assert.not.equal(Rng.keyed(2 ** 40).nextU32(), Rng.keyed(0).nextU32());
  const p = Rng.keyed(9).permutation(100);
  assert.equal([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  // Uniform enough: the mean of many draws is near one half.
  const r = Rng.keyed(42);
  let sum = 0;
  for (let i = 0; i < 20000; i++) sum += r.next();
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
});

test.run();
