// The deterministic generator shared with test/parity/gen.py (see there).
// (i * 2654435761) mod 65536 only depends on i mod 65536 and the multiplier
// mod 65536 (31153), which keeps the arithmetic exact in doubles for tensors
// of any size.
export function values(n, seed, scale = 1) {
  const out = new Float32Array(n);
  const base = (seed * 97) % 65536;
  for (let i = 0; i < n; i++) out[i] = ((((i & 65535) * 31153 + base) % 65536) / 32768 - 1) * scale;
  return out;
}
