import { z } from 'zod';
import type { Features } from '../schemas/records';
import { bumpCount, CountListSchema, emptyCountList, mergeCountLists } from './count-list';
import type { FeatureProfile, NumericFeatureProfile, ReferenceProfile } from './profile';
import { readSeenFilter, SeenFilterSchema } from './seen-filter';
import { TAG } from './columns';
import type { ColumnPartition, FeatureColumn } from './columns';
import type { SeenFilterReader } from './seen-filter';

/** Unseen values (and wrongly typed examples) tracked per feature unless configured otherwise. */
export const DEFAULT_MAX_TRACKED_VALUES = 20;
/** Names of features absent from the profile that are tracked per accumulator. */
export const MAX_NEW_FEATURES = 100;

const CountSchema = z.number().int().nonnegative();

/** Counts that are not value bins; shared by numeric and categorical histograms. */
const histogramBase = {
  name: z.string().min(1),
  /** Value bins; the layout depends on `kind` (see the two schemas). */
  counts: z.array(CountSchema),
  /** Rows where the feature was null or absent. */
  missing: CountSchema,
  /** Of `missing`: rows where the key was not there at all (a dropped feature rather than a null). */
  absent: CountSchema,
  /** Non-null values of another type than in the reference; kept out of the value bins. */
  typeMismatch: CountSchema,
  /** `typeMismatch` by the type that arrived; `nonFinite` is NaN/±Infinity where a number was expected. */
  mismatchTypes: z.object({
    number: CountSchema,
    string: CountSchema,
    boolean: CountSchema,
    nonFinite: CountSchema,
    other: CountSchema,
  }),
  /** Examples of the wrongly typed values, as text. */
  mismatchValues: CountListSchema,
};

/**
 * A numeric feature's histogram over the profile's bins. `counts` is
 * `[underflow (< min), quantile bin 0, …, quantile bin m, overflow (> max)]`, i.e. `cutPoints.length + 3`
 * entries: under/overflow are what range-violation checks read, and they let PSI see values the
 * reference never had without stretching the outer bins.
 */
export const NumericHistogramSchema = z.object({
  ...histogramBase,
  kind: z.literal('numeric'),
  min: z.number(),
  max: z.number(),
  cutPoints: z.array(z.number()),
  /** Extremes of this window (null until a value arrives), to say how far out of range values went. */
  observedMin: z.number().nullable(),
  observedMax: z.number().nullable(),
});
export type NumericHistogram = z.infer<typeof NumericHistogramSchema>;

/**
 * A categorical feature's histogram. `counts` is `[value 0, …, value k-1, other, unseen]`: one bin per
 * top reference value, "other" for reference values pooled in the profile, "unseen" for values the
 * reference never had (the training-serving skew signal).
 */
export const CategoricalHistogramSchema = z.object({
  ...histogramBase,
  kind: z.literal('categorical'),
  valueType: z.enum(['string', 'boolean']),
  values: z.array(z.string()),
  otherValues: z.array(z.string()),
  otherValuesComplete: z.boolean(),
  /** The profile's filter of all reference values (high-cardinality features only). */
  seenFilter: SeenFilterSchema.optional(),
  /**
   * High-cardinality features only: values the filter says the reference certainly never had. They
   * are counted in the "other" bin too (the bins cannot tell them apart), so this is a sub-count of it.
   */
  neverSeen: CountSchema,
  /**
   * The most frequent unseen values with their counts (bounded by `maxTrackedValues`); for a
   * high-cardinality feature, the never-seen ones.
   */
  unseenValues: CountListSchema,
});
export type CategoricalHistogram = z.infer<typeof CategoricalHistogramSchema>;

export const HistogramSchema = z.discriminatedUnion('kind', [
  NumericHistogramSchema,
  CategoricalHistogramSchema,
]);
export type Histogram = z.infer<typeof HistogramSchema>;

/**
 * Counts of one window of production rows against a reference profile. Plain JSON so that parallel
 * activities can each accumulate a partition, return it through Temporal, and have it merged.
 * It embeds the bin definitions it needs (not the whole profile), so `accumulate` needs no profile.
 */
export const DriftAccumulatorSchema = z.object({
  schemaVersion: z.literal(1),
  profileFingerprint: z.string(),
  maxTrackedValues: z.number().int().min(0),
  rows: CountSchema,
  /** Rows that came with scores (score histograms count only those). */
  scoredRows: CountSchema,
  /** One histogram per profile feature, in profile order. */
  features: z.array(HistogramSchema),
  /** One histogram per profiled score class, in profile order. */
  scores: z.array(NumericHistogramSchema),
  /** Features absent from the profile that arrived with a non-null value: name → rows. */
  newFeatures: CountListSchema,
});
export type DriftAccumulator = z.infer<typeof DriftAccumulatorSchema>;

/** Options of {@link createAccumulator}. */
export const AccumulatorOptionsSchema = z.object({
  /** Distinct unseen values (and mismatch examples) tracked per feature. */
  maxTrackedValues: z.number().int().min(0).max(100_000).default(DEFAULT_MAX_TRACKED_VALUES),
});
export type AccumulatorOptions = z.input<typeof AccumulatorOptionsSchema>;

function emptyMismatchTypes(): NumericHistogram['mismatchTypes'] {
  return { number: 0, string: 0, boolean: 0, nonFinite: 0, other: 0 };
}

function numericHistogram(p: NumericFeatureProfile): NumericHistogram {
  return {
    name: p.name,
    counts: new Array<number>(p.cutPoints.length + 3).fill(0),
    missing: 0,
    absent: 0,
    typeMismatch: 0,
    mismatchTypes: emptyMismatchTypes(),
    mismatchValues: emptyCountList(),
    kind: 'numeric',
    min: p.min,
    max: p.max,
    cutPoints: [...p.cutPoints],
    observedMin: null,
    observedMax: null,
  };
}

function histogramFor(p: FeatureProfile): Histogram {
  if (p.kind === 'numeric') return numericHistogram(p);
  return {
    name: p.name,
    counts: new Array<number>(p.values.length + 2).fill(0),
    missing: 0,
    absent: 0,
    typeMismatch: 0,
    mismatchTypes: emptyMismatchTypes(),
    mismatchValues: emptyCountList(),
    kind: 'categorical',
    valueType: p.valueType,
    values: p.values.map((v) => v.value),
    otherValues: [...p.otherValues],
    otherValuesComplete: p.otherValuesComplete,
    ...(p.seenFilter ? { seenFilter: p.seenFilter } : {}),
    neverSeen: 0,
    unseenValues: emptyCountList(),
  };
}

/** An empty accumulator for `profile`. */
export function createAccumulator(
  profile: ReferenceProfile,
  options: AccumulatorOptions = {},
): DriftAccumulator {
  const { maxTrackedValues } = AccumulatorOptionsSchema.parse(options);
  return {
    schemaVersion: 1,
    profileFingerprint: profile.fingerprint,
    maxTrackedValues,
    rows: 0,
    scoredRows: 0,
    features: profile.features.map(histogramFor),
    scores: profile.scores.classes.map(numericHistogram),
    newFeatures: emptyCountList(),
  };
}

// ---------------------------------------------------------------------------------------------------
// Hot path. A million rows × 20 features must take well under two seconds, so the bin definitions are
// compiled once per accumulator object (typed arrays, a Map for category lookups) and cached in a
// WeakMap. The cache is derived data only: it never changes results, and a JSON round-trip simply
// compiles again.

const NUMERIC = 0;
const STRING = 1;
const BOOLEAN = 2;

interface NumericPlan {
  hist: NumericHistogram;
  cuts: Float64Array;
  min: number;
  max: number;
}

interface FeaturePlan {
  name: string;
  type: typeof NUMERIC | typeof STRING | typeof BOOLEAN;
  /** The histogram to count into (either kind). */
  hist: Histogram;
  /** Set for numeric features. */
  numeric: NumericPlan | null;
  /** Set for categorical features. */
  categorical: CategoricalHistogram | null;
  /** Category value → bin index (top values and pooled "other" values). */
  lookup: Map<string, number>;
  /** Bin for a value not in `lookup`: "unseen", or "other" when the profile could not list all values. */
  unknownBin: number;
  /** For a value not in `lookup` of a high-cardinality feature: was it in the reference at all? */
  seen: SeenFilterReader | null;
}

interface Plan {
  features: FeaturePlan[];
  known: Set<string>;
  scores: (NumericPlan & { name: string })[];
}

const plans = new WeakMap<DriftAccumulator, Plan>();

function numericPlan(h: NumericHistogram): NumericPlan {
  return { hist: h, cuts: Float64Array.from(h.cutPoints), min: h.min, max: h.max };
}

function compile(acc: DriftAccumulator): Plan {
  const features = acc.features.map((h): FeaturePlan => {
    const lookup = new Map<string, number>();
    if (h.kind === 'numeric') {
      return {
        name: h.name,
        type: NUMERIC,
        hist: h,
        numeric: numericPlan(h),
        categorical: null,
        lookup,
        unknownBin: -1,
        seen: null,
      };
    }
    const other = h.values.length;
    for (const v of h.otherValues) lookup.set(v, other);
    h.values.forEach((v, i) => lookup.set(v, i));
    return {
      name: h.name,
      type: h.valueType === 'boolean' ? BOOLEAN : STRING,
      hist: h,
      numeric: null,
      categorical: h,
      lookup,
      unknownBin: h.otherValuesComplete ? other + 1 : other,
      seen: !h.otherValuesComplete && h.seenFilter ? readSeenFilter(h.seenFilter) : null,
    };
  });
  const scores = acc.scores.map((h) => ({ name: h.name, ...numericPlan(h) }));
  return { features, known: new Set(acc.features.map((h) => h.name)), scores };
}

function planFor(acc: DriftAccumulator): Plan {
  let plan = plans.get(acc);
  if (plan === undefined) {
    plan = compile(acc);
    plans.set(acc, plan);
  }
  return plan;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Counts a finite number into under/quantile/overflow bins (right-closed quantile bins). */
function binNumber(p: NumericPlan, v: number): void {
  const h = p.hist;
  const counts = h.counts;
  if (v < p.min) counts[0] += 1;
  else if (v > p.max) counts[counts.length - 1] += 1;
  else {
    // At most `bins - 1` cut points (9 by default): a linear scan beats a binary search at this size.
    const cuts = p.cuts;
    let j = 0;
    while (j < cuts.length && v > cuts[j]) j += 1;
    counts[1 + j] += 1;
  }
  // Normalise -0 so whole and partitioned windows serialise identically.
  const x = v === 0 ? 0 : v;
  if (h.observedMin === null || x < h.observedMin) h.observedMin = x;
  if (h.observedMax === null || x > h.observedMax) h.observedMax = x;
}

function countMismatch(h: Histogram, v: unknown, cap: number): void {
  h.typeMismatch += 1;
  let text: string;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) h.mismatchTypes.number += 1;
    else h.mismatchTypes.nonFinite += 1;
    text = String(v);
  } else if (typeof v === 'string') {
    h.mismatchTypes.string += 1;
    text = v;
  } else if (typeof v === 'boolean') {
    h.mismatchTypes.boolean += 1;
    text = String(v);
  } else {
    h.mismatchTypes.other += 1;
    text = Array.isArray(v) ? '[array]' : `[${typeof v}]`;
  }
  bumpCount(h.mismatchValues, text, cap);
}

function countCategory(p: FeaturePlan, value: string, cap: number): void {
  const h = p.categorical as CategoricalHistogram;
  const bin = p.lookup.get(value);
  if (bin !== undefined) {
    h.counts[bin] += 1;
    return;
  }
  h.counts[p.unknownBin] += 1;
  if (h.otherValuesComplete) bumpCount(h.unseenValues, value, cap);
  else if (p.seen !== null && !p.seen.mightContain(value)) {
    h.neverSeen += 1;
    bumpCount(h.unseenValues, value, cap);
  }
}

/**
 * Adds one production row (and optionally the scores the model returned for it) to `acc`, which is
 * mutated in place and returned: copying an accumulator per row would cost far more than the counting.
 * A key that is absent counts as missing (and `absent`); `undefined` is treated like an absent key.
 */
export function accumulate(
  acc: DriftAccumulator,
  features: Features,
  scores?: Record<string, number>,
): DriftAccumulator {
  const plan = planFor(acc);
  const cap = acc.maxTrackedValues;
  acc.rows += 1;
  let seen = 0;
  for (const p of plan.features) {
    const v: unknown = features[p.name];
    if (typeof v === 'number') {
      seen += 1;
      if (p.type === NUMERIC && Number.isFinite(v)) binNumber(p.numeric as NumericPlan, v);
      else countMismatch(p.hist, v, cap);
    } else if (typeof v === 'string') {
      seen += 1;
      if (p.type === STRING) countCategory(p, v, cap);
      else countMismatch(p.hist, v, cap);
    } else if (typeof v === 'boolean') {
      seen += 1;
      if (p.type === BOOLEAN) countCategory(p, v ? 'true' : 'false', cap);
      else countMismatch(p.hist, v, cap);
    } else if (v === null) {
      seen += 1;
      p.hist.missing += 1;
    } else if (v === undefined || !hasOwn(features, p.name)) {
      // Not an own key (a name like "constructor" reads Object.prototype): the feature is absent.
      const h = p.hist;
      h.missing += 1;
      h.absent += 1;
    } else {
      seen += 1;
      countMismatch(p.hist, v, cap);
    }
  }

  // Only when the row has more keys than the profile features it matched is there a new feature to find;
  // counting keys is far cheaper than looking each one up.
  let keys = 0;
  for (const _k in features) keys += 1;
  if (keys !== seen) {
    for (const k in features) {
      if (!plan.known.has(k) && features[k] !== null && features[k] !== undefined) {
        bumpCount(acc.newFeatures, k, MAX_NEW_FEATURES);
      }
    }
  }

  if (scores !== undefined) {
    acc.scoredRows += 1;
    for (const p of plan.scores) {
      const v: unknown = hasOwn(scores, p.name) ? scores[p.name] : undefined;
      if (typeof v === 'number' && Number.isFinite(v)) binNumber(p, v);
      else if (v === undefined || v === null) {
        p.hist.missing += 1;
        if (v === undefined) p.hist.absent += 1;
      } else countMismatch(p.hist, v, cap);
    }
  }
  return acc;
}

/** Counts one column's values into a histogram plan, as {@link accumulate} counts them row by row. */
function accumulateColumn(p: FeaturePlan, col: FeatureColumn | undefined, rows: number, cap: number): void {
  const h = p.hist;
  if (col === undefined) {
    h.missing += rows;
    h.absent += rows;
    return;
  }
  const { tags, numbers, codes, dictionary } = col;
  for (let i = 0; i < rows; i += 1) {
    const tag = tags[i];
    if (tag === TAG.number) {
      const v = numbers[i];
      if (p.type === NUMERIC && Number.isFinite(v)) binNumber(p.numeric as NumericPlan, v);
      else countMismatch(h, v, cap);
    } else if (tag === TAG.string) {
      const v = dictionary[codes[i]];
      if (p.type === STRING) countCategory(p, v, cap);
      else countMismatch(h, v, cap);
    } else if (tag === TAG.true || tag === TAG.false) {
      const v = tag === TAG.true;
      if (p.type === BOOLEAN) countCategory(p, v ? 'true' : 'false', cap);
      else countMismatch(h, v, cap);
    } else if (tag === TAG.null) h.missing += 1;
    else {
      h.missing += 1;
      h.absent += 1;
    }
  }
}

/**
 * Adds a partition of rows held as columns (what ingest stores for a window) to `acc`: the same counts
 * as {@link accumulate} over each row with its scores, without building the rows. Count lists do not
 * depend on the order values arrive in, so the accumulator equals the row-by-row one exactly.
 */
export function accumulateColumns(acc: DriftAccumulator, part: ColumnPartition): DriftAccumulator {
  const plan = planFor(acc);
  const cap = acc.maxTrackedValues;
  const rows = part.rows;
  acc.rows += rows;
  const byName = new Map(part.features.map((c) => [c.name, c]));
  for (const p of plan.features) accumulateColumn(p, byName.get(p.name), rows, cap);
  for (const col of part.features) {
    if (plan.known.has(col.name)) continue;
    for (let i = 0; i < rows; i += 1)
      if (col.tags[i] !== TAG.absent && col.tags[i] !== TAG.null)
        bumpCount(acc.newFeatures, col.name, MAX_NEW_FEATURES);
  }
  acc.scoredRows += rows;
  const scores = new Map(part.scores.map((c) => [c.name, c]));
  for (const p of plan.scores) {
    const col = scores.get(p.name);
    const h = p.hist;
    if (col === undefined) {
      h.missing += rows;
      h.absent += rows;
      continue;
    }
    for (let i = 0; i < rows; i += 1) {
      const tag = col.tags[i];
      const v = col.numbers[i];
      if (tag === TAG.number && Number.isFinite(v)) binNumber(p, v);
      else if (tag === TAG.absent || tag === TAG.null) {
        h.missing += 1;
        if (tag === TAG.absent) h.absent += 1;
      } else
        countMismatch(
          h,
          tag === TAG.string ? col.dictionary[col.codes[i]] : tag === TAG.number ? v : tag === TAG.true,
          cap,
        );
    }
  }
  return acc;
}

/** Adds many rows (e.g. prediction-log rows with `features` and `scores`); returns `acc`. */
export function accumulateRows(
  acc: DriftAccumulator,
  rows: Iterable<{ features: Features; scores?: Record<string, number> }>,
): DriftAccumulator {
  for (const row of rows) accumulate(acc, row.features, row.scores);
  return acc;
}

// ---------------------------------------------------------------------------------------------------
// Merging.

function sameSpec(a: Histogram, b: Histogram): boolean {
  if (a.name !== b.name || a.kind !== b.kind || a.counts.length !== b.counts.length) return false;
  if (a.kind === 'numeric' && b.kind === 'numeric') {
    return a.min === b.min && a.max === b.max && a.cutPoints.every((c, i) => c === b.cutPoints[i]);
  }
  return true;
}

const minOf = (x: number | null, y: number | null): number | null =>
  x === null ? y : y === null ? x : Math.min(x, y);
const maxOf = (x: number | null, y: number | null): number | null =>
  x === null ? y : y === null ? x : Math.max(x, y);

function mergeBase<H extends Histogram>(a: H, b: H, cap: number): H {
  return {
    ...a,
    counts: a.counts.map((c, i) => c + b.counts[i]),
    missing: a.missing + b.missing,
    absent: a.absent + b.absent,
    typeMismatch: a.typeMismatch + b.typeMismatch,
    mismatchTypes: {
      number: a.mismatchTypes.number + b.mismatchTypes.number,
      string: a.mismatchTypes.string + b.mismatchTypes.string,
      boolean: a.mismatchTypes.boolean + b.mismatchTypes.boolean,
      nonFinite: a.mismatchTypes.nonFinite + b.mismatchTypes.nonFinite,
      other: a.mismatchTypes.other + b.mismatchTypes.other,
    },
    mismatchValues: mergeCountLists(a.mismatchValues, b.mismatchValues, cap),
  };
}

function mergeHistograms(a: Histogram, b: Histogram, cap: number): Histogram {
  if (a.kind === 'numeric' && b.kind === 'numeric') return mergeNumeric(a, b, cap);
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    return {
      ...mergeBase(a, b, cap),
      values: [...a.values],
      otherValues: [...a.otherValues],
      neverSeen: a.neverSeen + b.neverSeen,
      unseenValues: mergeCountLists(a.unseenValues, b.unseenValues, cap),
    };
  }
  throw new Error(`cannot merge histograms of different kinds for '${a.name}'`);
}

function mergeNumeric(a: NumericHistogram, b: NumericHistogram, cap: number): NumericHistogram {
  return {
    ...mergeBase(a, b, cap),
    cutPoints: [...a.cutPoints],
    observedMin: minOf(a.observedMin, b.observedMin),
    observedMax: maxOf(a.observedMax, b.observedMax),
  };
}

/**
 * Merges two accumulators of the same profile into a new one (inputs are not changed). Counts add up,
 * so merging is associative and commutative: partitions accumulated in parallel activities merge to
 * exactly the accumulator of the whole window — including the unseen-value lists as long as no list hit
 * `maxTrackedValues` (beyond that only the list of example values is approximate; all counts stay exact).
 */
export function mergeAccumulators(a: DriftAccumulator, b: DriftAccumulator): DriftAccumulator {
  if (a.profileFingerprint !== b.profileFingerprint) {
    throw new Error(
      `cannot merge accumulators of different profiles (${a.profileFingerprint} vs ${b.profileFingerprint})`,
    );
  }
  if (a.maxTrackedValues !== b.maxTrackedValues) {
    throw new Error('cannot merge accumulators with different maxTrackedValues');
  }
  const sameShape =
    a.features.length === b.features.length &&
    a.scores.length === b.scores.length &&
    a.features.every((h, i) => sameSpec(h, b.features[i])) &&
    a.scores.every((h, i) => sameSpec(h, b.scores[i]));
  if (!sameShape) throw new Error('cannot merge accumulators: same profile fingerprint but different bins');
  const cap = a.maxTrackedValues;
  return {
    schemaVersion: 1,
    profileFingerprint: a.profileFingerprint,
    maxTrackedValues: cap,
    rows: a.rows + b.rows,
    scoredRows: a.scoredRows + b.scoredRows,
    features: a.features.map((h, i) => mergeHistograms(h, b.features[i], cap)),
    scores: a.scores.map((h, i) => mergeNumeric(h, b.scores[i], cap)),
    newFeatures: mergeCountLists(a.newFeatures, b.newFeatures, MAX_NEW_FEATURES),
  };
}
