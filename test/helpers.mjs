// Shared test helpers: a seeded generator, a float64 GEMM reference and
// assertions that say where two tensors differ.
import * as assert from 'uvu/assert';

/** mulberry32: small, fast, and the same sequence on every machine. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomF32(n, seed, lo = -1, hi = 1) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/**
 * Reference C = alpha * op(A) op(B) + beta * C in float64, for one matrix.
 * Returns the result and, per element, sum |alpha a b| + |beta c| for the tolerance.
 */
export function refGemm({ a, b, c, m, n, k, transA, transB, alpha = 1, beta = 0 }) {
  const out = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let sa = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        const bv = transB ? b[j * k + p] : b[p * n + j];
        s += av * bv;
        sa += Math.abs(av * bv);
      }
      const cv = c && beta !== 0 ? c[i * n + j] : 0;
      out[i * n + j] = alpha * s + beta * cv;
      mag[i * n + j] = Math.abs(alpha) * sa + Math.abs(beta * cv);
    }
  }
  return { out, mag };
}

/** |x - ref| <= rtol * mag + atol elementwise, naming the first bad index. */
export function assertClose(actual, expected, mag, { rtol = 1e-5, atol = 1e-6, label = '' } = {}) {
  assert.is(actual.length, expected.length, `${label} length`);
  for (let i = 0; i < actual.length; i++) {
    const tol = rtol * (mag ? mag[i] : Math.abs(expected[i])) + atol;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.unreachable(`${label} element ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Runs fn and returns the error it throws or rejects with. */
export async function rejection(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.unreachable('expected an error');
}
