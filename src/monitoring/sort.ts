/**
 * Ascending in-place sort of a Float64Array (no NaN expected), giving exactly the order of
 * `Float64Array.prototype.sort()` (including −0 before +0).
 *
 * Why not just `.sort()`: V8 sorts a million doubles in ~200 ms, and a profile sorts one column per
 * numeric feature and score class — seconds for a 1M-row reference. An LSD radix sort over the IEEE-754
 * bit patterns does the same in a few tens of milliseconds.
 */

/** The bit trick reads doubles as two 32-bit words, low word first, which holds on little-endian hosts. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this size the built-in sort is faster than clearing a 65,536-entry histogram four times. */
const RADIX_THRESHOLD = 4096;

export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_THRESHOLD || !LITTLE_ENDIAN) return values.sort();
  const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  let a = new Uint32Array(n * 2);
  let b = new Uint32Array(n * 2);
  // Map each double to an unsigned 64-bit key with the same order: flip all bits of negatives (their
  // magnitude order is reversed), set the sign bit of non-negatives (so they sort after negatives).
  for (let i = 0; i < n; i += 1) {
    const lo = words[2 * i];
    const hi = words[2 * i + 1];
    if (hi & 0x80000000) {
      a[2 * i] = ~lo >>> 0;
      a[2 * i + 1] = ~hi >>> 0;
    } else {
      a[2 * i] = lo;
      a[2 * i + 1] = (hi | 0x80000000) >>> 0;
    }
  }
  const counts = new Uint32Array(65536);
  // Four stable counting passes over 16-bit digits, least significant first.
  for (let pass = 0; pass < 4; pass += 1) {
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    counts.fill(0);
    for (let i = 0; i < n; i += 1) counts[(a[2 * i + word] >>> shift) & 0xffff] += 1;
    // A digit shared by every key (e.g. the low bits of small integers) would be a no-op pass.
    if (counts[(a[word] >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d += 1) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i += 1) {
      const lo = a[2 * i];
      const hi = a[2 * i + 1];
      const d = ((word === 0 ? lo : hi) >>> shift) & 0xffff;
      const at = counts[d];
      counts[d] = at + 1;
      b[2 * at] = lo;
      b[2 * at + 1] = hi;
    }
    const t = a;
    a = b;
    b = t;
  }
  for (let i = 0; i < n; i += 1) {
    const lo = a[2 * i];
    const hi = a[2 * i + 1];
    if (hi & 0x80000000) {
      words[2 * i] = lo;
      words[2 * i + 1] = hi & 0x7fffffff;
    } else {
      words[2 * i] = ~lo >>> 0;
      words[2 * i + 1] = ~hi >>> 0;
    }
  }
  return values;
}
