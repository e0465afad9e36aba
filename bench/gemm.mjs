// SGEMM throughput, ours beside OpenBLAS's from the same run (when installed:
// `apt-get install libopenblas0-pthread`). One JSON line per shape.
// Shapes: square sizes, and the skinny products of a batch-8 BERT-base layer.
import { native } from '../dist/native.js';

const SHAPES = [
  { m: 1024, n: 1024, k: 1024 },
  { m: 256, n: 256, k: 256 },
  { m: 8, n: 768, k: 3072 }, // batch-8 tokens x FFN down-projection
  { m: 8, n: 3072, k: 768 }, // FFN up-projection
  { m: 1024, n: 768, k: 768 }, // 8 x 128 tokens x attention projection
  { m: 512, n: 512, k: 512, transA: true },
  { m: 512, n: 512, k: 512, transB: true },
];

const lib = process.env.TG_OPENBLAS_LIB ?? 'libopenblas.so.0';
const addon = native();
const threads = addon.buildInfo().threads;

function repsFor({ m, n, k }) {
  // About half a second of work per measurement at ~100 GFLOP/s, at least 5 calls.
  return Math.max(5, Math.round(5e10 / (2 * m * n * k)));
}

async function peer(shape, reps) {
  try {
    return await addon.benchSgemm({ impl: 'openblas', lib, threads, reps, ...shape });
  } catch (err) {
    if (err.code === 'ERR_TG_PEER_MISSING') return null;
    throw err;
  }
}

for (const shape of SHAPES) {
  const reps = repsFor(shape);
  // Alternate ours and the peer three times and keep each side's best, so that a
  // transient load on the machine does not decide the ratio.
  let ours = 0;
  let theirs = null;
  for (let round = 0; round < 3; round++) {
    ours = Math.max(ours, (await addon.benchSgemm({ impl: 'ours', reps, ...shape })).gflops);
    const p = await peer(shape, reps);
    if (p) theirs = Math.max(theirs ?? 0, p.gflops);
  }
  const line = {
    bench: 'sgemm',
    m: shape.m,
    n: shape.n,
    k: shape.k,
    transA: !!shape.transA,
    transB: !!shape.transB,
    threads,
    simd: addon.buildInfo().simd,
    ours_gflops: +ours.toFixed(1),
    openblas_gflops: theirs === null ? null : +theirs.toFixed(1),
    ratio: theirs === null ? null : +(ours / theirs).toFixed(3),
  };
  console.log(JSON.stringify(line));
}
