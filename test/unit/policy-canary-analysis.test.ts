import {
  DEFAULT_CANARY_STEPS,
  analyseStep,
  canaryShare,
  nextCanaryStep,
} from '../../src/policy/canary-analysis';
import type { CanarySide, CanaryVerdict } from '../../src/policy/canary-analysis';

const control: CanarySide = {
  requests: 10_000,
  errors: 1000,
  latencyP99Ms: 100,
  metric: { name: 'acceptance', value: 0.5, higherIsBetter: true },
};

describe('analyseStep', () => {
  const table: Array<{
    name: string;
    canary: Partial<CanarySide>;
    verdict: CanaryVerdict;
    measures: string[];
  }> = [
    { name: 'identical → continue', canary: {}, verdict: 'continue', measures: [] },
    { name: 'latency +2% → continue', canary: { latencyP99Ms: 102 }, verdict: 'continue', measures: [] },
    {
      name: 'latency +4% → pause',
      canary: { latencyP99Ms: 104 },
      verdict: 'pause',
      measures: ['latency-p99'],
    },
    {
      name: 'latency +12% → rollback',
      canary: { latencyP99Ms: 112 },
      verdict: 'rollback',
      measures: ['latency-p99'],
    },
    { name: 'errors +2% → continue', canary: { errors: 1020 }, verdict: 'continue', measures: [] },
    { name: 'errors +4% → pause', canary: { errors: 1040 }, verdict: 'pause', measures: ['error-rate'] },
    {
      name: 'errors +12% → rollback',
      canary: { errors: 1120 },
      verdict: 'rollback',
      measures: ['error-rate'],
    },
    {
      name: 'metric −2% → continue',
      canary: { metric: { name: 'acceptance', value: 0.49, higherIsBetter: true } },
      verdict: 'continue',
      measures: [],
    },
    {
      name: 'metric −4% → pause',
      canary: { metric: { name: 'acceptance', value: 0.48, higherIsBetter: true } },
      verdict: 'pause',
      measures: ['metric:acceptance'],
    },
    {
      name: 'metric −12% → rollback',
      canary: { metric: { name: 'acceptance', value: 0.44, higherIsBetter: true } },
      verdict: 'rollback',
      measures: ['metric:acceptance'],
    },
    {
      name: 'several degradations, worst first',
      canary: { latencyP99Ms: 104, errors: 1200 },
      verdict: 'rollback',
      measures: ['error-rate', 'latency-p99'],
    },
    {
      name: 'improvements never degrade',
      canary: {
        latencyP99Ms: 50,
        errors: 10,
        metric: { name: 'acceptance', value: 0.9, higherIsBetter: true },
      },
      verdict: 'continue',
      measures: [],
    },
  ];

  it.each(table)('$name', ({ canary, verdict, measures }) => {
    const r = analyseStep({ control, canary: { ...control, ...canary } });
    expect(r.verdict).toBe(verdict);
    expect(r.degradations.map((d) => d.measure)).toEqual(measures);
    expect(r.measures.length).toBe(3);
  });

  it('reports relative change and severity', () => {
    const r = analyseStep({ control, canary: { ...control, latencyP99Ms: 104 } });
    expect(r.degradations[0].relativeChange).toBeCloseTo(0.04, 12);
    expect(r.degradations[0].severity).toBe('investigate');
    expect(r.degradations[0].detail).toBe('p99 latency 104 ms vs control 100 ms: 4% worse');
  });

  it('waits when either side has too few requests', () => {
    const small = { ...control, requests: 499, errors: 400 };
    expect(analyseStep({ control, canary: small }).verdict).toBe('wait');
    expect(analyseStep({ control: small, canary: control }).verdict).toBe('wait');
    expect(analyseStep({ control: small, canary: small, config: { minRequests: 100 } }).verdict).not.toBe(
      'wait',
    );
  });

  it('uses an absolute floor for error rates so a perfect control is not divided by zero', () => {
    const perfect = { requests: 1000, errors: 0, latencyP99Ms: 100 };
    const oneError = analyseStep({ control: perfect, canary: { ...perfect, errors: 1 } });
    expect(oneError.verdict).toBe('continue');
    expect(Number.isFinite(oneError.measures[0].relativeChange)).toBe(true);
    expect(oneError.measures[0].relativeChange).toBeCloseTo(0.1, 12);
    // 1% errors where there were none is a real regression.
    expect(analyseStep({ control: perfect, canary: { ...perfect, errors: 10 } }).verdict).toBe('rollback');
  });

  it('handles lower-is-better metrics and skips mismatched ones', () => {
    const c = { ...control, metric: { name: 'complaints', value: 0.1, higherIsBetter: false } };
    expect(analyseStep({ control: c, canary: { ...c, metric: { ...c.metric, value: 0.104 } } }).verdict).toBe(
      'pause',
    );
    const r = analyseStep({
      control,
      canary: { ...control, metric: { name: 'other', value: 0, higherIsBetter: true } },
    });
    expect(r.verdict).toBe('continue');
    expect(r.notes[0]).toMatch(/metric skipped/);
  });

  it('rejects impossible stats', () => {
    expect(() => analyseStep({ control, canary: { ...control, errors: 20_000 } })).toThrow(
      'invalid canary stats',
    );
  });
});

describe('canaryShare', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

  it.each([1, 5, 10, 25, 50])('sends ≈ %p%% of 20k entities to the canary', (weight) => {
    const share = ids.filter((id) => canaryShare(id, weight, 'rollout-7') === 'canary').length / ids.length;
    expect(Math.abs(share * 100 - weight)).toBeLessThanOrEqual(1.5);
  });

  it('is sticky, monotone in the weight, and salt-dependent', () => {
    for (const id of ids.slice(0, 2000)) {
      expect(canaryShare(id, 10, 's')).toBe(canaryShare(id, 10, 's'));
      if (canaryShare(id, 5, 's') === 'canary') expect(canaryShare(id, 25, 's')).toBe('canary');
    }
    const a = ids.map((id) => canaryShare(id, 50, 'a'));
    const b = ids.map((id) => canaryShare(id, 50, 'b'));
    expect(a).not.toEqual(b);
  });

  it('0% and 100% are absolute, and bad weights throw', () => {
    expect(ids.slice(0, 500).every((id) => canaryShare(id, 0) === 'champion')).toBe(true);
    expect(ids.slice(0, 500).every((id) => canaryShare(id, 100) === 'canary')).toBe(true);
    expect(() => canaryShare('x', 101)).toThrow();
    expect(() => canaryShare('x', Number.NaN)).toThrow();
  });
});

describe('canary steps', () => {
  it('walks the default steps', () => {
    expect(DEFAULT_CANARY_STEPS).toEqual([1, 5, 10, 25, 50, 100]);
    expect(nextCanaryStep(0)).toBe(1);
    expect(nextCanaryStep(10)).toBe(25);
    expect(nextCanaryStep(100)).toBeNull();
  });
});
