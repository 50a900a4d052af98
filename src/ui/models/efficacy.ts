import type { ModelManifest } from '../../schemas/manifests';
import type { JoinedRow } from '../../schemas/records';

/** One served prediction whose ground truth has matured: what production precision is measured on. */
export interface MaturedPrediction {
  requestId: string;
  /** When the prediction was served (ISO): the week it counts in. */
  timestamp: string;
  modelVersion: string;
  predictedLabel: string;
  /** The observed outcome. */
  label: string;
}

/** Production precision and recall of one week against the offline precision of the model that served it. */
export interface WeekEfficacy {
  /** Monday (UTC) the week starts on, YYYY-MM-DD. */
  weekStart: string;
  rows: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** null when the model predicted no positive that week (nothing to be precise about). */
  precision: number | null;
  /** null when no positive outcome was observed that week. */
  recall: number | null;
  /** The version that served most of the week's matured predictions. */
  servingVersion: string;
  /** Its offline precision (the gate's measurement when it was blessed), null when unknown. */
  offlinePrecision: number | null;
}

/**
 * The matured label of a joined row: the newest `observed` outcome. User reports, heuristics and
 * annotators are not ground truth about production behaviour, so they do not count here.
 */
export function maturedLabel(row: Pick<JoinedRow, 'outcomes'>): string | undefined {
  for (let i = row.outcomes.length - 1; i >= 0; i--)
    if (row.outcomes[i].source === 'observed') return row.outcomes[i].observedLabel;
  return undefined;
}

/** A joined row as a matured prediction, or undefined when no observed outcome has matured for it. */
export function toMatured(row: JoinedRow): MaturedPrediction | undefined {
  const label = maturedLabel(row);
  if (label === undefined) return undefined;
  return {
    requestId: row.requestId,
    timestamp: row.timestamp,
    modelVersion: row.modelVersion,
    predictedLabel: row.predictedLabel,
    label,
  };
}

/**
 * A version's offline precision: what the promotion gate measured on the fresh test set when it blessed
 * it (comparable with production), else the precision on its own holdout from training.
 */
export function offlinePrecisionOf(manifest: Pick<ModelManifest, 'metrics' | 'blessing'>): number | null {
  return manifest.blessing?.comparison?.candidate.precision ?? manifest.metrics.precision ?? null;
}

/** The Monday (UTC) of the week holding an ISO timestamp, as YYYY-MM-DD. */
export function weekStartOf(timestamp: string): string {
  const t = new Date(timestamp);
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  // getUTCDay: Sunday 0 … Saturday 6; Monday starts the week.
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
}

/**
 * Production precision and recall of `positiveClass` per week of serving, oldest week first, each beside
 * the offline precision of the version that served it: the gap the essay is about. A request seen twice
 * (its outcome matured in two cycles' windows) counts once. Rows with an unparseable timestamp are left
 * out (the caller validated them; this only guards the arithmetic).
 */
export function weeklyEfficacy(
  rows: Iterable<MaturedPrediction>,
  positiveClass: string,
  offlinePrecision: ReadonlyMap<string, number | null>,
): WeekEfficacy[] {
  const seen = new Set<string>();
  const weeks = new Map<
    string,
    { tp: number; fp: number; fn: number; rows: number; versions: Map<string, number> }
  >();
  for (const r of rows) {
    if (seen.has(r.requestId) || Number.isNaN(Date.parse(r.timestamp))) continue;
    seen.add(r.requestId);
    const key = weekStartOf(r.timestamp);
    let w = weeks.get(key);
    if (!w) weeks.set(key, (w = { tp: 0, fp: 0, fn: 0, rows: 0, versions: new Map() }));
    w.rows++;
    w.versions.set(r.modelVersion, (w.versions.get(r.modelVersion) ?? 0) + 1);
    const predicted = r.predictedLabel === positiveClass;
    const actual = r.label === positiveClass;
    if (predicted && actual) w.tp++;
    else if (predicted) w.fp++;
    else if (actual) w.fn++;
  }
  return [...weeks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([weekStart, w]) => {
      // Most rows first; ties by name so the answer does not depend on row order.
      const servingVersion = [...w.versions.entries()].sort(
        (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
      )[0][0];
      return {
        weekStart,
        rows: w.rows,
        truePositives: w.tp,
        falsePositives: w.fp,
        falseNegatives: w.fn,
        precision: w.tp + w.fp > 0 ? w.tp / (w.tp + w.fp) : null,
        recall: w.tp + w.fn > 0 ? w.tp / (w.tp + w.fn) : null,
        servingVersion,
        offlinePrecision: offlinePrecision.get(servingVersion) ?? null,
      };
    });
}
