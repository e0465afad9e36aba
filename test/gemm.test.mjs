// CPU SGEMM against a float64 reference: odd sizes, every transpose
// combination, alpha/beta, batches and broadcasting, for every SIMD level the
// CPU supports (the run-time kernel choice is forced with setSimd).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { assertClose, randomF32, refGemm } from './helpers.mjs';

const LEVELS = tg.buildInfo().simdSupported;
const INITIAL = tg.buildInfo().simd;

// (m, n, k): 1, 7, 33 and 1000+ in each position, plus register-tile edges,
// and up to 8 rows against a wide B (with transB, the one-token linear path).
const SIZES = [
  [1, 1, 1],
  [7, 7, 7],
  [33, 7, 1],
  [1, 33, 7],
  [7, 1, 33],
  [13, 17, 19],
  [6, 16, 256],
  [12, 32, 257],
  [1031, 9, 5],
  [5, 1030, 3],
  [3, 7, 1037],
  [97, 131, 300],
  [1, 300, 77],
  [5, 513, 130],
  [8, 64, 64],
];

async function checkGemm({ m, n, k, transA = false, transB = false, alpha = 1, beta = 0, seed, label }) {
  const a = randomF32(m * k, seed);
  const b = randomF32(k * n, seed + 1);
  const c = beta !== 0 ? randomF32(m * n, seed + 2) : null;
  const ta = tg.tensor(a, transA ? [k, m] : [m, k]);
  const tb = tg.tensor(b, transB ? [n, k] : [k, n]);
  const tc = c ? tg.tensor(c, [m, n]) : null;
  const out = await tg.ops.gemm(ta, tb, tc, { transA, transB, alpha, beta });
  assert.equal(out.shape, [m, n], `${label} shape`);
  assert.is(out.dtype, 'f32');
  const ref = refGemm({ a, b, c, m, n, k, transA, transB, alpha, beta });
  assertClose(out.data, ref.out, ref.mag, { label });
}

for (const level of LEVELS) {
  test(`gemm (${level}): odd sizes, all transpose combinations`, async () => {
    tg.setSimd(level);
    try {
      let seed = 1;
      for (const [m, n, k] of SIZES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            await checkGemm({ m, n, k, transA, transB, seed: seed++, label: `${level} ${m}x${n}x${k} tA=${transA} tB=${transB}` });
          }
        }
      }
    } finally {
      tg.setSimd(INITIAL);
    }
  });

  test(`gemm (${level}): alpha and beta`, async () => {
    tg.setSimd(level);
    try {
      for (const [alpha, beta] of [[2.5, 0], [1, 1], [-0.5, 0.25], [1, -3]]) {
        for (const [m, n, k] of [[7, 33, 5], [130, 47, 300], [3, 80, 100]]) {
          await checkGemm({ m, n, k, alpha, beta, transB: true, seed: 100 + m, label: `${level} alpha=${alpha} beta=${beta}` });
        }
      }
    } finally {
      tg.setSimd(INITIAL);
    }
  });
}

test('gemm: a multi-threaded large product matches', async () => {
  await checkGemm({ m: 300, n: 257, k: 1100, transA: true, seed: 7, label: 'large' });
});

test('gemm: beta = 0 never reads c, alpha = 0 skips the product', async () => {
  const a = tg.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  const b = tg.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
  const c = tg.tensor(new Float32Array([NaN, NaN, Infinity, NaN]), [2, 2]);
  const out = await tg.ops.gemm(a, b, c, { beta: 0 });
  assert.equal([...out.data], [1, 2, 3, 4]);
  const nanA = tg.tensor(new Float32Array([NaN, 1, 1, 1]), [2, 2]);
  const c2 = tg.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  const scaled = await tg.ops.gemm(nanA, b, c2, { alpha: 0, beta: 2 });
  assert.equal([...scaled.data], [2, 4, 6, 8]);
  // The input c is not modified: results are new tensors.
  assert.equal([...c2.data], [1, 2, 3, 4]);
});

test('gemm: k = 0 gives beta * c (or zeros)', async () => {
  const a = tg.tensor(new Float32Array(0), [3, 0]);
  const b = tg.tensor(new Float32Array(0), [0, 2]);
  const zeros = await tg.ops.gemm(a, b);
  assert.equal([...zeros.data], [0, 0, 0, 0, 0, 0]);
  const c = tg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  const out = await tg.ops.gemm(a, b, c, { beta: 0.5 });
  assert.equal([...out.data], [0.5, 1, 1.5, 2, 2.5, 3]);
  const empty = await tg.ops.gemm(tg.tensor(new Float32Array(0), [0, 4]), tg.tensor(new Float32Array(8), [4, 2]));
  assert.equal(empty.shape, [0, 2]);
});

test('gemm: batched, with and without broadcasting, every transpose', async () => {
  const B = 5;
  for (const [m, n, k] of [[7, 9, 11], [33, 17, 64], [3, 70, 67]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const shared of ['none', 'a', 'b']) {
          const a = randomF32((shared === 'a' ? 1 : B) * m * k, m + 1);
          const b = randomF32((shared === 'b' ? 1 : B) * k * n, n + 2);
          const c = randomF32(B * m * n, k + 3);
          const aShape = transA ? [k, m] : [m, k];
          const bShape = transB ? [n, k] : [k, n];
          const out = await tg.ops.gemm(
            tg.tensor(a, shared === 'a' ? aShape : [B, ...aShape]),
            tg.tensor(b, shared === 'b' ? bShape : [B, ...bShape]),
            tg.tensor(c, [B, m, n]),
            { transA, transB, alpha: 0.5, beta: 2 },
          );
          assert.equal(out.shape, [B, m, n]);
          for (let i = 0; i < B; i++) {
            const ai = shared === 'a' ? a : a.subarray(i * m * k, (i + 1) * m * k);
            const bi = shared === 'b' ? b : b.subarray(i * k * n, (i + 1) * k * n);
            const ci = c.subarray(i * m * n, (i + 1) * m * n);
            const ref = refGemm({ a: ai, b: bi, c: ci, m, n, k, transA, transB, alpha: 0.5, beta: 2 });
            assertClose(out.data.subarray(i * m * n, (i + 1) * m * n), ref.out, ref.mag, {
              label: `batch ${i} ${m}x${n}x${k} tA=${transA} tB=${transB} shared=${shared}`,
            });
          }
        }
      }
    }
  }
});

const hasCuda = tg.devices().some((d) => d.type === 'cuda');

// The CUDA kernel against the CPU reference; skipped (not faked) without a GPU.
(hasCuda ? test : test.skip)('gemm on cuda matches the CPU for odd sizes, transposes, alpha/beta and batches', async () => {
  let seed = 500;
  for (const [m, n, k] of [...SIZES, [129, 130, 257], [1, 300, 1000]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = tg.tensor(randomF32(3 * m * k, seed++), transA ? [3, k, m] : [3, m, k]);
        const b = tg.tensor(randomF32(k * n, seed++), transB ? [n, k] : [k, n]);
        const c = tg.tensor(randomF32(3 * m * n, seed++), [3, m, n]);
        const attrs = { transA, transB, alpha: 0.75, beta: -0.5 };
        const gpu = await tg.ops.gemm(a, b, c, attrs, { device: 'cuda' });
        const cpu = await tg.ops.gemm(a, b, c, attrs, { device: 'cpu' });
        const mag = cpu.data.map(Math.abs);
        assertClose(gpu.data, cpu.data, mag.map((v) => v + k * 0.75), {
          label: `cuda ${m}x${n}x${k} tA=${transA} tB=${transB}`,
        });
      }
    }
  }
});

test('gemm: inputs that are views into a larger buffer', async () => {
  const backing = randomF32(100, 9);
  const a = tg.tensor(backing.subarray(3, 3 + 12), [3, 4]);
  const b = tg.tensor(backing.subarray(50, 50 + 8), [4, 2]);
  const out = await tg.ops.gemm(a, b);
  const ref = refGemm({ a: a.data, b: b.data, m: 3, n: 2, k: 4 });
  assertClose(out.data, ref.out, ref.mag, { label: 'views' });
});

test.run();
