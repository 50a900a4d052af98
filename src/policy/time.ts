/**
 * Time helpers for policy code. Policies never read the clock: callers pass `now` (from
 * `workflow`-safe time or an activity), so decisions replay identically.
 */

/** Milliseconds in an hour. */
export const HOUR_MS = 3_600_000;
/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** An instant as an ISO-8601 string or epoch milliseconds. */
export type Instant = string | number;

/**
 * Converts an ISO-8601 string or epoch-ms number to epoch ms, throwing on garbage: a silently-NaN
 * time would make every comparison false and quietly disable a cap.
 */
export function toEpochMs(instant: Instant, what = 'time'): number {
  const ms = typeof instant === 'number' ? instant : Date.parse(instant);
  if (!Number.isFinite(ms)) {
    throw new Error(`invalid ${what}: ${JSON.stringify(instant)}`);
  }
  return ms;
}

/** Epoch ms → ISO-8601 UTC string. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** UTC calendar day (YYYY-MM-DD) of an instant; days are UTC so the answer does not depend on host TZ. */
export function utcDay(instant: Instant): string {
  return toIso(toEpochMs(instant)).slice(0, 10);
}
