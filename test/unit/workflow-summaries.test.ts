import { initialStatus } from '../../src/workflows/cycle-status';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import type { RetrainResult } from '../../src/workflows/retrain';
import type { RolloutStatus } from '../../src/workflows/rollout';
import {
  cycleOutcome,
  cycleSummary,
  rolloutOutcome,
  rolloutSummary,
  windowLabel,
} from '../../src/workflows/summaries';

const window = { from: '2026-06-08', to: '2026-06-15' };

function cycle(patch: Partial<CycleStatus>): CycleStatus {
  return { ...initialStatus('cycle-churn-2026-06-08_2026-06-15', 'churn', window), ...patch };
}

function retrain(blessed: boolean, registeredAs: RetrainResult['registeredAs']): RetrainResult {
  return {
    train: { version: 'v-3f9a0c12be41' },
    evaluation: {
      blessed,
      reasons: blessed
        ? ['blessed: all 5 checks passed']
        : ['f1 0.381 vs champion 0.435: -12.4% < -1%', 'slice plan=basic'],
    },
    registeredAs,
  } as unknown as RetrainResult;
}

test('window labels name the first and last day, shortest form', () => {
  expect(windowLabel(window)).toBe('2026-06-08..14');
  expect(windowLabel({ from: '2026-05-28', to: '2026-06-04' })).toBe('2026-05-28..06-03');
  expect(windowLabel({ from: '2026-12-28', to: '2027-01-04' })).toBe('2026-12-28..2027-01-03');
});

test('a refused candidate is the cycle outcome and leads its summary, with the review tasks', () => {
  const st = cycle({
    state: 'completed',
    stage: 'done',
    retrain: retrain(false, null),
    routing: { reviewTasks: 281 } as CycleStatus['routing'],
  });
  expect(cycleOutcome(st)).toBe('refused');
  expect(cycleSummary(st)).toBe(
    'churn 2026-06-08..14: refused (f1 0.381 vs champion 0.435: -12.4% < -1%), 281 review tasks',
  );
});

test('each way a cycle ends has its own outcome', () => {
  expect(cycleOutcome(cycle({}))).toBe('running');
  expect(cycleOutcome(cycle({ state: 'failed', stage: 'ingest' }))).toBe('failed');
  expect(cycleOutcome(cycle({ state: 'skipped' }))).toBe('skipped');
  expect(cycleOutcome(cycle({ state: 'completed', retrain: retrain(true, 'champion') }))).toBe('promoted');
  expect(cycleOutcome(cycle({ state: 'completed', retrain: retrain(true, 'challenger') }))).toBe(
    'challenger',
  );
  const rolledBack = cycle({
    state: 'completed',
    retrain: retrain(true, 'challenger'),
    rollout: { workflowId: 'rollout-churn', outcome: 'rolled-back', reason: 'canary 5% analysis rollback' },
  });
  expect(cycleOutcome(rolledBack)).toBe('rolled-back');
  expect(cycleSummary(rolledBack)).toBe('churn 2026-06-08..14: rolled-back (canary 5% analysis rollback)');
  const capped = cycle({
    state: 'completed',
    caps: {
      allowed: false,
      firedCaps: [{ cap: 'cooldown', detail: 'last retrain 3 h ago' }],
      nextAllowedAt: null,
      evidenceWaived: false,
      newLabelledRows: 10,
    } as CycleStatus['caps'],
  });
  expect(cycleOutcome(capped)).toBe('skipped-by-caps');
  expect(cycleSummary(capped)).toBe('churn 2026-06-08..14: retrain held by caps (cooldown)');
  const skew = cycle({ state: 'completed' });
  skew.stages.caps = { state: 'skipped', detail: 'skew alert: country unknown-category; retraining …' };
  expect(cycleOutcome(skew)).toBe('skew-blocked');
  const failed = cycle({ state: 'failed', stage: 'ingest' });
  failed.stages.ingest = { state: 'failed', detail: 'too many bad rows' };
  expect(cycleSummary(failed)).toBe('churn 2026-06-08..14: failed at ingest (too many bad rows)');
});

test('a rollout shows paused while it waits for a human, then its end', () => {
  const base = {
    modelId: 'churn',
    candidateVersion: 'v2',
    phase: 'canary',
    stepIndex: 1,
    weightPercent: 5,
    steps: [1, 5, 10],
    paused: null,
    awaitingApproval: null,
    outcome: null,
    reason: null,
  } as unknown as RolloutStatus;
  expect(rolloutOutcome(base)).toBe('running');
  expect(rolloutSummary(base)).toBe('churn v2: canary 5% (step 2/3)');
  const waiting = {
    ...base,
    phase: 'awaiting-approval',
    awaitingApproval: { since: '', deadline: '', reason: 'error-rate 4% worse' },
  } as RolloutStatus;
  expect(rolloutOutcome(waiting)).toBe('paused');
  expect(rolloutSummary(waiting)).toBe('churn v2: paused at 5%, awaiting approval (error-rate 4% worse)');
  const back = {
    ...base,
    phase: 'rolled-back',
    outcome: 'rolled-back',
    reason: 'canary 5% analysis rollback',
  } as RolloutStatus;
  expect(rolloutOutcome(back)).toBe('rolled-back');
  expect(rolloutSummary(back)).toBe('churn v2: rolled-back (canary 5% analysis rollback)');
  expect(rolloutOutcome({ ...base, phase: 'refused', reason: 'not blessed' } as RolloutStatus)).toBe(
    'refused',
  );
});
