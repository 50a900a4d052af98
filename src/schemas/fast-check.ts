/**
 * Hand-written validity checks for the two hot log row types. Ingest validates millions of rows; these
 * checks accept a subset of what the zod schemas accept (never more: a property test holds them to it),
 * and any row they do not accept is sent through zod, which decides and names the reason. So zod stays
 * the schema of record and the fast path only skips work on rows that are plainly fine.
 */

import { isCalendarDay } from './calendar-day';

const TS =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const MODEL_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function isTimestamp(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = TS.exec(v);
  return m !== null && isCalendarDay(+m[1], +m[2], +m[3]);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

function isStringRecord(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
}

/** True when `v` is certainly a valid PredictionRow (false means: ask zod). */
export function isPlainValidPrediction(v: unknown): boolean {
  if (!isObject(v)) return false;
  if (
    !nonEmpty(v.requestId) ||
    !isTimestamp(v.timestamp) ||
    typeof v.modelId !== 'string' ||
    !MODEL_ID.test(v.modelId)
  )
    return false;
  if (!nonEmpty(v.modelVersion) || !nonEmpty(v.predictedLabel)) return false;
  if (v.entityId !== undefined && !nonEmpty(v.entityId)) return false;
  const f = v.features;
  if (!isObject(f)) return false;
  for (const k in f) {
    if (k.length === 0) return false;
    const x = f[k];
    if (x === null || typeof x === 'string' || typeof x === 'boolean') continue;
    if (typeof x !== 'number' || !Number.isFinite(x)) return false;
  }
  const s = v.scores;
  if (!isObject(s)) return false;
  for (const k in s) {
    const x = s[k];
    if (typeof x !== 'number' || !(x >= 0 && x <= 1)) return false;
  }
  if (v.slices !== undefined && !isStringRecord(v.slices)) return false;
  if (v.role !== undefined && v.role !== 'champion' && v.role !== 'canary' && v.role !== 'shadow')
    return false;
  if (
    v.latencyMs !== undefined &&
    !(typeof v.latencyMs === 'number' && Number.isFinite(v.latencyMs) && v.latencyMs >= 0)
  )
    return false;
  return true;
}

const SOURCES = new Set(['observed', 'user-report', 'annotator', 'heuristic']);

/** True when `v` is certainly a valid OutcomeRow with its confidence given (false means: ask zod). */
export function isPlainValidOutcome(v: unknown): boolean {
  if (!isObject(v)) return false;
  if (!nonEmpty(v.requestId) || !nonEmpty(v.observedLabel) || !isTimestamp(v.timestamp)) return false;
  if (typeof v.source !== 'string' || !SOURCES.has(v.source)) return false;
  return typeof v.confidence === 'number' && v.confidence >= 0 && v.confidence <= 1;
}

const LABEL_SOURCES = new Set([
  'observed',
  'user-report',
  'annotator',
  'heuristic',
  'auto-relabel',
  'human-review',
  'historical',
]);

/** True when `v` is certainly a valid LabeledRow (false means: ask zod). */
export function isPlainValidLabeled(v: unknown): boolean {
  if (!isObject(v)) return false;
  if (typeof v.requestId !== 'string' || !isTimestamp(v.timestamp) || !nonEmpty(v.label)) return false;
  if (typeof v.labelSource !== 'string' || !LABEL_SOURCES.has(v.labelSource)) return false;
  const f = v.features;
  if (!isObject(f)) return false;
  for (const k in f) {
    if (k.length === 0) return false;
    const x = f[k];
    if (x === null || typeof x === 'string' || typeof x === 'boolean') continue;
    if (typeof x !== 'number' || !Number.isFinite(x)) return false;
  }
  if (v.slices !== undefined && !isStringRecord(v.slices)) return false;
  if (v.lineage !== undefined && !isStringRecord(v.lineage)) return false;
  return true;
}
