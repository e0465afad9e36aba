// Heavy calls run off the JS thread: the event loop keeps turning while a
// long GEMM runs, and concurrent calls share the native thread pool safely.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from 'tensorgraft';
import { assertClose, randomF32, refGemm } from './helpers.mjs';

test('a long GEMM does not block the event loop', async () => {
  // 24 x (512 x 512 x 512) is about 6.4 GFLOP: tens to hundreds of ms here.
  const B = 24;
  const n = 512;
  const a = tg.tensor(randomF32(B * n * n, 1), [B, n, n]);
  const b = tg.tensor(randomF32(n * n, 2), [n, n]);
  let ticks = 0;
  let timerFired = false;
  const interval = setInterval(() => ticks++, 1);
  const timer = setTimeout(() => (timerFired = true), 5);
  const t0 = performance.now();
  const pending = tg.ops.gemm(a, b);
  const returnedAfter = performance.now() - t0;
  let settled = false;
  pending.then(() => (settled = true));
  const out = await pending;
  const elapsed = performance.now() - t0;
  clearInterval(interval);
  clearTimeout(timer);
  assert.ok(returnedAfter < elapsed / 4, `the call returned after ${returnedAfter} ms of ${elapsed} ms`);
  assert.ok(elapsed > 20, `the GEMM took ${elapsed} ms, too short to show anything`);
  assert.ok(timerFired, 'a 5 ms timer fired while the GEMM ran');
  assert.ok(ticks >= 3, `the event loop turned ${ticks} times during ${elapsed} ms`);
  assert.ok(settled);
  // Spot-check one batch item of the result.
  const ref = refGemm({ a: a.data.subarray(7 * n * n, 8 * n * n), b: b.data, m: n, n, k: n });
  assertClose(out.data.subarray(7 * n * n, 8 * n * n), ref.out, ref.mag, { label: 'batch item 7' });
});

test('concurrent calls from many promises are all correct', async () => {
  const jobs = [];
  for (let i = 0; i < 12; i++) {
    const m = 20 + i * 7;
    const k = 150 + i;
    const n = 90 - i;
    const a = randomF32(m * k, 10 + i);
    const b = randomF32(k * n, 50 + i);
    jobs.push(
      tg.ops.gemm(tg.tensor(a, [m, k]), tg.tensor(b, [k, n])).then((out) => ({ out, a, b, m, n, k })),
    );
  }
  for (const { out, a, b, m, n, k } of await Promise.all(jobs)) {
    const ref = refGemm({ a, b, m, n, k });
    assertClose(out.data, ref.out, ref.mag, { label: `${m}x${n}x${k}` });
  }
});

test('errors raised on the worker thread reject the promise', async () => {
  const p = tg.ops.gemm(tg.tensor(new Float32Array(4), [2, 2]), tg.tensor(new Float32Array(3), [3, 1]));
  assert.instance(p, Promise);
  try {
    await p;
    assert.unreachable('should reject');
  } catch (err) {
    assert.is(err.code, 'ERR_TG_SHAPE');
  }
});

test.run();
