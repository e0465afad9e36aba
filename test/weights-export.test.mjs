// Export round trip with PyTorch, exact: Model.save writes the committed
// fixtures/export/ours.safetensors (test/parity/export-ours.mjs), which
// test/parity/export.py loaded into torch.nn with load_state_dict(strict=True)
// and wrote back with torch.save (zip, legacy, nested with DDP prefixes) and
// as safetensors. Reading those back must give exactly our values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { OURS, exportModel, exportState, writeOurs } from './parity/export-ours.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tg-export-'));
const fixture = (name) => new URL(`./parity/fixtures/export/${name}`, import.meta.url).pathname;

function sameTensor(got, want, label) {
  assert.is(got.dtype, want.dtype, `${label}: dtype`);
  assert.equal(got.shape, want.shape, `${label}: shape`);
  assert.equal([...got.data], [...want.data], `${label}: values`);
}

test('Model.save writes what the committed file holds: keys, shapes, dtypes, values and bytes', async () => {
  const path = join(dir, 'ours.safetensors');
  await writeOurs(new URL(`file://${path}`));
  const committed = await tg.weights.readSafetensors(fixture('ours.safetensors'));
  const fresh = await tg.weights.readSafetensors(path);
  const model = exportModel();
  // Exactly the keys of torch's state_dict(), parameters and buffers.
  assert.equal(Object.keys(fresh.tensors).sort(), Object.keys(await model.stateDict()).sort());
  assert.equal(Object.keys(committed.tensors).sort(), Object.keys(fresh.tensors).sort());
  for (const [name, t] of Object.entries(committed.tensors)) sameTensor(fresh.tensors[name], t, name);
  assert.is(fresh.tensors['1.num_batches_tracked'].dtype, 'i64');
  assert.equal(fresh.metadata, committed.metadata);
  assert.ok(readFileSync(path).equals(readFileSync(OURS)), 'byte-identical to the committed file');
});

for (const [file, format] of [
  ['torch.pt', 'torch-zip'],
  ['torch-legacy.pt', 'torch-legacy'],
  ['torch.safetensors', 'safetensors'],
  ['torch-nested-ddp.pt', 'torch-zip'],
]) {
  test(`PyTorch's ${file} loads back to exactly our values`, async () => {
    const model = exportModel();
    const want = exportState(model);
    assert.is((await tg.weights.readWeights(fixture(file))).format, format);
    const report = await model.load(fixture(file));
    assert.equal(report.missing, []);
    assert.equal(report.unexpected, []);
    if (file.includes('ddp')) assert.is(report.renamed['module.0.weight'], '0.weight');
    const state = await model.stateDict();
    for (const [name, t] of Object.entries(want)) sameTensor(state[name], t, `${file} ${name}`);
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
