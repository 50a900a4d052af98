import { z } from 'zod';

// Hot loops use these module-level aliases instead of `Math.x`/`Number.x`: under Jest's vm sandbox every
// global lookup goes through an interceptor and made training ~10x slower. Harmless elsewhere.
const { cos, floor, imul, log, sin, sqrt } = Math;
const TWO_PI = 2 * Math.PI;

/**
 * A PRNG seed. Any integer is accepted; it is reduced to 32 bits, so seeds that differ only above
 * bit 31 give the same stream.
 */
export const RngSeedSchema = z.number().int();
export type RngSeed = z.infer<typeof RngSeedSchema>;

/** Anything with numeric indices that can be shuffled in place (plain arrays and typed arrays). */
export interface MutableArrayLike {
  length: number;
  [index: number]: unknown;
}

/** A deterministic random source. Everything in src/ml draws randomness from here, never Math.random. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n); `n` must be a positive integer. */
  int(n: number): number;
  /** Standard normal draw (mean 0, variance 1). */
  normal(): number;
  /** Fisher-Yates shuffle in place; returns the same array for chaining. */
  shuffle<A extends MutableArrayLike>(items: A): A;
}

/**
 * Creates a mulberry32 generator. mulberry32 is tiny, fast and has a full 2^32 period, which is plenty
 * for shuffling and synthetic data; it is NOT cryptographic. The whole point is determinism: code
 * running in Temporal activities, the simulator and tests must produce identical results for a seed.
 */
export function createRng(seed: RngSeed): Rng {
  let state = RngSeedSchema.parse(seed) >>> 0;
  // Box-Muller yields two normals per pair of uniforms; keep the second for the next call.
  let spare: number | undefined;

  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int(n) needs a positive integer, got ${n}`);
    return floor(next() * n);
  };

  const normal = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // 1 - next() is in (0, 1], so the log never sees 0.
    const u1 = 1 - next();
    const u2 = next();
    const radius = sqrt(-2 * log(u1));
    spare = radius * sin(TWO_PI * u2);
    return radius * cos(TWO_PI * u2);
  };

  const shuffle = <A extends MutableArrayLike>(items: A): A => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  };

  return { next, int, normal, shuffle };
}
