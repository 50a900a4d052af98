import type { DriftSummary } from '../activities/compute-drift';
import type { IngestResult } from '../activities/ingest-window';
import type { MineAndRouteResult } from '../activities/mine-and-route';
import type { RetrainDecision } from '../policy/feedback-caps';
import type { Window } from '../schemas/window';
import type { Observer } from './observe';
import { metricCatalog } from './metric-catalog';
import type { RetrainResult } from './retrain';
import { retrainOutcome, windowLabel } from './summaries';

/**
 * The cycle's counters and alerts, kept out of cycle.ts so the cycle reads as its stages. Every function
 * emits nothing when the observer is off (a run recorded before observability, replaying).
 */

/** Rows accepted, quarantined, joined and misclassified by ingest. */
export function countIngest(obs: Observer, ingest: IngestResult): void {
  obs.count(metricCatalog.rowsIngested, ingest.lines - ingest.badRows, {});
  obs.count(metricCatalog.rowsQuarantined, ingest.badRows, {});
  obs.count(metricCatalog.rowsJoined, ingest.joinedRows, {});
  obs.count(metricCatalog.misclassified, ingest.summary.misclassified, {});
}

/** Mined rows per route, auto-relabels written, review tasks the queue accepted. */
export function countRouting(obs: Observer, routing: MineAndRouteResult): void {
  const r = routing.routing.byRoute;
  for (const [route, n] of Object.entries(r)) obs.count(metricCatalog.rowsRouted, n, { route });
  obs.count(metricCatalog.labelsWritten, r['auto-relabel'] ?? 0, { source: 'auto' });
  obs.count(metricCatalog.reviewTasksSent, routing.review?.accepted ?? 0, {});
}

const psi = (p: number | null): string => (p === null ? '?' : p.toFixed(3));

/** A drift alert of the cycle's window (not for a drift-triggered cycle: its drift check alerted). */
export function alertDrift(obs: Observer, cycleId: string, window: Window, d: DriftSummary) {
  obs.count(metricCatalog.driftAlerts, 1, { source: 'cycle' });
  const worst = d.topFeatures.filter((f) => f.level === 'alert').map((f) => `${f.feature} PSI ${psi(f.psi)}`);
  return obs.alert({
    event: 'drift-alert',
    text: `drift alert in ${cycleId} (${windowLabel(window)}): ${worst.join(', ') || 'prediction scores'}; report ${d.htmlKey}`,
    details: { level: d.level, topFeatures: d.topFeatures, htmlKey: d.htmlKey },
  });
}

/** A skew alert held the retrain. */
export function alertSkewBlock(obs: Observer, cycleId: string, why: string, d: DriftSummary | undefined) {
  obs.count(metricCatalog.retrainsSkipped, 1, { reason: 'skew' });
  return obs.alert({
    event: 'skew-blocked-retrain',
    text: `${cycleId}: ${why}`,
    details: { skewFindings: d?.skewFindings ?? [] },
  });
}

/** Caps held the retrain; a drift-triggered cycle alerts, since a person asked for it by policy. */
export async function capsHeld(
  obs: Observer,
  cycleId: string,
  decision: RetrainDecision,
  why: string,
  driftTriggered: boolean,
): Promise<string | null> {
  for (const c of decision.firedCaps) obs.count(metricCatalog.retrainsSkipped, 1, { reason: c.cap });
  if (!driftTriggered) return null;
  return obs.alert({
    event: 'cap-held-drift-retrain',
    text: `${cycleId}: a drift alert asked for a retrain; caps held it (${why})`,
    details: { firedCaps: decision.firedCaps, nextAllowedAt: decision.nextAllowedAt },
  });
}

/** A retrain ran: counted by outcome, and a refused candidate alerts with the gate's reasons. */
export async function retrained(obs: Observer, cycleId: string, r: RetrainResult): Promise<string | null> {
  obs.count(metricCatalog.retrains, 1, { outcome: retrainOutcome(r) });
  obs.count(metricCatalog.candidates, 1, { verdict: r.evaluation.blessed ? 'blessed' : 'refused' });
  if (r.evaluation.blessed) return null;
  return obs.alert({
    event: 'candidate-refused',
    text: `${r.train.version} refused by the promotion gate (${cycleId}): ${r.evaluation.reasons.join('; ')}`,
    details: {
      version: r.train.version,
      champion: r.evaluation.championVersion,
      reasons: r.evaluation.reasons,
      candidate: r.evaluation.candidate,
      championMetrics: r.evaluation.champion,
      reportKey: r.evaluation.reportKey,
    },
  });
}
