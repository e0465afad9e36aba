// The float32-exact generator of the model parity scripts (vision.py, bert.py,
// gpt2.py: gen()) and their base64 float32 arrays, shared by the model parity tests.

/** A 32-bit hash of (index, seed) in [-1, 1), times scale plus offset, rounded once to float32. */
export function gen(n, seed, scale, offset = 0) {
  const out = new Float32Array(n);
  const s = Math.imul(seed, 0x632be5ab) >>> 0;
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + s) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[i] = ((h >>> 8) / 8388608 - 1) * scale + offset;
  }
  return out;
}

/** A float32 array written by the scripts as base64 bytes. */
export function fromB64(s) {
  const buf = Buffer.from(s, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}
