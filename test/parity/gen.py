"""The deterministic generator shared with test/parity/gen.mjs: exact dyadic
values computed with integer arithmetic, so Python and JavaScript produce the
same floats bit for bit."""

def values(n, seed, scale=1.0):
    return [(((i * 2654435761 + seed * 97) % 65536) / 32768.0 - 1.0) * scale for i in range(n)]
