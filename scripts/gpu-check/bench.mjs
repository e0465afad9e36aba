// GPU benchmark cases of scripts/gpu-check.sh and our side of them: each case
// is one op (forward, or forward and backward) timed on the device by
// vjp's `repeat` option, inputs already in device memory; torch_bench.py times
// the same cases with PyTorch on the same GPU. A case whose op (or a backward
// op) has no CUDA kernel yet gets a null figure with the reason, so the report
// shows what is missing and a new kernel is benchmarked as soon as it lands.

/** Shapes from the targets in DESIGN.md: BERT-base layers, ResNet-50 convolutions. */
export const BENCH_CASES = [
  ...[
    [1024, 1024, 1024],
    [4096, 4096, 4096],
    [4096, 3072, 768], // BERT-base FFN up-projection, 32 x 128 tokens
    [4096, 768, 3072], // FFN down-projection
    [4096, 768, 768], // attention projections
  ].map(([m, n, k]) => ({
    name: `gemm ${m}x${n}x${k}`,
    op: 'matmul',
    shapes: [[m, k], [k, n]],
    attrs: {},
    pass: 'fwd',
    work: { flops: 2 * m * n * k },
  })),
  ...[
    // ResNet-50 at batch 32: [in, out, kernel, stride, size]
    [64, 64, 3, 1, 56],
    [256, 64, 1, 1, 56],
    [512, 512, 3, 2, 14],
  ].map(([c, o, k, s, hw]) => {
    const p = Math.floor(k / 2);
    const out = Math.floor((hw + 2 * p - k) / s) + 1;
    return {
      name: `conv2d resnet50 ${c}->${o} k${k} s${s} ${hw}x${hw}`,
      op: 'conv2d',
      shapes: [[32, c, hw, hw], [o, c, k, k]],
      attrs: { stride: [s, s], padding: [p, p] },
      pass: 'fwd',
      work: { flops: 2 * 32 * o * out * out * c * k * k },
    };
  }),
  ...['fwd', 'fwd+bwd'].map((pass) => ({
    name: `attention 8x12x512x64 ${pass}`,
    op: 'attention',
    shapes: [[8, 12, 512, 64], [8, 12, 512, 64], [8, 12, 512, 64]],
    attrs: {},
    pass,
    // Q K^T and P V, twice that again for the backward pass.
    work: { flops: (pass === 'fwd' ? 1 : 3) * 2 * 2 * 8 * 12 * 512 * 512 * 64 },
  })),
  ...['fwd', 'fwd+bwd'].map((pass) => ({
    name: `layer_norm 16384x768 ${pass}`,
    op: 'layer_norm',
    shapes: [[16384, 768], [768], [768]],
    attrs: { normalized_shape: [768] },
    pass,
    // x in, y out; the backward reads dy and x and writes dx.
    work: { bytes: 4 * 16384 * 768 * (pass === 'fwd' ? 2 : 5) },
  })),
  ...['fwd', 'fwd+bwd'].map((pass) => ({
    name: `softmax 12288x512 ${pass}`,
    op: 'softmax',
    shapes: [[12288, 512]],
    attrs: { axis: -1 },
    pass,
    work: { bytes: 4 * 12288 * 512 * (pass === 'fwd' ? 2 : 5) },
  })),
  {
    name: 'adamw step 25M parameters',
    op: 'adamw',
    shapes: [[25 * 1024 * 1024]],
    attrs: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01 },
    pass: 'step',
    // Reads parameter, gradient and both moments; writes parameter and moments.
    work: { bytes: 4 * 25 * 1024 * 1024 * 7 },
    oursNote: 'no CUDA optimizer kernel yet: sessions and their optimizers run on the CPU',
  },
];

/** Throughput of a case at `ms` per run: TFLOP/s or GB/s. */
export function rate(c, ms) {
  if (ms == null || !(ms > 0)) return null;
  if (c.work.flops) return { value: c.work.flops / ms / 1e9, unit: 'TFLOP/s' };
  return { value: c.work.bytes / ms / 1e6, unit: 'GB/s' };
}

function randomTensor(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return { data, shape, dtype: 'f32' };
}

/**
 * Our milliseconds per run of each case on cuda, or null with a note.
 * `addon` is the loaded native addon; `cuda` whether a CUDA device is present.
 */
export async function benchOurs(addon, cases, { cuda }) {
  const ops = new Map(addon.listOps().map((o) => [o.name, o]));
  const results = [];
  for (const c of cases) {
    const result = { ms: null, note: null };
    results.push(result);
    if (c.oursNote) {
      result.note = c.oursNote;
      continue;
    }
    if (!cuda) {
      result.note = 'no CUDA device';
      continue;
    }
    if (!ops.get(c.op)?.cuda) {
      result.note = `no CUDA kernel yet for ${c.op}`;
      continue;
    }
    const inputs = c.shapes.map((s, i) => randomTensor(s, 17 + i));
    try {
      // The backward pass is seeded at the first output only (layer_norm's
      // statistics outputs get no gradient, as in training).
      const probe = await addon.runOp(c.op, inputs, c.attrs, { device: 'cuda' });
      const seeds = probe.map((o, k) => (c.pass === 'fwd+bwd' && k === 0 ? randomTensor(o.shape, 99) : null));
      // A short timed run sizes the repetitions to about 0.2 s of device time.
      const first = await addon.vjp(c.op, inputs, c.attrs, seeds, { device: 'cuda', repeat: 2 });
      const repeat = Math.max(3, Math.min(200, Math.round(200 / Math.max(first.ms, 1e-3))));
      const timed = await addon.vjp(c.op, inputs, c.attrs, seeds, { device: 'cuda', repeat });
      result.ms = timed.ms;
    } catch (err) {
      result.note = `${err.code ?? 'error'}: ${err.message}`;
    }
  }
  return results;
}
