// The segmentation models' API (numerics are in parity-segmentation.test.mjs):
// encoderWeights and weights loading, heads, outputs, input sizes, training
// with (N, H, W) targets, and errors that name the option.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';

const dir = mkdtempSync(join(tmpdir(), 'tg-segmentation-'));
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const input = (shape) => tg.tensor(Float32Array.from({ length: numel(shape) }, (_, i) => Math.sin(i * 0.37)), shape);
const target = ([n, , h, w], classes) => tg.tensor(Int32Array.from({ length: n * h * w }, (_, i) => (i * 7) % classes), [n, h, w]);

async function rejects(promiseOrFn, code, pattern) {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (err) {
    assert.is(err.code, code, err.message);
    assert.match(err.message, pattern);
    return;
  }
  assert.unreachable(`expected ${code} ${pattern}`);
}

test('unet: encoderWeights loads a torchvision ResNet checkpoint into the encoder, fc left out and reported', async () => {
  const r18 = tg.models.resnet18();
  const path = join(dir, 'resnet18.safetensors');
  await tg.weights.writeSafetensors(path, await r18.stateDict());

  const net = await tg.models.unet({ encoder: 'resnet18', numClasses: 2, encoderWeights: path });
  assert.instance(net, tg.models.Unet);
  assert.equal(net.loadReport.ignored.sort(), ['fc.bias', 'fc.weight']);
  assert.equal(net.loadReport.missing, []);
  assert.equal(net.loadReport.unexpected, []);
  assert.is(net.loadReport.path, path);
  assert.ok(net.loadReport.notes.some((n) => n.startsWith('fc.*')), net.loadReport.notes.join('; '));
  const ours = new Map(net.namedParameters());
  for (const [name, t] of r18.namedParameters()) {
    if (name.startsWith('fc.')) continue;
    assert.equal(ours.get(`encoder.${name}`).data, t.data, name);
  }
  assert.not.ok(Object.keys(net.parameters()).some((k) => k.startsWith('encoder.fc.')));

  // One input channel: conv1's RGB kernels summed, as smp.
  const gray = await tg.models.unet({ encoder: 'resnet18', inChannels: 1, encoderWeights: path });
  const w = r18.conv1.namedParameters()[0][1];
  const g = gray.encoder.conv1.namedParameters()[0][1];
  assert.equal(g.shape, [64, 1, 7, 7]);
  assert.ok(Math.abs(g.data[5] - (w.data[5] + w.data[49 + 5] + w.data[98 + 5])) < 1e-6);
  assert.ok(gray.loadReport.notes.some((n) => n.includes('conv1.weight')));

  // A file that is not a ResNet of that size: a strict error naming the encoder's keys.
  await rejects(tg.models.unet({ encoder: 'resnet34', encoderWeights: path }), 'ERR_TG_ARG', /Unet\.loadEncoder: .*layer1\.2/);
});

test('unet: a whole checkpoint loads through weights, a head of another size stays fresh', async () => {
  const net = tg.models.unet({ encoder: 'resnet18', numClasses: 3 });
  const path = join(dir, 'unet.safetensors');
  await net.save(path);
  const same = await tg.models.unet({ encoder: 'resnet18', weights: path });
  assert.equal(same.parameters()['segmentation_head.0.weight'], [3, 16, 3, 3]);
  assert.equal(same.loadReport.head.loaded, true);
  const five = await tg.models.unet({ encoder: 'resnet18', numClasses: 5, weights: path });
  assert.equal(five.parameters()['segmentation_head.0.weight'], [5, 16, 3, 3]);
  assert.equal(five.loadReport.head.loaded, false);
  const byName = await tg.models.load('unet', { encoder: 'resnet18', weights: path });
  assert.equal((await byName.stateDict())['decoder.blocks.4.conv2.0.weight'].data, (await net.stateDict())['decoder.blocks.4.conv2.0.weight'].data);
});

test('unet: logits at input resolution, a training step on (N, H, W) class ids, replaceHead', async () => {
  const net = tg.models.create('unet', { encoder: 'resnet18', numClasses: 3 });
  const shape = [1, 3, 32, 64];
  const logits = await net.predict(input(shape));
  assert.equal(logits.shape, [1, 3, 32, 64]);
  net.freeze('encoder.*');
  const session = net.compile({ loss: { type: 'cross_entropy', ignoreIndex: 255 }, optimizer: tg.optim.sgd({ lr: 0.01 }) });
  const { loss } = await session.step({ input: input(shape), target: target(shape, 3) });
  assert.ok(Number.isFinite(loss) && loss > 0);
  session.dispose();
  net.replaceHead({ numClasses: 4 });
  assert.equal((await net.predict(input(shape))).shape, [1, 4, 32, 64]);
  assert.equal(net.headPrefixes(), ['segmentation_head.0.']);
});

test('unetClassic: sizes that are not multiples of 16 need inputSize, which pads as F.pad', async () => {
  const odd = [1, 3, 40, 24];
  const plain = tg.models.unetClassic({ bilinear: true });
  assert.equal((await plain.predict(input([1, 3, 32, 16]))).shape, [1, 2, 32, 16]);
  await rejects(plain.predict(input(odd)), 'ERR_TG_SHAPE', /up\d/);
  const sized = tg.models.unetClassic({ bilinear: true, nClasses: 3, inputSize: [40, 24] });
  assert.equal((await sized.predict(input(odd))).shape, [1, 3, 40, 24]);
  await rejects(sized.predict(input([1, 3, 32, 16])), 'ERR_TG_SHAPE', /feed 'input'/);
  const session = sized.compile({ optimizer: tg.optim.sgd({ lr: 0.01 }) });
  const { loss } = await session.step({ input: input(odd), target: target(odd, 3) });
  assert.ok(Number.isFinite(loss));
  session.dispose();
  assert.equal(tg.models.unetClassic({ numClasses: 4, bilinear: true }).parameters()['outc.conv.weight'], [4, 64, 1, 1]);
});

test('deeplabv3: logits and aux at input resolution; with auxLoss the loss is out + 0.5 aux', async () => {
  const net = tg.models.create('deeplabv3_resnet50', { numClasses: 3, auxLoss: true });
  assert.instance(net, tg.models.DeepLabV3);
  const shape = [2, 3, 32, 32];
  const out = await net.predictAll(input(shape));
  assert.equal(Object.keys(out).sort(), ['aux', 'logits']);
  assert.equal(out.logits.shape, [2, 3, 32, 32]);
  assert.equal(out.aux.shape, [2, 3, 32, 32]);
  net.freeze('backbone.*');
  const session = net.compile({ optimizer: tg.optim.sgd({ lr: 0 }) });
  session.eval();
  const t = target(shape, 3);
  const { loss } = await session.run({ input: input(shape), target: t });
  // Cross-entropy of each output, from the logits themselves.
  const ce = (logits) => {
    const [n, c, h, w] = logits.shape;
    let total = 0;
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < h * w; p++) {
        const z = Array.from({ length: c }, (_, k) => logits.data[(b * c + k) * h * w + p]);
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
        total += lse - z[t.data[b * h * w + p]];
      }
    }
    return total / (n * h * w);
  };
  const expected = ce(out.logits) + 0.5 * ce(out.aux);
  assert.ok(Math.abs(loss.data[0] - expected) < 1e-4 * expected, `loss ${loss.data[0]}, expected ${expected}`);
  session.dispose();

  net.replaceHead({ numClasses: 5 });
  const params = net.parameters();
  assert.equal(params['classifier.4.weight'], [5, 256, 1, 1]);
  assert.equal(params['aux_classifier.4.weight'], [5, 256, 1, 1]);
  assert.equal(net.headPrefixes(), ['classifier.4.', 'aux_classifier.4.']);
  assert.not.ok(Object.keys(params).some((k) => k.startsWith('backbone.fc.')));
});

test('bad options: ERR_TG_ARG naming the option', async () => {
  const cases = [
    [() => tg.models.unet({ encoder: 'vgg16' }), /models\.unet: encoder must be one of resnet18/],
    [() => tg.models.unet({ numClasses: 0 }), /models\.unet: numClasses must be a positive integer/],
    [() => tg.models.unet({ inChannels: 0 }), /models\.unet: inChannels must be/],
    [() => tg.models.unet({ decoderChannels: [256, 128, 64] }), /models\.unet: decoderChannels must be five positive integers/],
    [() => tg.models.create('unet', { encoderWeights: 'x.pth' }), /models\.unet: encoderWeights must be given to tg\.models\.unet\(\) itself/],
    [() => tg.models.unet({ encoderWeights: '' }), /models\.unet: encoderWeights must be a weight file path/],
    [() => tg.models.unet({ encoderWeights: 'a.pth', weights: 'b.pth' }), /models\.unet: encoderWeights must be left out when weights/],
    [() => tg.models.unetClassic({ nChannels: 1.5 }), /models\.unetClassic: nChannels must be/],
    [() => tg.models.unetClassic({ nClasses: 0 }), /models\.unetClassic: numClasses must be a positive integer/],
    [() => tg.models.unetClassic({ nClasses: 2, numClasses: 3 }), /models\.unetClassic: numClasses must be left out or equal to nClasses/],
    [() => tg.models.unetClassic({ bilinear: 'yes' }), /models\.unetClassic: bilinear must be a boolean/],
    [() => tg.models.unetClassic({ inputSize: [8, 8] }), /models\.unetClassic: inputSize must be \[H, W\]/],
    [() => tg.models.deeplabv3_resnet50({ auxLoss: 1 }), /models\.deeplabv3_resnet50: auxLoss must be a boolean/],
    [() => tg.models.deeplabv3_resnet101({ numClasses: -1 }), /models\.deeplabv3_resnet101: numClasses must be a positive integer/],
    [() => tg.models.deeplabv3_resnet50({ inputSize: 64 }), /models\.deeplabv3_resnet50: inputSize must be \[H, W\]/],
    [() => tg.models.resnet18({ classifier: false }).build(), /resnet18\.build: built with classifier: false/],
  ];
  for (const [fn, pattern] of cases) await rejects(fn, 'ERR_TG_ARG', pattern);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
