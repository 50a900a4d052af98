import { z } from 'zod';
import type { JoinedRow, LabeledRow, LabelSource } from '../schemas';

/** How much each outcome source is believed when several disagree: observed outcomes win. */
const sourceRank: Record<LabelSource, number> = { observed: 3, annotator: 2, 'user-report': 1, heuristic: 0 };

/** The label a joined row is judged by: the most trusted source, the latest among equals. */
export function primaryOutcome(outcomes: JoinedRow['outcomes']): JoinedRow['outcomes'][number] | undefined {
  let best: JoinedRow['outcomes'][number] | undefined;
  for (const o of outcomes) {
    if (
      !best ||
      sourceRank[o.source] > sourceRank[best.source] ||
      (sourceRank[o.source] === sourceRank[best.source] && o.timestamp >= best.timestamp)
    )
      best = o;
  }
  return best;
}

/** Counts that describe one window; mergeable, so per-partition summaries combine. */
export const WindowSummarySchema = z.object({
  predictions: z.number().int(),
  predictedClasses: z.record(z.string(), z.number().int()),
  labelled: z.number().int(),
  observedClasses: z.record(z.string(), z.number().int()),
  misclassified: z.number().int(),
  /** `${predicted}->${observed}` → rows. */
  confusion: z.record(z.string(), z.number().int()),
  sourceDisagreements: z.number().int(),
  modelVersions: z.record(z.string(), z.number().int()),
});
export type WindowSummary = z.infer<typeof WindowSummarySchema>;

/** An empty summary to accumulate into. */
export function emptySummary(): WindowSummary {
  return {
    predictions: 0,
    predictedClasses: {},
    labelled: 0,
    observedClasses: {},
    misclassified: 0,
    confusion: {},
    sourceDisagreements: 0,
    modelVersions: {},
  };
}

const bump = (m: Record<string, number>, k: string, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};

/** Counts one prediction of the window. */
export function countPrediction(s: WindowSummary, predictedLabel: string, modelVersion: string): void {
  s.predictions++;
  bump(s.predictedClasses, predictedLabel);
  bump(s.modelVersions, modelVersion);
}

/** Counts one joined (labelled) row: class balance and whether the served prediction was wrong. */
export function countJoined(s: WindowSummary, row: Pick<JoinedRow, 'predictedLabel' | 'outcomes'>): void {
  const label = primaryOutcome(row.outcomes);
  if (!label) return;
  s.labelled++;
  bump(s.observedClasses, label.observedLabel);
  bump(s.confusion, `${row.predictedLabel}->${label.observedLabel}`);
  if (row.predictedLabel !== label.observedLabel) s.misclassified++;
  // Called once per joined row: a loop rather than a Set, which would be built for every row.
  if (row.outcomes.some((o) => o.observedLabel !== label.observedLabel)) s.sourceDisagreements++;
}

/** Combines two summaries (associative and commutative). */
export function mergeSummaries(a: WindowSummary, b: WindowSummary): WindowSummary {
  const out = structuredClone(a);
  out.predictions += b.predictions;
  out.labelled += b.labelled;
  out.misclassified += b.misclassified;
  out.sourceDisagreements += b.sourceDisagreements;
  for (const k of ['predictedClasses', 'observedClasses', 'confusion', 'modelVersions'] as const) {
    for (const [key, n] of Object.entries(b[k])) bump(out[k], key, n);
  }
  return out;
}

/** Outcome sources trusted to judge and train a model without a human (not heuristics or user reports). */
const TRUSTED_SOURCES = new Set<LabelSource>(['observed', 'annotator']);

/**
 * A joined row as labelled traffic, when its primary outcome comes from a trusted source; otherwise
 * null. Test sets, challenge sets and training sets all take their rows through here.
 */
export function trustedLabelledRow(row: JoinedRow, cycleId: string): LabeledRow | null {
  const label = primaryOutcome(row.outcomes);
  if (!label || !TRUSTED_SOURCES.has(label.source)) return null;
  return {
    requestId: row.requestId,
    timestamp: row.timestamp,
    features: row.features,
    label: label.observedLabel,
    ...(row.slices ? { slices: row.slices } : {}),
    labelSource: label.source,
    lineage: { cycleId },
  };
}
