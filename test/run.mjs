// `npm test`: runs every test/*.test.mjs with uvu and ends with the line
// `N passed, N failed, N skipped` that CI reads. Extra arguments filter files
// by a pattern, as uvu's own CLI does: `npm test -- gemm`.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const uvuBin = join(here, '..', 'node_modules', 'uvu', 'bin.js');
const pattern = process.argv[2] ? `${process.argv[2]}.*\\.test\\.mjs$` : '\\.test\\.mjs$';

// Plain output, so the summary can be read back.
const env = { ...process.env, NO_COLOR: '1' };
delete env.FORCE_COLOR;
const child = spawn(process.execPath, [uvuBin, here, pattern], { stdio: ['ignore', 'pipe', 'inherit'], env });

let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});

child.on('close', (code, signal) => {
  const count = (label) => Number(output.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? NaN);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    // The runner died before its summary (a crash or an uncaught error).
    console.log(`test runner exited early (code ${code}, signal ${signal})`);
    console.log(`0 passed, 1 failed, 0 skipped`);
    process.exit(1);
  }
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  console.log(`${passed} passed, ${failed} failed, ${skipped || 0} skipped`);
  process.exit(failed > 0 ? 1 : 0);
});
