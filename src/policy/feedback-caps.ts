/**
 * Feedback-loop caps: limits on how often a model may retrain on its own traffic and how much a new
 * model may change behaviour. Retraining on labels the model itself influenced can run away (a degenerate
 * feedback loop); the caps slow it to a pace humans can watch and demand real evidence for each step.
 */
import { z } from 'zod';
import { HOUR_MS, DAY_MS, toEpochMs, toIso } from './time';
import type { Instant } from './time';

/** Retrain caps. Parse `{}` for defaults. */
export const FeedbackCapsConfigSchema = z.object({
  /** Minimum gap between retrains, so each model serves long enough to be judged. */
  cooldownHours: z.number().nonnegative().default(24),
  /** Hard ceiling on retrains inside a sliding window, even when each one passes the cooldown. */
  maxRetrainsPerWindow: z.number().int().positive().default(3),
  windowDays: z.number().positive().default(7),
  /** New labelled rows required since the last retrain; waived when drift triggered the retrain. */
  minNewLabelledRows: z.number().int().nonnegative().default(500),
  /** Promotion-time cap: share of test predictions allowed to change between champion and candidate. */
  maxPredictionFlipRate: z.number().min(0).max(1).default(0.1),
});
export type FeedbackCapsConfig = z.infer<typeof FeedbackCapsConfigSchema>;
export type FeedbackCapsConfigInput = z.input<typeof FeedbackCapsConfigSchema>;

/** Name of a retrain cap. */
export type RetrainCap = 'cooldown' | 'max-per-window' | 'min-evidence';

/** One cap that blocked the retrain. */
export interface FiredCap {
  cap: RetrainCap;
  detail: string;
  /** When this cap clears on its own (ISO), or null for caps that time cannot clear. */
  clearsAt: string | null;
}

/** Arguments of {@link decideRetrain}. */
export interface DecideRetrainInput {
  now: Instant;
  /** Timestamps (ISO) of past retrains; order does not matter. */
  history: readonly string[];
  /** Last retrain (ISO) if known; merged with `history` so either alone is enough. */
  lastRetrainAt: string | null;
  newLabelledRowsSinceLastRetrain: number;
  /** A drift alarm asked for this retrain: waives the evidence minimum, never the time caps. */
  driftTriggered: boolean;
  config?: FeedbackCapsConfigInput;
}

/** Verdict of {@link decideRetrain}. */
export interface RetrainDecision {
  allowed: boolean;
  firedCaps: FiredCap[];
  /** Earliest instant (ISO) when every time-based cap clears; null if none fired. */
  nextAllowedAt: string | null;
  evidenceWaived: boolean;
}

/**
 * Decides whether a retrain may start now. All caps are evaluated (not first-failure) so the caller can
 * report every reason at once.
 *
 * Edges: the cooldown clears exactly `cooldownHours` after the last retrain; a retrain leaves the window
 * exactly `windowDays` after it happened, so with N ≥ max retrains in the window the next one is allowed
 * at (the (N−max+1)-th oldest) + window — for N = max, oldest + window.
 */
export function decideRetrain(input: DecideRetrainInput): RetrainDecision {
  const cfg = FeedbackCapsConfigSchema.parse(input.config ?? {});
  const now = toEpochMs(input.now, 'now');
  const times = input.history.map((t) => toEpochMs(t, 'retrain timestamp'));
  if (input.lastRetrainAt !== null) times.push(toEpochMs(input.lastRetrainAt, 'lastRetrainAt'));
  const fired: FiredCap[] = [];

  if (times.length > 0) {
    const last = times.reduce((a, b) => Math.max(a, b)); // reduce, not spread: history may be long
    const clearsAt = last + cfg.cooldownHours * HOUR_MS;
    if (now < clearsAt) {
      fired.push({
        cap: 'cooldown',
        detail: `last retrain at ${toIso(last)} is within the ${cfg.cooldownHours} h cooldown (clears ${toIso(clearsAt)})`,
        clearsAt: toIso(clearsAt),
      });
    }
  }

  const windowMs = cfg.windowDays * DAY_MS;
  // Deduplicate: lastRetrainAt is usually also in history and must not count twice.
  const inWindow = [...new Set(times)].filter((t) => t > now - windowMs).sort((a, b) => a - b);
  if (inWindow.length >= cfg.maxRetrainsPerWindow) {
    const clearsAt = inWindow[inWindow.length - cfg.maxRetrainsPerWindow] + windowMs;
    fired.push({
      cap: 'max-per-window',
      detail: `${inWindow.length} retrains in the last ${cfg.windowDays} d (max ${cfg.maxRetrainsPerWindow}); clears ${toIso(clearsAt)}`,
      clearsAt: toIso(clearsAt),
    });
  }

  const evidenceShort = input.newLabelledRowsSinceLastRetrain < cfg.minNewLabelledRows;
  const evidenceWaived = evidenceShort && input.driftTriggered;
  if (evidenceShort && !input.driftTriggered) {
    fired.push({
      cap: 'min-evidence',
      detail: `only ${input.newLabelledRowsSinceLastRetrain} new labelled rows since the last retrain, need ${cfg.minNewLabelledRows}`,
      clearsAt: null,
    });
  }

  const clearTimes = fired.flatMap((f) => (f.clearsAt === null ? [] : [toEpochMs(f.clearsAt)]));
  return {
    allowed: fired.length === 0,
    firedCaps: fired,
    nextAllowedAt: clearTimes.length > 0 ? toIso(clearTimes.reduce((a, b) => Math.max(a, b))) : null,
    evidenceWaived,
  };
}

/** Verdict of {@link checkFlipRate}. */
export interface FlipRateCheck {
  passed: boolean;
  flipRate: number;
  max: number;
  detail: string;
}

/**
 * Promotion-time cap: a candidate that changes too many predictions is a behavioural jump, even if its
 * aggregate metrics look fine — downstream users experience flips, not F1.
 */
export function checkFlipRate(input: { flipRate: number; config?: FeedbackCapsConfigInput }): FlipRateCheck {
  const cfg = FeedbackCapsConfigSchema.parse(input.config ?? {});
  if (!Number.isFinite(input.flipRate) || input.flipRate < 0 || input.flipRate > 1) {
    throw new Error(`flip rate must be in [0, 1], got ${input.flipRate}`);
  }
  const passed = input.flipRate <= cfg.maxPredictionFlipRate;
  return {
    passed,
    flipRate: input.flipRate,
    max: cfg.maxPredictionFlipRate,
    detail: `${pct(input.flipRate)} of predictions flip vs champion (max ${pct(cfg.maxPredictionFlipRate)})`,
  };
}

/**
 * Share of rows whose predicted label differs between two models scored on the same rows, in order.
 * @throws when the arrays differ in length (they would not describe the same rows).
 */
export function predictionFlipRate(champion: readonly string[], candidate: readonly string[]): number {
  if (champion.length !== candidate.length) {
    throw new Error(`prediction lists differ in length: ${champion.length} vs ${candidate.length}`);
  }
  if (champion.length === 0) return 0;
  let flips = 0;
  for (let i = 0; i < champion.length; i++) if (champion[i] !== candidate[i]) flips += 1;
  return flips / champion.length;
}

function pct(value: number): string {
  return `${Math.round(value * 10000) / 100}%`;
}
