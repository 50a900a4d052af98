import type { CycleStatus } from '../workflows/cycle-status';
import { printable as p } from './printable';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Longest line shown: a line quoting a huge value (a feature name, a message) is cut. */
const LINE_MAX = 1000;

/**
 * Human-readable cycle status: the state first, then one line per stage, then the figures. Feature and
 * class names, messages and details come from the data and the store: they are escaped (`printable`),
 * and so is every whole line, so nothing in the status can act on the terminal or fake a line.
 */
export function formatStatus(st: CycleStatus): string {
  const lines = [
    `cycle ${st.cycleId}  model ${st.modelId}  window ${st.window.from}..${st.window.to} (end exclusive)`,
    `state: ${st.state}  stage: ${st.stage}`,
  ];
  // Skew findings first: a serving bug outranks everything else in the status.
  for (const f of st.drift?.skewFindings ?? [])
    if (f.severity !== 'info')
      lines.push(`!! skew ${f.severity} ${p(f.feature)} (${f.check}): ${p(f.detail, 300)}`);
  const shown = new Set((st.drift?.skewFindings ?? []).map((f) => `skew alert: ${f.detail}`));
  for (const m of st.messages) if (!shown.has(m)) lines.push(`! ${p(m, 500)}`);
  for (const [stage, s] of Object.entries(st.stages))
    lines.push(`  ${stage.padEnd(18)} ${s.state.padEnd(8)} ${p(s.detail ?? '', 300)}`);
  if (st.ingest) {
    const i = st.ingest;
    lines.push(
      `ingest: ${i.lines} lines from ${i.predictionFiles} prediction + ${i.outcomeFiles} outcome files; ${i.joinedRows} joined; ${i.badRows} quarantined; ${i.orphanOutcomes} orphan outcomes`,
    );
    if (i.quarantineKeys.length)
      lines.push(`  quarantine: ${i.quarantineKeys.length} file(s), e.g. ${i.quarantineKeys[0]}`);
    lines.push(`  manifest: ${i.manifestKey}`);
  }
  if (st.summary) {
    const s = st.summary;
    const balance = Object.entries(s.classBalance)
      .map(([k, n]) => `${p(k, 60)} ${n}`)
      .join(', ');
    lines.push(
      `summary: ${s.rows} predictions, ${s.labelled} labelled (${balance || 'none'}), ${s.misclassified} misclassified (${pct(s.misclassificationRate)})`,
    );
  }
  if (st.drift) {
    const d = st.drift;
    const worst = d.topFeatures
      .map((f) => `${p(f.feature, 60)} ${f.psi === null ? '–' : f.psi.toFixed(3)} (${f.level})`)
      .join(', ');
    lines.push(
      `drift: ${d.level} over ${d.rows} rows${d.skewAlert ? '; SKEW ALERT' : ''}${d.blocksRetraining ? ' (blocks retraining)' : ''}`,
    );
    lines.push(`  worst PSI: ${worst || 'none'}`);
    lines.push(`  report: ${d.htmlKey}`);
  }
  if (st.routing) {
    const r = st.routing.routing;
    const reasons = Object.entries(r.byReason)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(
      `routing: ${st.routing.candidates} candidates → auto-relabel ${r.byRoute['auto-relabel'] ?? 0}, human review ${r.byRoute['human-review'] ?? 0}, dropped ${r.byRoute.drop ?? 0}; audited ${r.audited}`,
    );
    lines.push(`  reasons: ${reasons || 'none'}`);
    if (st.routing.reviewQueueWorkflowId)
      lines.push(
        `  review queue: ${st.routing.reviewQueueWorkflowId}: ` +
          (st.routing.review
            ? `${st.routing.review.sent} tasks sent = ${st.routing.review.accepted} accepted + ${st.routing.review.duplicate} duplicate + ${st.routing.review.rejected} rejected` +
              (st.routing.review.rejected > 0
                ? ` (${Object.entries(st.routing.review.reasons)
                    .map(([k, n]) => `${k} ${n}`)
                    .join(', ')})`
                : '')
            : `${st.routing.reviewTasks} tasks sent`),
      );
  }
  if (st.testSet) {
    const t = st.testSet;
    lines.push(
      t.refreshed
        ? `test set: ${t.rows} rows over ${t.coverageDays} days (${t.added} new, ${t.kept} kept, ${t.droppedAged} aged out) → ${t.testSet?.dataKey}`
        : `test set: not refreshed (${t.refusal})`,
    );
  }
  if (st.challengeSet?.challengeSetKey) {
    const c = st.challengeSet;
    lines.push(
      `challenge set: ${c.rows} rows (${Object.entries(c.byReason)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}) → ${c.challengeSetKey}`,
    );
  }
  if (st.caps) {
    lines.push(
      st.caps.allowed
        ? `caps: retrain allowed (${st.caps.newLabelledRows} labelled rows since the last retrain)`
        : `caps: retrain skipped; next allowed at ${st.caps.nextAllowedAt ?? 'when enough new evidence arrives'}`,
    );
    for (const c of st.caps.firedCaps) lines.push(`  ${c.cap}: ${c.detail}`);
  }
  if (st.retrain) {
    const { train, evaluation, registeredAs } = st.retrain;
    const m = (x: Record<string, number> | null, k: string): string =>
      x && x[k] !== undefined ? x[k].toFixed(3) : '–';
    lines.push(
      `retrain: ${train.version} on ${train.trainingRows} rows (${train.feedback.kept} feedback rows, ${pct(train.feedback.share)})`,
    );
    lines.push(
      `  vs champion ${evaluation.championVersion ?? '(none)'} on ${evaluation.testRows} test rows: precision ${m(evaluation.candidate, 'precision')} vs ${m(evaluation.champion, 'precision')}, recall ${m(evaluation.candidate, 'recall')} vs ${m(evaluation.champion, 'recall')}, f1 ${m(evaluation.candidate, 'f1')} vs ${m(evaluation.champion, 'f1')}`,
    );
    lines.push(
      `  ${evaluation.blessed ? `blessed → ${registeredAs}` : 'not blessed'}: ${evaluation.reasons.map((r) => p(r, 300)).join('; ')}`,
    );
  }
  if (st.rollout)
    lines.push(`rollout: ${st.rollout.workflowId} → ${st.rollout.outcome}: ${st.rollout.reason}`);
  return lines.map((line) => p(line, LINE_MAX)).join('\n');
}
