// Whole-network timings, ours beside PyTorch CPU's from the same run
// (torchvision on Debian's python3-torch, same thread count; null when it is
// not installed): ResNet-18 and ResNet-50 at batch 8, 224x224 —
// inference (eval mode), a full training step (forward, backward, SGD with
// momentum) and a transfer-learning step (backbone frozen, fc trained).
// One JSON line per model and pass; ratio = torch_ms / ours_ms (above 1: we
// are faster).
//   npm run bench -- resnet [--quick] [--models resnet18,resnet50]
//     --quick: batch 2, 112x112, 2 repetitions
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tg from '../dist/index.js';

const quick = process.argv.includes('--quick');
const at = process.argv.indexOf('--models');
const models = at > 0 ? process.argv[at + 1].split(',') : ['resnet18', 'resnet50'];
const batch = quick ? 2 : 8;
const size = quick ? 112 : 224;
const reps = quick ? 2 : 3;
const passes = ['inference', 'train_step', 'train_step_head'];
const threads = tg.buildInfo().threads;

async function medianMs(fn) {
  await fn();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function torchTimes() {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_resnet.py');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const cfg = { threads, batch, size, reps, models, passes };
  const r = spawnSync(python, [script], { input: JSON.stringify(cfg), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    if (!/No module named '(torch|torchvision)'/.test(r.stderr ?? '')) console.error(`torch peer failed: ${(r.stderr ?? r.error ?? '').toString().slice(-500)}`);
    return null;
  }
  return JSON.parse(r.stdout);
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

const peer = torchTimes();
const input = randomInput();
const target = tg.tensor(Int32Array.from({ length: batch }, (_, i) => (i * 37) % 1000), [batch]);
for (const name of models) {
  const ours = {};
  const model = tg.models[name]();
  const infer = model.compile({ loss: null, training: false });
  ours.inference = await medianMs(() => infer.run(input));
  infer.dispose();
  const train = model.compile({ optimizer: tg.optim.sgd({ lr: 0.01, momentum: 0.9 }) });
  ours.train_step = await medianMs(() => train.step({ input, target }));
  train.dispose();
  model.freeze().unfreeze('fc.*');
  const head = model.compile({ optimizer: tg.optim.sgd({ lr: 0.01, momentum: 0.9 }) });
  ours.train_step_head = await medianMs(() => head.step({ input, target }));
  head.dispose();
  for (const pass of passes) {
    const torchMs = peer?.[name]?.[pass] ?? null;
    const line = { bench: 'resnet', model: name, batch, size, pass, threads, ours_ms: +ours[pass].toFixed(1), torch_ms: torchMs === null ? null : +torchMs.toFixed(1) };
    if (torchMs !== null) line.ratio = +(torchMs / ours[pass]).toFixed(2);
    console.log(JSON.stringify(line));
  }
}
