import { z } from 'zod';

/**
 * A Bloom filter of every distinct value a high-cardinality categorical feature had in the reference.
 * The profile lists at most `maxOtherValues` pooled values by name; beyond that a production value
 * missing from the list may still have been seen in training, so the histogram pools it as "other" and
 * PSI cannot see a flood of never-seen ids. The filter answers "certainly never seen" for such values
 * (no false negatives); a false positive only makes the never-seen share an underestimate, never an
 * alarm. Sized for a 1 % false-positive rate, capped at {@link MAX_FILTER_BITS} bits, so a feature with
 * more than ~440,000 distinct reference values gets a higher rate (stored as `falsePositiveRate`).
 */
export const SeenFilterSchema = z.object({
  /** Number of bits (a power of two). */
  bits: z.number().int().min(8),
  hashes: z.number().int().min(1).max(16),
  /** Distinct values inserted. */
  values: z.number().int().nonnegative(),
  /** Expected false-positive rate for the inserted count: (1 − e^(−k·n/m))^k. */
  falsePositiveRate: z.number().min(0).max(1),
  /** The bit array, base64. */
  data: z.string(),
});
export type SeenFilter = z.infer<typeof SeenFilterSchema>;

/** 4 Mbit = 512 KiB (about 700 KB of base64 in the profile): enough for ~440k values at 1 %. */
export const MAX_FILTER_BITS = 1 << 22;
const TARGET_FALSE_POSITIVE_RATE = 0.01;

/** Two independent 32-bit hashes of a string (FNV-1a and a multiply-xorshift mix), for double hashing. */
function hashPair(value: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  for (let i = 0; i < value.length; i += 1) {
    const ch = value.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x85ebca6b);
    h2 ^= h2 >>> 13;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  // An odd step visits distinct bits for every probe of a power-of-two table.
  return [h1 >>> 0, (h2 | 1) >>> 0];
}

/** Builds the filter over `values` (deterministic: the same set gives the same bits in any order). */
export function buildSeenFilter(values: Iterable<string>, count: number): SeenFilter {
  const wanted = Math.ceil((-Math.max(count, 1) * Math.log(TARGET_FALSE_POSITIVE_RATE)) / Math.LN2 ** 2);
  let bits = 1024;
  while (bits < wanted && bits < MAX_FILTER_BITS) bits *= 2;
  const hashes = Math.min(16, Math.max(1, Math.round((bits / Math.max(count, 1)) * Math.LN2)));
  const bytes = new Uint8Array(bits / 8);
  const mask = bits - 1;
  let n = 0;
  for (const v of values) {
    const [h1, h2] = hashPair(v);
    for (let i = 0; i < hashes; i += 1) {
      const bit = (h1 + Math.imul(i, h2)) & mask;
      bytes[bit >>> 3] |= 1 << (bit & 7);
    }
    n += 1;
  }
  const falsePositiveRate = (1 - Math.exp((-hashes * n) / bits)) ** hashes;
  return { bits, hashes, values: n, falsePositiveRate, data: Buffer.from(bytes).toString('base64') };
}

/** A decoded filter for fast membership tests. */
export interface SeenFilterReader {
  mightContain(value: string): boolean;
}

/** Decodes `filter` once; `mightContain` is false only for values certainly not inserted. */
export function readSeenFilter(filter: SeenFilter): SeenFilterReader {
  const bytes = Buffer.from(filter.data, 'base64');
  if (bytes.length * 8 !== filter.bits) {
    throw new Error(`seen-value filter holds ${bytes.length * 8} bits, expected ${filter.bits}`);
  }
  const mask = filter.bits - 1;
  const { hashes } = filter;
  return {
    mightContain(value: string): boolean {
      const [h1, h2] = hashPair(value);
      for (let i = 0; i < hashes; i += 1) {
        const bit = (h1 + Math.imul(i, h2)) & mask;
        if ((bytes[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
      }
      return true;
    },
  };
}
