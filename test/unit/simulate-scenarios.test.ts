import type { PredictionRow } from '../../src/schemas/records';
import type { ScenarioConfigInput, Scorer } from '../../src/simulate';
import {
  churnProbability,
  COUNTRY_NAMES,
  countryShares,
  driftParameters,
  generateDay,
  isWeekend,
  RARE_COUNTRIES,
  rowsForDay,
  scenarioConfig,
  truthModel,
} from '../../src/simulate';

/** Predictions of days [from, to) with their observed (true) labels. */
function labelled(config: ScenarioConfigInput, from: number, to: number, scorer?: Scorer, version?: string) {
  const rows: Array<{ p: PredictionRow; label: string }> = [];
  for (let d = from; d < to; d++) {
    const day = generateDay(
      config,
      d,
      scorer ?? undefined,
      scorer ? { modelVersion: version ?? 'test' } : {},
    );
    const truth = new Map(
      day.outcomes.filter((o) => o.source === 'observed').map((o) => [o.requestId, o.observedLabel]),
    );
    for (const p of day.predictions) rows.push({ p, label: truth.get(p.requestId) ?? 'missing' });
  }
  return rows;
}

function precision(rows: Array<{ p: PredictionRow; label: string }>): number {
  const predicted = rows.filter((r) => r.p.predictedLabel === 'churn');
  return predicted.filter((r) => r.label === 'churn').length / predicted.length;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const numbers = (rows: PredictionRow[], f: string): number[] =>
  rows.map((r) => r.features[f]).filter((v): v is number => typeof v === 'number');

/** PSI of `actual` against `expected`, on the deciles of `expected`. */
function psi(expected: number[], actual: number[]): number {
  const sorted = [...expected].sort((a, b) => a - b);
  const edges = [
    ...new Set(Array.from({ length: 9 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / 10)])),
  ];
  const hist = (xs: number[]): number[] => {
    const h = new Array<number>(edges.length + 1).fill(0);
    for (const x of xs) {
      let b = 0;
      while (b < edges.length && x >= edges[b]) b++;
      h[b]++;
    }
    return h.map((c) => Math.max(c / xs.length, 1e-4));
  };
  const e = hist(expected);
  const a = hist(actual);
  return e.reduce((s, ei, i) => s + (a[i] - ei) * Math.log(a[i] / ei), 0);
}

describe('simulate: country-encoding', () => {
  const config = { name: 'country-encoding' as const, seed: 21, rowsPerDay: 1500, switchDay: 10 };

  it('logs codes before switchDay and full names from it, in features and slices', () => {
    for (const d of [0, 6, 9]) {
      for (const p of generateDay(config, d).predictions) {
        expect(String(p.features.country)).toMatch(/^[A-Z]{2}$/);
        expect(p.slices?.country).toBe(p.features.country);
      }
    }
    for (const d of [10, 11, 30]) {
      const countries = new Set(generateDay(config, d).predictions.map((p) => p.features.country));
      for (const [code, name] of Object.entries(COUNTRY_NAMES)) {
        expect(countries.has(code)).toBe(false);
        expect(countries.has(name)).toBe(true);
      }
      expect(countries.has('FR')).toBe(true);
      expect(countries.has('IN')).toBe(true);
    }
  });

  it('leaves true behaviour unchanged and hurts the code-keyed reference scorer', () => {
    const stable = { ...config, name: 'stable' as const };
    const a = generateDay(config, 12);
    const b = generateDay(stable, 12);
    expect(a.outcomes.map((o) => [o.observedLabel, o.source, o.timestamp])).toEqual(
      b.outcomes.map((o) => [o.observedLabel, o.source, o.timestamp]),
    );
    const f = { ...a.predictions[0].features, country: 'US' };
    expect(churnProbability(config, 12, { ...f, country: 'United States' })).toBe(
      churnProbability(config, 12, f),
    );

    const before = labelled(config, 0, 7);
    const after = labelled(config, 14, 21);
    const rate = (rows: typeof before) =>
      rows.filter((r) => r.p.predictedLabel === 'churn').length / rows.length;
    expect(rate(after)).toBeGreaterThan(rate(before) * 1.25);
    expect(precision(after)).toBeLessThan(precision(before) - 0.05);
  });
});

describe('simulate: feature-drift', () => {
  const config = { name: 'feature-drift' as const, seed: 8, rowsPerDay: 1500 };

  it('query_length and session length grow week over week; PSI vs week 1 passes 0.15 within ~2-3 weeks', () => {
    const week = (w: number) => labelled(config, 7 * w, 7 * w + 7).map((r) => r.p);
    const w1 = week(0);
    const w3 = week(2);
    expect(mean(numbers(w3, 'query_length'))).toBeGreaterThan(mean(numbers(w1, 'query_length')) * 1.2);
    expect(mean(numbers(w3, 'avg_session_minutes'))).toBeGreaterThan(
      mean(numbers(w1, 'avg_session_minutes')) * 1.08,
    );
    expect(psi(numbers(w1, 'query_length'), numbers(w3, 'query_length'))).toBeGreaterThan(0.15);
    // Stable traffic shows no such shift.
    const stable = { ...config, name: 'stable' as const };
    const s1 = labelled(stable, 0, 7).map((r) => r.p);
    const s3 = labelled(stable, 14, 21).map((r) => r.p);
    expect(psi(numbers(s1, 'query_length'), numbers(s3, 'query_length'))).toBeLessThan(0.02);
    // Other features do not move.
    expect(
      Math.abs(mean(numbers(w3, 'sessions_per_week')) - mean(numbers(w1, 'sessions_per_week'))),
    ).toBeLessThan(0.3);
  });

  it('keeps the ground truth: the same labels as the stable scenario, and precision holds', () => {
    const stable = { ...config, name: 'stable' as const };
    for (const d of [3, 30]) {
      expect(generateDay(config, d).outcomes.map((o) => o.observedLabel)).toEqual(
        generateDay(stable, d).outcomes.map((o) => o.observedLabel),
      );
    }
    const p1 = precision(labelled(config, 0, 7));
    const p8 = precision(labelled(config, 49, 56));
    expect(Math.abs(p8 - p1)).toBeLessThan(0.08);
  });
});

describe('simulate: concept-drift', () => {
  const config = { name: 'concept-drift' as const, seed: 3, rowsPerDay: 1500 };

  it('moves the true churn probability of the same users materially between week 1 and week 8', () => {
    const cfg = scenarioConfig(config);
    const feats = generateDay(config, 0).predictions.map((p) => p.features);
    const w1 = feats.map((f) => churnProbability(cfg, 0, f));
    const w8 = feats.map((f) => churnProbability(cfg, 49, f));
    const meanAbs = mean(w1.map((p, i) => Math.abs(p - w8[i])));
    expect(meanAbs).toBeGreaterThan(0.08);
    const logit = (p: number) => Math.log(p / (1 - p));
    const corr = (a: number[], b: number[]) => {
      const ma = mean(a);
      const mb = mean(b);
      const cov = mean(a.map((x, i) => (x - ma) * (b[i] - mb)));
      return cov / Math.sqrt(mean(a.map((x) => (x - ma) ** 2)) * mean(b.map((x) => (x - mb) ** 2)));
    };
    expect(corr(w1.map(logit), w8.map(logit))).toBeLessThan(0.5);
    // …while the overall churn rate stays about the same (concept drift, not a prior shift).
    expect(Math.abs(mean(w8) - mean(w1))).toBeLessThan(0.03);
    // Stable does not move at all (same weekday).
    const stable = scenarioConfig({ ...config, name: 'stable' });
    expect(feats.map((f) => churnProbability(stable, 49, f))).toEqual(
      feats.map((f) => churnProbability(stable, 0, f)),
    );
  });

  it('the never-retrained reference scorer loses over a third of its precision by week 8', () => {
    const p1 = precision(labelled(config, 0, 7));
    const p8 = precision(labelled(config, 49, 56));
    expect(p1).toBeGreaterThan(0.5);
    expect(p8).toBeLessThan((2 / 3) * p1);
  });

  it('a scorer that knows the truth of two weeks earlier (a weekly retrain on matured labels) stays close', () => {
    const cfg = scenarioConfig(config);
    const lagged = (day: number): Scorer => {
      const model = truthModel(cfg, day - 14);
      return (features) => {
        const churn = model.probability(features);
        return { predictedLabel: churn >= 0.5 ? 'churn' : 'stay', scores: { churn, stay: 1 - churn } };
      };
    };
    const week = (w: number) => {
      const rows: ReturnType<typeof labelled> = [];
      for (let d = 7 * w; d < 7 * w + 7; d++) rows.push(...labelled(config, d, d + 1, lagged(d)));
      return rows;
    };
    const p1 = precision(week(0));
    const p8 = precision(week(7));
    expect(p8).toBeGreaterThan(0.85 * p1);
  });

  it('driftParameters prints the weekly coefficients', () => {
    const params = driftParameters(config);
    expect(params.conceptDrift?.weeks).toHaveLength(8);
    const [w1, , , , , , , w8] = params.conceptDrift?.weeks ?? [];
    expect(w1.angleDeg).toBe(0);
    expect(w8.angleDeg).toBeCloseTo(90, 5);
    expect(w1.coefficients.sessions_per_week).toBeLessThan(0);
    expect(w8.coefficients.sessions_per_week).toBeGreaterThan(0);
    expect(w8.coefficients.discount_used).toBeLessThan(0);
    expect(w1.coefficients.payment_failures_90d).toBe(0);
    expect(w8.coefficients.payment_failures_90d).toBeGreaterThan(0.5);
    expect(w8.coefficients.support_tickets_30d).toBeLessThan(w1.coefficients.support_tickets_30d);
    expect(JSON.parse(JSON.stringify(params))).toEqual(params);
    expect(driftParameters({ ...config, name: 'stable' }).conceptDrift).toBeNull();
    expect(driftParameters({ ...config, name: 'feature-drift' }).featureDrift?.queryLengthGrowthPerDay).toBe(
      0.02,
    );
    expect(driftParameters({ ...config, name: 'country-encoding' }).countryEncoding?.switchDay).toBe(14);
  });
});

describe('simulate: stable traffic, slices and rhythm', () => {
  const config = { name: 'stable' as const, seed: 17 };

  it('keeps the reference precision steady', () => {
    const small = { ...config, rowsPerDay: 1500 };
    const p1 = precision(labelled(small, 0, 7));
    const p8 = precision(labelled(small, 49, 56));
    expect(p1).toBeGreaterThan(0.55);
    expect(Math.abs(p8 - p1)).toBeLessThan(0.08);
  });

  it('has rare country slices at roughly their share', () => {
    const rows = labelled(config, 0, 14).map((r) => r.p);
    const cfg = scenarioConfig(config);
    const shares = new Map(countryShares(cfg));
    const count = (c: string) => rows.filter((p) => p.features.country === c).length;
    const rare = RARE_COUNTRIES.reduce((s, [c]) => s + count(c), 0) / rows.length;
    expect(rare).toBeGreaterThan(0.6 * cfg.rareSliceShare);
    expect(rare).toBeLessThan(1.4 * cfg.rareSliceShare);
    for (const [c] of RARE_COUNTRIES) expect(count(c)).toBeGreaterThan(0);
    expect(count('US') / rows.length).toBeCloseTo(shares.get('US') ?? 0, 1);
    const bigger = generateDay({ ...config, rareSliceShare: 0.1, rowsPerDay: 3000 }, 0).predictions;
    const rareBig = bigger.filter((p) => RARE_COUNTRIES.some(([c]) => c === p.features.country)).length;
    expect(rareBig / bigger.length).toBeGreaterThan(0.07);
  });

  it('shows a weekday/weekend rhythm in volume, activity and churn', () => {
    const cfg = scenarioConfig(config);
    const rows = labelled(config, 0, 14);
    const onWeekend = (ts: string) => [0, 6].includes(new Date(ts).getUTCDay());
    const weekday = rows.filter((r) => !onWeekend(r.p.timestamp));
    const weekend = rows.filter((r) => onWeekend(r.p.timestamp));
    expect(isWeekend(cfg, 5)).toBe(true); // 2026-06-06 is a Saturday
    expect(isWeekend(cfg, 0)).toBe(false);
    expect(rowsForDay(cfg, 5)).toBe(1400);
    expect(rowsForDay(cfg, 0)).toBe(2000);
    expect(weekend.length / 4).toBeLessThan(weekday.length / 10);
    const ps = (rows: typeof weekday) => rows.map((r) => r.p);
    expect(mean(numbers(ps(weekend), 'sessions_per_week'))).toBeLessThan(
      mean(numbers(ps(weekday), 'sessions_per_week')) - 0.5,
    );
    expect(mean(numbers(ps(weekend), 'avg_session_minutes'))).toBeGreaterThan(
      mean(numbers(ps(weekday), 'avg_session_minutes')) * 1.15,
    );
    const churn = (rows: typeof weekday) => rows.filter((r) => r.label === 'churn').length / rows.length;
    expect(churn(weekend)).toBeGreaterThan(churn(weekday) + 0.03);
    // Weekday churn is near churnBase.
    expect(Math.abs(churn(weekday) - cfg.churnBase)).toBeLessThan(0.03);
  });
});
