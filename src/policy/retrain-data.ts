/**
 * Retraining data mix. Feedback rows (relabels, reviewed mistakes) are the most valuable rows we have,
 * but a training set dominated by them drifts toward the model's own past errors and the traffic it
 * shaped. Capping their share keeps the base distribution in charge.
 */
import { z } from 'zod';
import { rankByHash } from './rng';

/** Feedback mix policy. */
export const FeedbackShareConfigSchema = z.object({
  /** Largest share of the final training set (base + kept feedback) that feedback may make up. */
  maxShare: z.number().min(0).max(1).default(0.3),
});
export type FeedbackShareConfig = z.infer<typeof FeedbackShareConfigSchema>;

/** Arguments of {@link capFeedbackShare}. */
export interface CapFeedbackShareInput<T extends { requestId: string }> {
  /** Number of base (non-feedback) rows going into the training set. */
  base: number;
  feedback: readonly T[];
  /** Defaults to 0.3. */
  maxShare?: number;
  seed: number;
}

/** What {@link capFeedbackShare} kept, and the numbers for the training manifest. */
export interface FeedbackShareResult<T> {
  /** Kept feedback rows, in their original order. */
  kept: T[];
  report: {
    baseRows: number;
    feedbackOffered: number;
    feedbackKept: number;
    /** feedbackKept / (baseRows + feedbackKept); 0 when both are 0. */
    share: number;
    maxShare: number;
  };
}

/**
 * Keeps at most enough feedback rows that they form ≤ `maxShare` of base + feedback. Which rows survive
 * is a seeded per-row hash, so reruns of a cycle pick the same rows and the sample is unbiased.
 */
export function capFeedbackShare<T extends { requestId: string }>(
  input: CapFeedbackShareInput<T>,
): FeedbackShareResult<T> {
  const { maxShare } = FeedbackShareConfigSchema.parse({ maxShare: input.maxShare });
  if (!Number.isInteger(input.base) || input.base < 0) {
    throw new Error(`base must be a non-negative integer row count, got ${input.base}`);
  }
  const offered = input.feedback.length;
  let limit: number;
  if (maxShare >= 1) {
    limit = offered;
  } else {
    // k / (base + k) ≤ s  ⇔  k ≤ s·base / (1 − s); the epsilon absorbs float error at exact boundaries,
    // the loop below re-checks the inequality exactly.
    limit = Math.floor((maxShare * input.base) / (1 - maxShare) + 1e-9);
    while (limit > 0 && limit / (input.base + limit) > maxShare) limit -= 1;
  }
  let kept: T[];
  if (offered <= limit) {
    kept = [...input.feedback];
  } else {
    const chosen = new Set(rankByHash(input.feedback, input.seed, (row) => row.requestId).slice(0, limit));
    kept = input.feedback.filter((row) => chosen.has(row));
  }
  const total = input.base + kept.length;
  return {
    kept,
    report: {
      baseRows: input.base,
      feedbackOffered: offered,
      feedbackKept: kept.length,
      share: total === 0 ? 0 : kept.length / total,
      maxShare,
    },
  };
}
