import type { Features } from '../../src/schemas/records';
import {
  accumulate,
  buildProfile,
  computeDrift,
  createAccumulator,
  DriftReportSchema,
  DriftThresholdsSchema,
  psi,
} from '../../src/monitoring';
import type { DriftAccumulator, ReferenceProfile } from '../../src/monitoring';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Reference: query_length 1..1000 once each (deciles at 100, 200, …), device 50/50, score spread evenly. */
const referenceRows: Features[] = range(1, 1000).map((i) => ({
  query_length: i,
  device: i % 2 === 0 ? 'mobile' : 'desktop',
}));
const profile: ReferenceProfile = buildProfile(referenceRows, {
  scoreRows: range(1, 1000).map((i) => ({ spam: i / 1000 })),
  positiveClass: 'spam',
});

function window(rows: Features[], score?: (i: number) => number): DriftAccumulator {
  const acc = createAccumulator(profile);
  rows.forEach((f, i) => accumulate(acc, f, score === undefined ? undefined : { spam: score(i) }));
  return acc;
}

/**
 * 1,000 current rows whose query_length puts 17 % in the first decile and 3 % in the second (10 % in
 * each other decile); device unchanged.
 */
function slightlyDrifted(): Features[] {
  const lengths = [
    ...Array.from({ length: 170 }, (_, i) => 1 + (i % 100)), // (−∞, 100] → first bin [1, 100]
    ...Array.from({ length: 30 }, (_, i) => 101 + i), // second bin (100, 200]
    ...range(201, 1000), // 800 rows, 100 per remaining decile
  ];
  return lengths.map((q, i) => ({ query_length: q, device: i % 2 === 0 ? 'mobile' : 'desktop' }));
}

describe('computeDrift', () => {
  it('reports PSI 0 and level none for an identical window', () => {
    const report = computeDrift(
      profile,
      window(referenceRows, (i) => (i + 1) / 1000),
    );
    expect(report.level).toBe('none');
    for (const f of [...report.features, ...report.scores]) {
      expect(f.psi).toBe(0);
      expect(f.kl).toBe(0);
      expect(f.js).toBe(0);
      expect(f.level).toBe('none');
    }
    expect(DriftReportSchema.parse(report)).toEqual(report);
  });

  it('computes the PSI of a slight shift and a custom warn level changes only that feature', () => {
    // Deciles r_i = 0.1; current c = [0.17, 0.03, 0.1 × 8]:
    // PSI = (0.17 − 0.1)·ln(1.7) + (0.03 − 0.1)·ln(0.3) = 0.07·0.530628 + 0.07·1.203973 = 0.121422
    const acc = window(slightlyDrifted());
    const byDefault = computeDrift(profile, acc);
    const q = byDefault.features.find((f) => f.feature === 'query_length');
    expect(q?.psi).toBeCloseTo(0.121422, 6);
    expect(q).toMatchObject({ level: 'warn', warnAt: 0.1, alertAt: 0.25 });
    expect(byDefault.level).toBe('warn');
    // Bins empty on both sides (underflow, overflow, missing, wrong type) are left out of the proportions.
    expect(q?.labels).toEqual([
      '[1, 100]',
      '(100, 200]',
      '(200, 300]',
      '(300, 400]',
      '(400, 500]',
      '(500, 600]',
      '(600, 700]',
      '(700, 800]',
      '(800, 900]',
      '(900, 1000]',
    ]);
    expect(q?.current.slice(0, 3)).toEqual([0.17, 0.03, 0.1]);

    const custom = computeDrift(profile, acc, { features: { query_length: { warn: 0.15 } } });
    const q2 = custom.features.find((f) => f.feature === 'query_length');
    expect(q2).toMatchObject({ level: 'none', warnAt: 0.15, alertAt: 0.25 });
    expect(custom.level).toBe('none');
    expect(custom.features.find((f) => f.feature === 'device')).toMatchObject({ level: 'none', warnAt: 0.1 });
  });

  it('raises an alert on a large shift and sorts features worst first', () => {
    // Every query is long (> 900) and 30 % arrive without a device.
    const rows: Features[] = range(1, 1000).map((i) => ({
      query_length: 901 + (i % 100),
      ...(i % 10 < 3 ? {} : { device: i % 2 === 0 ? 'mobile' : 'desktop' }),
    }));
    const report = computeDrift(profile, window(rows));
    expect(report.features.map((f) => f.feature)).toEqual(['query_length', 'device']);
    expect(report.features[0].level).toBe('alert');
    expect(report.features[1].labels).toContain('__missing__');
    expect(report.level).toBe('alert');
    expect(report.counts).toMatchObject({ alert: 2 });
  });

  it('uses the same formula as psi() on the reported proportions', () => {
    const report = computeDrift(profile, window(slightlyDrifted()));
    for (const f of report.features) expect(f.psi).toBe(psi(f.reference, f.current));
  });

  it('says insufficient-data (not alert) below the minimum rows', () => {
    const rows: Features[] = range(1, 50).map(() => ({ query_length: 5000, device: 'fridge' }));
    const report = computeDrift(
      profile,
      window(rows, () => 0.99),
    );
    expect(report.features.every((f) => f.level === 'insufficient-data')).toBe(true);
    expect(report.features[0].psi).toBeGreaterThan(1);
    expect(report.level).toBe('insufficient-data');
    // With a lower minimum the same window is an alert.
    expect(computeDrift(profile, window(rows), { minRows: 10 }).level).toBe('alert');
    // An empty window has no PSI at all.
    const empty = computeDrift(profile, createAccumulator(profile));
    expect(empty.features[0]).toMatchObject({ psi: null, kl: null, js: null, level: 'insufficient-data' });
  });

  it('reports score drift separately and does not let a window without scores hide feature drift', () => {
    const withScores = computeDrift(
      profile,
      window(referenceRows, () => 0.95),
    );
    expect(withScores.scores[0]).toMatchObject({ feature: 'spam', kind: 'score', level: 'alert' });
    const noScores = computeDrift(profile, window(slightlyDrifted()));
    expect(noScores.scores[0].level).toBe('insufficient-data');
    expect(noScores.level).toBe('warn');
  });

  it('validates thresholds', () => {
    expect(DriftThresholdsSchema.parse({})).toMatchObject({ warn: 0.1, alert: 0.25, minRows: 100 });
    expect(() => DriftThresholdsSchema.parse({ warn: 0.3 })).toThrow(/warn/);
    expect(() => DriftThresholdsSchema.parse({ features: { q: { warn: 0.5 } } })).toThrow(/warn/);
  });
});
