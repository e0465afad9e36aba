// The fixed cost of one eager op call: argument checks, a trip to a libuv
// worker and back, and a result handed to JS without a copy. Micro-benchmarks
// with benchmark.js; the peer is a plain JS loop doing the same tiny product,
// which shows the size below which calling native code does not pay.
import Benchmark from 'benchmark';
import * as tg from '../dist/index.js';

const n = 4;
const a = tg.tensor(new Float32Array(n * n).fill(1), [n, n]);
const b = tg.tensor(new Float32Array(n * n).fill(2), [n, n]);

function jsGemm(x, y) {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const v = x[i * n + k];
      for (let j = 0; j < n; j++) out[i * n + j] += v * y[k * n + j];
    }
  return out;
}

const results = {};
await new Promise((resolve) => {
  new Benchmark.Suite()
    .add('gemm_4x4_async', {
      defer: true,
      fn: (deferred) => tg.ops.gemm(a, b).then(() => deferred.resolve()),
    })
    .add('cast_16_async', {
      defer: true,
      fn: (deferred) => tg.ops.cast(a, { dtype: 'f16' }).then(() => deferred.resolve()),
    })
    .add('js_gemm_4x4', () => jsGemm(a.data, b.data))
    .on('cycle', (e) => {
      results[e.target.name] = { us: (e.target.stats.mean * 1e6), rme: e.target.stats.rme };
    })
    .on('complete', resolve)
    .run({ async: true });
});

for (const op of ['gemm_4x4_async', 'cast_16_async']) {
  console.log(
    JSON.stringify({
      bench: 'call_overhead',
      op,
      ours_us: +results[op].us.toFixed(2),
      ours_rme_pct: +results[op].rme.toFixed(1),
      js_loop_us: +results.js_gemm_4x4.us.toFixed(3),
    }),
  );
}
