// Op timings, ours beside PyTorch CPU's from the same run (Debian's
// python3-torch, same thread count; null when it is not installed): every
// convolution shape of ResNet-18 and ResNet-50 at batch 8, 224x224, forward
// and forward+backward; batch_norm, layer_norm, max_pool; attention at batch
// 8, 12 heads, head dim 64, T = 128 and 512. One JSON line per case, then the
// median ratios (torch_ms / ours_ms: above 1 means we are faster). Convs also
// time their input gradient alone (pass 'bwd_input', ours only: the peer
// script times whole passes).
//   npm run bench -- ops [--quick] [--filter TEXT]
//     --quick: batch 2, fewer repetitions
//     --filter: only the cases whose name contains TEXT, e.g. 'k3 s1' for the
//       3x3 stride-1 convs (names: 'conv2d 64->64 k3 s1 @56', 'batch_norm', ...)
// TG_CONV_WINOGRAD=0 / 1 in the environment turns the Winograd path of 3x3
// stride-1 convs off / on wherever it applies (unset: the built-in rule), so
// two runs compare it with the im2col path.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../dist/native.js';

const quick = process.argv.includes('--quick');
const filterAt = process.argv.indexOf('--filter');
const filter = filterAt > 0 ? process.argv[filterAt + 1] ?? '' : '';
const N = quick ? 2 : 8;
const addon = native();
const threads = addon.buildInfo().threads;

// [in, out, kernel, stride, input size]; padding is kernel / 2.
const RESNET18 = [
  [3, 64, 7, 2, 224], [64, 64, 3, 1, 56], [64, 128, 3, 2, 56], [128, 128, 3, 1, 28], [64, 128, 1, 2, 56],
  [128, 256, 3, 2, 28], [256, 256, 3, 1, 14], [128, 256, 1, 2, 28], [256, 512, 3, 2, 14], [512, 512, 3, 1, 7],
  [256, 512, 1, 2, 14],
];
const RESNET50 = [
  [64, 64, 1, 1, 56], [64, 64, 3, 1, 56], [64, 256, 1, 1, 56], [256, 64, 1, 1, 56], [256, 128, 1, 1, 56],
  [128, 128, 3, 2, 56], [128, 512, 1, 1, 28], [256, 512, 1, 2, 56], [512, 128, 1, 1, 28], [128, 128, 3, 1, 28],
  [512, 256, 1, 1, 28], [256, 256, 3, 2, 28], [256, 1024, 1, 1, 14], [512, 1024, 1, 2, 28], [1024, 256, 1, 1, 14],
  [1024, 512, 1, 1, 14], [512, 512, 3, 2, 14], [512, 2048, 1, 1, 7], [1024, 2048, 1, 2, 14], [2048, 512, 1, 1, 7],
];

const seen = new Set();
const cases = [];
for (const [net, list] of [['resnet18', RESNET18], ['resnet50', RESNET50]]) {
  for (const [c, o, k, s, hw] of list) {
    const key = `${c}-${o}-${k}-${s}-${hw}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const p = Math.floor(k / 2);
    const name = `conv2d ${c}->${o} k${k} s${s} @${hw}`;
    cases.push({ name, group: 'conv', net, op: 'conv2d', shapes: [[N, c, hw, hw], [o, c, k, k]], attrs: { stride: [s, s], padding: [p, p] } });
  }
}
cases.push({ group: 'norm', op: 'batch_norm', shapes: [[N, 64, 112, 112], [64], [64]], attrs: { momentum: 0.1, eps: 1e-5 } });
cases.push({ group: 'norm', op: 'layer_norm', shapes: [[N * 128, 768], [768], [768]], attrs: { normalized_shape: [768] } });
cases.push({ group: 'pool', op: 'max_pool2d', shapes: [[N, 64, 112, 112]], attrs: { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1] } });
for (const T of [128, 512]) {
  cases.push({ group: 'attention', op: 'attention', shapes: [[N, 12, T, 64], [N, 12, T, 64], [N, 12, T, 64]], attrs: {} });
}
const reps = quick ? 2 : 3;
for (const c of cases) c.reps = reps;
const selected = cases.filter((c) => (c.name ?? c.op).includes(filter));
cases.splice(0, cases.length, ...selected);

function tensor(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return { data, shape, dtype: 'f32' };
}

function inputsFor(c) {
  const ins = c.shapes.map((s, i) => tensor(s, i + 1));
  if (c.op === 'batch_norm') {
    const ch = c.shapes[0][1];
    ins.push({ data: new Float32Array(ch), shape: [ch], dtype: 'f32' }, { data: new Float32Array(ch).fill(1), shape: [ch], dtype: 'f32' });
  }
  return ins;
}

async function median(fn, n) {
  await fn();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function torchTimes() {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_ops.py');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const r = spawnSync(python, [script], { input: JSON.stringify({ threads, cases }), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    if (!/No module named 'torch'/.test(r.stderr ?? '')) console.error(`torch peer failed: ${(r.stderr ?? r.error ?? '').toString().slice(-500)}`);
    return null;
  }
  return JSON.parse(r.stdout);
}

const peer = torchTimes();
const ratios = {};
for (const [i, c] of cases.entries()) {
  const ins = inputsFor(c);
  const out = await addon.runOp(c.op, ins, c.attrs, {});
  const seeds = out.map((o) => (o.dtype === 'f32' ? tensor(o.shape, 99) : null));
  const passes = {
    fwd: () => addon.runOp(c.op, ins, c.attrs, {}),
    'fwd+bwd': () => addon.vjp(c.op, ins, c.attrs, seeds.map((s, k) => (k === 0 ? s : null)), {}),
  };
  if (c.op === 'conv2d') {
    const attrs = { ...c.attrs, input_shape: c.shapes[0] };
    passes.bwd_input = () => addon.runOp('conv2d_backward_input', [seeds[0], ins[1]], attrs, {});
  }
  for (const [pass, fn] of Object.entries(passes)) {
    const ours = await median(fn, c.reps);
    const theirs = peer && pass in peer[i] ? peer[i][pass] : null;
    const line = { bench: 'ops', op: c.op, name: c.name, net: c.net, shape: c.shapes, attrs: c.attrs, pass, threads, ours_ms: +ours.toFixed(2), torch_ms: theirs === null ? null : +theirs.toFixed(2) };
    console.log(JSON.stringify(line));
    if (theirs !== null) (ratios[`${c.group} ${pass}`] ??= []).push(theirs / ours);
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, +med(v).toFixed(3)]));
console.log(JSON.stringify({ bench: 'ops_summary', batch: N, threads, median_speedup_vs_torch: peer ? summary : null }));
