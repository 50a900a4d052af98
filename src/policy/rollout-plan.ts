import { z } from 'zod';
import { CanaryConfigSchema, DEFAULT_CANARY_STEPS } from './canary-analysis';

/**
 * How a candidate is rolled out. Parse `{}` for production defaults (10-minute steps, 1-5-10-25-50-100);
 * tests shorten every interval.
 */
export const RolloutPlanSchema = z.object({
  shadow: z
    .object({
      /** Shortest shadow phase, whatever the traffic. */
      minDurationMs: z
        .number()
        .nonnegative()
        .default(10 * 60_000),
      /** Candidate (shadow) requests needed before the canary starts. */
      minRequests: z.number().int().nonnegative().default(1000),
      /** Share of requests the shadow scores (it also keeps scoring the champion's share during the canary). */
      sampleShare: z.number().gt(0).max(1).default(1),
    })
    .prefault({}),
  /** Canary weights in percent, strictly increasing, ending at 100. */
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]), 'steps must be strictly increasing')
    .refine((s) => s[s.length - 1] === 100, 'the last step must be 100')
    .default([...DEFAULT_CANARY_STEPS]),
  /** Shortest time each canary step is held. */
  stepIntervalMs: z
    .number()
    .positive()
    .default(10 * 60_000),
  /** Canary requests each step needs before it is judged. */
  minSamplesPerStep: z.number().int().nonnegative().default(500),
  /** How often a phase is analysed (default min(stepIntervalMs, 1 minute)). */
  analysisIntervalMs: z.number().positive().optional(),
  /** A step that still lacks traffic after this long is handed to a human. */
  maxStepWaitMs: z
    .number()
    .positive()
    .default(24 * 3_600_000),
  /** A rollout waiting for approval longer than this is aborted (and rolled back). */
  approvalTimeoutMs: z
    .number()
    .positive()
    .default(24 * 3_600_000),
  /**
   * Outcomes each side needs before a model metric is judged: labelled rows for accuracy on matured
   * outcomes, shared requests (and test-set rows) for agreement with the champion. Fewer: "insufficient
   * evidence", reported and not a trigger.
   */
  minLabelledRows: z.number().int().positive().default(200),
  /**
   * Thresholds: investigate (pause) at 3 %, roll back at 10 %; minimum requests per side; absolute floors
   * below which a latency (2 ms) or error-rate (0.2 points) increase is noise.
   */
  analysis: CanaryConfigSchema.prefault({}),
});
export type RolloutPlan = z.infer<typeof RolloutPlanSchema>;
export type RolloutPlanInput = z.input<typeof RolloutPlanSchema>;
