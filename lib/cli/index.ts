#!/usr/bin/env node
// The `tensorgraft` command. Training and inference commands arrive with the
// model issues; `info` reports what this installation can run on.
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { buildInfo, devices } from '../device.js';

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

program.parseAsync(process.argv).catch((err: Error & { code?: string }) => {
  console.error(`tensorgraft: ${err.message}`);
  process.exit(1);
});
