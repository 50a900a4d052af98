import { isPlainValidPrediction } from '../schemas/fast-check';
import { parseLine } from '../schemas/parse-line';
import type { LineResult } from '../schemas/parse-line';
import { PredictionRowSchema } from '../schemas/records';
import type { PredictionRow } from '../schemas/records';

/**
 * Reading prediction-log lines for drift. A feature logged as NaN or ±Infinity is a wrongly typed value
 * of that one feature (the drift histograms have a bin for it), not a reason to drop the whole row:
 * dropping it would hide exactly the serving bug drift monitoring is there to show. Such values reach
 * the log in two ways: as the bare tokens `NaN`, `Infinity`, `-Infinity` (Python's `json.dumps`, which
 * JSON.parse rejects), or as a number too large for a double (`1e999`, which JSON.parse reads as
 * Infinity and the row schema then rejects). Anything else wrong with a line still makes it invalid.
 */

/** Stands for NaN while the line is parsed; JSON has no NaN, and U+0000 can only appear escaped. */
const NAN_SENTINEL = '\u0000NaN';
const NAN_SENTINEL_JSON = '"\\u0000NaN"';

/**
 * Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings into JSON that parses to
 * the sentinel, `1e999` and `-1e999`; returns null when the line has none of them (or already holds
 * the sentinel's text, which would make NaN ambiguous).
 */
function rewriteNonFiniteTokens(line: string): string | null {
  if (!line.includes('NaN') && !line.includes('Infinity')) return null;
  if (line.includes('\\u0000NaN')) return null;
  let out = '';
  let from = 0;
  let inString = false;
  let changed = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (inString) {
      if (ch === '\\') i += 1;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      continue;
    }
    let token: string | null = null;
    let replacement = '';
    if (line.startsWith('NaN', i)) [token, replacement] = ['NaN', NAN_SENTINEL_JSON];
    else if (line.startsWith('-Infinity', i)) [token, replacement] = ['-Infinity', '-1e999'];
    else if (line.startsWith('Infinity', i)) [token, replacement] = ['Infinity', '1e999'];
    if (token === null) continue;
    out += line.slice(from, i) + replacement;
    i += token.length - 1;
    from = i + 1;
    changed = true;
  }
  return changed ? out + line.slice(from) : null;
}

/** A valid prediction row, and how many of its feature values were NaN/±Infinity. */
export type DriftLineResult = LineResult<PredictionRow> & { nonFinite?: number };

/**
 * Parses one prediction-log line for drift and skew. Like the ingest parser, except that NaN/±Infinity
 * feature values keep the row valid and stay in `row.features` as numbers, so that `accumulate` counts
 * them as wrongly typed (`mismatchTypes.nonFinite`) as the monitoring README promises.
 */
export function parsePredictionLineForDrift(line: string): DriftLineResult {
  const strict = parseLine(line, PredictionRowSchema, isPlainValidPrediction);
  if (strict.ok) return strict;
  let value: unknown;
  try {
    const text = rewriteNonFiniteTokens(line) ?? line;
    value = JSON.parse(text, (_key, v: unknown) => (v === NAN_SENTINEL ? NaN : v));
  } catch {
    return strict;
  }
  const features = (value as { features?: unknown } | null)?.features;
  if (typeof features !== 'object' || features === null || Array.isArray(features)) return strict;
  const record = features as Record<string, unknown>;
  // Validate the row with the non-finite values as nulls, then put them back.
  const nonFinite = new Map<string, number>();
  for (const k of Object.keys(record)) {
    const v = record[k];
    if (typeof v === 'number' && !Number.isFinite(v)) {
      nonFinite.set(k, v);
      record[k] = null;
    }
  }
  if (nonFinite.size === 0) return strict;
  const checked = parseLine(JSON.stringify(value), PredictionRowSchema, isPlainValidPrediction);
  if (!checked.ok) return checked;
  for (const [k, v] of nonFinite) checked.row.features[k] = v;
  return { ok: true, row: checked.row, nonFinite: nonFinite.size };
}
