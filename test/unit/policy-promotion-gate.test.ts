import { BlessingSchema } from '../../src/schemas/manifests';
import { blessCandidate } from '../../src/policy/promotion-gate';
import type { BlessCandidateInput } from '../../src/policy/promotion-gate';

const NOW = '2026-06-30T12:00:00.000Z';

function bless(overrides: Partial<BlessCandidateInput>) {
  return blessCandidate({
    candidate: { f1: 0.8, roc_auc: 0.9, log_loss: 0.4 },
    champion: { f1: 0.8, roc_auc: 0.9, log_loss: 0.4 },
    testRows: 1000,
    flipRate: 0.05,
    championVersion: 'v1',
    testSetKey: 'datasets/m/test/v3.jsonl',
    now: NOW,
    ...overrides,
  });
}

describe('blessCandidate', () => {
  it('blesses a first model when absolute minimums pass', () => {
    const b = bless({
      champion: null,
      flipRate: undefined,
      gate: { rules: [{ metric: 'f1', minAbsolute: 0.75 }] },
    });
    expect(b.blessed).toBe(true);
    expect(b.comparedTo).toBeNull();
    expect(b.reasons[0]).toMatch(/no champion/);
    expect(b.decidedAt).toBe(NOW);
    expect(b.testSetKey).toBe('datasets/m/test/v3.jsonl');
    expect(() => BlessingSchema.parse(b)).not.toThrow();
  });

  it('refuses a first model below an absolute minimum', () => {
    const b = bless({ champion: null, gate: { rules: [{ metric: 'f1', minAbsolute: 0.85 }] } });
    expect(b.blessed).toBe(false);
    expect(b.reasons).toEqual(['candidate f1 0.8 misses the minimum 0.85']);
  });

  it('blesses an equal-or-better candidate against the champion', () => {
    const b = bless({ candidate: { f1: 0.81 } });
    expect(b.blessed).toBe(true);
    expect(b.comparedTo).toBe('v1');
    expect(b.checks.map((c) => c.name)).toEqual(['min-test-rows', 'metric:f1:vs-champion', 'flip-rate']);
  });

  it('allows a relative drop within the rule', () => {
    expect(bless({ candidate: { f1: 0.795 } }).blessed).toBe(true); // −0.625%
    expect(bless({ candidate: { f1: 0.792 } }).blessed).toBe(true); // exactly −1%
  });

  it('refuses a regression with a readable reason', () => {
    const b = bless({ candidate: { f1: 0.78 } });
    expect(b.blessed).toBe(false);
    expect(b.reasons).toEqual(['candidate f1 0.78 vs champion 0.8: -2.5% worse, beyond the allowed -1%']);
  });

  it('handles lower-is-better metrics', () => {
    const gate = {
      rules: [{ metric: 'log_loss', minAbsolute: 0.5, minRelativeChange: 0, higherIsBetter: false }],
    };
    expect(bless({ candidate: { log_loss: 0.38 }, gate }).blessed).toBe(true);
    const worse = bless({ candidate: { log_loss: 0.42 }, gate });
    expect(worse.blessed).toBe(false);
    expect(worse.reasons[0]).toMatch(/log_loss 0.42 vs champion 0.4: -5% worse/);
    const tooHigh = bless({ candidate: { log_loss: 0.6 }, champion: null, gate });
    expect(tooHigh.reasons).toEqual(['candidate log_loss 0.6 misses the maximum 0.5']);
  });

  it('refuses when a metric is missing on either side', () => {
    expect(bless({ candidate: { roc_auc: 0.9 } }).reasons).toEqual(['candidate has no f1 metric']);
    expect(bless({ champion: { roc_auc: 0.9 } }).reasons).toEqual([
      'champion has no f1 metric on this test set, cannot compare',
    ]);
  });

  it('refuses when the test set is too small, and still reports the other checks', () => {
    const b = bless({ testRows: 150, candidate: { f1: 0.7 } });
    expect(b.blessed).toBe(false);
    expect(b.reasons).toHaveLength(2);
    expect(b.reasons[0]).toBe('test set has 150 rows (minimum 200)');
  });

  it('refuses a slice regression larger than allowed, skipping small slices', () => {
    const candidateSlices = {
      'country=DE': { rows: 100, metrics: { f1: 0.7 } },
      'country=FR': { rows: 100, metrics: { f1: 0.78 } },
      'country=IS': { rows: 10, metrics: { f1: 0.1 } },
    };
    const championSlices = {
      'country=DE': { rows: 100, metrics: { f1: 0.8 } },
      'country=FR': { rows: 100, metrics: { f1: 0.8 } },
      'country=IS': { rows: 10, metrics: { f1: 0.9 } },
    };
    const b = bless({ candidateSlices, championSlices });
    expect(b.blessed).toBe(false);
    expect(b.reasons).toEqual([
      'slice country=DE f1 0.7 vs champion 0.8 (100 rows): regressed by 0.1, more than the allowed 0.05',
    ]);
    expect(b.checks.find((c) => c.name === 'slices-skipped')?.detail).toMatch(/country=IS \(10 rows\)/);

    const ok = bless({
      candidateSlices: { ...candidateSlices, 'country=DE': { rows: 100, metrics: { f1: 0.76 } } },
      championSlices,
    });
    expect(ok.blessed).toBe(true);
  });

  it('refuses a high or unmeasured flip rate when there is a champion', () => {
    expect(bless({ flipRate: 0.2 }).reasons).toEqual(['20% of predictions flip vs champion (max 10%)']);
    expect(bless({ flipRate: undefined }).reasons).toEqual(['flip rate vs champion was not measured']);
    expect(bless({ flipRate: 0.2, gate: { maxPredictionFlipRate: 0.25 } }).blessed).toBe(true);
  });

  it('accepts epoch-ms now', () => {
    expect(bless({ now: Date.parse(NOW) }).decidedAt).toBe(NOW);
  });
});
