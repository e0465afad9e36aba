// The body of scripts/gpu-check.sh, run by the bundled node: runs the test
// suites that exercise CUDA (each in its own process, under a time budget),
// the GPU benchmarks (ours here, PyTorch's through torch_bench.py), and
// writes the one JSON report. See gpu-check.sh for the command line; the
// report's fields are described in README.md ("Verifying on a GPU").
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_CASES, benchOurs, rate } from './bench.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = Date.now();
// The whole check must end within 8 minutes; unpacking takes some seconds first.
const BUDGET_S = 450;
// Kept back from the suites for the benchmarks and the report.
const BENCH_RESERVE_S = 120;
const SANITIZER_CAP_S = 150;
// No suite may take more than this (full-size model parity on the CPU is the slowest).
const SUITE_CAP_S = 240;

function parseArgs(argv) {
  const args = { dryRun: false, only: null, sources: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') args.dryRun = true;
    else if (['--addon', '--bundle', '--report', '--only', '--sources'].includes(a)) args[a.slice(2)] = argv[++i];
    else throw new Error(`check.mjs: unknown argument ${a}`);
  }
  for (const required of ['addon', 'bundle', 'report']) {
    if (!args[required]) throw new Error(`check.mjs: --${required} is required`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const only = args.only ? new RegExp(args.only) : null;
process.env.TG_ADDON = resolve(args.addon);
const elapsed = () => (Date.now() - started) / 1000;
const left = () => BUDGET_S - elapsed();

/**
 * The suites, in order: backend-ops first (every op on CUDA against the CPU),
 * then every other test file that selects a CUDA device, then the model parity
 * tests (parity-*, model*), so new ones are picked up without editing this list.
 */
function discoverSuites() {
  const testDir = join(root, 'test');
  const files = readdirSync(testDir)
    .filter((f) => f.endsWith('.test.mjs') && f !== 'gpu-scripts.test.mjs')
    .sort();
  const base = (f) => f.slice(0, -'.test.mjs'.length);
  const usesCuda = (f) => /['"]cuda['"]/.test(readFileSync(join(testDir, f), 'utf8'));
  const isModel = (f) => /^(parity|models?)[-_]/.test(f);
  const names = ['backend-ops'];
  for (const f of files) if (usesCuda(f) && !names.includes(base(f)) && !isModel(f)) names.push(base(f));
  for (const f of files) if (isModel(f)) names.push(base(f));
  return names.filter((n) => existsSync(join(testDir, `${n}.test.mjs`)));
}

/** Runs `command` in its own process group, killing the group at the timeout. */
function runProcess(command, argv, { env, timeoutS, input }) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, argv, { cwd: root, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: null, output: `${output}\n${err.message}`, timedOut, spawnError: err });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output, timedOut });
    });
    child.stdin.end(input ?? '');
  });
}

/** uvu's failure blocks ("FAIL  "name"" then the message) as { test, message }. */
function parseFailures(output) {
  const failures = [];
  const lines = output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^\s*FAIL\s+(.*)$/);
    if (!m) continue;
    failures.push({ test: m[1].trim().replace(/^"|"$/g, ''), message: (lines[i + 1] ?? '').trim() });
  }
  return failures;
}

function parseCoverage(output) {
  return output
    .split('\n')
    .filter((l) => l.startsWith('CUDA coverage: '))
    .map((l) => {
      try {
        return JSON.parse(l.slice('CUDA coverage: '.length));
      } catch {
        return { unreadable: l };
      }
    });
}

async function runSuite(name, env, timeoutS) {
  const t0 = Date.now();
  const r = await runProcess(process.execPath, [join('test', 'run.mjs'), `^${name}`], { env, timeoutS });
  const seconds = (Date.now() - t0) / 1000;
  const summary = r.output.match(/(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/m);
  const suite = {
    name,
    status: 'passed',
    passed: summary ? Number(summary[1]) : 0,
    failed: summary ? Number(summary[2]) : 0,
    skipped: summary ? Number(summary[3] ?? 0) : 0,
    seconds: Math.round(seconds * 10) / 10,
    failures: parseFailures(r.output),
  };
  const coverage = parseCoverage(r.output);
  if (coverage.length) suite.cudaCoverage = coverage;
  if (r.timedOut) {
    suite.status = 'timed out';
    suite.failed += 1;
    suite.failures.push({ test: name, message: `killed after ${timeoutS} s` });
  } else if (!summary || r.code !== 0) {
    suite.status = summary && suite.failed > 0 ? 'failed' : 'crashed';
    if (suite.failed === 0) suite.failed = 1;
    if (!suite.failures.length) suite.failures.push({ test: name, message: tail(r.output) });
  }
  return suite;
}

function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The first of `name` on PATH or in `dirs` that exists, or null. */
function findExecutable(name, dirs) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...dirs]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * backend-ops once more under compute-sanitizer's memcheck: out-of-bounds and
 * misaligned accesses in the kernels, which a comparison of results can miss.
 * Only errors it finds, or tests failing under it, count as failures; a tool
 * that cannot run here (some virtualised GPUs refuse it) leaves a note.
 */
async function runSanitizer(env, timeoutS) {
  const name = 'backend-ops under compute-sanitizer memcheck';
  const tool = findExecutable('compute-sanitizer', ['/usr/local/cuda/bin', '/opt/cuda/bin']);
  const notRun = (note) => ({ name, status: 'not run', passed: 0, failed: 0, skipped: 1, failures: [], note });
  if (!tool) return notRun('compute-sanitizer not found');
  const t0 = Date.now();
  const r = await runProcess(
    tool,
    ['--tool', 'memcheck', '--target-processes', 'all', process.execPath, join('test', 'run.mjs'), '^backend-ops'],
    { env, timeoutS },
  );
  if (r.timedOut) return notRun(`stopped after ${timeoutS} s (time budget)`);
  const errors = [...r.output.matchAll(/ERROR SUMMARY: (\d+) error/g)].reduce((n, m) => n + Number(m[1]), 0);
  const summary = r.output.match(/(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/m);
  if (!summary && errors === 0) return notRun(`compute-sanitizer did not run the suite: ${tail(r.output, 5)}`);
  const testsFailed = summary ? Number(summary[2]) : 0;
  const reports = r.output
    .split('\n')
    .filter((l) => /^=+ +(Invalid|Program hit|Address|Misaligned|Out-of-range|Race|Error)/.test(l))
    .slice(0, 20);
  const failures = [];
  if (errors > 0) failures.push({ test: 'memcheck', message: reports.join('\n') || tail(r.output) });
  if (testsFailed > 0) failures.push(...parseFailures(r.output));
  return {
    name,
    status: failures.length ? 'failed' : 'passed',
    passed: failures.length ? 0 : 1,
    failed: failures.length ? 1 : 0,
    skipped: 0,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    sanitizerErrors: errors,
    failures,
  };
}

async function torchFigures(cases, dryRun) {
  const input = JSON.stringify(cases);
  const script = join('scripts', 'gpu-check', 'torch_bench.py');
  const r = await runProcess('python3', dryRun ? [script, '--validate'] : [script], {
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    timeoutS: Math.max(10, Math.min(150, left() - 15)),
    input,
  });
  const last = r.output.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last);
    if (dryRun) parsed.note = 'dry run: PyTorch not run';
    return parsed;
  } catch {
    const why = r.timedOut ? 'timed out' : tail(r.output, 5);
    return { peer: null, note: `torch_bench.py failed: ${why}`, results: cases.map(() => ({ ms: null, note: 'PyTorch figures unavailable' })) };
  }
}

function writeReport(report) {
  mkdirSync(dirname(resolve(args.report)), { recursive: true });
  const tmp = `${args.report}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, args.report);
}

async function main() {
  const { native } = await import(pathToFileURL(join(root, 'dist', 'native.js')).href);
  const addon = native();
  const build = addon.buildInfo();
  const cudaDevice = addon.devices().find((d) => d.type === 'cuda') ?? null;
  const ops = addon.listOps();
  const report = {
    schema: 1,
    createdAt: new Date().toISOString(),
    dryRun: args.dryRun,
    ok: false,
    host: { hostname: hostname(), node: process.version, platform: `${process.platform}-${process.arch}` },
    device: cudaDevice && {
      name: cudaDevice.model,
      computeCapability: cudaDevice.computeCapability,
      memoryBytes: cudaDevice.memory,
      multiprocessors: cudaDevice.multiprocessors,
    },
    build,
    bundle: JSON.parse(readFileSync(join(args.bundle, 'manifest.json'), 'utf8')),
    sources: Object.fromEntries(args.sources.split(' ').filter(Boolean).map((s) => s.split('='))),
    cudaKernels: { ops: ops.length, withKernel: ops.filter((o) => o.cuda).length, without: ops.filter((o) => !o.cuda).map((o) => o.name) },
    suites: [],
    totals: { passed: 0, failed: 0, skipped: 0 },
    benches: null,
    seconds: null,
  };
  if (!args.dryRun && !cudaDevice) report.problem = `no CUDA device is visible: ${build.cuda.unavailableReason ?? 'unknown reason'}`;

  const env = { ...process.env, NO_COLOR: '1', ...(args.dryRun ? {} : { TG_EXPECT_CUDA: '1' }) };
  for (const name of discoverSuites().filter((n) => !only || only.test(n))) {
    const timeoutS = Math.min(SUITE_CAP_S, left() - BENCH_RESERVE_S);
    if (timeoutS < 10) {
      report.suites.push({ name, status: 'not run', passed: 0, failed: 0, skipped: 1, failures: [], note: 'time budget spent' });
      continue;
    }
    console.log(`gpu-check: suite ${name}`);
    const suite = await runSuite(name, env, timeoutS);
    console.log(`gpu-check:   ${suite.status}: ${suite.passed} passed, ${suite.failed} failed, ${suite.skipped} skipped (${suite.seconds} s)`);
    report.suites.push(suite);
    // Written as it grows, so a run cut off from outside still leaves its results.
    writeReport(report);
  }

  const cases = BENCH_CASES.filter((c) => !only || only.test(c.name) || only.test('bench'));
  if (cases.length) {
    console.log(`gpu-check: ${cases.length} benchmarks`);
    const ours = await benchOurs(addon, cases, { cuda: Boolean(cudaDevice) });
    const torch = await torchFigures(cases, args.dryRun);
    report.benches = {
      peer: torch.peer,
      note: torch.note ?? 'fp32 on both sides (TF32 off for PyTorch); speedup = torch_ms / ours_ms, above 1 means ours is faster',
      cases: cases.map((c, i) => {
        const o = ours[i];
        const t = torch.results[i] ?? { ms: null, note: 'missing' };
        return {
          name: c.name,
          op: c.op,
          pass: c.pass,
          shapes: c.shapes,
          ours_ms: o.ms,
          torch_ms: t.ms,
          speedup: o.ms && t.ms ? t.ms / o.ms : null,
          ours_rate: rate(c, o.ms),
          torch_rate: rate(c, t.ms),
          ...(o.note ? { ours_note: o.note } : {}),
          ...(t.note ? { torch_note: t.note } : {}),
        };
      }),
    };
    writeReport(report);
  }

  const sanitizerTime = Math.min(SANITIZER_CAP_S, left() - 20);
  if (!args.dryRun && cudaDevice && (!only || only.test('sanitizer')) && sanitizerTime >= 30) {
    console.log('gpu-check: backend-ops under compute-sanitizer');
    report.suites.push(await runSanitizer(env, sanitizerTime));
  }

  for (const s of report.suites) {
    report.totals.passed += s.passed;
    report.totals.failed += s.failed;
    report.totals.skipped += s.skipped;
  }
  report.ok = report.totals.failed === 0 && !report.problem && report.suites.length > 0;
  report.seconds = Math.round(elapsed());
  writeReport(report);
  console.log(
    `gpu-check: ${report.ok ? 'OK' : 'NOT OK'}: ${report.totals.passed} passed, ${report.totals.failed} failed, ` +
      `${report.totals.skipped} skipped on ${report.device?.name ?? 'no GPU'} in ${report.seconds} s`,
  );
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    // Even a broken check leaves a report saying what broke.
    try {
      writeReport({ schema: 1, createdAt: new Date().toISOString(), dryRun: args.dryRun, ok: false, problem: err.stack ?? String(err) });
    } catch {
      // the report folder is not writable: the message below is all there is
    }
    console.error(`gpu-check: ${err.stack ?? err}`);
    process.exit(1);
  },
);
