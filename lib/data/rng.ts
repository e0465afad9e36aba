// Keyed random streams for the data pipeline. torch.utils.data draws from one
// global generator, so its augmentations depend on worker count and call order;
// here every stream is a pure function of a key — (seed, purpose, epoch,
// sample index) — so a resumed run or a run with more decode concurrency sees
// the same shuffle order and the same crops, flips and colour factors.
// The generator is sfc32 (Chris Doty-Humphrey's small fast counting generator).
import { invalid } from '../errors.js';

/** What a stream is for; part of its key so that streams never share numbers. */
export const STREAM = {
  shuffle: 1,
  sample: 2,
  split: 3,
} as const;

const TWO_32 = 4294967296;

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Checks a user seed: a non-negative safe integer (like torch.manual_seed, minus negatives). */
export function checkSeed(seed: unknown, where: string, param = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalid('ERR_TG_ARG', where, param, 'a non-negative integer', seed);
  }
  return seed;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * The stream for a key of non-negative integers (each below 2^53), e.g.
   * `Rng.keyed(seed, STREAM.sample, epoch, index)`.
   */
  static keyed(...key: number[]): Rng {
    // Absorb each key word as two 32-bit halves into two differently seeded
    // hashes, then expand them to sfc32's four state words.
    let h1 = 0x243f6a88;
    let h2 = 0x85a308d3;
    for (const k of key) {
      const lo = k >>> 0;
      const hi = Math.floor(k / TWO_32) >>> 0;
      h1 = fmix32((h1 ^ lo) + Math.imul(hi ^ 0x9e3779b9, 0x27d4eb2f));
      h2 = fmix32(Math.imul(h2 ^ hi, 0x165667b1) + lo + 0x9e3779b9);
    }
    return new Rng(fmix32(h1 ^ 0xdeadbeef), fmix32(h2 ^ 0x41c64e6d), fmix32(h1 + h2), key.length);
  }

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // The generator's authors advise a few rounds before the first output.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / TWO_32;
  }

  /** Uniform in [lo, hi) (torch.empty(1).uniform_(lo, hi)). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [0, n) (torch.randint(0, n)); n at most 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A random permutation of 0..n-1 (Fisher-Yates), as torch.randperm. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
