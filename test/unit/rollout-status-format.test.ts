import { formatRollout } from '../../src/cli/commands/rollout';
import type { RolloutStatus } from '../../src/workflows/rollout';

const base: RolloutStatus = {
  workflowId: 'rollout-churn',
  modelId: 'churn',
  candidateVersion: 'v2',
  championAtStart: 'v1',
  candidate: null,
  phase: 'canary',
  stepIndex: 1,
  weightPercent: 5,
  steps: [1, 5, 10, 25, 50, 100],
  paused: null,
  awaitingApproval: null,
  lastAnalysis: null,
  analyses: 3,
  decisions: [],
  outcome: null,
  reason: null,
};

describe('rollout status text', () => {
  it('prints the exact approve and abort commands while waiting for approval', () => {
    const text = formatRollout({
      ...base,
      phase: 'awaiting-approval',
      awaitingApproval: {
        since: '2026-06-01T10:00:00.000Z',
        reason: 'canary 5% analysis pause (error-rate: …)',
        deadline: '2026-06-02T10:00:00.000Z',
      },
    });
    expect(text).toContain(
      'to proceed:            loopkeeper rollout approve --model churn --reason "<why this is acceptable>"',
    );
    expect(text).toContain(
      'to stop and roll back: loopkeeper rollout abort --model churn --reason "<why it must not ship>"',
    );
  });

  it('prints resume and abort while held by pauseRollout, and nothing when running or finished', () => {
    const held = formatRollout({
      ...base,
      paused: { actor: 'alice', reason: 'looking at a dashboard', at: '2026-06-01T10:00:00.000Z' },
    });
    expect(held).toContain('loopkeeper rollout resume --model churn --reason "<why>"');
    expect(held).toContain('loopkeeper rollout abort --model churn');
    expect(formatRollout(base)).not.toMatch(/loopkeeper rollout (approve|abort|resume)/);
    expect(formatRollout({ ...base, phase: 'promoted', outcome: 'promoted', reason: 'done' })).not.toMatch(
      /loopkeeper rollout (approve|abort|resume)/,
    );
  });

  it('shows an unblessed candidate rolled out on an override', () => {
    const text = formatRollout({
      ...base,
      candidate: {
        champion: 'v1',
        blessed: false,
        gateReasons: ['f1 0.61 < 0.70'],
        forced: { actor: 'alice', reason: 'hotfix for the outage' },
        offlineAgreement: null,
        notes: [],
      },
    });
    expect(text).toContain(
      'candidate: NOT BLESSED (gate: f1 0.61 < 0.70); rolled out with --force-unblessed by alice: hotfix for the outage',
    );
  });
});
