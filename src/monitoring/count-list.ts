import { z } from 'zod';

/**
 * A bounded list of value → count, used for the "top unseen values", the examples of wrongly typed values
 * and the names of new features.
 *
 * Entries are kept sorted by value (code-unit order, not locale order) so that two lists holding the same
 * counts are deep-equal however the rows arrived. Stored as an array rather than a record because values
 * come from production traffic and a value such as `__proto__` must not be able to touch a prototype.
 */
export const CountListSchema = z.object({
  /** Tracked values with their exact counts, sorted by value. */
  entries: z.array(z.object({ value: z.string(), count: z.number().int().positive() })),
  /** Occurrences of every value, tracked or not. */
  total: z.number().int().nonnegative(),
  /**
   * True once there were more distinct values than `entries` may hold: `entries` is then a fixed
   * sample of them (see {@link bumpCount}), each with its exact count.
   */
  truncated: z.boolean(),
});
export type CountList = z.infer<typeof CountListSchema>;

/** Longest value kept; longer ones are cut so one free-text value cannot bloat the accumulator. */
export const MAX_TRACKED_VALUE_LENGTH = 200;

/** An empty list. */
export function emptyCountList(): CountList {
  return { entries: [], total: 0, truncated: false };
}

/** Cuts over-long values (with an ellipsis) so they stay bounded in memory and in reports. */
export function clipValue(value: string): string {
  return value.length > MAX_TRACKED_VALUE_LENGTH ? `${value.slice(0, MAX_TRACKED_VALUE_LENGTH - 1)}…` : value;
}

/** Index of `value` in the sorted entries, or `-(insertionPoint + 1)` when absent. */
function search(entries: CountList['entries'], value: string): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = entries[mid].value;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -(lo + 1);
}

/** FNV-1a over the UTF-16 code units: a fixed, cheap order of values that is unrelated to their text. */
function hashOf(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i += 1) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Order of values by which a full list keeps the smallest: hash, then value (so it is total). */
function before(h1: number, v1: string, h2: number, v2: string): boolean {
  return h1 < h2 || (h1 === h2 && v1 < v2);
}

/** The largest kept entry of a full list in the {@link before} order (cached: derived data only). */
const largest = new WeakMap<CountList, { hash: number; value: string }>();

function largestOf(list: CountList): { hash: number; value: string } {
  let top = largest.get(list);
  if (top === undefined) {
    top = { hash: -1, value: '' };
    for (const e of list.entries) {
      const h = hashOf(e.value);
      if (top.hash < 0 || before(top.hash, top.value, h, e.value)) top = { hash: h, value: e.value };
    }
    largest.set(list, top);
  }
  return top;
}

/**
 * Counts one occurrence of `value` (mutates `list`). A full list keeps the `cap` values that come first
 * in a fixed hash order (a bottom-k sample of the distinct values): a new value enters only by pushing
 * out the last one, and a value once out can never come back, since the bar only ever falls. So every
 * kept count is exact, and which values are kept depends only on the values seen, not on their order
 * or on how the rows were cut into partitions ({@link mergeCountLists} keeps the same values).
 */
export function bumpCount(list: CountList, value: string, cap: number): void {
  list.total += 1;
  const v = clipValue(value);
  const at = search(list.entries, v);
  if (at >= 0) {
    list.entries[at].count += 1;
    return;
  }
  if (list.entries.length < cap) {
    list.entries.splice(-at - 1, 0, { value: v, count: 1 });
    largest.delete(list);
    return;
  }
  list.truncated = true;
  if (cap === 0) return;
  const top = largestOf(list);
  const h = hashOf(v);
  if (!before(h, v, top.hash, top.value)) return;
  list.entries.splice(search(list.entries, top.value), 1);
  list.entries.splice(-search(list.entries, v) - 1, 0, { value: v, count: 1 });
  largest.delete(list);
}

/**
 * Merges two lists into a new one. Counts of shared values add up; when the union exceeds `cap`, the
 * `cap` values first in the hash order of {@link bumpCount} are kept and `truncated` is set. Commutative
 * and associative, truncated or not: a value kept by the whole window is kept by every partition that
 * saw it (fewer values compete there), so its count is complete, and the merged list is the list of the
 * whole window whatever the partitions. `total` is always exact.
 */
export function mergeCountLists(a: CountList, b: CountList, cap: number): CountList {
  const out: CountList['entries'] = [];
  let i = 0;
  let j = 0;
  while (i < a.entries.length || j < b.entries.length) {
    const x = a.entries[i];
    const y = b.entries[j];
    if (y === undefined || (x !== undefined && x.value < y.value)) {
      out.push({ ...x });
      i += 1;
    } else if (x === undefined || y.value < x.value) {
      out.push({ ...y });
      j += 1;
    } else {
      out.push({ value: x.value, count: x.count + y.count });
      i += 1;
      j += 1;
    }
  }
  let truncated = a.truncated || b.truncated;
  let entries = out;
  if (out.length > cap) {
    truncated = true;
    entries = out
      .map((e) => ({ e, h: hashOf(e.value) }))
      .sort((p, q) => (before(p.h, p.e.value, q.h, q.e.value) ? -1 : 1))
      .slice(0, cap)
      .map(({ e }) => e)
      .sort((p, q) => (p.value < q.value ? -1 : p.value > q.value ? 1 : 0));
  }
  return { entries, total: a.total + b.total, truncated };
}

/** The `n` most frequent entries, most frequent first (ties broken by value so the order is stable). */
export function topCounts(entries: CountList['entries'], n: number): CountList['entries'] {
  return [...entries]
    .sort((p, q) => q.count - p.count || (p.value < q.value ? -1 : p.value > q.value ? 1 : 0))
    .slice(0, n)
    .map((e) => ({ ...e }));
}
