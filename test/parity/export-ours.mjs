// Writes test/parity/fixtures/export/ours.safetensors: a small CNN built from
// tg.nn layers with fixed values (test/parity/gen.mjs), saved by Model.save.
// test/parity/export.py loads it into the same torch.nn architecture and
// writes it back; test/weights-export.test.mjs checks both directions.
// Run: node test/parity/export-ours.mjs (after npx tsc -p .)
import { fileURLToPath } from 'node:url';
import * as tg from 'tensorgraft';
import { values } from './gen.mjs';

export const OURS = new URL('./fixtures/export/ours.safetensors', import.meta.url);

/** Sequential(Conv2d(3, 4, 3, padding=1), BatchNorm2d(4), ReLU(), Flatten(), Linear(64, 3)) for (N, 3, 4, 4) inputs. */
export function exportModel() {
  const nn = tg.nn;
  return new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Flatten(), new nn.Linear(64, 3));
}

/** The fixed state: every float entry from the shared generator (variances kept positive), the batch counter 7. */
export function exportState(model) {
  const record = {};
  let seed = 1;
  for (const [name, t] of model.namedParameters().concat(model.namedBuffers())) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype === 'i64') record[name] = tg.tensor(BigInt64Array.from([7n]), []);
    else if (name.endsWith('running_var')) record[name] = tg.tensor(values(n, seed++, 0.25).map((v) => v + 1), t.shape);
    else record[name] = tg.tensor(values(n, seed++, 0.5), t.shape);
  }
  return record;
}

export async function writeOurs(path = OURS) {
  const model = exportModel();
  await model.loadStateDict(exportState(model));
  await model.save(fileURLToPath(path), { metadata: { source: 'test/parity/export-ours.mjs' } });
  return model;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeOurs();
  console.log(`wrote ${fileURLToPath(OURS)}`);
}
