import { z } from 'zod';
import type { FeatureValue, Features } from '../schemas/records';
import { TrainingDataError } from './errors';
import type { Matrix } from './matrix';
import { NUMERIC_STRING_SHARE, parseNumericString } from './numeric-string';

// Hot loops use these module-level aliases instead of `Math.x`/`Number.x`: under Jest's vm sandbox every
// global lookup goes through an interceptor and made training ~10x slower. Harmless elsewhere.
const hasOwn = Object.hasOwn;
const isFiniteNumber = Number.isFinite;

/**
 * The feature pipeline turns logged `Features` into model inputs. It is THE defence against
 * training/serving skew: training, evaluation and serving all call `transform` on the same fitted,
 * JSON-serialised pipeline, so there is exactly one definition of "how a feature becomes a number".
 */

/** Name of the one-hot column that catches category values not in the fitted vocabulary. */
export const UNKNOWN_CATEGORY = '__unknown__';
/** Name of the one-hot column for a missing categorical value (only when missing values were seen at fit). */
export const MISSING_CATEGORY = '__missing__';
/** How many distinct unseen category values a counter keeps per feature. */
export const MAX_TRACKED_UNKNOWN_VALUES = 20;

export const FeatureKindSchema = z.enum(['numeric', 'categorical', 'boolean']);
export type FeatureKind = z.infer<typeof FeatureKindSchema>;

/** What to fit. Every field is optional; the defaults suit logged production features. */
export const PipelineSpecSchema = z.object({
  /** Input features, in output order. Default: every key seen in the training rows, sorted. */
  features: z.array(z.string().min(1)).optional(),
  /** Keys never used as inputs (ids, timestamps, leakage-prone fields). */
  exclude: z.array(z.string().min(1)).default([]),
  /** Force a kind per feature; others are inferred from the training values. */
  kinds: z.record(z.string(), FeatureKindSchema).default({}),
  /** A category value needs this many training rows to get its own column; rarer ones map to unknown. */
  minFrequency: z.number().int().min(1).default(5),
  /** At most this many vocabulary values per categorical feature (most frequent first). */
  maxCategories: z.number().int().min(1).default(50),
  /**
   * Numbers logged as text ("12.5"): a feature whose values are mostly strings, at least
   * NUMERIC_STRING_SHARE of them reading as numbers, is fitted as numeric and its numeric strings are
   * parsed in training and serving alike. Off by default: the pipeline then keeps the feature
   * categorical and names it in `numericStringFeatures` (and the training summary's warnings).
   */
  coerceNumericStrings: z.boolean().default(false),
});
/** Pipeline spec as callers write it (all fields optional). */
export type PipelineSpec = z.input<typeof PipelineSpecSchema>;
/** Pipeline spec with defaults applied. */
export type ResolvedPipelineSpec = z.infer<typeof PipelineSpecSchema>;

const NumericFeatureSchema = z.object({
  kind: z.literal('numeric'),
  name: z.string().min(1),
  /** Imputation value: median of the observed training values. */
  median: z.number(),
  /** Mean and std of the imputed training column; output = (value - mean) / std. */
  mean: z.number(),
  std: z.number().positive(),
  /** Whether a `<name>__missing` 0/1 column follows (only if training had missing values). */
  missingIndicator: z.boolean(),
  /** Present (true) when numbers logged as text are parsed (see `coerceNumericStrings`). */
  parseStrings: z.literal(true).optional(),
});
const CategoricalFeatureSchema = z.object({
  kind: z.literal('categorical'),
  name: z.string().min(1),
  /** One column per value, in this order, then `__unknown__`, then `__missing__` if present. */
  vocabulary: z.array(z.string()),
  missingIndicator: z.boolean(),
});
const BooleanFeatureSchema = z.object({
  kind: z.literal('boolean'),
  name: z.string().min(1),
  /** Most common training value; used for missing values. */
  mode: z.boolean(),
});

/** One fitted input feature. */
export const FittedFeatureSchema = z.discriminatedUnion('kind', [
  NumericFeatureSchema,
  CategoricalFeatureSchema,
  BooleanFeatureSchema,
]);
export type FittedFeature = z.infer<typeof FittedFeatureSchema>;

/** Number of output columns one fitted feature produces. */
export function featureWidth(f: FittedFeature): number {
  switch (f.kind) {
    case 'numeric':
      return f.missingIndicator ? 2 : 1;
    case 'categorical':
      return f.vocabulary.length + 1 + (f.missingIndicator ? 1 : 0);
    case 'boolean':
      return 1;
  }
}

/** A fitted pipeline: plain JSON, saved inside the model artifact. Treat it as immutable. */
export const FittedPipelineSchema = z
  .object({
    version: z.literal(1),
    features: z.array(FittedFeatureSchema),
    nOutputs: z.number().int().nonnegative(),
    /** Features seen at fit time but not used because they had no usable value at all. */
    droppedFeatures: z.array(z.string()),
    fittedRows: z.number().int().positive(),
    /**
     * Only when not empty: categorical features whose values are nearly all numbers written as text,
     * left categorical (so one-hot columns that carry almost no signal). See `coerceNumericStrings`.
     */
    numericStringFeatures: z.array(z.string()).optional(),
  })
  .superRefine((p, ctx) => {
    const width = p.features.reduce((sum, f) => sum + featureWidth(f), 0);
    if (width !== p.nOutputs) ctx.addIssue({ code: 'custom', message: `nOutputs ${p.nOutputs} != ${width}` });
    const names = new Set(p.features.map((f) => f.name));
    if (names.size !== p.features.length)
      ctx.addIssue({ code: 'custom', message: 'duplicate feature names' });
  });
export type FittedPipeline = z.infer<typeof FittedPipelineSchema>;

/** Per-feature transform counters. */
export const FeatureCountersSchema = z.object({
  /** Value null or key absent; imputed. */
  missing: z.number().int().nonnegative(),
  /** Value of the wrong type (e.g. a string for a numeric feature, or a non-finite number); imputed like missing. */
  typeMismatch: z.number().int().nonnegative(),
  /** Category values not in the vocabulary (unseen, or too rare at fit time). */
  unknown: z.number().int().nonnegative(),
  /**
   * The most frequent unknown values, at most MAX_TRACKED_UNKNOWN_VALUES. Counts are exact while at
   * most that many distinct values were seen; beyond that this is a Space-Saving heavy-hitter
   * summary (counts may over-estimate), which still surfaces a new high-volume category.
   */
  unknownValues: z.record(z.string(), z.number().int().nonnegative()),
});
export type FeatureCounters = z.infer<typeof FeatureCountersSchema>;

/** Counters filled by `transform`: how the served/evaluated data differed from the training data. */
export const TransformCountersSchema = z.object({
  rows: z.number().int().nonnegative(),
  /** Only features with at least one event appear. */
  features: z.record(z.string(), FeatureCountersSchema),
});
export type TransformCounters = z.infer<typeof TransformCountersSchema>;

/** Output column layout of a fitted pipeline. */
export const PipelineDescriptionSchema = z.object({
  columns: z.array(z.string()),
  features: z.array(
    z.object({
      name: z.string(),
      kind: FeatureKindSchema,
      /** Output columns [start, end). */
      start: z.number().int(),
      end: z.number().int(),
    }),
  ),
});
export type PipelineDescription = z.infer<typeof PipelineDescriptionSchema>;

// ---------------------------------------------------------------------------------------------------
// Small helpers. Feature names and category values come from user data, so records are accessed with
// own-property checks: a category called "constructor" or "__proto__" must not hit Object.prototype.

function getValue(features: Features, name: string): FeatureValue | undefined {
  const v: unknown = features[name];
  // Valid values are primitives or null; only an object/function can come from Object.prototype
  // ("constructor", "__proto__"...), so the own-property check is needed only then (keeps it off the hot path).
  if ((typeof v === 'object' && v !== null) || typeof v === 'function') {
    return hasOwn(features, name) ? features[name] : undefined;
  }
  return v as FeatureValue | undefined;
}

function putOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

function compareStrings(a: string, b: string): number {
  // Code-unit order, not localeCompare: the result must not depend on the host's locale.
  return a < b ? -1 : a > b ? 1 : 0;
}

function noNegativeZero(x: number): number {
  // JSON turns -0 into 0; normalising up front keeps transforms bit-identical after a round-trip.
  return x === 0 ? 0 : x;
}

// ---------------------------------------------------------------------------------------------------
// Fitting

function collectNames(rows: readonly Features[]): string[] {
  const names = new Set<string>();
  // for-in uses V8's enum cache (no per-row key array); the own check skips inherited keys.
  for (const row of rows) {
    for (const key in row) if (hasOwn(row, key)) names.add(key);
  }
  return [...names].sort(compareStrings);
}

/** One feature's values across the training rows (undefined = key absent). */
type Column = (FeatureValue | undefined)[];

/**
 * True when at least NUMERIC_STRING_SHARE of the column's string values read as numbers. Stops as soon
 * as that is out of reach, so an ordinary categorical column costs a few percent of a pass.
 */
function mostlyNumericStrings(column: Column): boolean {
  const outOfReach = (1 - NUMERIC_STRING_SHARE) * column.length;
  let strings = 0;
  let numeric = 0;
  for (const v of column) {
    if (typeof v !== 'string') continue;
    strings++;
    if (!Number.isNaN(parseNumericString(v))) numeric++;
    else if (strings - numeric > outOfReach) return false;
  }
  return strings > 0 && numeric >= NUMERIC_STRING_SHARE * strings;
}

function inferKind(column: Column): FeatureKind | undefined {
  let numbers = 0;
  let strings = 0;
  let booleans = 0;
  for (const v of column) {
    if (typeof v === 'number' && isFiniteNumber(v)) numbers++;
    else if (typeof v === 'string') strings++;
    else if (typeof v === 'boolean') booleans++;
  }
  // Majority type wins so a few dirty values don't flip a feature's kind; the minority is then
  // treated as type mismatches (imputed and counted), exactly as at serving time.
  const best = Math.max(numbers, strings, booleans);
  if (best === 0) return undefined;
  if (numbers === best) return 'numeric';
  if (strings === best) return 'categorical';
  return 'boolean';
}

/**
 * k-th smallest value (0-based) by in-place quickselect with a median-of-three pivot: O(n) instead of
 * sorting, which dominated fitting time. Afterwards every value left of k is <= values[k].
 */
function selectKth(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    const a = values[lo];
    const b = values[mid];
    const c = values[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const tmp = values[i];
        values[i] = values[j];
        values[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}

/** Above this magnitude squares (and sums) can overflow, so the column is scaled first. */
const SCALE_ABOVE = 2 ** 500;

/** The finite numbers of one feature, read straight from the rows into a typed buffer. */
interface NumericScan {
  observed: Float64Array;
  nObserved: number;
  min: number;
  max: number;
}

/**
 * Reads a feature's finite numbers from the rows into one Float64Array, or returns null as soon as a
 * string or boolean value shows up (then the generic column path decides the kind). The common, purely
 * numeric column is fitted from this buffer without a boxed value per row, which was most of the
 * fitting time (garbage collection of 1M × features heap numbers).
 */
function scanNumeric(rows: readonly Features[], name: string): NumericScan | null {
  const observed = new Float64Array(rows.length);
  let nObserved = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const v = getValue(rows[i], name);
    if (typeof v === 'number') {
      if (!isFiniteNumber(v)) continue;
      observed[nObserved++] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    } else if (v !== null && v !== undefined) return null;
  }
  return nObserved === 0 ? null : { observed, nObserved, min, max };
}

function fitNumeric(column: Column, name: string, parseStrings = false): FittedFeature {
  const observed = new Float64Array(column.length);
  let nObserved = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const raw of column) {
    const v = parseStrings && typeof raw === 'string' ? parseNumericString(raw) : raw;
    if (typeof v === 'number' && isFiniteNumber(v)) {
      observed[nObserved++] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return fitNumericScan({ observed, nObserved, min, max }, column.length, name, parseStrings);
}

function fitNumericScan(scan: NumericScan, n: number, name: string, parseStrings = false): FittedFeature {
  const { observed, nObserved, min, max } = scan;
  const coerce: { parseStrings?: true } = parseStrings ? { parseStrings: true } : {};
  const nMissing = n - nObserved;
  if (nObserved === 0) {
    return { kind: 'numeric', name, median: 0, mean: 0, std: 1, missingIndicator: true, ...coerce };
  }
  const values = observed.subarray(0, nObserved);
  const mid = nObserved >> 1;
  const upper = selectKth(values, mid);
  let median = upper;
  if (nObserved % 2 === 0) {
    // Even count: the lower middle is the largest value left of `mid` after selection.
    let lower = values[0];
    for (let i = 1; i < mid; i++) if (values[i] > lower) lower = values[i];
    median = (lower + upper) / 2;
  }
  median = noNegativeZero(median);
  if (min === max) {
    // Constant column: a computed std would be rounding noise (~1e-17) and blow up any serving value
    // that differs, so store std = 1 and the exact constant as mean.
    return {
      kind: 'numeric',
      name,
      median,
      mean: median,
      std: 1,
      missingIndicator: nMissing > 0,
      ...coerce,
    };
  }
  // Statistics of the imputed column (what the model actually sees), two-pass for stability. Squares
  // of values above ~1e154 overflow, so a column with such values is scaled by a power of two first
  // (exact: ordinary columns, with scale 1, give the same bits as unscaled arithmetic).
  const maxAbs = Math.max(Math.abs(min), Math.abs(max));
  const scale = maxAbs > SCALE_ABOVE ? 2 ** Math.min(Math.ceil(Math.log2(maxAbs)), 1023) : 1;
  const m = median / scale;
  let sum = nMissing * m;
  for (let i = 0; i < nObserved; i++) sum += values[i] / scale;
  const scaledMean = sum / n;
  let squares = nMissing * (m - scaledMean) * (m - scaledMean);
  for (let i = 0; i < nObserved; i++) {
    const dev = values[i] / scale - scaledMean;
    squares += dev * dev;
  }
  const mean = scaledMean * scale;
  const std = Math.sqrt(squares / n) * scale;
  if (!(std > 0 && isFiniteNumber(std) && isFiniteNumber(mean))) {
    // Not constant (handled above), so a zero or non-finite std is a numeric failure: say so rather
    // than standardise with a made-up std.
    throw new TrainingDataError(
      `feature "${name}": cannot standardise (mean ${mean}, std ${std}) from values in [${min}, ${max}]`,
    );
  }
  return {
    kind: 'numeric',
    name,
    median,
    mean: noNegativeZero(mean),
    std,
    missingIndicator: nMissing > 0,
    ...coerce,
  };
}

function fitCategorical(column: Column, name: string, spec: ResolvedPipelineSpec): FittedFeature {
  const counts = new Map<string, number>();
  let nMissing = 0;
  for (const v of column) {
    if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
    else nMissing++;
  }
  const vocabulary = [...counts.entries()]
    .filter(([, count]) => count >= spec.minFrequency)
    .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
    .slice(0, spec.maxCategories)
    .map(([value]) => value);
  return { kind: 'categorical', name, vocabulary, missingIndicator: nMissing > 0 };
}

function fitBoolean(column: Column, name: string): FittedFeature {
  let trues = 0;
  let falses = 0;
  for (const v of column) {
    if (v === true) trues++;
    else if (v === false) falses++;
  }
  return { kind: 'boolean', name, mode: trues > falses };
}

/**
 * Fits the pipeline on TRAINING rows only (fitting on validation/test data would leak their
 * statistics into the model). Deterministic: the same rows and spec always give the same JSON.
 *
 * @throws TrainingDataError when `rows` is empty.
 */
export function fitPipeline(rows: readonly Features[], spec: PipelineSpec = {}): FittedPipeline {
  const resolved = PipelineSpecSchema.parse(spec);
  if (rows.length === 0) throw new TrainingDataError('cannot fit a feature pipeline on zero rows');
  const excluded = new Set(resolved.exclude);
  const names = [...new Set(resolved.features ?? collectNames(rows))].filter((name) => !excluded.has(name));
  const features: FittedFeature[] = [];
  const droppedFeatures: string[] = [];
  const numericStringFeatures: string[] = [];
  for (const name of names) {
    const forced = hasOwn(resolved.kinds, name);
    if (!forced || resolved.kinds[name] === 'numeric') {
      const scan = scanNumeric(rows, name);
      if (scan) {
        features.push(fitNumericScan(scan, rows.length, name));
        continue;
      }
    }
    // Extract the column once: keyed lookups on row objects are the expensive part of fitting.
    const column: Column = rows.map((row) => getValue(row, name));
    const kind = forced ? resolved.kinds[name] : inferKind(column);
    if (kind === undefined) {
      // Never observed with a usable value: nothing to learn, and a constant column would only
      // confuse drift monitoring. Recorded so the omission is visible.
      droppedFeatures.push(name);
      continue;
    }
    const numbersAsText = kind === 'categorical' && mostlyNumericStrings(column);
    if (numbersAsText && resolved.coerceNumericStrings && !forced) {
      features.push(fitNumeric(column, name, true));
    } else if (kind === 'numeric') features.push(fitNumeric(column, name));
    else if (kind === 'categorical') {
      if (numbersAsText) numericStringFeatures.push(name);
      features.push(fitCategorical(column, name, resolved));
    } else features.push(fitBoolean(column, name));
  }
  const nOutputs = features.reduce((sum, f) => sum + featureWidth(f), 0);
  return {
    version: 1,
    features,
    nOutputs,
    droppedFeatures,
    fittedRows: rows.length,
    ...(numericStringFeatures.length > 0 ? { numericStringFeatures } : {}),
  };
}

/**
 * Sentences about what fitting could not learn well, for the training summary: features that are
 * numbers written as text (each distinct number a rare category, so next to no signal).
 */
export function pipelineWarnings(pipeline: FittedPipeline): string[] {
  return (pipeline.numericStringFeatures ?? []).map(
    (name) =>
      `feature "${name}" is numbers logged as text ("12.5"): one-hot encoded as categories it carries ` +
      'almost no signal; log it as numbers or fit with coerceNumericStrings',
  );
}

// ---------------------------------------------------------------------------------------------------
// Transforming

type CompiledFeature =
  | {
      kind: 'numeric';
      name: string;
      offset: number;
      mean: number;
      std: number;
      imputed: number;
      indicator: number;
      parseStrings: boolean;
    }
  | {
      kind: 'categorical';
      name: string;
      offset: number;
      width: number;
      index: Map<string, number>;
      unknown: number;
      missing: number;
    }
  | { kind: 'boolean'; name: string; offset: number; mode: number };

interface CompiledPipeline {
  nOutputs: number;
  features: CompiledFeature[];
}

// Lookup structures (Maps, offsets) derived from the JSON; cached per pipeline object so serving does
// not rebuild them per request. A JSON round-trip yields a new object and an identical compilation.
const compiledCache = new WeakMap<FittedPipeline, CompiledPipeline>();

function compile(pipeline: FittedPipeline): CompiledPipeline {
  const cached = compiledCache.get(pipeline);
  if (cached) return cached;
  let offset = 0;
  const features = pipeline.features.map((f): CompiledFeature => {
    const start = offset;
    offset += featureWidth(f);
    switch (f.kind) {
      case 'numeric':
        return {
          kind: 'numeric',
          name: f.name,
          offset: start,
          mean: f.mean,
          std: f.std,
          imputed: (f.median - f.mean) / f.std,
          indicator: f.missingIndicator ? start + 1 : -1,
          parseStrings: f.parseStrings === true,
        };
      case 'categorical':
        return {
          kind: 'categorical',
          name: f.name,
          offset: start,
          width: featureWidth(f),
          index: new Map(f.vocabulary.map((value, i) => [value, start + i])),
          unknown: start + f.vocabulary.length,
          missing: f.missingIndicator ? start + f.vocabulary.length + 1 : -1,
        };
      case 'boolean':
        return { kind: 'boolean', name: f.name, offset: start, mode: f.mode ? 1 : 0 };
    }
  });
  const compiled = { nOutputs: offset, features };
  compiledCache.set(pipeline, compiled);
  return compiled;
}

/** Returns empty counters to pass to `transform`/`transformBatch`. */
export function createCounters(): TransformCounters {
  return { rows: 0, features: {} };
}

function featureCounters(counters: TransformCounters, name: string): FeatureCounters {
  if (hasOwn(counters.features, name)) return counters.features[name];
  const created: FeatureCounters = { missing: 0, typeMismatch: 0, unknown: 0, unknownValues: {} };
  putOwn(counters.features, name, created);
  return created;
}

function countAbsent(
  counters: TransformCounters | undefined,
  name: string,
  value: FeatureValue | undefined,
): void {
  if (!counters) return;
  const fc = featureCounters(counters, name);
  if (value === null || value === undefined) fc.missing++;
  else fc.typeMismatch++;
}

function countUnknown(counters: TransformCounters | undefined, name: string, value: string): void {
  if (!counters) return;
  const fc = featureCounters(counters, name);
  fc.unknown++;
  const values = fc.unknownValues;
  if (hasOwn(values, value)) {
    values[value]++;
    return;
  }
  const keys = Object.keys(values);
  if (keys.length < MAX_TRACKED_UNKNOWN_VALUES) {
    putOwn(values, value, 1);
    return;
  }
  // Space-Saving: evict the smallest entry and let the newcomer inherit its count + 1. This bounds
  // memory per feature while guaranteeing any value with > rows/20 occurrences stays listed.
  let evict = keys[0];
  for (const key of keys) {
    if (values[key] < values[evict] || (values[key] === values[evict] && compareStrings(key, evict) > 0))
      evict = key;
  }
  const inherited = values[evict];
  delete values[evict];
  putOwn(values, value, inherited + 1);
}

function transformInto(
  compiled: CompiledPipeline,
  features: Features,
  out: Float64Array,
  base: number,
  counters: TransformCounters | undefined,
): void {
  if (counters) counters.rows++;
  for (const f of compiled.features) {
    const v = getValue(features, f.name);
    switch (f.kind) {
      case 'numeric': {
        const x = f.parseStrings && typeof v === 'string' ? parseNumericString(v) : v;
        if (typeof x === 'number' && isFiniteNumber(x)) {
          out[base + f.offset] = (x - f.mean) / f.std;
          if (f.indicator >= 0) out[base + f.indicator] = 0;
        } else {
          countAbsent(counters, f.name, v);
          out[base + f.offset] = f.imputed;
          if (f.indicator >= 0) out[base + f.indicator] = 1;
        }
        break;
      }
      case 'categorical': {
        out.fill(0, base + f.offset, base + f.offset + f.width);
        if (typeof v === 'string') {
          const column = f.index.get(v);
          if (column !== undefined) {
            out[base + column] = 1;
          } else {
            out[base + f.unknown] = 1;
            countUnknown(counters, f.name, v);
          }
        } else {
          // Missing or wrong type: the __missing__ column if training had missing values, otherwise
          // all zeros (the model's baseline for this feature).
          countAbsent(counters, f.name, v);
          if (f.missing >= 0) out[base + f.missing] = 1;
        }
        break;
      }
      case 'boolean':
        if (typeof v === 'boolean') {
          out[base + f.offset] = v ? 1 : 0;
        } else {
          countAbsent(counters, f.name, v);
          out[base + f.offset] = f.mode;
        }
        break;
    }
  }
}

/**
 * Transforms one feature record into the model's input vector. Never throws on bad values: missing,
 * unseen and wrongly-typed values are imputed and, if `counters` is given, counted (the counters
 * object is mutated in place so one accumulator can span many calls). With `out` (`nOutputs` long) the
 * vector is written there and `out` returned, for callers that reuse one buffer per record.
 *
 * @throws RangeError if `out` is not `nOutputs` long.
 */
export function transform(
  pipeline: FittedPipeline,
  features: Features,
  counters?: TransformCounters,
  out?: Float64Array,
): Float64Array {
  const compiled = compile(pipeline);
  if (out === undefined) out = new Float64Array(compiled.nOutputs);
  else if (out.length !== compiled.nOutputs) {
    throw new RangeError(`pipeline has ${compiled.nOutputs} outputs, got a buffer of ${out.length}`);
  }
  transformInto(compiled, features, out, 0, counters);
  return out;
}

/** Transforms many records into one row-major Matrix (see matrix.ts for the layout). */
export function transformBatch(
  pipeline: FittedPipeline,
  rows: readonly Features[],
  counters?: TransformCounters,
): Matrix {
  const compiled = compile(pipeline);
  const data = new Float64Array(rows.length * compiled.nOutputs);
  for (let i = 0; i < rows.length; i++)
    transformInto(compiled, rows[i], data, i * compiled.nOutputs, counters);
  return { data, nRows: rows.length, nCols: compiled.nOutputs };
}

/**
 * Merges counters (e.g. from parallel activities or serving processes) into a new object; inputs are
 * not modified. Unknown-value lists are summed and trimmed back to the top MAX_TRACKED_UNKNOWN_VALUES.
 */
export function mergeCounters(...all: TransformCounters[]): TransformCounters {
  const merged = createCounters();
  for (const counters of all) {
    merged.rows += counters.rows;
    for (const [name, fc] of Object.entries(counters.features)) {
      const target = featureCounters(merged, name);
      target.missing += fc.missing;
      target.typeMismatch += fc.typeMismatch;
      target.unknown += fc.unknown;
      for (const [value, count] of Object.entries(fc.unknownValues)) {
        putOwn(
          target.unknownValues,
          value,
          (hasOwn(target.unknownValues, value) ? target.unknownValues[value] : 0) + count,
        );
      }
    }
  }
  for (const fc of Object.values(merged.features)) {
    const top = Object.entries(fc.unknownValues)
      .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
      .slice(0, MAX_TRACKED_UNKNOWN_VALUES);
    fc.unknownValues = {};
    for (const [value, count] of top) putOwn(fc.unknownValues, value, count);
  }
  return merged;
}

/** Output column names and the column range of each input feature (for weights, dashboards, debugging). */
export function describePipeline(pipeline: FittedPipeline): PipelineDescription {
  const columns: string[] = [];
  const features: PipelineDescription['features'] = [];
  for (const f of pipeline.features) {
    const start = columns.length;
    if (f.kind === 'numeric') {
      columns.push(f.name);
      if (f.missingIndicator) columns.push(`${f.name}__missing`);
    } else if (f.kind === 'categorical') {
      for (const value of f.vocabulary) columns.push(`${f.name}=${value}`);
      columns.push(`${f.name}=${UNKNOWN_CATEGORY}`);
      if (f.missingIndicator) columns.push(`${f.name}=${MISSING_CATEGORY}`);
    } else {
      columns.push(f.name);
    }
    features.push({ name: f.name, kind: f.kind, start, end: columns.length });
  }
  return { columns, features };
}
