/**
 * Canary analysis: compares the canary's health with the champion (control) at one rollout step and
 * says whether to continue, pause for a human, roll back, or wait for more traffic. Also the sticky
 * traffic split that decides which entities see the canary.
 */
import { z } from 'zod';
import { fnv1a32 } from './rng';

/** Default rollout steps, percent of traffic: small first so a bad model hurts few users. */
export const DEFAULT_CANARY_STEPS: readonly number[] = Object.freeze([1, 5, 10, 25, 50, 100]);

/** Canary policy. Parse `{}` for defaults. */
export const CanaryConfigSchema = z.object({
  /** Relative degradation at which a human should look before the rollout proceeds. */
  investigateAt: z.number().nonnegative().default(0.03),
  /** Relative degradation at which the canary is rolled back without waiting for a human. */
  rollbackAt: z.number().nonnegative().default(0.1),
  /** Requests needed on each side before any verdict: small samples give wild ratios. */
  minRequests: z.number().int().nonnegative().default(500),
  /**
   * Denominator floor for the error-rate comparison: with a perfect control (0 errors) a plain ratio is
   * infinite, so the increase is measured against max(control rate, floor).
   */
  errorRateFloor: z.number().positive().max(1).default(0.01),
  /** Error-rate increases smaller than this (absolute) are noise, not degradations. */
  minErrorRateDelta: z.number().nonnegative().max(1).default(0.002),
  /** Denominator floor for latency, so a 0 ms control does not divide by zero. */
  latencyFloorMs: z.number().positive().default(1),
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]), 'steps must be strictly increasing')
    .default([...DEFAULT_CANARY_STEPS]),
});
export type CanaryConfig = z.infer<typeof CanaryConfigSchema>;
export type CanaryConfigInput = z.input<typeof CanaryConfigSchema>;

/** Health of one side (control = champion, or canary) over the analysis interval. */
export interface CanarySide {
  requests: number;
  errors: number;
  latencyP99Ms: number;
  /** Optional online quality metric, e.g. click-through or acceptance rate. */
  metric?: { name: string; value: number; higherIsBetter: boolean };
}

export type CanaryVerdict = 'continue' | 'pause' | 'rollback' | 'wait';

/** One compared measure; positive `relativeChange` means the canary is worse. */
export interface CanaryMeasure {
  measure: string;
  relativeChange: number;
  detail: string;
}

/** A measure that crossed a threshold. */
export interface Degradation extends CanaryMeasure {
  severity: 'investigate' | 'rollback';
}

/** Verdict of {@link analyseStep}. */
export interface StepAnalysis {
  verdict: CanaryVerdict;
  /** Measures at or beyond `investigateAt`, worst first. */
  degradations: Degradation[];
  /** Every measure compared, degraded or not, for dashboards. */
  measures: CanaryMeasure[];
  /** Why nothing was decided, or which measures were skipped. */
  notes: string[];
}

/**
 * Compares canary with control. Verdict: 'wait' if either side has fewer than `minRequests`; otherwise
 * 'rollback' if any measure degraded by ≥ `rollbackAt`, 'pause' if any by ≥ `investigateAt`, else
 * 'continue'. Degradation is relative and signed so that positive = canary worse.
 */
export function analyseStep(input: {
  control: CanarySide;
  canary: CanarySide;
  config?: CanaryConfigInput;
}): StepAnalysis {
  const cfg = CanaryConfigSchema.parse(input.config ?? {});
  const { control, canary } = input;
  validateSide('control', control);
  validateSide('canary', canary);
  const notes: string[] = [];

  if (control.requests < cfg.minRequests || canary.requests < cfg.minRequests) {
    notes.push(
      `too few requests to judge: control ${control.requests}, canary ${canary.requests}, need ${cfg.minRequests} each`,
    );
    return { verdict: 'wait', degradations: [], measures: [], notes };
  }

  const measures: CanaryMeasure[] = [];
  const controlRate = control.errors / control.requests;
  const canaryRate = canary.errors / canary.requests;
  const errorDelta = canaryRate - controlRate;
  measures.push({
    measure: 'error-rate',
    relativeChange: errorDelta / Math.max(controlRate, cfg.errorRateFloor),
    detail: `error rate ${pct(canaryRate)} vs control ${pct(controlRate)}`,
  });
  // Below the absolute delta the relative number is noise (e.g. 0 → 1 error in 1000 requests).
  const errorDeltaIsNoise = errorDelta < cfg.minErrorRateDelta;

  measures.push({
    measure: 'latency-p99',
    relativeChange:
      (canary.latencyP99Ms - control.latencyP99Ms) / Math.max(control.latencyP99Ms, cfg.latencyFloorMs),
    detail: `p99 latency ${canary.latencyP99Ms} ms vs control ${control.latencyP99Ms} ms`,
  });

  if (control.metric && canary.metric) {
    const a = control.metric;
    const b = canary.metric;
    if (a.name !== b.name || a.higherIsBetter !== b.higherIsBetter) {
      notes.push(`metric skipped: control reports ${a.name}, canary reports ${b.name}`);
    } else {
      const worse = a.higherIsBetter ? a.value - b.value : b.value - a.value;
      measures.push({
        measure: `metric:${a.name}`,
        // A zero control has no scale; fall back to the absolute difference.
        relativeChange: a.value === 0 ? worse : worse / Math.abs(a.value),
        detail: `${a.name} ${b.value} vs control ${a.value} (${a.higherIsBetter ? 'higher' : 'lower'} is better)`,
      });
    }
  } else if (control.metric || canary.metric) {
    notes.push('metric skipped: only one side reports it');
  }

  const degradations: Degradation[] = measures
    .filter((m) => !(m.measure === 'error-rate' && errorDeltaIsNoise))
    .filter((m) => m.relativeChange >= cfg.investigateAt)
    .map((m) => ({
      ...m,
      severity: m.relativeChange >= cfg.rollbackAt ? ('rollback' as const) : ('investigate' as const),
      detail: `${m.detail}: ${pct(m.relativeChange)} worse`,
    }))
    .sort((x, y) => y.relativeChange - x.relativeChange);

  const verdict: CanaryVerdict = degradations.some((d) => d.severity === 'rollback')
    ? 'rollback'
    : degradations.length > 0
      ? 'pause'
      : 'continue';
  return { verdict, degradations, measures, notes };
}

/**
 * Sticky traffic split: FNV-1a 32-bit of `salt + entityId`, mod 10000, below `weightPercent × 100`
 * → canary. The same entity always lands on the same side for a given salt, and raising the weight only
 * moves champion entities to the canary, never back — users do not flip-flop between models.
 * Use a new salt per rollout so the same users are not always the guinea pigs.
 */
export function canaryShare(entityId: string, weightPercent: number, salt = ''): 'canary' | 'champion' {
  if (!Number.isFinite(weightPercent) || weightPercent < 0 || weightPercent > 100) {
    throw new Error(`canary weight must be a percentage in [0, 100], got ${weightPercent}`);
  }
  const bucket = fnv1a32(salt + entityId) % 10000;
  return bucket < Math.round(weightPercent * 100) ? 'canary' : 'champion';
}

/** The step after `currentPercent`, or null when the rollout is complete. */
export function nextCanaryStep(
  currentPercent: number,
  steps: readonly number[] = DEFAULT_CANARY_STEPS,
): number | null {
  return steps.find((s) => s > currentPercent) ?? null;
}

function validateSide(name: string, side: CanarySide): void {
  const ok =
    Number.isInteger(side.requests) &&
    side.requests >= 0 &&
    Number.isInteger(side.errors) &&
    side.errors >= 0 &&
    side.errors <= side.requests &&
    Number.isFinite(side.latencyP99Ms) &&
    side.latencyP99Ms >= 0;
  if (!ok) {
    throw new Error(`invalid ${name} stats: ${JSON.stringify(side)}`);
  }
}

function pct(value: number): string {
  return `${Math.round(value * 10000) / 100}%`;
}
