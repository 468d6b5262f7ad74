/**
 * Small seeded PRNG for the tree learners. Every random choice (bootstrap, feature sampling, bin-edge
 * subsampling) draws from one of these, so a seed fixes the model. Streams for parallel work (one per
 * tree) are derived from (seed, index), never from shared state, so results do not depend on which
 * thread trained which tree.
 */

/** splitmix32 finaliser: spreads close seeds (0, 1, 2 ...) into unrelated states. */
export function mixSeed(a: number, b = 0): number {
  let z = (Math.imul(a | 0, 0x9e3779b1) + Math.imul(b | 0, 0x85ebca77) + 0x6d2b79f5) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** xoshiro128** generator: fast, 128-bit state, good enough statistics for sampling. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream = 0) {
    this.s0 = mixSeed(seed, stream);
    this.s1 = mixSeed(this.s0, 1);
    this.s2 = mixSeed(this.s1, 2);
    this.s3 = mixSeed(this.s2, 3);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n) for n <= 2^32 (multiply-shift; bias is below 2^-32 * n, irrelevant here). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
