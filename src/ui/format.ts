/** Small display helpers shared by the pages (plain text out: the caller escapes it). */

/** A duration as people read it: 45s, 3m 10s, 5h 2m, 2d 3h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A share as a percentage with one decimal, or an en dash when undefined. */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(1)}%`;
}

/** A feature value as text: null shows as "(missing)", strings as they are, the rest as JSON. */
export function featureText(v: unknown): string {
  if (v === null || v === undefined) return '(missing)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Start of the UTC day holding `nowMs`. */
export function utcDayStart(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
