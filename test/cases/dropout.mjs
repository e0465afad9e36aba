// dropout and its gradient kernel. The mask is random, so the forward cases
// check its structure and recompute it: element i is kept when the top 53 bits
// of the i-th SplitMix64 draw of a stream keyed by (seed, step) are at least
// p * 2^53 — the definition every backend must follow for masks to agree.
const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

function mix64(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

function expectedKeep(n, p, seed, step) {
  const stream = mix64(BigInt.asUintN(64, BigInt(seed)) ^ mix64((BigInt(step) + GOLDEN) & MASK64));
  const threshold = BigInt(Math.floor(p * 2 ** 53));
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const draw = mix64((stream + GOLDEN * BigInt(i + 1)) & MASK64) >> 11n;
    keep[i] = draw >= threshold ? 1 : 0;
  }
  return keep;
}

function fail(message) {
  throw new Error(`dropout check: ${message}`);
}

// Training-mode structure: y = x * mask, mask in {0, 1/(1-p)}, the mask the
// hash defines for (seed, step), a kept fraction near 1 - p, and a different
// mask for another step or seed.
const trainingCheck = (step) => ([y, mask], [x], { p, seed = 0 }) => {
  const n = x.data.length;
  const scale = Math.fround(1 / (1 - p));
  const keep = expectedKeep(n, p, seed, step);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const m = mask.data[i];
    if (m !== 0 && m !== scale) fail(`mask[${i}] is ${m}, expected 0 or ${scale}`);
    if ((m !== 0) !== (keep[i] === 1)) fail(`mask[${i}] is ${m}, but (seed ${seed}, step ${step}) says keep=${keep[i]}`);
    if (y.data[i] !== Math.fround(x.data[i] * m)) fail(`y[${i}] is ${y.data[i]}, expected x * mask = ${x.data[i] * m}`);
    kept += m !== 0;
  }
  if (n >= 10000) {
    const frac = kept / n;
    const sd = Math.sqrt((p * (1 - p)) / n);
    if (Math.abs(frac - (1 - p)) > 5 * sd) fail(`kept ${frac} of ${n}, expected about ${1 - p}`);
    const other = expectedKeep(n, p, seed, step + 1);
    if (other.every((k, i) => k === keep[i])) fail(`step ${step + 1} gives the same mask as step ${step}`);
    const otherSeed = expectedKeep(n, p, seed + 1, step);
    if (otherSeed.every((k, i) => k === keep[i])) fail(`seed ${seed + 1} gives the same mask as seed ${seed}`);
  }
};

const identityCheck = ([y, mask], [x]) => {
  x.data.forEach((v, i) => {
    if (y.data[i] !== v) fail(`y[${i}] is ${y.data[i]}, expected x = ${v}`);
    if (mask.data[i] !== 1) fail(`mask[${i}] is ${mask.data[i]}, expected 1`);
  });
};

export default [
  {
    op: 'dropout',
    name: 'dropout p=0.3 on 100x100',
    inputs: [{ shape: [100, 100] }],
    attrs: { p: 0.3, seed: 7 },
    options: { training: true, step: 3 },
    check: trainingCheck(3),
  },
  {
    op: 'dropout',
    name: 'dropout p=0.9, default seed, several threads chunks',
    inputs: [{ shape: [7, 5003] }],
    attrs: { p: 0.9 },
    options: { training: true, step: 12345 },
    check: trainingCheck(12345),
  },
  {
    op: 'dropout',
    name: 'dropout gradient with a fixed mask',
    inputs: [{ shape: [5, 6] }],
    attrs: { p: 0.5, seed: 42 },
    options: { training: true, step: 2 },
    check: trainingCheck(2),
    grad: true,
  },
  {
    op: 'dropout',
    name: 'dropout in eval mode is the identity',
    inputs: [{ shape: [3, 4] }],
    attrs: { p: 0.5, seed: 1 },
    options: { training: false, step: 5 },
    check: identityCheck,
    grad: true,
  },
  {
    op: 'dropout',
    name: 'dropout p=0 is the identity',
    inputs: [{ shape: [17] }],
    attrs: { p: 0 },
    options: { training: true, step: 1 },
    check: identityCheck,
  },
  {
    op: 'dropout_backward',
    inputs: [{ shape: [4, 5] }, { shape: [4, 5], range: [0, 2] }],
    ref: ([dy, mask]) => [{ shape: dy.shape, data: dy.data.map((v, i) => v * mask.data[i]) }],
  },
];

export const errors = [
  { op: 'dropout', inputs: [{ shape: [2, 3] }], attrs: { p: 1 }, code: 'ERR_TG_ARG', message: "attribute 'p' must be in [0, 1), got 1" },
  { op: 'dropout', inputs: [{ shape: [2, 3] }], attrs: { p: -0.1 }, code: 'ERR_TG_ARG', message: "attribute 'p' must be in [0, 1)" },
  { op: 'dropout', inputs: [{ shape: [2, 3] }], attrs: {}, code: 'ERR_TG_ARG', message: "attribute 'p' is required" },
];
