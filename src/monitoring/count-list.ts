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
   * True once a value had to be dropped because `entries` was full. While false, `entries` is exact and
   * merging is exactly associative; once true, `entries` is a best effort (see {@link mergeCountLists}).
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

/**
 * Counts one occurrence of `value` (mutates `list`). When the list is full a new value is not tracked
 * (only `total` grows and `truncated` is set): evicting would make the result depend on arrival order in
 * a way that merging could not reproduce.
 */
export function bumpCount(list: CountList, value: string, cap: number): void {
  list.total += 1;
  const v = clipValue(value);
  const at = search(list.entries, v);
  if (at >= 0) {
    list.entries[at].count += 1;
  } else if (list.entries.length < cap) {
    list.entries.splice(-at - 1, 0, { value: v, count: 1 });
  } else {
    list.truncated = true;
  }
}

/**
 * Merges two lists into a new one. Counts of shared values add up; when the union exceeds `cap`, the
 * `cap` most frequent values are kept (ties by value) and `truncated` is set. Commutative always, and
 * associative while no list is truncated — that is the case the partition tests rely on; once truncated,
 * the kept values are a best effort while `total` stays exact.
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
    entries = topCounts(out, cap).sort((p, q) => (p.value < q.value ? -1 : p.value > q.value ? 1 : 0));
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
