// The tensorgraft command: inspect and convert on weight files the test
// writes with writeSafetensors, and on a checkpoint PyTorch wrote
// (test/parity/fixtures/export/torch.pt).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tg from 'tensorgraft';

const cli = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
const torchFixture = fileURLToPath(new URL('./parity/fixtures/export/torch.pt', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tg-cli-'));

function run(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

const file = join(dir, 'small.safetensors');
test.before(async () => {
  await tg.weights.writeSafetensors(
    file,
    {
      'encoder.weight': tg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]),
      'encoder.bias': tg.tensor(new Uint16Array([0x3c00, 0x4000]), [2], 'f16'),
      'bn.num_batches_tracked': tg.tensor(BigInt64Array.from([5n]), []),
    },
    { format: 'pt', origin: 'cli test' },
  );
});

test('inspect lists names, shapes, dtypes, parameter count and bytes', async () => {
  const { code, stdout } = await run('inspect', file);
  assert.is(code, 0);
  assert.match(stdout, /encoder\.weight\s+f32\s+\[2, 3\]/);
  assert.match(stdout, /encoder\.bias\s+f16\s+\[2\]/);
  assert.match(stdout, /bn\.num_batches_tracked\s+i64\s+\[\]/);
  assert.match(stdout, 'format: safetensors');
  assert.match(stdout, '3 tensors, 9 parameters, 36 B (36 bytes)');
});

test('inspect --json', async () => {
  const { code, stdout } = await run('inspect', file, '--json');
  assert.is(code, 0);
  const info = JSON.parse(stdout);
  assert.is(info.format, 'safetensors');
  assert.is(info.count, 3);
  assert.is(info.parameters, 9);
  assert.is(info.bytes, 36);
  assert.is(info.metadata.origin, 'cli test');
  const byName = Object.fromEntries(info.tensors.map((t) => [t.name, t]));
  assert.equal(byName['encoder.weight'], { name: 'encoder.weight', shape: [2, 3], dtype: 'f32', bytes: 24 });
});

test('inspect reads a model folder', async () => {
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  writeFileSync(join(folder, 'config.json'), '{}');
  await tg.weights.writeSafetensors(join(folder, 'model.safetensors'), { w: tg.tensor(new Float32Array(4), [2, 2]) });
  const { code, stdout } = await run('inspect', folder);
  assert.is(code, 0);
  assert.match(stdout, '1 tensors, 4 parameters');
});

test('convert rewrites a PyTorch checkpoint as safetensors and records the source format', async () => {
  const out = join(dir, 'from-torch.safetensors');
  const { code, stdout, stderr } = await run('convert', torchFixture, out);
  assert.is(code, 0, stderr);
  assert.match(stdout, `wrote ${out}`);
  const converted = await tg.weights.readSafetensors(out);
  const original = await tg.weights.readWeights(torchFixture);
  assert.is(converted.metadata.source_format, 'torch-zip');
  assert.is(converted.metadata.format, 'pt');
  assert.equal(Object.keys(converted.tensors).sort(), Object.keys(original.tensors).sort());
  for (const [k, t] of Object.entries(original.tensors)) {
    assert.is(converted.tensors[k].dtype, t.dtype, k);
    assert.equal([...converted.tensors[k].data], [...t.data], k);
  }
});

test('convert --dtype casts floating-point tensors only', async () => {
  const out = join(dir, 'half.safetensors');
  const { code } = await run('convert', file, out, '--dtype', 'f32');
  assert.is(code, 0);
  const t = (await tg.weights.readSafetensors(out)).tensors;
  assert.is(t['encoder.bias'].dtype, 'f32');
  assert.equal([...t['encoder.bias'].data], [1, 2]);
  assert.is(t['bn.num_batches_tracked'].dtype, 'i64');
  const meta = (await tg.weights.readSafetensors(out)).metadata;
  assert.is(meta.source_format, 'safetensors');
  assert.is(meta.origin, 'cli test', 'a safetensors source keeps its metadata');
});

test('errors name the file and exit with status 1', async () => {
  const missing = join(dir, 'nope.pth');
  const r = await run('inspect', missing);
  assert.is(r.code, 1);
  assert.match(r.stderr, `tensorgraft: `);
  assert.match(r.stderr, missing);
  const same = await run('convert', file, file);
  assert.is(same.code, 1);
  assert.match(same.stderr, 'would overwrite the input');
  assert.not.ok(existsSync(join(dir, 'never.safetensors')));
  const bad = await run('convert', missing, join(dir, 'never.safetensors'));
  assert.is(bad.code, 1);
  assert.not.ok(existsSync(join(dir, 'never.safetensors')), 'nothing written on failure');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
