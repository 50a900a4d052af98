import type { CycleStatus } from '../workflows/cycle-status';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Human-readable cycle status: the state first, then one line per stage, then the figures. */
export function formatStatus(st: CycleStatus): string {
  const lines = [
    `cycle ${st.cycleId}  model ${st.modelId}  window ${st.window.from}..${st.window.to} (end exclusive)`,
    `state: ${st.state}  stage: ${st.stage}`,
  ];
  for (const m of st.messages) lines.push(`! ${m}`);
  for (const [stage, s] of Object.entries(st.stages))
    lines.push(`  ${stage.padEnd(18)} ${s.state.padEnd(8)} ${s.detail ?? ''}`);
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
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(
      `summary: ${s.rows} predictions, ${s.labelled} labelled (${balance || 'none'}), ${s.misclassified} misclassified (${pct(s.misclassificationRate)})`,
    );
  }
  return lines.join('\n');
}
