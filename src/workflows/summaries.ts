import { addDays } from '../schemas/window';
import type { Window } from '../schemas/window';
import type { CycleStatus } from './cycle-status';
import type { DriftMonitorStatus } from './drift-monitor';
import type { RetrainResult } from './retrain';
import type { RolloutStatus } from './rollout';
import type { Outcome } from './search-attributes';

/** `2026-06-08..15` (same month) or `2026-05-28..06-03`: the window's first and last day. */
export function windowLabel(w: Window): string {
  const last = addDays(w.to, -1);
  if (last.slice(0, 8) === w.from.slice(0, 8)) return `${w.from}..${last.slice(8)}`;
  if (last.slice(0, 5) === w.from.slice(0, 5)) return `${w.from}..${last.slice(5)}`;
  return `${w.from}..${last}`;
}

const clip = (s: string, n = 120): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** What a cycle came to, for `LoopkeeperOutcome`. */
export function cycleOutcome(st: CycleStatus): Outcome {
  if (st.state === 'failed') return 'failed';
  if (st.state === 'skipped') return 'skipped';
  if (st.rollout) return st.rollout.outcome as Outcome;
  if (st.retrain) return retrainOutcome(st.retrain);
  if (st.caps && !st.caps.allowed) return 'skipped-by-caps';
  if (st.stages.caps.state === 'skipped' && (st.stages.caps.detail ?? '').startsWith('skew alert'))
    return 'skew-blocked';
  return st.state === 'running' ? 'running' : 'completed';
}

/** What a retrain came to: the alias its version got, or refused by the gate. */
export function retrainOutcome(r: Pick<RetrainResult, 'registeredAs'>): Outcome {
  return r.registeredAs === 'champion'
    ? 'promoted'
    : r.registeredAs === 'challenger'
      ? 'challenger'
      : 'refused';
}

/** Why the gate refused, in one short clause (its first failed check). */
export function refusalClause(r: RetrainResult): string {
  return clip(r.evaluation.reasons[0] ?? 'gate failed', 100);
}

/**
 * The cycle's one-line summary, e.g. `churn 2026-06-08..15: refused (f1 0.381 < 0.435), 281 review tasks`.
 */
export function cycleSummary(st: CycleStatus): string {
  const head = `${st.modelId} ${windowLabel(st.window)}`;
  const outcome = cycleOutcome(st);
  let what: string;
  if (outcome === 'failed') {
    const stage = st.stage === 'done' ? 'cycle' : st.stage;
    what = `failed at ${stage} (${clip(st.stages[st.stage as keyof typeof st.stages]?.detail ?? 'see status', 100)})`;
  } else if (outcome === 'skipped') what = 'skipped (empty window)';
  else if (outcome === 'refused' && st.retrain) what = `refused (${refusalClause(st.retrain)})`;
  else if (st.rollout) what = `${st.rollout.outcome} (${clip(st.rollout.reason, 100)})`;
  else if (st.retrain) what = `${st.retrain.train.version} ${outcome}`;
  else if (outcome === 'skipped-by-caps')
    what = `retrain held by caps (${st.caps?.firedCaps.map((c) => c.cap).join(', ')})`;
  else if (outcome === 'skew-blocked') what = 'retrain held by a skew alert';
  else if (outcome === 'running') what = `running: ${st.stage}`;
  else what = outcome;
  const extras: string[] = [];
  if (st.drift && (st.drift.level === 'warn' || st.drift.level === 'alert'))
    extras.push(`drift ${st.drift.level}`);
  if (st.routing) extras.push(`${st.routing.reviewTasks} review tasks`);
  return [`${head}: ${what}`, ...extras].join(', ');
}

/** The rollout's outcome so far: `paused` while it waits for a human, then its end state. */
export function rolloutOutcome(st: RolloutStatus): Outcome {
  if (st.outcome) return st.outcome;
  if (st.phase === 'refused' || st.phase === 'failed') return st.phase;
  if (st.phase === 'awaiting-approval' || st.paused) return 'paused';
  return 'running';
}

/** e.g. `churn v-3f9a… canary 10% (step 3/6)` or `churn v-3f9a…: rolled-back (canary 5% analysis rollback …)`. */
export function rolloutSummary(st: RolloutStatus): string {
  const head = `${st.modelId} ${st.candidateVersion}`;
  if (st.outcome || st.phase === 'refused' || st.phase === 'failed')
    return `${head}: ${st.outcome ?? st.phase} (${clip(st.reason ?? '', 100)})`;
  if (st.phase === 'awaiting-approval')
    return `${head}: paused at ${st.weightPercent}%, awaiting approval (${clip(st.awaitingApproval?.reason ?? '', 80)})`;
  if (st.phase === 'canary')
    return `${head}: canary ${st.weightPercent}% (step ${st.stepIndex + 1}/${st.steps.length})${st.paused ? ', paused' : ''}`;
  return `${head}: ${st.phase}`;
}

/** The drift check's outcome: the worse of drift and skew. */
export function driftOutcome(st: DriftMonitorStatus): Outcome {
  if (st.state === 'failed') return 'failed';
  if (!st.drift) return 'running';
  if (st.drift.skewAlert) return 'skew-alert';
  if (st.drift.level === 'insufficient-data') return 'insufficient-data';
  return st.drift.level === 'alert' ? 'drift-alert' : st.drift.level === 'warn' ? 'drift-warn' : 'no-drift';
}

/** e.g. `churn 2026-06-14: drift alert (session_length PSI 0.412); cycle cycle-churn-… started`. */
export function driftSummaryLine(st: DriftMonitorStatus): string {
  const head = `${st.modelId} ${windowLabel(st.window)}`;
  if (st.state === 'failed') return `${head}: failed (${clip(st.messages.at(-1) ?? '', 100)})`;
  if (!st.drift) return `${head}: running`;
  const top = st.drift.topFeatures[0];
  const worst = top ? ` (worst ${top.feature} PSI ${top.psi === null ? '?' : top.psi.toFixed(3)})` : '';
  const skew = st.drift.skewAlert ? ', skew alert' : '';
  const trig = st.trigger
    ? `; cycle ${st.trigger.workflowId} ${st.trigger.alreadyRunning ? 'already running' : 'started'}`
    : '';
  return `${head}: drift ${st.drift.level}${worst}${skew}${trig}`;
}
