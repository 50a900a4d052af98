import { z } from 'zod';
import { createRng } from './rng';

/**
 * How to split by time: the latest `validationFraction` of rows, or everything at/after `cutoff`.
 * Rows sharing the boundary timestamp all go to validation, so the fraction is a lower bound.
 */
export const TemporalSplitOptionsSchema = z.union([
  z.object({ validationFraction: z.number().gt(0).lt(1) }),
  z.object({ cutoff: z.iso.datetime({ offset: true }) }),
]);
export type TemporalSplitOptions = z.infer<typeof TemporalSplitOptionsSchema>;

/** Options of the explicit, opt-in random split. */
export const RandomSplitOptionsSchema = z.object({
  validationFraction: z.number().gt(0).lt(1),
  seed: z.number().int(),
});
export type RandomSplitOptions = z.infer<typeof RandomSplitOptionsSchema>;

/** A train/validation split; `cutoff` is the first validation timestamp (ISO, UTC). */
export interface Split<T> {
  train: T[];
  validation: T[];
  cutoff: string;
}

/** Thrown when a split would leave one side empty or rows have unusable timestamps. */
export class SplitError extends Error {
  override readonly name = 'SplitError';
}

/**
 * Splits by time: train = strictly earlier than the cutoff, validation = at or after it. This is the
 * default because production models predict the future from the past; a random split leaks future
 * behaviour into training and overstates accuracy. Stable: equal timestamps keep their input order.
 *
 * @throws SplitError if a timestamp does not parse or either side would be empty.
 */
export function temporalSplit<T extends { timestamp: string }>(
  rows: readonly T[],
  options: TemporalSplitOptions,
): Split<T> {
  const parsed = TemporalSplitOptionsSchema.parse(options);
  // Date.parse is a pure function of its argument (unlike Date.now), so this stays deterministic.
  const times = rows.map((row, i) => {
    const ms = Date.parse(row.timestamp);
    if (Number.isNaN(ms)) throw new SplitError(`row ${i} has an unparseable timestamp "${row.timestamp}"`);
    return ms;
  });
  const order = rows.map((_, i) => i).sort((a, b) => times[a] - times[b] || a - b);
  let cutoffMs: number;
  if ('cutoff' in parsed) {
    cutoffMs = Date.parse(parsed.cutoff);
  } else {
    if (rows.length < 2) throw new SplitError(`cannot split ${rows.length} row(s) into train and validation`);
    const nValidation = Math.max(1, Math.round(rows.length * parsed.validationFraction));
    cutoffMs = times[order[rows.length - nValidation]];
  }
  const train = order.filter((i) => times[i] < cutoffMs).map((i) => rows[i]);
  const validation = order.filter((i) => times[i] >= cutoffMs).map((i) => rows[i]);
  const cutoff = new Date(cutoffMs).toISOString();
  if (train.length === 0) {
    throw new SplitError(
      `temporal split at ${cutoff} leaves no training rows (all ${rows.length} rows are at or after it)`,
    );
  }
  if (validation.length === 0) {
    throw new SplitError(
      `temporal split at ${cutoff} leaves no validation rows (all ${rows.length} rows are before it)`,
    );
  }
  return { train, validation, cutoff };
}

/**
 * Seeded random split, for data with no meaningful time order (e.g. a static benchmark dataset).
 * Deliberately a separate function so a random split is always an explicit choice.
 */
export function randomSplit<T>(
  rows: readonly T[],
  options: RandomSplitOptions,
): { train: T[]; validation: T[] } {
  const { validationFraction, seed } = RandomSplitOptionsSchema.parse(options);
  if (rows.length < 2) throw new SplitError(`cannot split ${rows.length} row(s) into train and validation`);
  const order = createRng(seed).shuffle(rows.map((_, i) => i));
  const nValidation = Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * validationFraction)));
  return {
    train: order.slice(nValidation).map((i) => rows[i]),
    validation: order.slice(0, nValidation).map((i) => rows[i]),
  };
}
