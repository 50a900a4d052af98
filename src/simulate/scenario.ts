import { z } from 'zod';

/**
 * The simulated scenarios. Every scenario shares the same population, weekday rhythm and label
 * mechanics (and, for one seed, the same random draws: only the scenario's own change differs).
 *
 * - `stable`: nothing moves except the weekday/weekend rhythm. The reference scorer keeps its
 *   offline precision; use it to check that monitors stay quiet.
 * - `concept-drift`: P(churn | features) changes week over week while the inputs look the same. The
 *   behavioural coefficients rotate from the launch regime towards a new one (`driftStrength` × 90°
 *   over 7 weeks, i.e. ≈12.9° per week, capped at 180°): the effects of sessions_per_week, support
 *   tickets and discounts shrink and flip while payment failures and monthly spend (a price rise)
 *   grow into new churn drivers. A model trained on pre-launch history and never retrained loses
 *   well over a third of its precision by week 8; one retrained weekly on recent labels stays close
 *   to its offline precision. See `driftParameters()`.
 * - `feature-drift`: the inputs move, the truth does not. query_length grows by `2% × driftStrength`
 *   per day (multiplicative) and avg_session_minutes by `1% × driftStrength` per day, so the PSI of
 *   query_length against the first week passes 0.15 after about two weeks, with the ground-truth
 *   function unchanged (query_length carries no churn signal at all).
 * - `country-encoding`: from `switchDay` an upstream service logs country names instead of codes for
 *   the three biggest markets ('US' → 'United States', 'UK' → 'United Kingdom', 'DE' → 'Germany'),
 *   in features and in slices. True behaviour is unchanged; a model keyed on the codes treats those
 *   users as an unknown country and its precision drops.
 */
export const SCENARIO_NAMES = ['stable', 'concept-drift', 'feature-drift', 'country-encoding'] as const;
export const ScenarioNameSchema = z.enum(SCENARIO_NAMES);
export type ScenarioName = z.infer<typeof ScenarioNameSchema>;

export const ScenarioConfigSchema = z.object({
  /** Which scenario (see above). */
  name: ScenarioNameSchema,
  /** Root seed (uint32). Same seed + same parameters ⇒ same bytes. */
  seed: z.number().int().min(0).max(0xffffffff),
  /** Day 0 of production traffic (UTC, YYYY-MM-DD). History is generated for the days before it. */
  start: z.iso.date().default('2026-06-01'),
  /** Days of production traffic. */
  days: z.number().int().positive().max(3660).default(56),
  /** Requests on a weekday; weekends get `rowsPerDay × weekendVolume`. */
  rowsPerDay: z.number().int().positive().max(5_000_000).default(2000),
  /** Churn is only known this many days after the prediction: the observed outcome's delay. */
  labelDelayDays: z.number().int().min(0).max(365).default(7),
  /** Target mean churn rate (≈ the share of 'churn' labels on a weekday). */
  churnBase: z.number().gt(0).lt(1).default(0.15),
  /** Scales the scenario's change: 0 = none, 1 = the documented default, 2 = twice as fast. */
  driftStrength: z.number().min(0).max(10).default(1),
  /** country-encoding: the first day whose logs carry full country names. */
  switchDay: z.number().int().min(0).default(14),
  /** Total share of users from the long tail of rare countries (IS, LU, MT, EE, CY). */
  rareSliceShare: z.number().min(0).max(0.5).default(0.02),
  /** Number of distinct users; requests are drawn from this pool, so entities repeat. */
  userPoolSize: z.number().int().positive().max(100_000_000).default(20_000),
  /** Weekend traffic relative to a weekday. */
  weekendVolume: z.number().positive().max(5).default(0.7),
  /** Share of requests that also get a 'user-report' outcome (confidence 0.6-0.9, sometimes wrong). */
  userReportShare: z.number().min(0).max(1).default(0.04),
  /** Share of requests that also get a 'heuristic' outcome (confidence 0.3-0.6, noisier). */
  heuristicShare: z.number().min(0).max(1).default(0.08),
});
export type ScenarioConfig = z.infer<typeof ScenarioConfigSchema>;
export type ScenarioConfigInput = z.input<typeof ScenarioConfigSchema>;

/** Validates and fills defaults (idempotent: a parsed config parses to an equal config). */
export function scenarioConfig(input: ScenarioConfigInput): ScenarioConfig {
  return ScenarioConfigSchema.parse(input);
}

export const DAY_MS = 86_400_000;

/** UTC midnight of day `dayIndex` (negative days are history before the start). */
export function dayStartMs(config: ScenarioConfig, dayIndex: number): number {
  return Date.parse(`${config.start}T00:00:00.000Z`) + dayIndex * DAY_MS;
}

/** YYYY-MM-DD of day `dayIndex`. */
export function dayDate(config: ScenarioConfig, dayIndex: number): string {
  return isoDate(dayStartMs(config, dayIndex));
}

/** YYYY-MM-DD (UTC) of an epoch-milliseconds instant. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Saturday or Sunday (UTC). */
export function isWeekend(config: ScenarioConfig, dayIndex: number): boolean {
  const dow = new Date(dayStartMs(config, dayIndex)).getUTCDay();
  return dow === 0 || dow === 6;
}

/** Requests generated for day `dayIndex`. */
export function rowsForDay(config: ScenarioConfig, dayIndex: number): number {
  return isWeekend(config, dayIndex)
    ? Math.max(1, Math.round(config.rowsPerDay * config.weekendVolume))
    : config.rowsPerDay;
}

/** 0-based production week of a day (days before the start are week -1, -2, …). */
export function weekOf(dayIndex: number): number {
  return Math.floor(dayIndex / 7);
}
