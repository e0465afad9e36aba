// attention (scaled_dot_product_attention semantics) and attention_backward.
// The references follow the definition in float64: S = q k^T * scale + mask
// (bool masks hide where false), causal hides key j from query i when
// j > i + (Tk - Tq), P = softmax(S) per row, out = (P * Z) v with the dropout
// factors Z, lse = log-sum-exp of each row; a row with every score hidden has
// out = 0 and lse = +inf. Gradients come from the softmax Jacobian
// dS = P * (dP - rowsum(P * dP)) (+ dlse * P), not from the kernel's formulas.
import { randomF32 } from '../helpers.mjs';

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

function mix64(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * The dropout factor of score element idx of the (B, E, Tq, Tk) scores: the
 * dropout op's rule (test/cases/dropout.mjs) for a tensor of that shape.
 */
export function dropoutFactor(p, seed, step) {
  const stream = mix64(BigInt.asUintN(64, BigInt(seed)) ^ mix64((BigInt(step) + GOLDEN) & MASK64));
  const threshold = BigInt(Math.floor(p * 2 ** 53));
  return (idx) => ((mix64((stream + GOLDEN * BigInt(idx + 1)) & MASK64) >> 11n) >= threshold ? 1 / (1 - p) : 0);
}

// The mask value for score (b, e, i, j), NumPy broadcasting over (B, E, Tq, Tk).
function maskAt(mask, b, e, i, j) {
  const coords = [b, e, i, j];
  const r = mask.shape.length;
  let idx = 0;
  for (let t = 0; t < r; t++) {
    const dim = mask.shape[t];
    idx = idx * dim + (dim === 1 ? 0 : coords[4 - r + t]);
  }
  return mask.data[idx];
}

/**
 * Float64 forward of one call: out, lse, and per row (h * Tq + i) the
 * undropped probabilities P and dropout factors Z over the Tk keys.
 */
function forward([q, k, v, mask], attrs = {}, { training = true, step = 0 } = {}) {
  const [B, E, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const Dv = v.shape[3];
  const scale = attrs.scale ?? 1 / Math.sqrt(D);
  const p = attrs.dropout_p ?? 0;
  const drop = training && p > 0 ? dropoutFactor(p, attrs.seed ?? 0, step) : () => 1;
  // A float mask arrives as a Float64Array, a bool / u8 one as numbers.
  const additive = mask && mask.data instanceof Float64Array;
  const out = new Float64Array(B * E * Tq * Dv);
  const lse = new Float64Array(B * E * Tq);
  const P = [];
  const Z = [];
  for (let b = 0; b < B; b++) {
    for (let e = 0; e < E; e++) {
      const h = b * E + e;
      for (let i = 0; i < Tq; i++) {
        const s = new Float64Array(Tk);
        for (let j = 0; j < Tk; j++) {
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q.data[(h * Tq + i) * D + c] * k.data[(h * Tk + j) * D + c];
          s[j] = dot * scale;
          if (mask) {
            const m = maskAt(mask, b, e, i, j);
            s[j] = additive ? s[j] + m : m ? s[j] : -Infinity;
          }
          if (attrs.causal && j > i + Tk - Tq) s[j] = -Infinity;
        }
        const mx = Math.max(-Infinity, ...s);
        const row = new Float64Array(Tk);
        const z = new Float64Array(Tk);
        const r = h * Tq + i;
        if (mx === -Infinity) {
          lse[r] = Infinity;
        } else {
          let sum = 0;
          for (let j = 0; j < Tk; j++) sum += Math.exp(s[j] - mx);
          lse[r] = mx + Math.log(sum);
          for (let j = 0; j < Tk; j++) row[j] = Math.exp(s[j] - lse[r]);
        }
        for (let j = 0; j < Tk; j++) {
          z[j] = drop(r * Tk + j);
          for (let c = 0; c < Dv; c++) out[r * Dv + c] += row[j] * z[j] * v.data[(h * Tk + j) * Dv + c];
        }
        P.push(row);
        Z.push(z);
      }
    }
  }
  return { out, lse, P, Z, shapes: { B, E, Tq, Tk, D, Dv, scale } };
}

const attentionRef = (opts) => (inputs, attrs) => {
  const { out, lse } = forward(inputs, attrs, opts);
  const [B, E, Tq] = inputs[0].shape;
  return [
    { shape: [B, E, Tq, inputs[2].shape[3]], data: out },
    { shape: [B, E, Tq], data: lse },
  ];
};
const evalRef = attentionRef({ training: false });

/** Gradients of sum(dout * out) + sum(dlse * lse) with respect to q, k, v. */
function backwardRef([dout, q, k, v, , , mask, dlse], attrs, opts) {
  const { P, Z, shapes } = forward([q, k, v, mask], attrs, opts);
  const { B, E, Tq, Tk, D, Dv, scale } = shapes;
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  for (let h = 0; h < B * E; h++) {
    for (let i = 0; i < Tq; i++) {
      const r = h * Tq + i;
      const dP = new Float64Array(Tk);
      let rowsum = 0;
      for (let j = 0; j < Tk; j++) {
        let dot = 0;
        for (let c = 0; c < Dv; c++) dot += dout.data[r * Dv + c] * v.data[(h * Tk + j) * Dv + c];
        dP[j] = dot * Z[r][j];
        rowsum += P[r][j] * dP[j];
        for (let c = 0; c < Dv; c++) dv[(h * Tk + j) * Dv + c] += P[r][j] * Z[r][j] * dout.data[r * Dv + c];
      }
      for (let j = 0; j < Tk; j++) {
        const dS = P[r][j] * (dP[j] - rowsum + (dlse ? dlse.data[r] : 0));
        for (let c = 0; c < D; c++) {
          dq[r * D + c] += scale * dS * k.data[(h * Tk + j) * D + c];
          dk[(h * Tk + j) * D + c] += scale * dS * q.data[r * D + c];
        }
      }
    }
  }
  return [
    { shape: q.shape, data: dq },
    { shape: k.shape, data: dk },
    { shape: v.shape, data: dv },
  ];
}

function fail(message) {
  throw new Error(`attention check: ${message}`);
}

function close(actual, expected, label, rtol = 1e-4, atol = 1e-5) {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e) continue;
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol)) fail(`${label}[${i}] is ${a}, expected ${e}`);
  }
}

// Training-mode dropout: out matches the reference with the hash's factors
// for (seed, step) and differs from the undropped one; lse is undropped; on a
// large enough case the kept fraction is near 1 - p and another step draws
// another mask.
const dropoutCheck = (step) => ([out, lse], inputs, attrs) => {
  const fwd = forward(inputs, attrs, { training: true, step });
  close(out.data, fwd.out, 'out');
  close(lse.data, fwd.lse, 'lse');
  const plain = forward(inputs, attrs, { training: false });
  if (plain.out.every((x, i) => Math.abs(x - out.data[i]) < 1e-6)) fail('dropout changed nothing');
  const n = fwd.Z.length * fwd.Z[0].length;
  if (n >= 5000) {
    const p = attrs.dropout_p;
    const kept = fwd.Z.reduce((acc, z) => acc + z.filter((f) => f !== 0).length, 0) / n;
    if (Math.abs(kept - (1 - p)) > 5 * Math.sqrt((p * (1 - p)) / n)) fail(`kept ${kept} of the scores, expected ${1 - p}`);
    const other = dropoutFactor(p, attrs.seed ?? 0, step + 1);
    const mine = dropoutFactor(p, attrs.seed ?? 0, step);
    let same = 0;
    for (let idx = 0; idx < 256; idx++) same += (other(idx) === 0) === (mine(idx) === 0);
    if (same === 256) fail(`step ${step + 1} draws the same mask as step ${step}`);
  }
};

// An attention_backward case on consistent inputs: out and lse are the float64
// forward of q, k, v rounded to f32, as the forward op would hand them over.
function backwardCase(name, { B, E, Tq, Tk, D, Dv = D, attrs = {}, mask, dlse = false, seed, tol }) {
  const q = { shape: [B, E, Tq, D], data: Float64Array.from(randomF32(B * E * Tq * D, seed, -2, 2)) };
  const k = { shape: [B, E, Tk, D], data: Float64Array.from(randomF32(B * E * Tk * D, seed + 1, -2, 2)) };
  const v = { shape: [B, E, Tk, Dv], data: Float64Array.from(randomF32(B * E * Tk * Dv, seed + 2, -2, 2)) };
  const maskView = mask && { shape: mask.shape, data: mask.dtype === 'f32' ? Float64Array.from(mask.values) : mask.values };
  const fwd = forward([q, k, v, maskView], attrs, { training: false });
  const f32 = (t, shape) => ({ shape, values: Array.from(Float32Array.from(t)) });
  const inputs = [
    f32(randomF32(B * E * Tq * Dv, seed + 3), [B, E, Tq, Dv]),
    f32(q.data, q.shape),
    f32(k.data, k.shape),
    f32(v.data, v.shape),
    f32(fwd.out, [B, E, Tq, Dv]),
    f32(fwd.lse, [B, E, Tq]),
  ];
  if (mask) inputs.push(mask);
  if (dlse) inputs.push(f32(randomF32(B * E * Tq, seed + 4), [B, E, Tq]));
  return { op: 'attention_backward', name, inputs, attrs, ref: (ins, a) => backwardRef(ins, a, { training: false }), ...tol };
}

const qkv = (B, E, Tq, Tk, D, Dv = D) => [{ shape: [B, E, Tq, D] }, { shape: [B, E, Tk, D] }, { shape: [B, E, Tk, Dv] }];
const small = { rtol: 1e-4, atol: 1e-5 };
const large = { rtol: 1e-4, atol: 1e-4 };
const padding = (B, Tk, lengths) => ({
  shape: [B, 1, 1, Tk],
  dtype: 'bool',
  values: lengths.flatMap((len) => Array.from({ length: Tk }, (_, j) => (j < len ? 1 : 0))),
});

export default [
  { op: 'attention', name: 'attention B=1 E=2 T=5 D=3', inputs: qkv(1, 2, 5, 5, 3), ref: evalRef, grad: true, ...small },
  { op: 'attention', name: 'attention causal T=5', inputs: qkv(1, 2, 5, 5, 3), attrs: { causal: true }, ref: evalRef, grad: true, ...small },
  {
    op: 'attention',
    name: 'attention bool padding mask (B, 1, 1, Tk)',
    inputs: [...qkv(2, 1, 5, 5, 3), padding(2, 5, [5, 3])],
    ref: evalRef,
    grad: true,
    ...small,
  },
  {
    op: 'attention',
    name: 'attention additive f32 mask (E, Tq, Tk)',
    inputs: [...qkv(1, 2, 5, 5, 3), { shape: [2, 5, 5] }],
    ref: evalRef,
    grad: true,
    ...small,
  },
  {
    op: 'attention',
    name: 'attention Tq=3 < Tk=6, causal aligned bottom-right',
    inputs: qkv(1, 2, 3, 6, 3),
    attrs: { causal: true },
    ref: evalRef,
    grad: true,
    ...small,
  },
  {
    op: 'attention',
    name: 'attention Tq=6 > Tk=4 causal: the first two rows see no key (out 0, lse +inf)',
    inputs: qkv(2, 1, 6, 4, 3),
    attrs: { causal: true },
    ref: evalRef,
    ...small,
  },
  {
    op: 'attention',
    name: 'attention u8 mask hiding a whole row, broadcast (Tq, 1)',
    inputs: [...qkv(1, 2, 4, 6, 3), { shape: [4, 1], dtype: 'u8', values: [1, 0, 1, 1] }],
    ref: evalRef,
    ...small,
  },
  { op: 'attention', name: 'attention Dv=4 != D=3', inputs: qkv(1, 2, 5, 5, 3, 4), ref: evalRef, grad: true, ...small },
  {
    op: 'attention',
    name: 'attention custom scale, causal and a bool (Tk,) mask',
    inputs: [...qkv(1, 2, 5, 5, 3), { shape: [5], dtype: 'bool', values: [1, 1, 0, 1, 1] }],
    attrs: { scale: 0.7, causal: true },
    ref: evalRef,
    grad: true,
    ...small,
  },
  { op: 'attention', name: 'attention T=300 D=16 (several key blocks)', inputs: qkv(1, 2, 300, 300, 16), ref: evalRef, ...large },
  {
    op: 'attention',
    name: 'attention Tq=300 Tk=257 Dv=20, causal with a padding mask',
    inputs: [...qkv(2, 1, 300, 257, 16, 20), padding(2, 257, [257, 200])],
    attrs: { causal: true },
    ref: evalRef,
    ...large,
  },
  {
    op: 'attention',
    name: 'attention T=130 D=20, additive (B, 1, Tq, Tk) mask',
    inputs: [...qkv(2, 2, 130, 130, 20), { shape: [2, 1, 130, 130] }],
    ref: evalRef,
    ...large,
  },
  {
    op: 'attention',
    name: 'attention dropout p=0.3 in training (the hash mask, undropped lse)',
    inputs: qkv(2, 3, 40, 40, 8),
    attrs: { dropout_p: 0.3, seed: 11 },
    options: { training: true, step: 4 },
    check: dropoutCheck(4),
  },
  {
    op: 'attention',
    name: 'attention dropout gradient with a fixed seed and step',
    inputs: qkv(1, 2, 5, 5, 3),
    attrs: { dropout_p: 0.4, seed: 3, causal: true },
    options: { training: true, step: 2 },
    check: dropoutCheck(2),
    grad: true,
  },
  {
    op: 'attention',
    name: 'attention dropout in eval mode is off',
    inputs: qkv(1, 2, 5, 5, 3),
    attrs: { dropout_p: 0.5, seed: 1 },
    options: { training: false, step: 5 },
    ref: evalRef,
    grad: true,
    ...small,
  },
  backwardCase('attention_backward T=5 D=3', { B: 1, E: 2, Tq: 5, Tk: 5, D: 3, seed: 50, tol: small }),
  backwardCase('attention_backward causal Tq=70 Tk=200 (key blocks split over tasks)', {
    B: 1, E: 2, Tq: 70, Tk: 200, D: 16, attrs: { causal: true }, seed: 60, tol: large,
  }),
  backwardCase('attention_backward bool padding mask and dlse, D=20 Dv=12', {
    B: 2, E: 2, Tq: 33, Tk: 40, D: 20, Dv: 12, mask: padding(2, 40, [40, 21]), dlse: true, seed: 70, tol: large,
  }),
  backwardCase('attention_backward additive mask, D=32, scale 0.3', {
    B: 1, E: 2, Tq: 20, Tk: 20, D: 32, attrs: { scale: 0.3 },
    mask: { shape: [1, 1, 20, 20], dtype: 'f32', values: Array.from(randomF32(400, 80, -1, 1)) }, seed: 90, tol: large,
  }),
  backwardCase('attention_backward Tq=6 > Tk=4 causal, rows without keys (lse +inf)', {
    B: 1, E: 1, Tq: 6, Tk: 4, D: 3, attrs: { causal: true }, seed: 100, tol: small,
  }),
];

export const errors = [
  { op: 'attention', inputs: [{ shape: [2, 5, 3] }, { shape: [2, 5, 3] }, { shape: [2, 5, 3] }], code: 'ERR_TG_SHAPE', message: 'q must have shape (B, E, Tq, D), got (2, 5, 3)' },
  { op: 'attention', inputs: qkv(1, 2, 5, 5, 3).map((x, i) => (i === 1 ? { shape: [1, 2, 5, 4] } : x)), code: 'ERR_TG_SHAPE', message: 'k must have shape (1, 2, Tk, 3) to match q (1, 2, 5, 3), got (1, 2, 5, 4)' },
  { op: 'attention', inputs: [...qkv(1, 2, 5, 6, 3).slice(0, 2), { shape: [1, 2, 5, 3] }], code: 'ERR_TG_SHAPE', message: 'v must have shape (1, 2, 6, Dv)' },
  { op: 'attention', inputs: [...qkv(1, 2, 5, 5, 3), { shape: [1, 1, 4, 5] }], code: 'ERR_TG_SHAPE', message: 'mask of shape (1, 1, 4, 5) does not broadcast to the scores (B, E, Tq, Tk) = (1, 2, 5, 5)' },
  { op: 'attention', inputs: [...qkv(1, 2, 5, 5, 3), { shape: [5], dtype: 'i32' }], code: 'ERR_TG_DTYPE', message: 'mask must be bool or u8' },
  { op: 'attention', inputs: qkv(1, 2, 5, 5, 3), attrs: { dropout_p: 1 }, code: 'ERR_TG_ARG', message: "attribute 'dropout_p' must be in [0, 1), got 1" },
  { op: 'attention', inputs: qkv(1, 2, 5, 5, 3), attrs: { scale: 'big' }, code: 'ERR_TG_ARG', message: 'scale' },
  {
    op: 'attention_backward',
    inputs: [{ shape: [1, 2, 5, 4] }, ...qkv(1, 2, 5, 5, 3), { shape: [1, 2, 5, 3] }, { shape: [1, 2, 5] }],
    code: 'ERR_TG_SHAPE',
    message: "dout must have the output's shape (1, 2, 5, 3), got (1, 2, 5, 4)",
  },
  {
    op: 'attention_backward',
    inputs: [{ shape: [1, 2, 5, 3] }, ...qkv(1, 2, 5, 5, 3), { shape: [1, 2, 5, 3] }, { shape: [1, 2, 5, 1] }],
    code: 'ERR_TG_SHAPE',
    message: 'lse must have shape (1, 2, 5), got (1, 2, 5, 1)',
  },
];
