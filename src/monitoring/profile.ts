import { z } from 'zod';
import type { Features } from '../schemas/records';
import { isNumericString } from '../ml/numeric-string';
import { buildSeenFilter, SeenFilterSchema } from './seen-filter';
import { sortFloat64 } from './sort';

/** Label of the categorical bin holding reference values outside the top `maxCategories`. */
export const OTHER_LABEL = '__other__';

const CountSchema = z.number().int().nonnegative();
const RateSchema = z.number().min(0).max(1);

/** Fields every feature profile has. Rates are over all reference rows. */
const profileBase = {
  name: z.string().min(1),
  /** Reference rows the profile was built from (all of them, whether or not this feature had a value). */
  rows: CountSchema,
  /** Rows where the feature was null or absent. */
  missing: CountSchema,
  missingRate: RateSchema,
  /** Non-null values of another type than `valueType` (kept out of the value bins). */
  typeMismatch: CountSchema,
};

/**
 * A numeric feature: reference quantile cut points, fixed here so every later window is binned the same.
 *
 * Bins are right-closed: `[min, c1]`, `(c1, c2]`, …, `(cLast, max]`. Cut points are actual reference values
 * (the lower empirical quantile, no interpolation), strictly increasing and strictly below `max`, so that
 * every quantile bin holds at least one reference value. Equal cut points (heavy ties, e.g. a feature that
 * is 0 half of the time) are deduplicated, so a profile may hold fewer bins than requested.
 */
export const NumericFeatureProfileSchema = z
  .object({
    ...profileBase,
    kind: z.literal('numeric'),
    valueType: z.literal('number'),
    min: z.number(),
    max: z.number(),
    mean: z.number(),
    cutPoints: z.array(z.number()),
    /** Reference values per quantile bin; length is `cutPoints.length + 1`. */
    binCounts: z.array(CountSchema),
  })
  .refine(
    (p) => p.binCounts.length === p.cutPoints.length + 1,
    'binCounts must have cutPoints.length + 1 entries',
  );
export type NumericFeatureProfile = z.infer<typeof NumericFeatureProfileSchema>;

/**
 * A categorical (string or boolean) feature: its most frequent values with frequencies, the rest pooled
 * as {@link OTHER_LABEL}. Frequencies are over the rows where the feature had a value of the right type.
 */
export const CategoricalFeatureProfileSchema = z.object({
  ...profileBase,
  kind: z.literal('categorical'),
  /** Booleans are categorical with the values "true" and "false". */
  valueType: z.enum(['string', 'boolean']),
  /** Distinct values seen in the reference. */
  distinct: CountSchema,
  /** Top values, most frequent first (ties by value). */
  values: z.array(z.object({ value: z.string(), count: z.number().int().positive(), frequency: RateSchema })),
  otherCount: CountSchema,
  otherFrequency: RateSchema,
  /**
   * The values pooled into {@link OTHER_LABEL}, sorted, so a later window can still tell a rare training
   * value from one never seen in training (which is what training-serving skew is about).
   */
  otherValues: z.array(z.string()),
  /**
   * False when there were more pooled values than `maxOtherValues`: then a value not listed may still have
   * been seen in training, so unknown values count as "other" rather than "unseen" (high-cardinality
   * features such as ids would otherwise always look 100 % unseen).
   */
  otherValuesComplete: z.boolean(),
  /**
   * Only when `otherValuesComplete` is false: a Bloom filter of every distinct reference value, so a
   * window can still measure the share of values never seen in training (see seen-filter.ts).
   */
  seenFilter: SeenFilterSchema.optional(),
  /**
   * Only when > 0: valid string values that read as finite numbers ("12.5"). When nearly all do, the
   * feature is numbers logged as text: one-hot encoding turns it into rare categories with no signal.
   */
  numericStrings: CountSchema.optional(),
});
export type CategoricalFeatureProfile = z.infer<typeof CategoricalFeatureProfileSchema>;

export const FeatureProfileSchema = z.discriminatedUnion('kind', [
  NumericFeatureProfileSchema,
  CategoricalFeatureProfileSchema,
]);
export type FeatureProfile = z.infer<typeof FeatureProfileSchema>;

/** The reference against which production windows are compared. Plain JSON, stored beside a model. */
export const ReferenceProfileSchema = z.object({
  schemaVersion: z.literal(1),
  /** Hash of the rest of the profile; accumulators carry it so counts are never compared to the wrong bins. */
  fingerprint: z.string(),
  rows: CountSchema,
  /** Requested quantile bins (the actual number per feature may be lower after deduplication). */
  bins: z.number().int().min(1),
  maxCategories: z.number().int().min(1),
  /** Features, sorted by name. */
  features: z.array(FeatureProfileSchema),
  /** Features that occurred in the reference but never with a value: no type or bins can be learnt. */
  emptyFeatures: z.array(z.string()),
  /** Prediction scores on the reference rows, profiled like numeric features (one entry per class). */
  scores: z.object({
    rows: CountSchema,
    positiveClass: z.string().nullable(),
    classes: z.array(NumericFeatureProfileSchema),
  }),
});
export type ReferenceProfile = z.infer<typeof ReferenceProfileSchema>;

/** Scalar options of {@link buildProfile}. */
export const BuildProfileOptionsSchema = z.object({
  /** Quantile bins per numeric feature (and per score). */
  bins: z.number().int().min(1).max(1000).default(10),
  /** Categorical values kept individually; the rest are pooled as {@link OTHER_LABEL}. */
  maxCategories: z.number().int().min(1).max(10_000).default(50),
  /** Pooled values remembered by name (see `otherValuesComplete`). */
  maxOtherValues: z.number().int().min(0).max(1_000_000).default(1000),
  /** Profile only this class's score (binary classifiers); every class otherwise. */
  positiveClass: z.string().min(1).optional(),
});
export type BuildProfileOptions = z.input<typeof BuildProfileOptionsSchema> & {
  /** Scores the model gave the reference rows, class → probability (usually aligned with `rows`). */
  scoreRows?: Record<string, number>[];
};

/**
 * Builds the reference profile from reference rows (e.g. the training set) and optionally the scores the
 * model gave them. Deterministic: the same rows in the same order give the same JSON and fingerprint.
 * Rows are only read, one at a time: {@link ProfileCollector} does the same from a stream of rows (or
 * from partitions collected apart and merged) without holding them.
 */
export function buildProfile(rows: Features[], options: BuildProfileOptions = {}): ReferenceProfile {
  const collector = new ProfileCollector(rows.length);
  for (const row of rows) collector.add(row);
  for (const s of options.scoreRows ?? []) collector.addScores(s);
  return collector.finish(options);
}

/** Everything seen for one feature (or one score class) while scanning the reference rows. */
interface Collector {
  present: number;
  numbers: Float64Array;
  nNumber: number;
  strings: Map<string, number>;
  nString: number;
  nTrue: number;
  nFalse: number;
  nOther: number;
}

/**
 * A collector's contents as plain data (structured-clonable; the number arrays can be moved between
 * threads), so partitions collected in parallel can be merged.
 */
export interface CollectorState {
  present: number;
  numbers: Float64Array;
  strings: Array<[string, number]>;
  nTrue: number;
  nFalse: number;
  nOther: number;
}

/** A {@link ProfileCollector}'s contents; see {@link ProfileCollector.state}. */
export interface ProfileCollectorState {
  rows: number;
  scoreRows: number;
  features: Array<[string, CollectorState]>;
  scores: Array<[string, CollectorState]>;
}

/**
 * Collects reference rows for {@link buildProfile} one at a time, keeping per feature only the numbers
 * (one Float64Array), the counts of each string and of booleans: never the rows. Collectors of
 * partitions merge exactly ({@link merge}): the profile sorts every number column before it reads
 * quantiles or sums the mean, and counts add, so the profile does not depend on how the rows were cut
 * or in which order the parts were merged.
 */
export class ProfileCollector {
  private rowCount = 0;
  private scoreRowCount = 0;
  private readonly features = new Map<string, Collector>();
  private readonly scoreClasses = new Map<string, Collector>();
  // Rows nearly always list their keys in the same order, so the collector found at position j of the
  // previous row is tried first: a string comparison instead of a Map lookup per value.
  private readonly lastNames: string[] = [];
  private readonly lastCollectors: Collector[] = [];

  /** @param capacity rows expected (number arrays start at this size; they grow when exceeded). */
  constructor(private readonly capacity = 1024) {}

  /** Rows added (or merged) so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** Adds one reference row's features. */
  add(row: Features): void {
    this.rowCount += 1;
    const lastNames = this.lastNames;
    const lastCollectors = this.lastCollectors;
    let j = 0;
    for (const name in row) {
      let c: Collector | undefined;
      if (lastNames[j] === name) {
        c = lastCollectors[j];
      } else {
        c = this.features.get(name);
        if (c === undefined) {
          c = newCollector(this.capacity);
          this.features.set(name, c);
        }
        lastNames[j] = name;
        lastCollectors[j] = c;
      }
      collect(c, row[name]);
      j += 1;
    }
  }

  /** Adds the scores the model gave one reference row (class → probability). */
  addScores(scores: Record<string, number>): void {
    this.scoreRowCount += 1;
    for (const cls in scores) {
      let c = this.scoreClasses.get(cls);
      if (c === undefined) {
        c = newCollector(this.capacity);
        this.scoreClasses.set(cls, c);
      }
      collect(c, scores[cls]);
    }
  }

  /** This collector's contents as plain data (the number arrays are trimmed copies). */
  state(): ProfileCollectorState {
    const out = (m: Map<string, Collector>): Array<[string, CollectorState]> =>
      [...m].map(([name, c]) => [
        name,
        {
          present: c.present,
          numbers: c.numbers.slice(0, c.nNumber),
          strings: [...c.strings],
          nTrue: c.nTrue,
          nFalse: c.nFalse,
          nOther: c.nOther,
        },
      ]);
    return {
      rows: this.rowCount,
      scoreRows: this.scoreRowCount,
      features: out(this.features),
      scores: out(this.scoreClasses),
    };
  }

  /** Adds another partition's collected rows (exact: see the class comment). */
  merge(other: ProfileCollectorState): this {
    this.rowCount += other.rows;
    this.scoreRowCount += other.scoreRows;
    const into = (m: Map<string, Collector>, parts: Array<[string, CollectorState]>): void => {
      for (const [name, s] of parts) {
        let c = m.get(name);
        if (c === undefined) {
          c = newCollector(Math.max(s.numbers.length, 16));
          m.set(name, c);
        }
        c.present += s.present;
        reserve(c, s.numbers.length);
        c.numbers.set(s.numbers, c.nNumber);
        c.nNumber += s.numbers.length;
        for (const [v, n] of s.strings) {
          c.strings.set(v, (c.strings.get(v) ?? 0) + n);
          c.nString += n;
        }
        c.nTrue += s.nTrue;
        c.nFalse += s.nFalse;
        c.nOther += s.nOther;
      }
    };
    into(this.features, other.features);
    into(this.scoreClasses, other.scores);
    return this;
  }

  /** The profile of everything collected (number columns are sorted in place: call once). */
  finish(options: Omit<BuildProfileOptions, 'scoreRows'> = {}): ReferenceProfile {
    const opts = BuildProfileOptionsSchema.parse({
      bins: options.bins,
      maxCategories: options.maxCategories,
      maxOtherValues: options.maxOtherValues,
      positiveClass: options.positiveClass,
    });
    const n = this.rowCount;
    const features: FeatureProfile[] = [];
    const emptyFeatures: string[] = [];
    for (const name of [...this.features.keys()].sort(byCodeUnit)) {
      const c = this.features.get(name) as Collector;
      const p = featureProfile(name, n, c, opts);
      if (p === null) emptyFeatures.push(name);
      else features.push(p);
    }

    const scores = this.scoreProfiles(opts);
    const body: Omit<ReferenceProfile, 'fingerprint'> = {
      schemaVersion: 1,
      rows: n,
      bins: opts.bins,
      maxCategories: opts.maxCategories,
      features,
      emptyFeatures,
      scores,
    };
    // Fingerprint second in the key order so it reads near the top of the JSON.
    const { schemaVersion, ...rest } = body;
    return assertValidProfile({ schemaVersion, fingerprint: fingerprintOf(body), ...rest });
  }

  private scoreProfiles(opts: Opts): ReferenceProfile['scores'] {
    const positiveClass = opts.positiveClass ?? null;
    const classes = positiveClass !== null ? [positiveClass] : [...this.scoreClasses.keys()].sort(byCodeUnit);
    const n = this.scoreRowCount;
    const out: NumericFeatureProfile[] = [];
    for (const cls of classes) {
      const c = this.scoreClasses.get(cls);
      if (c === undefined || c.nNumber === 0) continue;
      // A score that is not a finite number (a string, NaN as text, ...) is of the wrong type.
      const mismatch = c.present - c.nNumber;
      const values = c.numbers.subarray(0, c.nNumber);
      out.push(numericProfile(cls, n, n - c.nNumber - mismatch, mismatch, values, opts.bins));
    }
    return { rows: n, positiveClass, classes: out };
  }
}

/** Thrown when a profile does not satisfy its own schema (it must then never be stored or cached). */
export class InvalidProfileError extends Error {
  override readonly name = 'InvalidProfileError';
}

/**
 * Returns `profile` when it satisfies {@link ReferenceProfileSchema}, else throws an
 * {@link InvalidProfileError} naming the first offending field. Stored profiles are cached for the life
 * of a model version, so one written with e.g. a non-finite mean (null in JSON) would make every later
 * drift run fail: check before writing, not when reading.
 */
export function assertValidProfile(profile: ReferenceProfile): ReferenceProfile {
  const parsed = ReferenceProfileSchema.safeParse(JSON.parse(JSON.stringify(profile)));
  if (parsed.success) return profile;
  const issue = parsed.error.issues[0];
  throw new InvalidProfileError(
    `reference profile is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
}

function newCollector(capacity: number): Collector {
  return {
    present: 0,
    numbers: new Float64Array(Math.max(capacity, 16)),
    nNumber: 0,
    strings: new Map(),
    nString: 0,
    nTrue: 0,
    nFalse: 0,
    nOther: 0,
  };
}

/** Makes room for `more` numbers (doubling, so a stream of unknown length costs amortised O(1)). */
function reserve(c: Collector, more: number): void {
  const need = c.nNumber + more;
  if (need <= c.numbers.length) return;
  const grown = new Float64Array(Math.max(need, c.numbers.length * 2));
  grown.set(c.numbers.subarray(0, c.nNumber));
  c.numbers = grown;
}

function collect(c: Collector, value: unknown): void {
  if (value === null || value === undefined) return;
  c.present += 1;
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (c.nNumber === c.numbers.length) reserve(c, 1);
    c.numbers[c.nNumber] = value;
    c.nNumber += 1;
  } else if (typeof value === 'string') {
    c.strings.set(value, (c.strings.get(value) ?? 0) + 1);
    c.nString += 1;
  } else if (value === true) {
    c.nTrue += 1;
  } else if (value === false) {
    c.nFalse += 1;
  } else {
    c.nOther += 1;
  }
}

type Opts = z.infer<typeof BuildProfileOptionsSchema>;

/** Picks the feature's type by majority (ties: number, then string, then boolean) and profiles it. */
function featureProfile(name: string, rows: number, c: Collector, opts: Opts): FeatureProfile | null {
  const nBool = c.nTrue + c.nFalse;
  if (c.present === 0) return null;
  const missing = rows - c.present;
  if (c.nNumber > 0 && c.nNumber >= c.nString && c.nNumber >= nBool) {
    const values = c.numbers.subarray(0, c.nNumber);
    return numericProfile(name, rows, missing, c.present - c.nNumber, values, opts.bins);
  }
  if (c.nString > 0 && c.nString >= nBool) {
    return categoricalProfile(name, rows, missing, c.present - c.nString, 'string', c.strings, opts);
  }
  if (nBool > 0) {
    const counts = new Map<string, number>();
    if (c.nTrue > 0) counts.set('true', c.nTrue);
    if (c.nFalse > 0) counts.set('false', c.nFalse);
    return categoricalProfile(name, rows, missing, c.present - nBool, 'boolean', counts, opts);
  }
  // Only values of unsupported types (objects): nothing to bin against.
  return null;
}

/** Profiles one numeric column; `values` are sorted in place. Exported for the score profiles and tests. */
export function numericProfile(
  name: string,
  rows: number,
  missing: number,
  typeMismatch: number,
  values: Float64Array,
  bins: number,
): NumericFeatureProfile {
  const k = values.length;
  if (k === 0) throw new RangeError(`numericProfile(${name}): no values`);
  sortFloat64(values);
  const min = values[0];
  const max = values[k - 1];

  // Cut point i is the value at rank ceil(i·k/bins) (lower empirical quantile); only strictly increasing
  // cuts below max are kept, which both deduplicates ties and keeps the last bin non-empty.
  const cutPoints: number[] = [];
  for (let i = 1; i < bins; i += 1) {
    const cut = values[Math.ceil((i * k) / bins) - 1];
    if (cut < max && (cutPoints.length === 0 || cut > cutPoints[cutPoints.length - 1])) cutPoints.push(cut);
  }
  const binCounts: number[] = [];
  let below = 0;
  for (const cut of cutPoints) {
    const upTo = upperBound(values, cut);
    binCounts.push(upTo - below);
    below = upTo;
  }
  binCounts.push(k - below);

  return {
    name,
    rows,
    missing,
    missingRate: rows === 0 ? 0 : missing / rows,
    typeMismatch,
    kind: 'numeric',
    valueType: 'number',
    min,
    max,
    mean: stableMean(values, Math.max(Math.abs(min), Math.abs(max))),
    cutPoints,
    binCounts,
  };
}

/** Above this magnitude a sum of a few values can overflow, so values are scaled first. */
const SCALE_ABOVE = 2 ** 500;

/**
 * Mean of finite values whose largest magnitude is `maxAbs`, without overflow: the naive sum of values
 * near 1e308 is ±Infinity (and JSON turns that into null). Large values are scaled by a power of two
 * (exact, so ordinary data gives the same bits as an unscaled sum) and summed with Neumaier's
 * compensation, so the result is also accurate when large values nearly cancel.
 */
export function stableMean(values: ArrayLike<number>, maxAbs: number): number {
  const k = values.length;
  // 2^1024 is already Infinity, hence the cap: values then scale into [-2, 2].
  const scale = maxAbs > SCALE_ABOVE ? 2 ** Math.min(Math.ceil(Math.log2(maxAbs)), 1023) : 1;
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < k; i += 1) {
    const x = values[i] / scale;
    const t = sum + x;
    compensation += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  const mean = ((sum + compensation) / k) * scale;
  // The scaled mean lies within [min, max], so rescaling cannot overflow; clamp against the last ulp.
  return Math.min(Math.max(mean, -Number.MAX_VALUE), Number.MAX_VALUE);
}

/** Number of sorted values ≤ x. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function categoricalProfile(
  name: string,
  rows: number,
  missing: number,
  typeMismatch: number,
  valueType: 'string' | 'boolean',
  counts: Map<string, number>,
  opts: Opts,
): FeatureProfile {
  const valid = rows - missing - typeMismatch;
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]));
  const top = sorted.slice(0, opts.maxCategories);
  const rest = sorted.slice(opts.maxCategories);
  const otherCount = rest.reduce((s, [, c]) => s + c, 0);
  const otherValuesComplete = rest.length <= opts.maxOtherValues;
  let numericStrings = 0;
  if (valueType === 'string') for (const [v, c] of sorted) if (isNumericString(v)) numericStrings += c;
  return {
    name,
    rows,
    missing,
    missingRate: rows === 0 ? 0 : missing / rows,
    typeMismatch,
    kind: 'categorical',
    valueType,
    distinct: counts.size,
    values: top.map(([value, count]) => ({ value, count, frequency: count / valid })),
    otherCount,
    otherFrequency: valid === 0 ? 0 : otherCount / valid,
    // `rest` is most-frequent-first, so a truncated list keeps the values most likely to come back.
    otherValues: rest
      .slice(0, opts.maxOtherValues)
      .map(([v]) => v)
      .sort(byCodeUnit),
    otherValuesComplete,
    ...(otherValuesComplete ? {} : { seenFilter: buildSeenFilter(counts.keys(), counts.size) }),
    ...(numericStrings > 0 ? { numericStrings } : {}),
  };
}

/** Code-unit string order: locale-independent, so profiles are identical on every machine. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A 53-bit hash (cyrb53) of the profile's JSON, as hex. Not cryptographic: it only has to make an
 * accumulator built against another profile (other bins) fail loudly instead of giving nonsense.
 */
export function fingerprintOf(value: unknown): string {
  const text = JSON.stringify(value);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}
