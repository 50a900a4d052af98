import type { Features } from '../../src/schemas/records';
import {
  accumulate,
  assertValidProfile,
  buildProfile,
  checkSkew,
  computeDrift,
  createAccumulator,
  InvalidProfileError,
  parsePredictionLineForDrift,
  ReferenceProfileSchema,
} from '../../src/monitoring';
import type { DriftAccumulator, ReferenceProfile } from '../../src/monitoring';

/** Regression tests for the defects of issue 18 §4 (each failed before its fix). */

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function windowOf(profile: ReferenceProfile, rows: Features[]): DriftAccumulator {
  const acc = createAccumulator(profile);
  for (const r of rows) accumulate(acc, r);
  return acc;
}

describe('a reference with values near 1e308', () => {
  const rows: Features[] = range(200).map((i) => ({ x: (i % 2 === 0 ? 1 : 0.9) * 1.5e308, y: i }));

  it('profiles to a finite mean and a profile that passes its own schema after a JSON round-trip', () => {
    const profile = buildProfile(rows);
    const x = profile.features.find((f) => f.name === 'x');
    expect(x?.kind).toBe('numeric');
    const mean = x?.kind === 'numeric' ? x.mean : NaN;
    expect(Number.isFinite(mean)).toBe(true);
    // Exact answer: half the values are 1.5e308, half 1.35e308.
    expect(mean / 1.425e308).toBeCloseTo(1, 12);
    expect(() => ReferenceProfileSchema.parse(JSON.parse(JSON.stringify(profile)))).not.toThrow();
  });

  it('gives an accurate mean when huge values of both signs cancel', () => {
    const profile = buildProfile([{ x: 1.7e308 }, { x: -1.7e308 }, { x: 3 }, { x: 5 }]);
    const x = profile.features[0];
    expect(x.kind === 'numeric' && x.mean).toBe(2);
  });

  it('never lets a profile that fails its schema through', () => {
    const profile = buildProfile(rows);
    const broken = structuredClone(profile);
    const x = broken.features.find((f) => f.name === 'x');
    if (x?.kind === 'numeric') x.mean = Infinity;
    expect(() => assertValidProfile(broken)).toThrow(InvalidProfileError);
    expect(() => assertValidProfile(broken)).toThrow(/features\.\d+\.mean/);
  });
});

describe('NaN and ±Infinity in logged features', () => {
  const line = (x: string): string =>
    `{"requestId":"r1","timestamp":"2026-06-01T00:00:00Z","modelId":"m","modelVersion":"v1",` +
    `"features":{"x":${x},"s":"NaN Infinity"},"predictedLabel":"a","scores":{"a":0.7,"b":0.3}}`;

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['1e999', Infinity],
  ])('keep the row, with %s as a non-finite value of that one feature', (token, expected) => {
    const parsed = parsePredictionLineForDrift(line(token));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.row.features.x).toBe(expected);
    expect(parsed.row.features.s).toBe('NaN Infinity');
    expect(parsed.nonFinite).toBe(1);
  });

  it('still rejects lines that are invalid for another reason', () => {
    const bad = line('NaN').replace('"predictedLabel":"a",', '');
    const parsed = parsePredictionLineForDrift(bad);
    expect(parsed.ok).toBe(false);
    expect(parsePredictionLineForDrift('{"features": NaN').ok).toBe(false);
    expect(parsePredictionLineForDrift(line('NaN').replace('"a":0.7', '"a":NaN')).ok).toBe(false);
  });

  it('count as wrong type in the drift histograms (as the README promises)', () => {
    const profile = buildProfile(range(200).map((i) => ({ x: i })));
    const acc = createAccumulator(profile);
    for (const token of ['NaN', 'Infinity', '-Infinity', '1']) {
      const parsed = parsePredictionLineForDrift(line(token));
      if (parsed.ok) accumulate(acc, parsed.row.features);
    }
    const h = acc.features[0];
    expect(h.typeMismatch).toBe(3);
    expect(h.mismatchTypes.nonFinite).toBe(3);
  });
});

describe('invalid rows reach the drift level', () => {
  const profile = buildProfile(range(500).map((i) => ({ x: i % 100, c: i % 2 === 0 ? 'a' : 'b' })));

  it('a window whose every line is invalid is an alert, not "none" or "insufficient-data"', () => {
    const report = computeDrift(profile, createAccumulator(profile), {}, { invalidRows: 1000 });
    expect(report.invalid).toEqual({ rows: 1000, rate: 1, level: 'alert' });
    expect(report.level).toBe('alert');
  });

  it('more invalid rows than the policy allows make a clean window at least a warn', () => {
    const acc = windowOf(
      profile,
      range(500).map((i) => ({ x: i % 100, c: i % 2 === 0 ? 'a' : 'b' })),
    );
    expect(computeDrift(profile, acc, {}, { invalidRows: 0 }).level).toBe('none');
    // 50 of 550 lines = 9 %: above the default 1 %, below the default alert share of 20 %.
    expect(computeDrift(profile, acc, {}, { invalidRows: 50 }).level).toBe('warn');
    expect(computeDrift(profile, acc, { invalidRate: { warn: 0.1 } }, { invalidRows: 50 }).level).toBe(
      'none',
    );
    expect(computeDrift(profile, acc, {}, { invalidRows: 5 }).level).toBe('none');
  });
});

describe('high-cardinality features', () => {
  // 3,000 distinct ids, so the profile cannot list them all (default: 50 kept + 1,000 named).
  const training: Features[] = range(6000).map((i) => ({ user: `u${i % 3000}`, n: i % 10 }));
  const profile = buildProfile(training);

  it('report the share of never-seen values as their own skew finding', () => {
    const p = profile.features.find((f) => f.name === 'user');
    expect(p?.kind === 'categorical' && p.otherValuesComplete).toBe(false);
    // Half the window is ids training never had.
    const rows: Features[] = range(2000).map((i) => ({
      user: i % 2 === 0 ? `u${i % 3000}` : `new-${i}`,
      n: i % 10,
    }));
    const acc = windowOf(profile, rows);
    const drift = computeDrift(profile, acc);
    // PSI cannot see it (they pool into __other__): the skew check must.
    expect(drift.features.find((f) => f.feature === 'user')?.psi).toBeLessThan(0.1);
    const finding = checkSkew(profile, acc).findings.find(
      (f) => f.feature === 'user' && f.check === 'never-seen-values',
    );
    expect(finding?.severity).toBe('warn');
    // A Bloom filter may only under-count (1 % false positives at most here).
    expect(finding?.value).toBeGreaterThan(0.49);
    expect(finding?.value).toBeLessThanOrEqual(0.5);
    expect(finding?.detail).toMatch(/never seen in training/);
    expect(finding?.examples.length).toBeGreaterThan(0);
  });

  it('stay quiet when every value was seen in training, and honour a per-feature threshold', () => {
    const acc = windowOf(profile, training.slice(0, 2000));
    expect(checkSkew(profile, acc).findings).toEqual([]);
    const half = windowOf(
      profile,
      range(1000).map((i) => ({ user: i % 2 === 0 ? `u${i}` : `x${i}`, n: 1 })),
    );
    const strict = checkSkew(profile, half, { features: { user: { neverSeenRate: { alert: 0.3 } } } });
    expect(strict.blocksRetraining).toBe(true);
  });
});

describe('tiny references', () => {
  it('an empty reference gives insufficient-data, not none', () => {
    const profile = buildProfile([]);
    const acc = windowOf(
      profile,
      range(500).map((i) => ({ x: i })),
    );
    expect(computeDrift(profile, acc).level).toBe('insufficient-data');
  });

  it('a 1-row reference cannot block retraining: its findings are informational, with the reason', () => {
    const profile = buildProfile([{ country: 'US', age: 30 }]);
    const acc = windowOf(
      profile,
      range(500).map((i) => ({ country: i % 2 ? 'United States' : 'DE', age: 20 + (i % 50) })),
    );
    const report = checkSkew(profile, acc);
    expect(report.insufficientReference).toBe(true);
    expect(report.blocksRetraining).toBe(false);
    expect(report.findings.length).toBeGreaterThan(0);
    expect(report.findings.every((f) => f.severity === 'info')).toBe(true);
    expect(report.findings[0].detail).toMatch(/informational only, was alert: the reference has 1 rows/);
    // With enough reference rows the same window does block.
    const big = buildProfile(range(100).map(() => ({ country: 'US', age: 30 })));
    expect(
      checkSkew(
        big,
        windowOf(
          big,
          range(500).map(() => ({ country: 'DE', age: 30 })),
        ),
      ).blocksRetraining,
    ).toBe(true);
  });
});

describe('numbers logged as strings', () => {
  it('get a numbers-as-strings skew finding from the profile', () => {
    const profile = buildProfile(range(300).map((i) => ({ amount: `${(i * 1.37).toFixed(2)}`, k: 'a' })));
    const acc = windowOf(
      profile,
      range(100).map((i) => ({ amount: `${i}.5`, k: 'a' })),
    );
    const finding = checkSkew(profile, acc).findings.find((f) => f.check === 'numbers-as-strings');
    expect(finding?.feature).toBe('amount');
    expect(finding?.detail).toMatch(/numbers written as text/);
    expect(checkSkew(profile, acc).findings.some((f) => f.feature === 'k')).toBe(false);
    // Numeric text that is an identifier (zip codes) can be exempted per feature.
    const exempt = checkSkew(profile, acc, { features: { amount: { numbersAsStrings: false } } });
    expect(exempt.findings.some((f) => f.check === 'numbers-as-strings')).toBe(false);
  });
});
