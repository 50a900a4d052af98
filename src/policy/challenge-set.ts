import { z } from 'zod';
import { compareStrings } from './rng';
import { sliceKey } from './routing';
import { DAY_MS, toEpochMs } from './time';
import type { Instant } from './time';

/** How challenge sets (essay §2.3: rare patterns mined from production) are kept. */
export const ChallengeSetConfigSchema = z.object({
  /** Rows whose served prediction had at least this loss (−ln p of the observed label) are hard cases. */
  minLoss: z.number().positive().default(1.5),
  /** |z-score| beyond which a numeric value counts as outside the training range. */
  outOfRangeZ: z.number().positive().default(4),
  maxRows: z.number().int().positive().default(3000),
  maxAgeDays: z.number().positive().default(90),
  /** Largest allowed drop of the candidate's accuracy vs the champion's on any challenge group. */
  maxGroupRegression: z.number().min(0).max(1).default(0.05),
  /** Groups with fewer rows are reported but not gated (their accuracy is noise). */
  minGroupRows: z.number().int().nonnegative().default(30),
  /**
   * Largest allowed share of predictions that flip under small perturbations (1% noise, re-spelled
   * categories). A one-hot model keyed on exact country codes flips ~15% of its answers when 'US' arrives
   * as 'us' (measured on the simulator), so the default flags worse than that; tighten it once upstream
   * spellings are normalised.
   */
  maxPerturbationFlipRate: z.number().min(0).max(1).default(0.25),
});
export type ChallengeSetConfig = z.infer<typeof ChallengeSetConfigSchema>;

/** Why a row is in the challenge set. */
export type ChallengeReason = 'rare-slice' | 'high-loss' | 'unseen-category' | 'out-of-range';

/** What selection needs to know about one labelled production row. */
export interface ChallengeCandidate {
  requestId: string;
  timestamp: string;
  label: string;
  /** Served model probability of the observed label. */
  labelProbability: number;
  slices?: Record<string, string>;
  /** Features whose category the serving pipeline did not know. */
  unseenFeatures: string[];
  /** Numeric features beyond `outOfRangeZ` of the training distribution. */
  outOfRangeFeatures: string[];
}

/** The reasons a row qualifies, in a stable order; empty when it is an ordinary row. */
export function challengeReasons(
  row: ChallengeCandidate,
  rareSlices: ReadonlySet<string>,
  config: ChallengeSetConfig,
): ChallengeReason[] {
  const out: ChallengeReason[] = [];
  if (Object.entries(row.slices ?? {}).some(([k, v]) => rareSlices.has(sliceKey(k, v))))
    out.push('rare-slice');
  if (-Math.log(Math.max(row.labelProbability, 1e-12)) >= config.minLoss) out.push('high-loss');
  if (row.unseenFeatures.length) out.push('unseen-category');
  if (row.outOfRangeFeatures.length) out.push('out-of-range');
  return out;
}

/**
 * Merges newly mined challenge rows into the current set: drops rows past `maxAgeDays` (against `now`),
 * keeps the first occurrence of a request id, and keeps the newest `maxRows`. Deterministic.
 */
export function mergeChallengeRows<T extends { requestId: string; timestamp: string }>(
  current: readonly T[],
  mined: readonly T[],
  now: Instant,
  config: ChallengeSetConfig,
): T[] {
  const oldest = toEpochMs(now) - config.maxAgeDays * DAY_MS;
  const seen = new Set<string>();
  const rows: T[] = [];
  for (const r of [...mined, ...current]) {
    if (seen.has(r.requestId) || toEpochMs(r.timestamp) < oldest) continue;
    seen.add(r.requestId);
    rows.push(r);
  }
  rows.sort((a, b) => compareStrings(b.timestamp, a.timestamp) || compareStrings(a.requestId, b.requestId));
  return rows.slice(0, config.maxRows);
}
