/**
 * Promotion gate: decides whether a retrained candidate may replace the champion, producing a Blessing
 * record (like TFX's ModelBlessing) with every check and a human-readable reason for each failure.
 *
 * Every check runs even after one fails, so a refused candidate's blessing explains all its problems at
 * once. Missing numbers fail closed: a gate that passes when it cannot measure is no gate.
 */
import { z } from 'zod';
import { BlessingSchema } from '../schemas/manifests';
import type { Blessing } from '../schemas/manifests';
import { checkFlipRate } from './feedback-caps';
import { compareStrings } from './rng';
import { toEpochMs, toIso } from './time';
import type { Instant } from './time';

/** One metric rule. */
export const MetricRuleSchema = z.object({
  /** Metric name as in the metrics record, e.g. 'f1', 'roc_auc', 'log_loss'. */
  metric: z.string().min(1),
  /** Absolute bound: at least this when higher is better, at most this when lower is better. */
  minAbsolute: z.number().optional(),
  /**
   * Smallest allowed relative change vs the champion, signed so positive means better: -0.01 allows a
   * 1% relative drop, 0 demands no regression, 0.02 demands a 2% improvement.
   */
  minRelativeChange: z.number().optional(),
  higherIsBetter: z.boolean().default(true),
});
export type MetricRule = z.infer<typeof MetricRuleSchema>;
export type MetricRuleInput = z.input<typeof MetricRuleSchema>;

/** Gate policy. Parse `{}` for defaults. */
export const PromotionGateConfigSchema = z.object({
  /** Below this many test rows the metrics are too noisy to compare. */
  minTestRows: z.number().int().nonnegative().default(200),
  rules: z.array(MetricRuleSchema).prefault([{ metric: 'f1', minRelativeChange: -0.01 }]),
  /** Metric compared per slice; aggregate gains can hide a segment getting much worse. */
  sliceMetric: z.string().min(1).default('f1'),
  sliceMetricHigherIsBetter: z.boolean().default(true),
  /** Largest allowed absolute drop of the slice metric on any slice. */
  maxSliceRegression: z.number().nonnegative().default(0.05),
  /** Slices with fewer rows (on either side) are skipped: their metric is noise. */
  minSliceRows: z.number().int().nonnegative().default(30),
  /** Share of test predictions allowed to change vs the champion. */
  maxPredictionFlipRate: z.number().min(0).max(1).default(0.1),
});
export type PromotionGateConfig = z.infer<typeof PromotionGateConfigSchema>;
export type PromotionGateConfigInput = z.input<typeof PromotionGateConfigSchema>;

/** Metric values of one slice and how many test rows it had. */
export interface SliceMetrics {
  rows: number;
  metrics: Record<string, number>;
}

/** Arguments of {@link blessCandidate}. */
export interface BlessCandidateInput {
  candidate: Record<string, number>;
  /** Champion metrics on the same test set, or null when there is no champion yet. */
  champion: Record<string, number> | null;
  /** Slice key (e.g. 'country=DE') → metrics. */
  candidateSlices?: Record<string, SliceMetrics>;
  championSlices?: Record<string, SliceMetrics>;
  /** Number of rows in the test set both models were scored on. */
  testRows: number;
  /** Share of test predictions that differ from the champion's; checked when there is a champion. */
  flipRate?: number;
  gate?: PromotionGateConfigInput;
  now: Instant;
  /** Recorded as `comparedTo`. */
  championVersion?: string | null;
  testSetKey?: string | null;
}

type Check = Blessing['checks'][number];

/** Relative changes within this of the bound pass: float noise must not flip a verdict. */
const EPSILON = 1e-12;

/**
 * Evaluates a candidate. With no champion only absolute checks apply (test rows, metric minimums);
 * with one, relative metric changes, slice regressions and the flip rate are checked too.
 */
export function blessCandidate(input: BlessCandidateInput): Blessing {
  const gate = PromotionGateConfigSchema.parse(input.gate ?? {});
  const decidedAt = toIso(toEpochMs(input.now, 'now'));
  const checks: Check[] = [];

  checks.push({
    name: 'min-test-rows',
    passed: input.testRows >= gate.minTestRows,
    detail: `test set has ${input.testRows} rows (minimum ${gate.minTestRows})`,
  });

  for (const rule of gate.rules) checks.push(...metricChecks(rule, input.candidate, input.champion));

  if (input.champion !== null) {
    checks.push(...sliceChecks(gate, input.candidateSlices ?? {}, input.championSlices ?? {}));
    if (input.flipRate === undefined) {
      checks.push({ name: 'flip-rate', passed: false, detail: 'flip rate vs champion was not measured' });
    } else {
      const flip = checkFlipRate({
        flipRate: input.flipRate,
        config: { maxPredictionFlipRate: gate.maxPredictionFlipRate },
      });
      checks.push({ name: 'flip-rate', passed: flip.passed, detail: flip.detail });
    }
  }

  const failed = checks.filter((c) => !c.passed);
  const blessed = failed.length === 0;
  const reasons = blessed
    ? [
        input.champion === null
          ? `blessed: no champion, all ${checks.length} absolute checks passed`
          : `blessed: all ${checks.length} checks passed against champion ${input.championVersion ?? '(unnamed)'}`,
      ]
    : failed.map((c) => c.detail);

  return BlessingSchema.parse({
    blessed,
    reasons,
    comparedTo: input.champion === null ? null : (input.championVersion ?? null),
    testSetKey: input.testSetKey ?? null,
    decidedAt,
    checks,
  });
}

function metricChecks(
  rule: MetricRule,
  candidate: Record<string, number>,
  champion: Record<string, number> | null,
): Check[] {
  const name = rule.metric;
  const value = lookup(candidate, name);
  if (value === undefined) {
    return [{ name: `metric:${name}`, passed: false, detail: `candidate has no ${name} metric` }];
  }
  const checks: Check[] = [];
  if (rule.minAbsolute !== undefined) {
    const passed = rule.higherIsBetter ? value >= rule.minAbsolute : value <= rule.minAbsolute;
    checks.push({
      name: `metric:${name}:absolute`,
      passed,
      detail: `candidate ${name} ${fmt(value)} ${passed ? 'meets' : 'misses'} the ${rule.higherIsBetter ? 'minimum' : 'maximum'} ${fmt(rule.minAbsolute)}`,
    });
  }
  if (champion !== null && rule.minRelativeChange !== undefined) {
    const base = lookup(champion, name);
    if (base === undefined) {
      checks.push({
        name: `metric:${name}:vs-champion`,
        passed: false,
        detail: `champion has no ${name} metric on this test set, cannot compare`,
      });
    } else {
      const better = rule.higherIsBetter ? value - base : base - value;
      // Relative to the champion; a zero champion has no scale, so fall back to the absolute difference.
      const change = Math.abs(base) < EPSILON ? better : better / Math.abs(base);
      const passed = change >= rule.minRelativeChange - EPSILON;
      checks.push({
        name: `metric:${name}:vs-champion`,
        passed,
        detail:
          `candidate ${name} ${fmt(value)} vs champion ${fmt(base)}: ${signedPct(change)} ${change >= 0 ? 'better' : 'worse'}` +
          (passed ? '' : `, beyond the allowed ${signedPct(rule.minRelativeChange)}`),
      });
    }
  }
  return checks;
}

function sliceChecks(
  gate: PromotionGateConfig,
  candidateSlices: Record<string, SliceMetrics>,
  championSlices: Record<string, SliceMetrics>,
): Check[] {
  const checks: Check[] = [];
  const skipped: string[] = [];
  const metric = gate.sliceMetric;
  const keys = [...new Set([...Object.keys(candidateSlices), ...Object.keys(championSlices)])].sort(
    compareStrings,
  );
  for (const key of keys) {
    const cand = own(candidateSlices, key);
    const champ = own(championSlices, key);
    if (cand === undefined || champ === undefined) {
      skipped.push(`${key} (only one model has it)`);
      continue;
    }
    const rows = Math.min(cand.rows, champ.rows);
    if (rows < gate.minSliceRows) {
      skipped.push(`${key} (${rows} rows)`);
      continue;
    }
    const c = lookup(cand.metrics, metric);
    const h = lookup(champ.metrics, metric);
    if (c === undefined || h === undefined) {
      checks.push({
        name: `slice:${key}`,
        passed: false,
        detail: `slice ${key} lacks ${metric} on one side`,
      });
      continue;
    }
    const regression = gate.sliceMetricHigherIsBetter ? h - c : c - h;
    const passed = regression <= gate.maxSliceRegression + EPSILON;
    checks.push({
      name: `slice:${key}`,
      passed,
      detail:
        `slice ${key} ${metric} ${fmt(c)} vs champion ${fmt(h)} (${rows} rows)` +
        (passed
          ? ''
          : `: regressed by ${fmt(regression)}, more than the allowed ${fmt(gate.maxSliceRegression)}`),
    });
  }
  if (skipped.length > 0) {
    checks.push({
      name: 'slices-skipped',
      passed: true,
      detail: `not compared (fewer than ${gate.minSliceRows} rows or one-sided): ${skipped.join(', ')}`,
    });
  }
  return checks;
}

/** A finite own-property value, or undefined: NaN or a missing metric must fail, not compare false-y. */
function lookup(record: Record<string, number>, key: string): number | undefined {
  const value = own(record, key);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function own<V>(record: Record<string, V>, key: string): V | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

function fmt(value: number): string {
  return String(Math.round(value * 10000) / 10000);
}

function signedPct(value: number): string {
  const rounded = Math.round(value * 10000) / 100;
  return `${rounded >= 0 ? '+' : ''}${rounded}%`;
}
