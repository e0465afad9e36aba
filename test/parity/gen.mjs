// The deterministic generator shared with test/parity/gen.py (see there).
export function values(n, seed, scale = 1) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (((i * 2654435761 + seed * 97) % 65536) / 32768 - 1) * scale;
  return out;
}
