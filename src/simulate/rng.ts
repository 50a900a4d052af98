import { mulberry32 } from '../policy/rng';
/**
 * Seeded pseudo-random numbers for the traffic simulator. Nothing in src/simulate may use Math.random:
 * every draw comes from a {@link Rng} whose seed is derived from the scenario seed and a stream name,
 * so the same seed and parameters always give the same bytes.
 */

/** 32-bit FNV-1a over a string, then the murmur3 finaliser (good avalanche for nearby inputs). */
function hashString(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives an independent 32-bit seed from a root seed and named parts, e.g.
 * `deriveSeed(seed, 'day', 12, 'labels')`. Different parts give unrelated streams.
 */
export function deriveSeed(root: number, ...parts: Array<string | number>): number {
  let h = fmix32((root >>> 0) ^ 0x9e3779b9);
  for (const part of parts) {
    if (typeof part === 'number' && Number.isInteger(part) && Math.abs(part) <= 0x7fffffff) {
      // Integers (day, slot, generation) are mixed in directly: no string formatting on the hot path.
      h = fmix32(Math.imul(h ^ 0x5bd1e995, 0x01000193) ^ (part | 0) ^ 0x27d4eb2f);
    } else {
      h = hashString(`|${String(part)}`, h);
    }
  }
  return fmix32(h);
}

/** mulberry32, shared with the policies: a tiny, fast 32-bit generator yielding floats in [0, 1). */
export { mulberry32 };

/** A seeded random stream with the distributions the simulator needs. */
export class Rng {
  private readonly nextFloat: () => number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.nextFloat = mulberry32(seed);
  }

  /** A stream seeded from `deriveSeed(root, ...parts)`. */
  static derive(root: number, ...parts: Array<string | number>): Rng {
    return new Rng(deriveSeed(root, ...parts));
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextFloat();
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.nextFloat();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  bernoulli(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** Normal via Box-Muller (the second value of each pair is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** exp(N(mu, sigma)). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Poisson count (Knuth's method; a rounded normal for large means). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 50) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.nextFloat();
    while (p > limit) {
      k++;
      p *= this.nextFloat();
    }
    return k;
  }
}

/** A fixed categorical distribution, sampled with one uniform draw. */
export class Categorical<T> {
  private readonly cumulative: number[];

  constructor(
    readonly values: readonly T[],
    weights: readonly number[],
  ) {
    if (values.length === 0 || values.length !== weights.length) {
      throw new Error('Categorical needs one weight per value and at least one value');
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0) || weights.some((w) => w < 0 || !Number.isFinite(w))) {
      throw new Error('Categorical weights must be finite, non-negative and not all zero');
    }
    let acc = 0;
    this.cumulative = weights.map((w) => (acc += w / total));
  }

  sample(rng: Rng): T {
    const u = rng.next();
    const cum = this.cumulative;
    for (let i = 0; i < cum.length - 1; i++) if (u < cum[i]) return this.values[i];
    return this.values[this.values.length - 1];
  }
}
