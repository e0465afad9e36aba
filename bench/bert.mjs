// BERT-base for sequence classification, ours beside PyTorch CPU's from the
// same run (plain-torch BERT in torch_bert.py, transformers' eager math, same
// thread count; null when torch is not installed): batch 8, sequence 128,
// dropout 0.1 — inference (eval mode), a full fine-tuning step (every
// parameter, AdamW) and a head-only step (encoder frozen, classifier trained).
// One JSON line per pass; ratio = torch_ms / ours_ms (above 1: we are faster).
// Each pass times torch and then ours back to back, so that both see the
// same load on a shared machine.
//   npm run bench -- bert [--quick] [--layers N] [--passes inference,train_step]
//     --quick: batch 2, sequence 32, 2 layers, 2 repetitions
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tg from '../dist/index.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const batch = quick ? 2 : 8;
const seq = quick ? 32 : 128;
const layers = Number(arg('--layers', quick ? 2 : 12));
const reps = quick ? 2 : 3;
const passes = arg('--passes', 'inference,train_step,train_step_head').split(',');
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

let peerMissing = false;

/** torch's time for one pass, or null without torch. */
function torchMs(pass) {
  if (peerMissing) return null;
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_bert.py');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const cfg = { threads, batch, seq, reps, layers, passes: [pass] };
  const r = spawnSync(python, [script], { input: JSON.stringify(cfg), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    peerMissing = true;
    if (!/No module named 'torch'/.test(r.stderr ?? '')) console.error(`torch peer failed: ${(r.stderr ?? r.error ?? '').toString().slice(-500)}`);
    return null;
  }
  return JSON.parse(r.stdout)[pass] ?? null;
}

/** Token ids as a tokenizer would give them (no padding: every sequence full). */
function feeds() {
  const ids = new Int32Array(batch * seq);
  let s = 1;
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = 1000 + (s % 29000);
  }
  return {
    input_ids: tg.tensor(ids, [batch, seq]),
    attention_mask: tg.tensor(new Int32Array(batch * seq).fill(1), [batch, seq]),
    token_type_ids: tg.tensor(new Int32Array(batch * seq), [batch, seq]),
  };
}

const inputs = feeds();
const labels = tg.tensor(Int32Array.from({ length: batch }, (_, i) => i % 2), [batch]);
const model = tg.models.bert({ task: 'sequence-classification', numLabels: 2, numHiddenLayers: layers });
async function oursMs(pass) {
  if (pass === 'inference') {
    const s = model.compile({ loss: null, training: false });
    const ms = await medianMs(() => s.run(inputs));
    s.dispose();
    return ms;
  }
  if (pass === 'train_step') model.unfreeze();
  else model.freeze().unfreeze('classifier.*');
  const s = model.compile({ optimizer: tg.optim.adamw({ lr: 2e-5 }) });
  const ms = await medianMs(() => s.step({ ...inputs, labels }));
  s.dispose();
  return ms;
}

for (const pass of passes) {
  if (!['inference', 'train_step', 'train_step_head'].includes(pass)) throw new Error(`bench bert: unknown pass '${pass}'`);
  const peer = torchMs(pass);
  const ours = await oursMs(pass);
  const line = { bench: 'bert', model: `bert-base (${layers} layers)`, batch, seq, pass, threads, ours_ms: +ours.toFixed(1), torch_ms: peer === null ? null : +peer.toFixed(1) };
  if (peer !== null) line.ratio = +(peer / ours).toFixed(2);
  console.log(JSON.stringify(line));
}
