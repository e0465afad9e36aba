// U-Net training steps, ours beside PyTorch CPU's from the same run (smp's
// Unet written as plain torch modules in torch_segmentation.py, same thread
// count; null when torch is not installed): a ResNet-34 encoder with smp's
// default decoder (256, 128, 64, 32, 16), 21 classes, batch 4 at 256x256.
// A step is forward, pixel-wise cross-entropy (ignore index 255), backward and
// AdamW: every parameter training (train_step), or the encoder frozen with
// its BatchNorm statistics fixed, decoder and head training
// (train_step_decoder, the transfer-learning step).
// torch runs as a server, so every repetition times torch's step and ours back
// to back and both see the same load on a shared machine; each figure is the
// median of the repetitions after one warm-up step each.
// One JSON line per pass; ratio = torch_ms / ours_ms (above 1: we are faster).
//   npm run bench -- segmentation [--quick] [--reps N] [--encoder resnet34]
//     [--classes 21] [--passes train_step,train_step_decoder]
//     --quick: batch 2, 128x128, 2 repetitions
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tg from '../dist/index.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const batch = quick ? 2 : 4;
const size = quick ? 128 : 256;
const reps = Number(arg('--reps', quick ? 2 : 5));
const encoder = arg('--encoder', 'resnet34');
const classes = Number(arg('--classes', 21));
const decoderChannels = [256, 128, 64, 32, 16];
const passes = arg('--passes', 'train_step,train_step_decoder').split(',');
const threads = tg.buildInfo().threads;
for (const pass of passes) {
  if (!['train_step', 'train_step_decoder'].includes(pass)) throw new Error(`bench segmentation: unknown pass '${pass}'`);
}

/**
 * The torch server (see torch_segmentation.py): request(obj) sends one JSON
 * line and resolves with the answer, or null once torch is missing or failed.
 */
function torchPeer() {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_segmentation.py');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let dead = false;
  let reported = false;
  child.stderr.on('data', (d) => (stderr += d));
  child.on('error', (err) => {
    stderr += String(err);
    dead = true;
  });
  child.stdin.on('error', () => (dead = true));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const fail = () => {
    dead = true;
    if (!reported && !/No module named '(torch|torchvision)'/.test(stderr)) console.error(`torch peer failed: ${stderr.slice(-500)}`);
    reported = true;
    return null;
  };
  const request = async (obj) => {
    if (dead) return null;
    child.stdin.write(`${JSON.stringify(obj)}\n`);
    const { value, done } = await lines.next();
    return done ? fail() : JSON.parse(value);
  };
  const close = () => {
    if (!dead) child.stdin.end(`${JSON.stringify({ quit: true })}\n`);
  };
  return { request, close };
}

function randomInput() {
  const data = new Float32Array(batch * 3 * size * size);
  let s = 1;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return tg.tensor(data, [batch, 3, size, size]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const peer = torchPeer();
const hello = await peer.request({ threads, batch, size, classes, encoder, decoder_channels: decoderChannels, serve: true });
const input = randomInput();
const target = tg.tensor(Int32Array.from({ length: batch * size * size }, (_, i) => (i * 7919) % classes), [batch, size, size]);
tg.manualSeed(0);
const model = tg.models.unet({ encoder, numClasses: classes, decoderChannels });

for (const pass of passes) {
  if (pass === 'train_step') model.unfreeze();
  else model.unfreeze().freeze('encoder.*');
  const session = model.compile({ optimizer: tg.optim.adamw({ lr: 1e-3 }), loss: { type: 'cross_entropy', ignoreIndex: 255 } });
  const ours = () => session.step({ input, target });
  const theirs = hello && (await peer.request({ pass })) ? async () => (await peer.request({ step: true }))?.ms ?? null : async () => null;
  // Warm-up: torch's first step, then ours.
  await theirs();
  await ours();
  const oursMs = [];
  const torchMs = [];
  for (let i = 0; i < reps; i++) {
    const t = await theirs();
    if (t !== null) torchMs.push(t);
    const t0 = performance.now();
    await ours();
    oursMs.push(performance.now() - t0);
  }
  session.dispose();
  const o = median(oursMs);
  const t = torchMs.length === reps ? median(torchMs) : null;
  const line = { bench: 'segmentation', model: `unet-${encoder}`, classes, batch, size, pass, threads, ours_ms: +o.toFixed(1), torch_ms: t === null ? null : +t.toFixed(1) };
  if (t !== null) line.ratio = +(t / o).toFixed(2);
  console.log(JSON.stringify(line));
}
peer.close();
