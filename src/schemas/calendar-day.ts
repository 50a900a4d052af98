/** Calendar validity per day number (y·10000 + m·100 + d); logs hold few distinct days. */
const validDays = new Map<number, boolean>();

/**
 * Whether year `y` (≥ 1000), month `m` and day `d` name a real calendar day (2024-02-29 yes,
 * 2025-02-29 no). Cached, since the hot ingest checks ask it for every row.
 */
export function isCalendarDay(y: number, m: number, d: number): boolean {
  const key = y * 10000 + m * 100 + d;
  let ok = validDays.get(key);
  if (ok === undefined) {
    ok = y >= 1000 && m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
    if (validDays.size >= 10_000) validDays.clear();
    validDays.set(key, ok);
  }
  return ok;
}
