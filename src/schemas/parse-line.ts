import type { z } from 'zod';

/** The outcome of validating one NDJSON line: the row, or the reason it was rejected. */
export type LineResult<T> = { ok: true; row: T } | { ok: false; reason: string };

/**
 * Parses and validates one log line. The reason names the first offending field, so a quarantined row
 * tells its reader what to fix (e.g. `features.tenure_days: must be a finite number`).
 */
export function parseLine<T>(
  line: string,
  schema: z.ZodType<T>,
  isPlainValid?: (v: unknown) => boolean,
): LineResult<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
  }
  // Rows the fast check vouches for skip zod; only its doubtful rows pay for the full parse.
  if (isPlainValid?.(value)) return { ok: true, row: value as T };
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, row: result.data };
  const issue = result.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : '(row)';
  return { ok: false, reason: `${where}: ${issue.message}` };
}
