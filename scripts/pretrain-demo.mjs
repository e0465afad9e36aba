#!/usr/bin/env node
// `npm run pretrain-demo`: trains the demo's model on the synthetic source
// domain and writes assets/demo/resnet18-w16-synthetic.safetensors and
// assets/demo/pretrain-log.md. Options: --epochs N, --per-class N, --seed N.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { pretrainDemo, savePretrained } from '../dist/demo/pretrain.js';
import { DEMO_LOG, DEMO_WEIGHTS } from '../dist/demo/config.js';

const { values } = parseArgs({
  options: { epochs: { type: 'string' }, 'per-class': { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, log: { type: 'string' } },
});
const num = (v) => (v === undefined ? undefined : Number(v));
const { net, result } = await pretrainDemo({
  epochs: num(values.epochs),
  perClass: num(values['per-class']),
  seed: num(values.seed),
  onEpoch: (e) =>
    console.log(`epoch ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(4)}  test accuracy ${(100 * e.accuracy).toFixed(1)}%  (${e.seconds.toFixed(0)} s)`),
});
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}`;
const command = ['npm run pretrain-demo', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
await savePretrained(net, result, values.out ?? DEMO_WEIGHTS, values.log ?? DEMO_LOG, { command, machine });
console.log(`wrote ${values.out ?? DEMO_WEIGHTS} (test accuracy ${(100 * result.accuracy).toFixed(1)}%, ${result.seconds.toFixed(0)} s)`);
