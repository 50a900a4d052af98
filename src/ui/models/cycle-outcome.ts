import type { CycleStatus } from '../../workflows/cycle-status';

/** What a cycle came to, in one word, as the model pages show it. */
export type CycleOutcome =
  | 'running'
  | 'failed'
  | 'promoted'
  | 'rolled-back'
  | 'aborted'
  | 'challenger'
  | 'refused'
  | 'skipped-by-caps'
  | 'no-retrain'
  | 'skipped'
  | 'completed';

/** A cycle's outcome and the one line that says why. */
export interface CycleVerdict {
  outcome: CycleOutcome;
  detail: string;
}

/**
 * The outcome of a cycle from its status: a failure names its stage; a rollout's outcome outranks the
 * retrain's registration; a refused candidate names the gate's reasons; a retrain held by the
 * feedback-loop caps names every cap that fired.
 */
export function cycleOutcome(st: CycleStatus): CycleVerdict {
  if (st.state === 'running') return { outcome: 'running', detail: `stage ${st.stage}` };
  if (st.state === 'failed') {
    const failed = Object.entries(st.stages).find(([, s]) => s.state === 'failed');
    return {
      outcome: 'failed',
      detail: failed
        ? `stage ${failed[0]} failed: ${failed[1].detail ?? 'no detail'}`
        : (st.messages.at(-1) ?? ''),
    };
  }
  if (st.state === 'skipped') return { outcome: 'skipped', detail: st.messages.at(-1) ?? 'cycle skipped' };
  if (st.rollout) {
    const o = st.rollout.outcome;
    const outcome: CycleOutcome =
      o === 'promoted' || o === 'rolled-back' || o === 'aborted' ? o : 'completed';
    return { outcome, detail: `rollout ${o}: ${st.rollout.reason}` };
  }
  if (st.retrain) {
    const { evaluation, registeredAs, train } = st.retrain;
    if (registeredAs === 'champion') return { outcome: 'promoted', detail: `${train.version} is champion` };
    if (registeredAs === 'challenger')
      return { outcome: 'challenger', detail: `${train.version} parked as challenger` };
    return { outcome: 'refused', detail: `${train.version} not blessed: ${evaluation.reasons.join('; ')}` };
  }
  if (st.caps && !st.caps.allowed)
    return {
      outcome: 'skipped-by-caps',
      detail: st.caps.firedCaps.map((c) => `${c.cap}: ${c.detail}`).join('; ') || 'retrain held by the caps',
    };
  if (st.stages.retrain.state === 'skipped')
    return { outcome: 'no-retrain', detail: st.stages.retrain.detail ?? 'retrain skipped' };
  return { outcome: 'completed', detail: '' };
}
