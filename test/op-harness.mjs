// Shared machinery for the op case tables in test/cases/*.mjs: random inputs
// from a case's description, tensors for the native calls, and comparisons.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng } from './helpers.mjs';

const casesDir = join(dirname(fileURLToPath(import.meta.url)), 'cases');

/** Every case table: [{ file, cases, errors }]. */
export async function loadCaseTables() {
  const files = readdirSync(casesDir).filter((f) => f.endsWith('.mjs')).sort();
  const tables = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(join(casesDir, file)).href);
    tables.push({ file, cases: mod.default ?? [], errors: mod.errors ?? [] });
  }
  return tables;
}

const ARRAYS = { f32: Float32Array, i32: Int32Array, i64: BigInt64Array, u8: Uint8Array, bool: Uint8Array };

/** Materialises one input description as a host tensor (seeded, so every run is the same). */
export function makeInput(desc, seed) {
  const dtype = desc.dtype ?? 'f32';
  const shape = desc.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  const Ctor = ARRAYS[dtype];
  if (!Ctor) throw new Error(`op harness: unsupported input dtype ${dtype}`);
  const data = new Ctor(n);
  if (desc.values) {
    if (desc.values.length !== n) throw new Error(`op harness: ${desc.values.length} values for shape [${shape}]`);
    for (let i = 0; i < n; i++) data[i] = dtype === 'i64' ? BigInt(desc.values[i]) : desc.values[i];
  } else {
    const r = rng(seed);
    const [lo, hi] = desc.range ?? (dtype === 'f32' ? [-2, 2] : [0, 4]);
    for (let i = 0; i < n; i++) {
      const v = lo + (hi - lo) * r();
      data[i] = dtype === 'f32' ? v : dtype === 'i64' ? BigInt(Math.floor(v)) : Math.floor(v);
    }
  }
  return { data, shape: [...shape], dtype };
}

/** The float64 / Number view handed to a case's JS reference. */
export function refView(t) {
  const data = t.dtype === 'f32' ? Float64Array.from(t.data) : Array.from(t.data, Number);
  return { shape: t.shape, data };
}

export function caseLabel(c, i) {
  return c.name ?? `${c.op} #${i} ${c.inputs.map((x) => `[${x.shape}]`).join(' ')}`;
}

/** Throws naming the first element of `actual` outside rtol * |expected| + atol. */
export function compare(actual, expected, { rtol = 1e-5, atol = 1e-6 }, label) {
  if (JSON.stringify(actual.shape) !== JSON.stringify(expected.shape)) {
    throw new Error(`${label}: shape [${actual.shape}] != expected [${expected.shape}]`);
  }
  const a = actual.data;
  const e = expected.data;
  if (a.length !== e.length) throw new Error(`${label}: ${a.length} elements, expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const av = Number(a[i]);
    const ev = Number(e[i]);
    if (Number.isNaN(av) || !Number.isFinite(av) !== !Number.isFinite(ev)) {
      if (!(Number.isNaN(av) && Number.isNaN(ev)) && av !== ev) throw new Error(`${label}: element ${i} is ${av}, expected ${ev}`);
      continue;
    }
    if (Math.abs(av - ev) > rtol * Math.abs(ev) + atol) {
      throw new Error(`${label}: element ${i} is ${av}, expected ${ev} (tolerance ${rtol * Math.abs(ev) + atol})`);
    }
  }
}
