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
  metrics: [{ name: 'acceptance', value: 0.5, higherIsBetter: true }],
};
const acceptance = (value: number) => ({ metrics: [{ name: 'acceptance', value, higherIsBetter: true }] });

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
      canary: acceptance(0.49),
      verdict: 'continue',
      measures: [],
    },
    {
      name: 'metric −4% → pause',
      canary: acceptance(0.48),
      verdict: 'pause',
      measures: ['metric:acceptance'],
    },
    {
      name: 'metric −12% → rollback',
      canary: acceptance(0.44),
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
        ...acceptance(0.9),
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
    expect(r.degradations[0].detail).toBe(
      'p99 latency 104 ms vs control 100 ms (n 10000 vs 10000 requests): +4 ms, 4.0% worse: investigate (≥ 3.0% worse)',
    );
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
    const complaints = { name: 'complaints', value: 0.1, higherIsBetter: false };
    const c = { ...control, metrics: [complaints] };
    expect(
      analyseStep({ control: c, canary: { ...c, metrics: [{ ...complaints, value: 0.104 }] } }).verdict,
    ).toBe('pause');
    const r = analyseStep({
      control,
      canary: { ...control, metrics: [{ name: 'acceptance', value: 0, higherIsBetter: false }] },
    });
    expect(r.verdict).toBe('continue');
    expect(r.notes[0]).toMatch(/metric acceptance skipped/);
  });

  it('words a 2× sub-millisecond p99 correctly and does not call it a degradation (issue 16)', () => {
    // Seen in a rollout: "p99 latency 0.0714 ms vs control 0.0356 ms: 3.59% worse", and a pause.
    const fast = { requests: 1000, errors: 0, latencyP99Ms: 0.0356 };
    const r = analyseStep({ control: fast, canary: { ...fast, latencyP99Ms: 0.0714 } });
    const latency = r.measures.find((m) => m.measure === 'latency-p99')!;
    expect(latency.relativeChange).toBeCloseTo((0.0714 - 0.0356) / 0.0356, 12);
    expect(latency.detail).toBe(
      'p99 latency 0.0714 ms vs control 0.0356 ms (n 1000 vs 1000 requests): +0.0358 ms, 100.6% worse: ok (below the 2 ms absolute floor: noise)',
    );
    expect(latency.verdict).toBe('ok');
    expect(r.verdict).toBe('continue');
  });

  it('judges latency above the absolute floor by its true ratio', () => {
    const base = { requests: 1000, errors: 0, latencyP99Ms: 5 };
    const r = analyseStep({ control: base, canary: { ...base, latencyP99Ms: 10 } });
    expect(r.verdict).toBe('rollback');
    expect(r.degradations[0].detail).toMatch(/\+5 ms, 100\.0% worse: rollback/);
    // 1.9 ms more on a 10 ms p99 is 19% worse but below the 2 ms floor; 2.5 ms more is a rollback.
    const ten = { ...base, latencyP99Ms: 10 };
    expect(analyseStep({ control: ten, canary: { ...ten, latencyP99Ms: 11.9 } }).verdict).toBe('continue');
    expect(analyseStep({ control: ten, canary: { ...ten, latencyP99Ms: 12.5 } }).verdict).toBe('rollback');
    // The floor is policy.
    expect(
      analyseStep({ control: ten, canary: { ...ten, latencyP99Ms: 11.9 }, config: { minLatencyDeltaMs: 1 } })
        .verdict,
    ).toBe('rollback');
  });

  it('states n in every verdict line and says "insufficient evidence" for a metric on too few outcomes', () => {
    const accuracy = (value: number, n: number) => ({
      metrics: [{ name: 'accuracy', value, higherIsBetter: true, n, unit: 'labelled outcomes' }],
    });
    const few = analyseStep({
      control: { ...control, ...accuracy(0.9, 40) },
      canary: { ...control, ...accuracy(0.5, 35) },
    });
    const line = few.measures.find((m) => m.measure === 'metric:accuracy')!;
    expect(line.verdict).toBe('insufficient-evidence');
    expect(line.n).toEqual({ control: 40, canary: 35 });
    expect(line.detail).toMatch(/n 35 labelled outcomes vs 40 labelled outcomes/);
    expect(line.detail).toMatch(/insufficient evidence \(200 labelled outcomes each\)/);
    expect(few.verdict).toBe('continue');
    for (const m of few.measures) expect(m.detail).toMatch(/\(n \d+/);

    const enough = analyseStep({
      control: { ...control, ...accuracy(0.9, 400) },
      canary: { ...control, ...accuracy(0.5, 350) },
    });
    expect(enough.verdict).toBe('rollback');
    expect(enough.degradations[0].detail).toMatch(/accuracy 0.5 vs control 0.9 .*44.4% worse: rollback/);

    const waiting = analyseStep({ control, canary: { ...control, requests: 100, errors: 10 } });
    expect(waiting.verdict).toBe('wait');
    expect(waiting.measures.every((m) => m.verdict === 'insufficient-evidence')).toBe(true);
  });

  it('reports a canary metric without a control value as information, never as a trigger', () => {
    const r = analyseStep({
      control: { ...control, metrics: [] },
      canary: {
        ...control,
        metrics: [
          {
            name: 'agreement-with-champion',
            value: 0.958,
            higherIsBetter: true,
            n: 1200,
            unit: 'shared requests',
          },
        ],
      },
    });
    expect(r.verdict).toBe('continue');
    const line = r.measures.find((m) => m.measure === 'metric:agreement-with-champion')!;
    expect(line.verdict).toBe('info');
    expect(line.detail).toBe(
      'agreement-with-champion 0.958 (n 1200 shared requests): no control value to compare with, information only',
    );
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
