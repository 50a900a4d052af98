import { z } from 'zod';

/**
 * Size limits on log lines (policy `ingest` section): a valid but huge row would otherwise be copied
 * into joined data, test sets, auto labels and challenge sets, and held in memory by each.
 */
export const IngestLimitsSchema = z.strictObject({
  /** Longest log line accepted, in bytes; longer lines are quarantined. */
  maxLineBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  /** Longest string value (feature, label, id, slice) accepted, in UTF-8 bytes. */
  maxStringBytes: z
    .number()
    .int()
    .min(64)
    .max(1024 * 1024)
    .default(10 * 1024),
});
export type IngestLimits = z.infer<typeof IngestLimitsSchema>;

/** What a feature's values must be, from the champion's fitted pipeline (ml/feature-pipeline.ts). */
export const FeatureKindSchema = z.enum(['numeric', 'categorical', 'boolean']);
export type FeatureKind = z.infer<typeof FeatureKindSchema>;

/**
 * The checks ingest applies to every line beyond the row schema: the size limits, and each known
 * feature's type. Without a champion nothing is known of the features: only the limits apply.
 */
export const LineRulesSchema = IngestLimitsSchema.extend({
  featureKinds: z.record(z.string(), FeatureKindSchema).default({}),
  /** Where the feature kinds come from, for reasons: e.g. "champion v-abc". */
  featureSource: z.string().default(''),
});
export type LineRules = z.infer<typeof LineRulesSchema>;
export type LineRulesInput = z.input<typeof LineRulesSchema>;

/** UTF-8 length of a string, without encoding it when its length already decides. */
function utf8Over(s: string, max: number): number | undefined {
  if (s.length <= max / 3) return undefined;
  const n = s.length > max ? s.length : Buffer.byteLength(s);
  return n > max ? Buffer.byteLength(s) : undefined;
}

/** The first string in `value` (walked recursively) longer than the limit, named by its path. */
function longString(value: unknown, max: number, path: string): string | undefined {
  if (typeof value === 'string') {
    const n = utf8Over(value, max);
    return n === undefined
      ? undefined
      : `${path || '(row)'}: string of ${n} bytes exceeds the limit of ${max}`;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const keyLong = utf8Over(k, max);
      if (keyLong !== undefined)
        return `${path ? path + '.' : ''}(key): key of ${keyLong} bytes exceeds the limit of ${max}`;
      const r = longString(v, max, path ? `${path}.${k}` : k);
      if (r) return r;
    }
  }
  return undefined;
}

const describe = (v: unknown): string =>
  v === null ? 'null' : typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : typeof v;

/**
 * Why a schema-valid row breaks the rules, or undefined. Checks the features' types against the known
 * kinds (null is missing, allowed for every kind; unknown features pass) and every string's size.
 * The line size is checked by the caller before parsing.
 */
export function ruleProblem(row: object, rules: LineRules): string | undefined {
  const features = (row as { features?: Record<string, unknown> }).features;
  if (features) {
    for (const [name, value] of Object.entries(features)) {
      const kind = rules.featureKinds[name];
      if (!kind || value === null) continue;
      const ok =
        kind === 'numeric'
          ? typeof value === 'number'
          : kind === 'categorical'
            ? typeof value === 'string'
            : typeof value === 'boolean';
      if (!ok)
        return `features.${name}: ${kind} feature${rules.featureSource ? ` (${rules.featureSource})` : ''} got ${describe(value)}`;
    }
  }
  return longString(row, rules.maxStringBytes, '');
}

/**
 * Days a log line's timestamp may fall on, inclusive, as `YYYY-MM-DD` (compared on the timestamp's own
 * date part). Lines are written to the partition of their day: one stamped in the future of its
 * partition (a wrong clock) or years before it is quarantined, not learned from.
 */
export interface DayRange {
  from: string;
  to: string;
  /** The partition's day, for the reason. */
  day: string;
}

/** Days a timestamp may lie after its partition's day (late writes, time zones). */
export const MAX_DAYS_AFTER_PARTITION = 1;
/** Days a timestamp may lie before its partition's day (outcomes of old predictions, late uploads). */
export const MAX_DAYS_BEFORE_PARTITION = 366;

/** Why a timestamp does not belong to its partition, or undefined. */
export function timestampProblem(timestamp: string, range: DayRange | undefined): string | undefined {
  if (!range) return undefined;
  const day = timestamp.slice(0, 10);
  if (day > range.to)
    return `timestamp: ${timestamp} is more than ${MAX_DAYS_AFTER_PARTITION} day after its partition date=${range.day}`;
  if (day < range.from)
    return `timestamp: ${timestamp} is more than ${MAX_DAYS_BEFORE_PARTITION} days before its partition date=${range.day}`;
  return undefined;
}

/** The reason for a line over the size limit. */
export const lineTooLong = (bytes: number, rules: LineRules): string =>
  `line of ${bytes} bytes exceeds the limit of ${rules.maxLineBytes} (policy ingest.maxLineBytes)`;

/**
 * Feature kinds as the byte readers look them up: by the raw bytes of the feature's name, bucketed by
 * length and first bytes so a lookup costs one map access and one comparison.
 */
export class FeatureKindBytes {
  private readonly byCode = new Map<number, Array<{ bytes: Uint8Array; kind: number }>>();
  /** Kind codes: 0 unknown (anything goes), 1 numeric, 2 categorical, 3 boolean. */
  static readonly NUMERIC = 1;
  static readonly CATEGORICAL = 2;
  static readonly BOOLEAN = 3;

  constructor(kinds: Record<string, FeatureKind>) {
    const code = { numeric: 1, categorical: 2, boolean: 3 } as const;
    for (const [name, kind] of Object.entries(kinds)) {
      const bytes = Buffer.from(name, 'utf8');
      const c = FeatureKindBytes.code(bytes, 0, bytes.length);
      const list = this.byCode.get(c) ?? [];
      list.push({ bytes, kind: code[kind] });
      this.byCode.set(c, list);
    }
  }

  get size(): number {
    return this.byCode.size;
  }

  private static code(b: Uint8Array, start: number, end: number): number {
    const n = end - start;
    return n * 65536 + (n > 0 ? b[start] * 256 : 0) + (n > 1 ? b[start + 1] : 0);
  }

  /** The kind code of the (unescaped) name in bytes [start, end); 0 when the name is not known. */
  kindOf(b: Uint8Array, start: number, end: number): number {
    const list = this.byCode.get(FeatureKindBytes.code(b, start, end));
    if (!list) return 0;
    outer: for (const k of list) {
      for (let i = 0; i < k.bytes.length; i++) if (b[start + i] !== k.bytes[i]) continue outer;
      return k.kind;
    }
    return 0;
  }
}
