// What the build reports about itself, the package entry points, and the CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tg from 'tensorgraft';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The environment for a child process, without colour settings that would leak into its output. */
function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  return env;
}

test('buildInfo describes the build', () => {
  const info = tg.buildInfo();
  assert.is(info.version, pkg.version);
  assert.ok(['cmake', 'node-gyp'].includes(info.builder));
  assert.ok(info.simdSupported.includes(info.simd));
  assert.ok(info.simdSupported.includes('scalar'));
  assert.ok(Number.isInteger(info.threads) && info.threads >= 1);
  assert.type(info.cuda.compiled, 'boolean');
  if (info.cuda.compiled) {
    assert.ok(info.cuda.architectures.length > 0, 'compiled CUDA architectures are listed');
    assert.match(info.cuda.runtimeVersion, /^\d+\.\d+$/);
  } else {
    assert.equal(info.cuda.architectures, []);
  }
  // .ci/run states which kind of build it made.
  if (process.env.TG_EXPECT_CUDA === '1') assert.ok(info.cuda.compiled, 'CUDA should be compiled in');
  if (process.env.TG_EXPECT_CUDA === '0') assert.not.ok(info.cuda.compiled, 'CUDA should be off');
});

test('devices lists the CPU first and CUDA devices only when present', () => {
  const devs = tg.devices();
  assert.is(devs[0].name, 'cpu');
  assert.is(devs[0].type, 'cpu');
  const cuda = devs.filter((d) => d.type === 'cuda');
  assert.is(cuda.length, tg.buildInfo().cuda.devices);
  cuda.forEach((d, i) => assert.is(d.name, `cuda:${i}`));
});

test('TG_NUM_THREADS sizes the thread pool', () => {
  const out = execFileSync(process.execPath, ['-e', "import('tensorgraft').then(tg => process.stdout.write(String(tg.buildInfo().threads)))"], {
    cwd: root,
    env: childEnv({ TG_NUM_THREADS: '3' }),
  });
  assert.is(out.toString().trim(), '3');
});

test('TG_SIMD caps the kernel level at start-up', () => {
  const out = execFileSync(process.execPath, ['-e', "import('tensorgraft').then(tg => process.stdout.write(tg.buildInfo().simd))"], {
    cwd: root,
    env: childEnv({ TG_SIMD: 'scalar' }),
  });
  assert.is(out.toString().trim(), 'scalar');
});

test('the package exports ESM with types and a bin', () => {
  assert.is(pkg.type, 'module');
  assert.ok(existsSync(join(root, pkg.exports['.'].import)));
  assert.ok(existsSync(join(root, pkg.exports['.'].types)));
  assert.ok(existsSync(join(root, pkg.bin.tensorgraft)));
  assert.type(tg.tensor, 'function');
  assert.type(tg.ops.gemm, 'function');
});

test('the CLI reports the build as JSON', () => {
  const out = execFileSync(process.execPath, [join(root, pkg.bin.tensorgraft), 'info', '--json'], { cwd: root, env: childEnv() });
  const report = JSON.parse(out.toString());
  assert.is(report.build.version, pkg.version);
  assert.is(report.devices[0].name, 'cpu');
  const help = execFileSync(process.execPath, [join(root, pkg.bin.tensorgraft), '--help'], { cwd: root, env: childEnv() }).toString();
  assert.match(help, /info/);
});

test('float32 precision: highest by default, high on request, anything else refused', () => {
  assert.is(tg.buildInfo().float32Precision, 'highest');
  assert.is(tg.setFloat32Precision('high'), 'highest');
  assert.is(tg.buildInfo().float32Precision, 'high');
  assert.is(tg.setFloat32Precision('highest'), 'high');
  try {
    tg.setFloat32Precision('medium');
    assert.unreachable('medium is not a mode');
  } catch (err) {
    assert.is(err.code, 'ERR_TG_ARG');
    assert.match(err.message, "mode must be 'highest' or 'high', got 'medium'");
  }
});

test.run();
