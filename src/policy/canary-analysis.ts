/**
 * Canary analysis: compares the canary's health with the champion (control) at one rollout step and
 * says whether to continue, pause for a human, roll back, or wait for more traffic. Every compared
 * measure gets its own verdict line naming both values, the difference worded correctly and the
 * number of requests or outcomes it rests on. Also the sticky traffic split that decides which entities
 * see the canary.
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
  /** Denominator for latency when the control's p99 is 0 ms (a ratio against 0 has no meaning). */
  latencyFloorMs: z.number().positive().default(1),
  /**
   * p99 increases smaller than this many milliseconds (absolute) are noise, whatever their ratio:
   * at sub-millisecond model latencies a GC pause doubles the p99 without any user noticing.
   */
  minLatencyDeltaMs: z.number().nonnegative().default(2),
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]), 'steps must be strictly increasing')
    .default([...DEFAULT_CANARY_STEPS]),
});
export type CanaryConfig = z.infer<typeof CanaryConfigSchema>;
export type CanaryConfigInput = z.input<typeof CanaryConfigSchema>;

/** One model metric of one side, with the evidence it rests on. */
export interface CanaryMetric {
  name: string;
  value: number;
  higherIsBetter: boolean;
  /** How many outcomes (or pairs, or test rows) the value rests on; default: the side's requests. */
  n?: number;
  /** What `n` counts, for the report, e.g. "labelled outcomes", "shared requests". Default "requests". */
  unit?: string;
  /** Where the value comes from when not from this window's live traffic, e.g. "offline, gate test set". */
  source?: string;
}

/** Health of one side (control = champion, or canary) over the analysis interval. */
export interface CanarySide {
  requests: number;
  errors: number;
  latencyP99Ms: number;
  /** Model metrics, matched with the other side's by name. A canary metric with no control is information only. */
  metrics?: CanaryMetric[];
}

export type CanaryVerdict = 'continue' | 'pause' | 'rollback' | 'wait';

/** The verdict on one measure. */
export type MeasureVerdict = 'ok' | 'investigate' | 'rollback' | 'insufficient-evidence' | 'info';

/** One compared measure; positive `relativeChange` means the canary is worse. */
export interface CanaryMeasure {
  measure: string;
  relativeChange: number;
  /** The evidence on each side: requests for error rate and latency, outcomes for model metrics. */
  n: { control: number; canary: number };
  verdict: MeasureVerdict;
  /** One line: both values, n, the difference, and the verdict with its reason. */
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
  /** Every measure compared, degraded or not, each with its own verdict line. */
  measures: CanaryMeasure[];
  /** Why nothing was decided, or which measures were skipped. */
  notes: string[];
}

/**
 * Compares canary with control. Each measure gets its own verdict: error rate and p99 latency need
 * `minRequests` on each side and are noise below their absolute floors (`minErrorRateDelta`,
 * `minLatencyDeltaMs`); a model metric needs `minMetricSamples` (default 200) outcomes on each side ("insufficient
 * evidence" otherwise) and a control to be judged at all ("info" when the canary reports a metric the
 * control has no value for). Overall verdict: 'wait' if either side has fewer than `minRequests`;
 * otherwise 'rollback' if any measure degraded by ≥ `rollbackAt`, 'pause' if any by ≥ `investigateAt`,
 * else 'continue'. Relative change is signed so that positive = canary worse.
 */
export function analyseStep(input: {
  control: CanarySide;
  canary: CanarySide;
  config?: CanaryConfigInput;
  /** Outcomes (labelled rows; shared requests for agreement) each side needs before a model metric is judged. */
  minMetricSamples?: number;
}): StepAnalysis {
  const cfg = {
    ...CanaryConfigSchema.parse(input.config ?? {}),
    minMetricSamples: input.minMetricSamples ?? 200,
  };
  const { control, canary } = input;
  validateSide('control', control);
  validateSide('canary', canary);
  const notes: string[] = [];
  const enoughTraffic = control.requests >= cfg.minRequests && canary.requests >= cfg.minRequests;
  if (!enoughTraffic) {
    notes.push(
      `too few requests to judge: control ${control.requests}, canary ${canary.requests}, need ${cfg.minRequests} each`,
    );
  }
  const requestsN = { control: control.requests, canary: canary.requests };
  const requestsEvidence = `n ${canary.requests} vs ${control.requests} requests`;

  /** Verdict and its wording for one relative change; `floor` names the absolute floor it failed to reach. */
  const judge = (
    rel: number,
    evidence: { enough: boolean; need: string },
    floor: string | null,
  ): { verdict: MeasureVerdict; text: string } => {
    if (!evidence.enough)
      return { verdict: 'insufficient-evidence', text: `insufficient evidence (${evidence.need})` };
    if (rel < cfg.investigateAt) return { verdict: 'ok', text: 'ok' };
    if (floor) return { verdict: 'ok', text: `ok (below the ${floor} absolute floor: noise)` };
    return rel >= cfg.rollbackAt
      ? { verdict: 'rollback', text: `rollback (≥ ${pct(cfg.rollbackAt)} worse)` }
      : { verdict: 'investigate', text: `investigate (≥ ${pct(cfg.investigateAt)} worse)` };
  };
  const trafficEvidence = { enough: enoughTraffic, need: `${cfg.minRequests} requests each` };

  const measures: CanaryMeasure[] = [];

  const controlRate = control.requests ? control.errors / control.requests : 0;
  const canaryRate = canary.requests ? canary.errors / canary.requests : 0;
  const errorDelta = canaryRate - controlRate;
  const errorBase = Math.max(controlRate, cfg.errorRateFloor);
  const errorRel = errorDelta / errorBase;
  // Below the absolute delta the relative number is noise (e.g. 0 → 1 error in 1000 requests).
  const errorJudged = judge(
    errorRel,
    trafficEvidence,
    errorDelta < cfg.minErrorRateDelta ? `${points(cfg.minErrorRateDelta)}` : null,
  );
  measures.push({
    measure: 'error-rate',
    relativeChange: errorRel,
    n: requestsN,
    verdict: errorJudged.verdict,
    detail: `error rate ${pct(canaryRate, 2)} vs control ${pct(controlRate, 2)} (${requestsEvidence}): ${signedPoints(errorDelta)}, ${relWord(errorRel)}${controlRate < cfg.errorRateFloor ? ` relative to the ${pct(cfg.errorRateFloor)} floor` : ''}: ${errorJudged.text}`,
  });

  const latencyDelta = canary.latencyP99Ms - control.latencyP99Ms;
  const latencyBase = control.latencyP99Ms > 0 ? control.latencyP99Ms : cfg.latencyFloorMs;
  const latencyRel = latencyDelta / latencyBase;
  const latencyJudged = judge(
    latencyRel,
    trafficEvidence,
    latencyDelta < cfg.minLatencyDeltaMs ? `${num(cfg.minLatencyDeltaMs)} ms` : null,
  );
  measures.push({
    measure: 'latency-p99',
    relativeChange: latencyRel,
    n: requestsN,
    verdict: latencyJudged.verdict,
    detail: `p99 latency ${num(canary.latencyP99Ms)} ms vs control ${num(control.latencyP99Ms)} ms (${requestsEvidence}): ${latencyDelta >= 0 ? '+' : '−'}${num(Math.abs(latencyDelta))} ms, ${relWord(latencyRel)}${control.latencyP99Ms > 0 ? '' : ` relative to the ${num(cfg.latencyFloorMs)} ms floor`}: ${latencyJudged.text}`,
  });

  for (const m of canary.metrics ?? []) {
    const nCanary = m.n ?? canary.requests;
    const unit = m.unit ?? 'requests';
    const c = control.metrics?.find((x) => x.name === m.name);
    if (!c) {
      measures.push({
        measure: `metric:${m.name}`,
        relativeChange: 0,
        n: { control: 0, canary: nCanary },
        verdict: 'info',
        detail: `${m.name} ${num(m.value)} (n ${nCanary} ${unit}): no control value to compare with, information only`,
      });
      continue;
    }
    if (c.higherIsBetter !== m.higherIsBetter) {
      notes.push(`metric ${m.name} skipped: the sides disagree on whether higher is better`);
      continue;
    }
    const nControl = c.n ?? control.requests;
    const worse = m.higherIsBetter ? c.value - m.value : m.value - c.value;
    // A zero control has no scale; fall back to the absolute difference.
    const rel = c.value === 0 ? worse : worse / Math.abs(c.value);
    const judged = judge(
      rel,
      {
        enough: enoughTraffic && nCanary >= cfg.minMetricSamples && nControl >= cfg.minMetricSamples,
        need: `${cfg.minMetricSamples} ${unit} each${enoughTraffic ? '' : ` and ${cfg.minRequests} requests each`}`,
      },
      null,
    );
    measures.push({
      measure: `metric:${m.name}`,
      relativeChange: rel,
      n: { control: nControl, canary: nCanary },
      verdict: judged.verdict,
      detail: `${m.name} ${num(m.value)} vs control ${num(c.value)}${c.source ? ` (${c.source})` : ''} (n ${nCanary} ${unit} vs ${nControl} ${c.unit ?? unit}; ${m.higherIsBetter ? 'higher' : 'lower'} is better): ${relWord(rel)}: ${judged.text}`,
    });
  }
  for (const c of control.metrics ?? []) {
    if (!canary.metrics?.some((m) => m.name === c.name))
      notes.push(`metric ${c.name} skipped: the canary does not report it`);
  }

  const degradations: Degradation[] = measures
    .filter((m) => m.verdict === 'investigate' || m.verdict === 'rollback')
    .map((m) => ({ ...m, severity: m.verdict as Degradation['severity'] }))
    .sort((x, y) => y.relativeChange - x.relativeChange);

  const verdict: CanaryVerdict = !enoughTraffic
    ? 'wait'
    : degradations.some((d) => d.severity === 'rollback')
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
    side.latencyP99Ms >= 0 &&
    (side.metrics ?? []).every(
      (m) => Number.isFinite(m.value) && (m.n === undefined || (Number.isInteger(m.n) && m.n >= 0)),
    );
  if (!ok) {
    throw new Error(`invalid ${name} stats: ${JSON.stringify(side)}`);
  }
}

/** A share as a percentage, e.g. 0.0356 → "3.6%" (digits: decimals shown). */
export function pct(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** A relative change worded with its direction: 1.0056 → "100.6% worse", −0.02 → "2.0% better". */
export function relWord(rel: number): string {
  if (rel === 0) return 'no change';
  return rel > 0 ? `${pct(rel)} worse` : `${pct(-rel)} better`;
}

/** An absolute difference of two rates in percentage points: 0.005 → "+0.50 points". */
function signedPoints(delta: number): string {
  return `${delta >= 0 ? '+' : '−'}${(Math.abs(delta) * 100).toFixed(2)} points`;
}

function points(delta: number): string {
  return `${(delta * 100).toFixed(2)}-point`;
}

/** Four significant digits, no trailing zeros: 0.07142857 → "0.07143", 104 → "104". */
function num(value: number): string {
  return String(Number(value.toPrecision(4)));
}
