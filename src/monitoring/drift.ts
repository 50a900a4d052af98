import { z } from 'zod';
import { jsDistance, klDivergence, psi } from './divergence';
import { formatNumber } from './format';
import type { DriftAccumulator, Histogram, NumericHistogram } from './histogram';
import type { FeatureProfile, NumericFeatureProfile, ReferenceProfile } from './profile';
import { OTHER_LABEL } from './profile';

/** Bin labels of the special bins (the value bins are labelled by their interval or value). */
export const UNSEEN_LABEL = '__unseen__';
export const MISSING_LABEL = '__missing__';
export const WRONG_TYPE_LABEL = '__wrong_type__';

/**
 * Drift level of one feature. `insufficient-data` is deliberately not an alert: a PSI over a handful of
 * rows is noise, and paging someone for it teaches them to ignore the page.
 */
export const DriftLevelSchema = z.enum(['none', 'warn', 'alert', 'insufficient-data']);
export type DriftLevel = z.infer<typeof DriftLevelSchema>;

/** Worse levels rank higher; insufficient data sits between "none" and "warn". */
export const DRIFT_LEVEL_RANK: Record<DriftLevel, number> = {
  none: 0,
  'insufficient-data': 1,
  warn: 2,
  alert: 3,
};

/** Per-feature (or per-score) override of the defaults; unset fields fall back to the defaults. */
export const DriftThresholdOverrideSchema = z.object({
  warn: z.number().nonnegative().optional(),
  alert: z.number().nonnegative().optional(),
  minRows: z.number().int().nonnegative().optional(),
});
export type DriftThresholdOverride = z.infer<typeof DriftThresholdOverrideSchema>;

/**
 * PSI thresholds. A level is reached when PSI ≥ its threshold (so the defaults read: < 0.1 none,
 * 0.1–0.25 warn, ≥ 0.25 alert). Per-feature overrides exist because some features are noisier than
 * others, e.g. `{ features: { query_length: { warn: 0.15 } } }`.
 */
export const DriftThresholdsSchema = z
  .object({
    warn: z.number().nonnegative().default(0.1),
    alert: z.number().nonnegative().default(0.25),
    /** Fewer current (or reference) rows than this → `insufficient-data` instead of a level. */
    minRows: z.number().int().nonnegative().default(100),
    features: z.record(z.string(), DriftThresholdOverrideSchema).default({}),
    /** Overrides for the prediction-score distributions. */
    scores: DriftThresholdOverrideSchema.default({}),
    /**
     * Share of the window's log lines that failed validation (and so are in no histogram) that the
     * window may have: more than `warn` → at least `warn`, more than `alert` → `alert`. A window whose
     * lines are all invalid must not read as "no drift".
     */
    invalidRate: z
      .object({ warn: z.number().min(0).max(1).default(0.01), alert: z.number().min(0).max(1).default(0.2) })
      .default({ warn: 0.01, alert: 0.2 }),
  })
  .superRefine((t, ctx) => {
    const check = (o: DriftThresholdOverride, path: (string | number)[]): void => {
      const warn = o.warn ?? t.warn;
      const alert = o.alert ?? t.alert;
      if (warn > alert)
        ctx.addIssue({ code: 'custom', path, message: `warn (${warn}) must be ≤ alert (${alert})` });
    };
    check({}, []);
    if (t.invalidRate.warn > t.invalidRate.alert)
      ctx.addIssue({ code: 'custom', path: ['invalidRate'], message: 'invalidRate.warn must be ≤ alert' });
    for (const [name, o] of Object.entries(t.features)) check(o, ['features', name]);
    check(t.scores, ['scores']);
  });
export type DriftThresholds = z.infer<typeof DriftThresholdsSchema>;
export type DriftThresholdsInput = z.input<typeof DriftThresholdsSchema>;

/** Drift of one feature (or one score class) between the reference and the current window. */
export const FeatureDriftSchema = z.object({
  feature: z.string(),
  kind: z.enum(['numeric', 'categorical', 'score']),
  /** Null only when a side has no rows at all. */
  psi: z.number().nonnegative().nullable(),
  /** KL(current ‖ reference) in nats. */
  kl: z.number().nonnegative().nullable(),
  /** Jensen–Shannon distance, natural log: in [0, √(ln 2)]. */
  js: z.number().nonnegative().nullable(),
  level: DriftLevelSchema,
  warnAt: z.number(),
  alertAt: z.number(),
  minRows: z.number().int(),
  rows: z.number().int().nonnegative(),
  referenceRows: z.number().int().nonnegative(),
  /** Bin labels; bins empty on both sides are left out (they only add ε noise and clutter charts). */
  labels: z.array(z.string()),
  /** Unsmoothed proportions per bin (all rows, so missing and wrongly typed values are bins too). */
  reference: z.array(z.number()),
  current: z.array(z.number()),
});
export type FeatureDrift = z.infer<typeof FeatureDriftSchema>;

/** The window's invalid log lines, which no histogram counts. */
export const InvalidRowsSchema = z.object({
  rows: z.number().int().nonnegative(),
  /** rows / (rows + valid rows); 0 for an empty window. */
  rate: z.number().min(0).max(1),
  /** `none`, or the level the rate reached against `thresholds.invalidRate`. */
  level: z.enum(['none', 'warn', 'alert']),
});
export type InvalidRows = z.infer<typeof InvalidRowsSchema>;

export const DriftReportSchema = z.object({
  profileFingerprint: z.string(),
  rows: z.number().int().nonnegative(),
  referenceRows: z.number().int().nonnegative(),
  /**
   * Worst level over features and scores (see {@link overallLevel}) and the invalid-row level;
   * `insufficient-data` when the reference has no rows or no feature to judge.
   */
  level: DriftLevelSchema,
  invalid: InvalidRowsSchema,
  counts: z.object({
    alert: z.number().int(),
    warn: z.number().int(),
    none: z.number().int(),
    insufficientData: z.number().int(),
  }),
  /** Worst first: by level, then PSI, then name. */
  features: z.array(FeatureDriftSchema),
  scores: z.array(FeatureDriftSchema),
  thresholds: DriftThresholdsSchema,
});
export type DriftReport = z.infer<typeof DriftReportSchema>;

/** Reference and current counts over the same labelled bins, before dropping empty ones. */
export interface BinTable {
  labels: string[];
  reference: number[];
  current: number[];
}

/** Labels of a numeric histogram's bins: underflow, right-closed quantile intervals, overflow. */
export function numericLabels(min: number, max: number, cutPoints: readonly number[]): string[] {
  const f = (x: number): string => formatNumber(x, 6, false);
  const edges = [min, ...cutPoints, max];
  const bins: string[] = [];
  for (let j = 0; j + 1 < edges.length; j += 1) {
    bins.push(`${j === 0 ? '[' : '('}${f(edges[j])}, ${f(edges[j + 1])}]`);
  }
  return [`< ${f(min)}`, ...bins, `> ${f(max)}`, MISSING_LABEL, WRONG_TYPE_LABEL];
}

function numericTable(p: NumericFeatureProfile, h: NumericHistogram): BinTable {
  return {
    labels: numericLabels(p.min, p.max, p.cutPoints),
    // Under/overflow are 0 in the reference by construction (min and max are the reference's own).
    reference: [0, ...p.binCounts, 0, p.missing, p.typeMismatch],
    current: [...h.counts, h.missing, h.typeMismatch],
  };
}

/** The reference and current counts of one feature over the same bins. */
export function binTable(p: FeatureProfile, h: Histogram): BinTable {
  if (p.kind === 'numeric' && h.kind === 'numeric') return numericTable(p, h);
  if (p.kind === 'categorical' && h.kind === 'categorical') {
    return {
      labels: [...p.values.map((v) => v.value), OTHER_LABEL, UNSEEN_LABEL, MISSING_LABEL, WRONG_TYPE_LABEL],
      reference: [...p.values.map((v) => v.count), p.otherCount, 0, p.missing, p.typeMismatch],
      current: [...h.counts, h.missing, h.typeMismatch],
    };
  }
  throw new Error(`profile and accumulator disagree on the kind of '${p.name}'`);
}

interface Resolved {
  warn: number;
  alert: number;
  minRows: number;
}

function resolve(t: DriftThresholds, o: DriftThresholdOverride | undefined): Resolved {
  return { warn: o?.warn ?? t.warn, alert: o?.alert ?? t.alert, minRows: o?.minRows ?? t.minRows };
}

const proportions = (xs: number[]): number[] => {
  const sum = xs.reduce((s, x) => s + x, 0);
  return xs.map((x) => (sum === 0 ? 0 : x / sum));
};

function featureDrift(
  feature: string,
  kind: FeatureDrift['kind'],
  table: BinTable,
  rows: number,
  referenceRows: number,
  t: Resolved,
): FeatureDrift {
  const keep = table.labels.map((_, i) => table.reference[i] > 0 || table.current[i] > 0);
  const labels = table.labels.filter((_, i) => keep[i]);
  const reference = proportions(table.reference.filter((_, i) => keep[i]));
  const current = proportions(table.current.filter((_, i) => keep[i]));
  const computable = rows > 0 && referenceRows > 0;
  const value = computable ? psi(reference, current) : null;
  let level: DriftLevel;
  if (value === null || rows < t.minRows || referenceRows < t.minRows) level = 'insufficient-data';
  else if (value >= t.alert) level = 'alert';
  else if (value >= t.warn) level = 'warn';
  else level = 'none';
  return {
    feature,
    kind,
    psi: value,
    kl: computable ? klDivergence(current, reference) : null,
    js: computable ? jsDistance(reference, current) : null,
    level,
    warnAt: t.warn,
    alertAt: t.alert,
    minRows: t.minRows,
    rows,
    referenceRows,
    labels,
    reference,
    current,
  };
}

/** Worst first: level, then PSI (unknown last), then name for a stable order. */
export function compareDrift(a: FeatureDrift, b: FeatureDrift): number {
  return (
    DRIFT_LEVEL_RANK[b.level] - DRIFT_LEVEL_RANK[a.level] ||
    (b.psi ?? -1) - (a.psi ?? -1) ||
    (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0)
  );
}

/**
 * The worst level among entries that had enough data; `insufficient-data` only when none had (so a
 * window without scores does not mask the features' verdict), `none` when there is nothing to judge.
 */
export function overallLevel(entries: readonly FeatureDrift[]): DriftLevel {
  const judged = entries.filter((e) => e.level !== 'insufficient-data');
  if (judged.length === 0) return entries.length > 0 ? 'insufficient-data' : 'none';
  return judged.reduce<DriftLevel>(
    (worst, e) => (DRIFT_LEVEL_RANK[e.level] > DRIFT_LEVEL_RANK[worst] ? e.level : worst),
    'none',
  );
}

const own = <T>(record: Record<string, T>, key: string): T | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/** What the window's reader knows beyond the accumulator. */
export interface DriftWindowFacts {
  /** Log lines of the window that failed validation (quarantined; in no histogram). */
  invalidRows?: number;
}

function invalidRows(invalid: number, valid: number, t: DriftThresholds): InvalidRows {
  if (!Number.isInteger(invalid) || invalid < 0)
    throw new RangeError(`invalidRows must be a whole number ≥ 0, got ${invalid}`);
  const rate = invalid + valid === 0 ? 0 : invalid / (invalid + valid);
  const level = rate > t.invalidRate.alert ? 'alert' : rate > t.invalidRate.warn ? 'warn' : 'none';
  return { rows: invalid, rate, level };
}

/**
 * Compares a window's accumulator with the reference profile: PSI, KL(current‖reference) and JS distance
 * per feature and per score class, with a level from the thresholds. `facts.invalidRows` (lines the
 * reader had to leave out) raises the level when their share exceeds `thresholds.invalidRate`.
 */
export function computeDrift(
  profile: ReferenceProfile,
  accumulator: DriftAccumulator,
  thresholds: DriftThresholdsInput = {},
  facts: DriftWindowFacts = {},
): DriftReport {
  if (profile.fingerprint !== accumulator.profileFingerprint) {
    throw new Error(
      `accumulator was built for profile ${accumulator.profileFingerprint}, not ${profile.fingerprint}`,
    );
  }
  const t = DriftThresholdsSchema.parse(thresholds);
  const features = profile.features.map((p, i) => {
    const h = accumulator.features[i];
    if (h === undefined || h.name !== p.name) throw new Error(`accumulator has no histogram for '${p.name}'`);
    const r = resolve(t, own(t.features, p.name));
    return featureDrift(p.name, p.kind, binTable(p, h), accumulator.rows, profile.rows, r);
  });
  const scores = profile.scores.classes.map((p, i) => {
    const h = accumulator.scores[i];
    if (h === undefined || h.name !== p.name)
      throw new Error(`accumulator has no score histogram for '${p.name}'`);
    const r = resolve(t, t.scores);
    return featureDrift(p.name, 'score', numericTable(p, h), accumulator.scoredRows, profile.scores.rows, r);
  });
  features.sort(compareDrift);
  scores.sort(compareDrift);
  const all = [...features, ...scores];
  const countOf = (level: DriftLevel): number => all.filter((e) => e.level === level).length;
  const invalid = invalidRows(facts.invalidRows ?? 0, accumulator.rows, t);
  // An empty reference (or one with no usable feature) judges nothing: that is not "no drift".
  let level: DriftLevel = all.length === 0 || profile.rows === 0 ? 'insufficient-data' : overallLevel(all);
  if (invalid.level !== 'none' && DRIFT_LEVEL_RANK[invalid.level] > DRIFT_LEVEL_RANK[level])
    level = invalid.level;
  return {
    profileFingerprint: profile.fingerprint,
    rows: accumulator.rows,
    referenceRows: profile.rows,
    level,
    invalid,
    counts: {
      alert: countOf('alert'),
      warn: countOf('warn'),
      none: countOf('none'),
      insufficientData: countOf('insufficient-data'),
    },
    features,
    scores,
    thresholds: t,
  };
}
