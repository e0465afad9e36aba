#!/usr/bin/env node
// The `tensorgraft` command. `info` reports what this installation can run
// on, `inspect` and `convert` read weight files (safetensors, PyTorch
// checkpoints, Hugging Face folders) and write safetensors; `finetune`,
// `eval` and `predict` are the image-classification workflow, one file each.
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { buildInfo, devices } from '../device.js';
import { tgError } from '../errors.js';
import type { DType, Tensor } from '../tensor.js';
import { toDType } from '../weights/convert.js';
import { findHfWeights, readModelWeights } from '../weights/hf.js';
import { inspectWeights } from '../weights/read.js';
import { writeSafetensors } from '../weights/safetensors.js';
import type { TensorInfo } from '../weights/types.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerFinetune } from './finetune.js';
import { registerPredict } from './predict.js';
import { registerSegmentation } from './segment.js';
import { registerText } from './text.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

const program = new Command();
program.name('tensorgraft').description('Transfer learning for Node.js').version(version);

program
  .command('info')
  .description('show the build (SIMD level, threads, CUDA) and the devices available')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => {
    const info = buildInfo();
    const devs = devices();
    if (opts.json) {
      console.log(JSON.stringify({ build: info, devices: devs }, null, 2));
      return;
    }
    console.log(`tensorgraft ${info.version} (built with ${info.builder})`);
    console.log(`cpu: ${info.threads} threads, ${info.simd} kernels (supported: ${info.simdSupported.join(', ')})`);
    const cuda = info.cuda;
    if (!cuda.compiled) console.log(`cuda: not compiled in (${cuda.unavailableReason})`);
    else {
      console.log(`cuda: runtime ${cuda.runtimeVersion}, architectures ${cuda.architectures.join(', ')}`);
      if (cuda.devices === 0) console.log(`cuda: no device available (${cuda.unavailableReason})`);
    }
    for (const d of devs.filter((x) => x.type === 'cuda')) {
      console.log(`${d.name}: ${d.model}, ${((d.memory ?? 0) / 2 ** 30).toFixed(1)} GiB, sm_${d.computeCapability?.replace('.', '')}`);
    }
  });

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i ? `${n.toFixed(1)} ${units[i]}` : `${n} B`;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The tensors of a file, or of every weight file of a model folder, without reading their data. */
async function describeWeights(path: string) {
  const isDir = (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
  const files = isDir ? (await findHfWeights(path)).files : [path];
  const tensors: TensorInfo[] = [];
  let format = '';
  let metadata: Record<string, string> = {};
  for (const file of files) {
    const info = await inspectWeights(file);
    if (!format) {
      format = info.format;
      metadata = info.metadata;
    }
    tensors.push(...info.tensors);
  }
  return { format, files, metadata, tensors };
}

program
  .command('inspect')
  .description('list the tensors of a weight file or Hugging Face model folder: names, shapes, dtypes, parameter count (elements of all tensors), bytes')
  .argument('<weights>', 'a .safetensors file, a PyTorch checkpoint (.pt, .pth, .bin) or a model folder')
  .option('--json', 'print JSON')
  .action(async (path: string, opts: { json?: boolean }) => {
    const { format, files, metadata, tensors } = await describeWeights(path);
    const parameters = tensors.reduce((a, t) => a + numel(t.shape), 0);
    const bytes = tensors.reduce((a, t) => a + t.bytes, 0);
    if (opts.json) {
      console.log(JSON.stringify({ format, files, metadata, tensors, count: tensors.length, parameters, bytes }, null, 2));
      return;
    }
    const width = Math.max(4, ...tensors.map((t) => t.name.length));
    console.log(`${'name'.padEnd(width)}  dtype  shape`);
    for (const t of tensors) console.log(`${t.name.padEnd(width)}  ${t.dtype.padEnd(5)}  [${t.shape.join(', ')}]`);
    console.log(`format: ${format}${files.length > 1 ? ` (${files.length} files)` : ''}`);
    if (Object.keys(metadata).length) console.log(`metadata: ${JSON.stringify(metadata)}`);
    console.log(`${tensors.length} tensors, ${parameters.toLocaleString('en-US')} parameters, ${humanBytes(bytes)} (${bytes} bytes)`);
  });

program
  .command('convert')
  .description('rewrite weights (safetensors, PyTorch checkpoint or model folder) as one safetensors file; the metadata records the source format')
  .argument('<in>', 'a weight file or a Hugging Face model folder')
  .argument('<out>', 'the .safetensors file to write')
  .addOption(new Option('--dtype <dtype>', 'cast floating-point tensors').choices(['f32', 'f16', 'bf16']))
  .action(async (input: string, output: string, opts: { dtype?: DType }) => {
    if (resolve(input) === resolve(output)) throw tgError('ERR_TG_ARG', `convert: the output ${output} would overwrite the input`);
    const weights = await readModelWeights(input);
    for (const note of weights.notes) console.error(`note: ${note}`);
    const floats = new Set<DType>(['f32', 'f16', 'bf16']);
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(weights.tensors)) tensors[name] = opts.dtype && floats.has(t.dtype) ? toDType(t, opts.dtype) : t;
    // A safetensors source keeps its own metadata; ours says where the tensors came from.
    const metadata: Record<string, string> = {
      ...(weights.format === 'safetensors' ? weights.metadata : {}),
      format: 'pt',
      source_format: weights.format,
      source: basename(input),
    };
    await writeSafetensors(output, tensors, metadata);
    const count = Object.keys(tensors).length;
    const bytes = Object.values(tensors).reduce((a, t) => a + t.data.byteLength, 0);
    console.log(`wrote ${output}: ${count} tensors, ${humanBytes(bytes)} of data (from ${weights.format})`);
  });

registerDemo(program);
registerFinetune(program);
registerEval(program);
registerPredict(program);
registerText(program);
registerSegmentation(program);

program.parseAsync(process.argv).catch((err: Error & { code?: string }) => {
  console.error(`tensorgraft: ${err.message}`);
  process.exit(1);
});
