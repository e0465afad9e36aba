// The plumbing of the GPU check, on a machine without a GPU: gpu-prepare.sh
// --dry-run bundles node, the addon under test, dist/ and node_modules/ into a
// temporary folder, and gpu-check.sh --dry-run unpacks that node, runs one
// small suite and the benchmark plumbing with it, and writes the report. The
// real suites and figures need a GPU (scripts/gpu-check.sh there).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const missing = ['bash', 'xz', 'tar'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) console.log(`gpu-scripts: skipped, these tools are not installed: ${missing.join(', ')}`);

function run(script, args, env) {
  const r = spawnSync('bash', [join(root, 'scripts', script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

(missing.length ? test.skip : test)('gpu-check.sh --dry-run runs end to end on a bundle from gpu-prepare.sh --dry-run', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tg-gpu-scripts-'));
  try {
    const bundle = join(scratch, 'bundle');
    const prepared = run('gpu-prepare.sh', ['--dry-run', '--bundle', bundle]);
    assert.is(prepared.status, 0, `gpu-prepare.sh failed:\n${prepared.output}`);
    for (const f of ['node.xz', 'tensorgraft.node', 'dist.tar.xz', 'node_modules.tar.xz', 'manifest.json']) {
      assert.ok(existsSync(join(bundle, f)), `the bundle has ${f}`);
    }
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
    assert.is(manifest.dryRun, true);
    assert.is(manifest.node.version, process.version);

    const checked = run('gpu-check.sh', ['--dry-run', '--bundle', bundle, '--only', '^errors$|bench'], { OUT: scratch });
    const reportPath = join(scratch, 'gpu-report.json');
    assert.ok(existsSync(reportPath), `no report:\n${checked.output}`);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    assert.is(checked.status, report.ok ? 0 : 1, 'the exit status follows the report');
    assert.is(report.dryRun, true);
    assert.is(report.host.node, process.version, 'the suites ran on the unpacked node');
    assert.equal(
      report.suites.map((s) => s.name),
      ['errors'],
    );
    const [suite] = report.suites;
    assert.ok(suite.passed > 0 && typeof suite.failed === 'number' && typeof suite.skipped === 'number', JSON.stringify(suite));
    assert.ok(Array.isArray(suite.failures));
    assert.ok(report.benches.cases.length > 0, 'bench cases are listed');
    if (!report.device) {
      for (const c of report.benches.cases) {
        assert.is(c.ours_ms, null, `${c.name}: no GPU figure without a GPU`);
        assert.is(c.torch_ms, null, `${c.name}: PyTorch is not run in a dry run`);
      }
    }
    assert.is(typeof report.cudaKernels.withKernel, 'number');
    assert.is(checked.status, 0, `gpu-check.sh --dry-run failed:\n${checked.output}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test.run();
