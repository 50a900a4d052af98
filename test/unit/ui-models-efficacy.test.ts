import { initialStatus } from '../../src/workflows/cycle-status';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { cycleOutcome } from '../../src/ui/models/cycle-outcome';
import type { MaturedPrediction } from '../../src/ui/models/efficacy';
import { maturedLabel, offlinePrecisionOf, weekStartOf, weeklyEfficacy } from '../../src/ui/models/efficacy';

const row = (
  requestId: string,
  timestamp: string,
  predictedLabel: string,
  label: string,
  modelVersion = 'v-a',
): MaturedPrediction => ({ requestId, timestamp, predictedLabel, label, modelVersion });

describe('weekStartOf', () => {
  test('a week starts on Monday (UTC), Sunday belongs to the week before', () => {
    expect(weekStartOf('2026-06-01T00:00:00.000Z')).toBe('2026-06-01'); // a Monday
    expect(weekStartOf('2026-06-07T23:59:59.000Z')).toBe('2026-06-01'); // the Sunday after
    expect(weekStartOf('2026-06-08T00:00:00.000Z')).toBe('2026-06-08');
    expect(weekStartOf('2026-06-03T01:00:00.000+05:00')).toBe('2026-06-01'); // 2026-06-02T20:00Z
  });
});

describe('weeklyEfficacy', () => {
  test('precision and recall of the positive class per week, beside the serving version offline precision', () => {
    const rows = [
      // week of 2026-06-01: tp 2, fp 1, fn 1, tn 1; served by v-a
      row('1', '2026-06-01T10:00:00Z', 'churn', 'churn'),
      row('2', '2026-06-02T10:00:00Z', 'churn', 'churn'),
      row('3', '2026-06-03T10:00:00Z', 'churn', 'stay'),
      row('4', '2026-06-04T10:00:00Z', 'stay', 'churn'),
      row('5', '2026-06-05T10:00:00Z', 'stay', 'stay'),
      // week of 2026-06-08: tp 1, fp 3 (mostly v-b)
      row('6', '2026-06-08T10:00:00Z', 'churn', 'churn', 'v-b'),
      row('7', '2026-06-09T10:00:00Z', 'churn', 'stay', 'v-b'),
      row('8', '2026-06-10T10:00:00Z', 'churn', 'stay', 'v-b'),
      row('9', '2026-06-11T10:00:00Z', 'churn', 'stay', 'v-a'),
    ];
    const weeks = weeklyEfficacy(
      rows,
      'churn',
      new Map([
        ['v-a', 0.8],
        ['v-b', 0.6],
      ]),
    );
    expect(weeks.map((w) => w.weekStart)).toEqual(['2026-06-01', '2026-06-08']);
    expect(weeks[0]).toMatchObject({ rows: 5, truePositives: 2, falsePositives: 1, falseNegatives: 1 });
    expect(weeks[0].precision).toBeCloseTo(2 / 3);
    expect(weeks[0].recall).toBeCloseTo(2 / 3);
    expect(weeks[0].servingVersion).toBe('v-a');
    expect(weeks[0].offlinePrecision).toBe(0.8);
    expect(weeks[1].precision).toBeCloseTo(1 / 4);
    expect(weeks[1].recall).toBe(1);
    expect(weeks[1].servingVersion).toBe('v-b');
    expect(weeks[1].offlinePrecision).toBe(0.6);
  });

  test('a request joined in two cycles counts once; no positive prediction gives null precision', () => {
    const rows = [
      row('1', '2026-06-01T10:00:00Z', 'stay', 'churn'),
      row('1', '2026-06-01T10:00:00Z', 'stay', 'churn'),
      row('2', '2026-06-02T10:00:00Z', 'stay', 'stay'),
    ];
    const [w] = weeklyEfficacy(rows, 'churn', new Map());
    expect(w.rows).toBe(2);
    expect(w.falseNegatives).toBe(1);
    expect(w.precision).toBeNull();
    expect(w.recall).toBe(0);
    expect(w.offlinePrecision).toBeNull();
  });

  test('weeks come out oldest first whatever the row order', () => {
    const weeks = weeklyEfficacy(
      [
        row('a', '2026-06-15T00:00:00Z', 'churn', 'churn'),
        row('b', '2026-06-01T00:00:00Z', 'churn', 'churn'),
      ],
      'churn',
      new Map(),
    );
    expect(weeks.map((w) => w.weekStart)).toEqual(['2026-06-01', '2026-06-15']);
  });
});

describe('maturedLabel and offlinePrecisionOf', () => {
  const outcome = (observedLabel: string, source: 'observed' | 'user-report') => ({
    observedLabel,
    source,
    confidence: 1,
    timestamp: '2026-06-02T00:00:00.000Z',
  });
  test('the newest observed outcome is the label; user reports are not ground truth', () => {
    expect(maturedLabel({ outcomes: [outcome('stay', 'observed'), outcome('churn', 'observed')] })).toBe(
      'churn',
    );
    expect(maturedLabel({ outcomes: [outcome('stay', 'observed'), outcome('churn', 'user-report')] })).toBe(
      'stay',
    );
    expect(maturedLabel({ outcomes: [outcome('churn', 'user-report')] })).toBeUndefined();
  });
  test("the gate's measurement on the fresh test set wins over the training holdout", () => {
    const blessing = {
      blessed: true,
      reasons: [],
      comparedTo: null,
      testSetKey: null,
      decidedAt: '2026-06-01T00:00:00.000Z',
      checks: [],
      comparison: { candidate: { precision: 0.7 }, champion: null, testRows: 100 },
    };
    expect(offlinePrecisionOf({ metrics: { precision: 0.9 }, blessing } as never)).toBe(0.7);
    expect(offlinePrecisionOf({ metrics: { precision: 0.9 } })).toBe(0.9);
    expect(offlinePrecisionOf({ metrics: {} })).toBeNull();
  });
});

describe('cycleOutcome', () => {
  const base = (): CycleStatus => ({
    ...initialStatus('cycle-m-2026-06-01_2026-06-08', 'm', { from: '2026-06-01', to: '2026-06-08' }),
    state: 'completed',
    stage: 'done',
  });
  test('a failure names its stage and reason', () => {
    const st = base();
    st.state = 'failed';
    st.stages.ingest = { state: 'failed', detail: 'too many bad rows' };
    expect(cycleOutcome(st)).toEqual({ outcome: 'failed', detail: 'stage ingest failed: too many bad rows' });
  });
  test('caps that held the retrain are named with their reasons', () => {
    const st = base();
    st.caps = {
      allowed: false,
      firedCaps: [{ cap: 'cooldown', detail: 'last retrain 3 h ago', clearsAt: null }],
      nextAllowedAt: '2026-06-09T00:00:00.000Z',
      evidenceWaived: false,
      newLabelledRows: 10,
    };
    expect(cycleOutcome(st)).toEqual({
      outcome: 'skipped-by-caps',
      detail: 'cooldown: last retrain 3 h ago',
    });
  });
  test('a refused candidate names the gate reasons; a rollout outcome outranks the registration', () => {
    const st = base();
    st.retrain = {
      train: { version: 'v-2' } as never,
      evaluation: { blessed: false, reasons: ['f1 0.381 vs 0.435'] } as never,
      registeredAs: null,
    };
    expect(cycleOutcome(st)).toEqual({ outcome: 'refused', detail: 'v-2 not blessed: f1 0.381 vs 0.435' });
    st.retrain.registeredAs = 'challenger';
    st.rollout = { workflowId: 'rollout-m', outcome: 'rolled-back', reason: 'error rate +12%' };
    expect(cycleOutcome(st)).toEqual({
      outcome: 'rolled-back',
      detail: 'rollout rolled-back: error rate +12%',
    });
  });
});
