import { z } from 'zod';
import { NUMERIC_STRING_SHARE } from '../ml/numeric-string';
import { topCounts } from './count-list';
import type { CountList } from './count-list';
import { formatCount, formatNumber, formatPercent, quote } from './format';
import type { CategoricalHistogram, DriftAccumulator, Histogram, NumericHistogram } from './histogram';
import type {
  CategoricalFeatureProfile,
  FeatureProfile,
  NumericFeatureProfile,
  ReferenceProfile,
} from './profile';

/**
 * Training-serving skew: the serving pipeline feeding the model something other than what it was trained
 * on (e.g. training encoded country as "US"/"UK"/"DE", production sends "United States"). Unlike drift,
 * which the world causes slowly, skew is a bug that appears on day one, so the checks are about
 * encodings, types, ranges and missing columns rather than distribution distances.
 */
export const SkewCheckSchema = z.enum([
  'unseen-categories',
  'type-change',
  'missing-rate',
  'range-violation',
  'missing-feature',
  'new-feature',
  'never-seen-values',
  'numbers-as-strings',
]);
export type SkewCheck = z.infer<typeof SkewCheckSchema>;

export const SkewSeveritySchema = z.enum(['info', 'warn', 'alert']);
export type SkewSeverity = z.infer<typeof SkewSeveritySchema>;

const SEVERITY_RANK: Record<SkewSeverity, number> = { info: 0, warn: 1, alert: 2 };

/** A warn/alert pair: a level is reached when the measured value is > 0 and ≥ the threshold. */
export const SkewLevelsSchema = z
  .object({ warn: z.number().nonnegative(), alert: z.number().nonnegative() })
  .refine((l) => l.warn <= l.alert, 'warn must be ≤ alert');
export type SkewLevels = z.infer<typeof SkewLevelsSchema>;

const PartialLevelsSchema = z.object({
  warn: z.number().nonnegative().optional(),
  alert: z.number().nonnegative().optional(),
});

/** Per-feature overrides; e.g. raise `unseenRate` for a free-text feature where new values are normal. */
export const SkewFeatureOverrideSchema = z.object({
  unseenRate: PartialLevelsSchema.optional(),
  neverSeenRate: PartialLevelsSchema.optional(),
  missingRateIncrease: PartialLevelsSchema.optional(),
  rangeViolationRate: PartialLevelsSchema.optional(),
  typeMismatchRate: PartialLevelsSchema.optional(),
  /** false: no numbers-as-strings finding (numeric text that is an identifier, e.g. zip codes). */
  numbersAsStrings: z.boolean().optional(),
});
export type SkewFeatureOverride = z.infer<typeof SkewFeatureOverrideSchema>;

export const SkewConfigSchema = z.object({
  /** Share of a categorical feature's values never seen in the reference. */
  unseenRate: SkewLevelsSchema.default({ warn: 0.05, alert: 0.2 }),
  /**
   * High-cardinality features (more distinct reference values than the profile lists): share of values
   * the reference certainly never had. New ids are normal in moderation, hence the higher defaults.
   */
  neverSeenRate: SkewLevelsSchema.default({ warn: 0.2, alert: 0.6 }),
  /** Absolute increase of the missing rate (0.1 = ten percentage points). */
  missingRateIncrease: SkewLevelsSchema.default({ warn: 0.1, alert: 0.3 }),
  /** Share of a numeric feature's values outside the reference [min, max]. */
  rangeViolationRate: SkewLevelsSchema.default({ warn: 0.05, alert: 0.2 }),
  /** Share of present values of another type; by default any type change is an alert. */
  typeMismatchRate: SkewLevelsSchema.default({ warn: 0, alert: 0 }),
  /** Below this many rows no finding is raised (`insufficientData`): one odd row is not a pattern. */
  minRows: z.number().int().nonnegative().default(30),
  /**
   * Below this many reference rows, findings are informational only (they cannot block retraining): a
   * reference of a handful of rows makes every unseen value or range violation look like a serving bug.
   */
  minReferenceRows: z.number().int().nonnegative().default(30),
  features: z.record(z.string(), SkewFeatureOverrideSchema).default({}),
});
export type SkewConfig = z.infer<typeof SkewConfigSchema>;
export type SkewConfigInput = z.input<typeof SkewConfigSchema>;

export const SkewFindingSchema = z.object({
  feature: z.string(),
  check: SkewCheckSchema,
  severity: SkewSeveritySchema,
  /** The measured rate (for missing-rate: the absolute increase). */
  value: z.number(),
  /** The threshold that was crossed (for info: the warn threshold not reached); null when none applies. */
  threshold: z.number().nullable(),
  /** One human sentence naming the evidence, e.g. the top unseen values. */
  detail: z.string(),
  /** The values behind the finding (unseen or wrongly typed), most frequent first. */
  examples: z.array(z.object({ value: z.string(), count: z.number().int().positive() })),
});
export type SkewFinding = z.infer<typeof SkewFindingSchema>;

export const SkewReportSchema = z.object({
  profileFingerprint: z.string(),
  rows: z.number().int().nonnegative(),
  referenceRows: z.number().int().nonnegative(),
  /** True when the window had fewer than `minRows` rows; then there are no findings. */
  insufficientData: z.boolean(),
  /**
   * True when the reference had fewer than `minReferenceRows` rows: findings are then downgraded to
   * `info` (their detail says why) and cannot block retraining.
   */
  insufficientReference: z.boolean(),
  /** True when any finding is an alert: retraining on skewed data would bake the bug into the model. */
  blocksRetraining: z.boolean(),
  counts: z.object({ alert: z.number().int(), warn: z.number().int(), info: z.number().int() }),
  /** Worst first: severity, then value, then feature. */
  findings: z.array(SkewFindingSchema),
});
export type SkewReport = z.infer<typeof SkewReportSchema>;

/** Values named in a finding's sentence (the `examples` array holds up to `maxTrackedValues`). */
const VALUES_IN_DETAIL = 5;

type LevelKey =
  'unseenRate' | 'neverSeenRate' | 'missingRateIncrease' | 'rangeViolationRate' | 'typeMismatchRate';

function levelsFor(config: SkewConfig, feature: string, key: LevelKey): SkewLevels {
  const o = Object.prototype.hasOwnProperty.call(config.features, feature)
    ? config.features[feature]
    : undefined;
  const base = config[key];
  const over = o?.[key];
  return { warn: over?.warn ?? base.warn, alert: over?.alert ?? base.alert };
}

/** alert / warn when value > 0 reaches the threshold; null otherwise. */
function grade(value: number, levels: SkewLevels): { severity: SkewSeverity; threshold: number } | null {
  if (!(value > 0)) return null;
  if (value >= levels.alert) return { severity: 'alert', threshold: levels.alert };
  if (value >= levels.warn) return { severity: 'warn', threshold: levels.warn };
  return null;
}

/** "'United States' ×512, 'Germany' ×201 …" */
function listValues(list: CountList): string {
  const top = topCounts(list.entries, VALUES_IN_DETAIL);
  const text = top.map((e) => `${quote(e.value)} ×${formatCount(e.count)}`).join(', ');
  const more = list.entries.length > top.length || list.truncated;
  return more ? `${text} …` : text;
}

const examplesOf = (list: CountList, n: number): SkewFinding['examples'] => topCounts(list.entries, n);

function typeName(p: FeatureProfile): string {
  return p.kind === 'numeric' ? 'numeric' : p.valueType === 'boolean' ? 'boolean' : 'a string';
}

function typeChange(
  p: FeatureProfile,
  h: Histogram,
  present: number,
  config: SkewConfig,
  cap: number,
): SkewFinding[] {
  const value = present === 0 ? 0 : h.typeMismatch / present;
  const g = grade(value, levelsFor(config, p.name, 'typeMismatchRate'));
  if (g === null) return [];
  const kinds = Object.entries(h.mismatchTypes)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t === 'nonFinite' ? 'non-finite number' : t} (${formatCount(n)})`)
    .join(' and ');
  return [
    {
      feature: p.name,
      check: 'type-change',
      ...g,
      value,
      detail:
        `${quote(p.name)} was ${typeName(p)} in training but ${formatPercent(value)} of its values ` +
        `(${formatCount(h.typeMismatch)}) arrived as ${kinds}: ${listValues(h.mismatchValues)}`,
      examples: examplesOf(h.mismatchValues, cap),
    },
  ];
}

function unseen(
  p: CategoricalFeatureProfile,
  h: CategoricalHistogram,
  config: SkewConfig,
  cap: number,
): SkewFinding[] {
  const valid = h.counts.reduce((s, c) => s + c, 0);
  const count = h.counts[h.counts.length - 1];
  const value = valid === 0 ? 0 : count / valid;
  if (!(value > 0)) return [];
  const levels = levelsFor(config, p.name, 'unseenRate');
  const g = grade(value, levels) ?? { severity: 'info' as const, threshold: levels.warn };
  return [
    {
      feature: p.name,
      check: 'unseen-categories',
      ...g,
      value,
      detail:
        `${formatPercent(value)} of ${quote(p.name)} values were never seen in training: ` +
        listValues(h.unseenValues),
      examples: examplesOf(h.unseenValues, cap),
    },
  ];
}

function neverSeen(
  p: CategoricalFeatureProfile,
  h: CategoricalHistogram,
  config: SkewConfig,
  cap: number,
): SkewFinding[] {
  if (p.otherValuesComplete || !p.seenFilter) return [];
  const valid = h.counts.reduce((s, c) => s + c, 0);
  const value = valid === 0 ? 0 : h.neverSeen / valid;
  if (!(value > 0)) return [];
  const levels = levelsFor(config, p.name, 'neverSeenRate');
  const g = grade(value, levels) ?? { severity: 'info' as const, threshold: levels.warn };
  const fp = p.seenFilter.falsePositiveRate;
  return [
    {
      feature: p.name,
      check: 'never-seen-values',
      ...g,
      value,
      detail:
        `${formatPercent(value)} of ${quote(p.name)} values were never seen in training ` +
        `(${formatCount(p.distinct)} distinct training values; at most ${formatPercent(fp)} of never-seen ` +
        `values may be missed): ${listValues(h.unseenValues)}`,
      examples: examplesOf(h.unseenValues, cap),
    },
  ];
}

function numbersAsStrings(p: CategoricalFeatureProfile, config: SkewConfig): SkewFinding[] {
  if (Object.hasOwn(config.features, p.name) && config.features[p.name].numbersAsStrings === false) return [];
  const valid = p.rows - p.missing - p.typeMismatch;
  const n = p.numericStrings ?? 0;
  if (p.valueType !== 'string' || valid === 0 || n / valid < NUMERIC_STRING_SHARE) return [];
  const value = n / valid;
  return [
    {
      feature: p.name,
      check: 'numbers-as-strings',
      severity: 'warn',
      value,
      threshold: NUMERIC_STRING_SHARE,
      detail:
        `${formatPercent(value)} of ${quote(p.name)} training values are numbers written as text ` +
        `(e.g. ${quote(p.values[0]?.value ?? '')}): the model treats them as ${formatCount(p.distinct)} ` +
        "categories, most too rare to carry any signal; log them as numbers (or set the pipeline's " +
        'coerceNumericStrings)',
      examples: p.values.slice(0, VALUES_IN_DETAIL).map((v) => ({ value: v.value, count: v.count })),
    },
  ];
}

function range(p: NumericFeatureProfile, h: NumericHistogram, config: SkewConfig): SkewFinding[] {
  const valid = h.counts.reduce((s, c) => s + c, 0);
  const below = h.counts[0];
  const above = h.counts[h.counts.length - 1];
  const value = valid === 0 ? 0 : (below + above) / valid;
  if (!(value > 0)) return [];
  const levels = levelsFor(config, p.name, 'rangeViolationRate');
  const g = grade(value, levels) ?? { severity: 'info' as const, threshold: levels.warn };
  const parts: string[] = [];
  if (below > 0)
    parts.push(`${formatPercent(below / valid)} below (down to ${formatNumber(h.observedMin ?? p.min)})`);
  if (above > 0)
    parts.push(`${formatPercent(above / valid)} above (up to ${formatNumber(h.observedMax ?? p.max)})`);
  return [
    {
      feature: p.name,
      check: 'range-violation',
      ...g,
      value,
      detail:
        `${formatPercent(value)} of ${quote(p.name)} values fell outside the training range ` +
        `[${formatNumber(p.min)}, ${formatNumber(p.max)}]: ${parts.join(', ')}`,
      examples: [],
    },
  ];
}

function missingRate(p: FeatureProfile, h: Histogram, rows: number, config: SkewConfig): SkewFinding[] {
  const current = h.missing / rows;
  const value = current - p.missingRate;
  const g = grade(value, levelsFor(config, p.name, 'missingRateIncrease'));
  if (g === null) return [];
  const points = Math.round(value * 1000) / 10;
  return [
    {
      feature: p.name,
      check: 'missing-rate',
      ...g,
      value,
      detail:
        `${quote(p.name)} was missing in ${formatPercent(current)} of rows vs ` +
        `${formatPercent(p.missingRate)} in training (+${points} points)`,
      examples: [],
    },
  ];
}

function featureFindings(
  p: FeatureProfile,
  h: Histogram,
  rows: number,
  config: SkewConfig,
  cap: number,
): SkewFinding[] {
  // A column dropped by the serving pipeline: every other check would only restate it.
  if (h.absent === rows && p.missingRate < 1) {
    return [
      {
        feature: p.name,
        check: 'missing-feature',
        severity: 'alert',
        value: 1,
        threshold: null,
        detail:
          `${quote(p.name)} was absent from all ${formatCount(rows)} rows but had a value in ` +
          `${formatPercent(1 - p.missingRate)} of training rows`,
        examples: [],
      },
    ];
  }
  const present = rows - h.missing;
  const out = [...missingRate(p, h, rows, config), ...typeChange(p, h, present, config, cap)];
  if (p.kind === 'categorical' && h.kind === 'categorical')
    out.push(...unseen(p, h, config, cap), ...neverSeen(p, h, config, cap), ...numbersAsStrings(p, config));
  if (p.kind === 'numeric' && h.kind === 'numeric') out.push(...range(p, h, config));
  return out;
}

function newFeatures(profile: ReferenceProfile, acc: DriftAccumulator): SkewFinding[] {
  const empty = new Set(profile.emptyFeatures);
  return acc.newFeatures.entries.map((e): SkewFinding => {
    const value = e.count / acc.rows;
    // A feature that was always null in training carries no signal the model learnt to use: warn,
    // because the serving side apparently computes something the training side never did.
    const wasEmpty = empty.has(e.value);
    return {
      feature: e.value,
      check: 'new-feature',
      severity: wasEmpty ? 'warn' : 'info',
      value,
      threshold: null,
      detail: wasEmpty
        ? `${quote(e.value)} never had a value in training but had one in ${formatPercent(value)} of rows`
        : `${quote(e.value)} is not in the training profile but had a value in ${formatPercent(value)} of rows ` +
          '(the model ignores it)',
      examples: [],
    };
  });
}

function compareFindings(a: SkewFinding, b: SkewFinding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    b.value - a.value ||
    (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0) ||
    (a.check < b.check ? -1 : a.check > b.check ? 1 : 0)
  );
}

/** Checks a window's accumulator for training-serving skew against the reference profile. */
export function checkSkew(
  profile: ReferenceProfile,
  accumulator: DriftAccumulator,
  config: SkewConfigInput = {},
): SkewReport {
  if (profile.fingerprint !== accumulator.profileFingerprint) {
    throw new Error(
      `accumulator was built for profile ${accumulator.profileFingerprint}, not ${profile.fingerprint}`,
    );
  }
  const c = SkewConfigSchema.parse(config);
  const rows = accumulator.rows;
  const insufficientData = rows < Math.max(1, c.minRows);
  const findings: SkewFinding[] = [];
  if (!insufficientData) {
    profile.features.forEach((p, i) => {
      const h = accumulator.features[i];
      if (h === undefined || h.name !== p.name)
        throw new Error(`accumulator has no histogram for '${p.name}'`);
      findings.push(...featureFindings(p, h, rows, c, accumulator.maxTrackedValues));
    });
    findings.push(...newFeatures(profile, accumulator));
  }
  const insufficientReference = profile.rows < c.minReferenceRows;
  if (insufficientReference) {
    for (const f of findings) {
      if (f.severity === 'info') continue;
      f.detail +=
        ` (informational only, was ${f.severity}: the reference has ${formatCount(profile.rows)} ` +
        `rows, fewer than minReferenceRows ${formatCount(c.minReferenceRows)})`;
      f.severity = 'info';
    }
  }
  findings.sort(compareFindings);
  const count = (s: SkewSeverity): number => findings.filter((f) => f.severity === s).length;
  return {
    profileFingerprint: profile.fingerprint,
    rows,
    referenceRows: profile.rows,
    insufficientData,
    insufficientReference,
    blocksRetraining: findings.some((f) => f.severity === 'alert'),
    counts: { alert: count('alert'), warn: count('warn'), info: count('info') },
    findings,
  };
}
