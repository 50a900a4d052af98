/**
 * Deterministic randomness for policy code.
 *
 * Policy functions run inside Temporal workflow code, which is replayed: any value they derive must be
 * identical on every replay. So there is no `Math.random` here, only pure functions of a caller-supplied
 * numeric seed. Selection is hash-based per row (seed + requestId) rather than drawn from a stream, so a
 * row's fate does not change when unrelated rows are added to or removed from a batch.
 */

const FNV_OFFSET_BASIS_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;
const TWO_POW_32 = 4294967296;

/**
 * FNV-1a 32-bit hash of a string's UTF-8 bytes, as an unsigned integer.
 *
 * UTF-8 (not UTF-16 code units) so the value matches FNV-1a implementations in other languages, e.g. a
 * serving proxy that must make the same sticky canary decision.
 */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS_32;
  const mix = (byte: number): void => {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME_32);
  };
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    // Combine a surrogate pair into one code point so astral characters encode as 4 UTF-8 bytes.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) {
      mix(code);
    } else if (code < 0x800) {
      mix(0xc0 | (code >> 6));
      mix(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      mix(0xe0 | (code >> 12));
      mix(0x80 | ((code >> 6) & 0x3f));
      mix(0x80 | (code & 0x3f));
    } else {
      mix(0xf0 | (code >> 18));
      mix(0x80 | ((code >> 12) & 0x3f));
      mix(0x80 | ((code >> 6) & 0x3f));
      mix(0x80 | (code & 0x3f));
    }
  }
  return hash >>> 0;
}

/**
 * Murmur3's 32-bit finaliser. FNV-1a alone leaves similar keys ("row-1", "row-2") with correlated low
 * bits; the avalanche step makes thresholds on the hash behave like independent uniform draws.
 */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A uniform-looking number in [0, 1) that depends only on (seed, key).
 *
 * Use it for per-row decisions (audit sampling, stratified selection): the same row with the same seed
 * always gets the same value, whatever else is in the batch.
 */
export function hashUnit(seed: number, key: string): number {
  return fmix32(fnv1a32(`${seed}\u0000${key}`)) / TWO_POW_32;
}

/**
 * Mulberry32: a tiny seeded PRNG returning numbers in [0, 1). Good enough for sampling decisions, not
 * for cryptography. Prefer {@link hashUnit} when a decision should be stable per row.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_POW_32;
  };
}

/**
 * Orders items by their seeded hash (ties, which are astronomically rare, broken by key) without
 * mutating the input. Taking a prefix of the result is a deterministic random sample without replacement.
 */
export function rankByHash<T>(items: readonly T[], seed: number, keyOf: (item: T) => string): T[] {
  return items
    .map((item) => {
      const key = keyOf(item);
      return { item, key, rank: hashUnit(seed, key) };
    })
    .sort((a, b) => a.rank - b.rank || compareStrings(a.key, b.key))
    .map((entry) => entry.item);
}

/** Locale-independent string comparison: `localeCompare` can differ between hosts, breaking replay. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
