// Smoke test of the node-gyp build (`npm run build:gyp`): the addon it made
// loads, says who built it, and computes the same results.
import assert from 'node:assert/strict';
import * as tg from 'tensorgraft';

const info = tg.buildInfo();
assert.equal(info.builder, 'node-gyp', 'build/Release/tensorgraft.node should come from node-gyp');
assert.equal(info.cuda.compiled, false, 'the node-gyp build is CPU only');
const a = tg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
const b = tg.tensor(new Float32Array([1, 0, 0, 1, 1, 1]), [3, 2]);
assert.deepEqual([...(await tg.ops.gemm(a, b)).data], [4, 5, 10, 11]);
assert.deepEqual([...(await tg.ops.gemm(a, a, { transB: true })).data], [14, 32, 32, 77]);
const h = await tg.ops.cast(tg.tensor(new Float32Array([1, 0.5]), [2]), { dtype: 'f16' });
assert.deepEqual([...h.data], [0x3c00, 0x3800]);
await assert.rejects(tg.ops.gemm(a, a), { code: 'ERR_TG_SHAPE' });
console.log(`node-gyp smoke test passed (${info.simd}, ${info.threads} threads)`);
