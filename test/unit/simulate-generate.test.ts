import { LabeledRowSchema, OutcomeRowSchema, PredictionRowSchema } from '../../src/schemas/records';
import type { Features } from '../../src/schemas/records';
import {
  DAY_MS,
  deriveSeed,
  generateDay,
  generateHistory,
  mulberry32,
  referenceScorer,
  Rng,
  rowsForDay,
  scenarioConfig,
  ScenarioConfigSchema,
  SCENARIO_NAMES,
} from '../../src/simulate';
import type { ScoringModel } from '../../src/simulate';

describe('simulate: seeded PRNG', () => {
  it('mulberry32 is deterministic per seed and uniform-looking', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it('derived streams differ by name and part, and repeat for the same ones', () => {
    expect(deriveSeed(1, 'day', 3, 'labels')).toBe(deriveSeed(1, 'day', 3, 'labels'));
    const seeds = new Set([
      deriveSeed(1, 'day', 3, 'labels'),
      deriveSeed(1, 'day', 3, 'population'),
      deriveSeed(1, 'day', 4, 'labels'),
      deriveSeed(2, 'day', 3, 'labels'),
      deriveSeed(1, 'day', -3, 'labels'),
    ]);
    expect(seeds.size).toBe(5);
  });

  it('normal and poisson draws have the right moments', () => {
    const rng = new Rng(7);
    const normals = Array.from({ length: 20000 }, () => rng.normal(2, 3));
    const nMean = normals.reduce((s, x) => s + x, 0) / normals.length;
    const nSd = Math.sqrt(normals.reduce((s, x) => s + (x - nMean) ** 2, 0) / normals.length);
    expect(nMean).toBeCloseTo(2, 1);
    expect(Math.abs(nSd - 3)).toBeLessThan(0.1);
    const counts = Array.from({ length: 20000 }, () => rng.poisson(3.5));
    expect(counts.reduce((s, x) => s + x, 0) / counts.length).toBeCloseTo(3.5, 1);
  });
});

describe('simulate: scenario config', () => {
  it('fills the documented defaults', () => {
    const config = scenarioConfig({ name: 'stable', seed: 1 });
    expect(config).toMatchObject({
      start: '2026-06-01',
      rowsPerDay: 2000,
      labelDelayDays: 7,
      days: 56,
      switchDay: 14,
    });
    expect(ScenarioConfigSchema.parse(config)).toEqual(config);
  });

  it('rejects bad values', () => {
    expect(() => scenarioConfig({ name: 'nope' as 'stable', seed: 1 })).toThrow();
    expect(() => scenarioConfig({ name: 'stable', seed: -1 })).toThrow();
    expect(() => scenarioConfig({ name: 'stable', seed: 1, start: '2026-13-01' })).toThrow();
    expect(() => scenarioConfig({ name: 'stable', seed: 1, churnBase: 1 })).toThrow();
  });
});

describe('simulate: generateDay', () => {
  const base = { seed: 1234, rowsPerDay: 400 } as const;

  it('same seed and parameters ⇒ the same bytes, whatever order the days are generated in', () => {
    for (const name of SCENARIO_NAMES) {
      const config = { ...base, name };
      const first = [0, 5, 20].map((d) => JSON.stringify(generateDay(config, d)));
      const second = [20, 5, 0].map((d) => JSON.stringify(generateDay(config, d))).reverse();
      expect(second).toEqual(first);
    }
  });

  it('a different seed ⇒ different rows', () => {
    const a = generateDay({ ...base, name: 'stable' }, 2);
    const b = generateDay({ ...base, name: 'stable', seed: 1235 }, 2);
    expect(JSON.stringify(b.predictions.map((p) => p.features))).not.toEqual(
      JSON.stringify(a.predictions.map((p) => p.features)),
    );
    expect(b.outcomes.map((o) => o.observedLabel)).not.toEqual(a.outcomes.map((o) => o.observedLabel));
  });

  it('every row passes PredictionRowSchema / OutcomeRowSchema (all scenarios, weekdays, weekends, after the switch)', () => {
    let predictions = 0;
    let outcomes = 0;
    for (const name of SCENARIO_NAMES) {
      for (const day of [0, 5, 6, 15, 40]) {
        const generated = generateDay({ ...base, name }, day);
        for (const p of generated.predictions) {
          const parsed = PredictionRowSchema.safeParse(p);
          if (!parsed.success) throw new Error(`${p.requestId}: ${parsed.error.message}`);
          expect(parsed.data).toEqual(p);
          predictions++;
        }
        for (const o of generated.outcomes) {
          const parsed = OutcomeRowSchema.safeParse(o);
          if (!parsed.success) throw new Error(`${o.requestId}: ${parsed.error.message}`);
          expect(parsed.data).toEqual(o);
          outcomes++;
        }
      }
    }
    expect(predictions).toBeGreaterThan(4 * 5 * 250);
    expect(outcomes).toBeGreaterThan(predictions);
  });

  it('logs ~12 features, slices, deterministic request ids in timestamp order, on the right day', () => {
    const config = scenarioConfig({ ...base, name: 'stable' });
    const day = generateDay(config, 3);
    expect(day.date).toBe('2026-06-04');
    expect(day.predictions).toHaveLength(rowsForDay(config, 3));
    day.predictions.forEach((p, i) => {
      expect(p.requestId).toBe(`stable-1234-d3-${i}`);
      expect(p.timestamp.slice(0, 10)).toBe('2026-06-04');
      expect(p.modelVersion).toBe('reference-v0');
      expect(p.modelId).toBe('churn');
      expect(Object.keys(p.features)).toHaveLength(12);
      expect(p.slices).toEqual({
        country: p.features.country,
        plan: p.features.plan,
        device: p.features.device,
      });
      expect(p.scores.churn + p.scores.stay).toBeCloseTo(1, 5);
      expect(p.predictedLabel).toBe(p.scores.churn >= 0.5 ? 'churn' : 'stay');
      if (i > 0) expect(p.timestamp >= day.predictions[i - 1].timestamp).toBe(true);
    });
    // Entities repeat (a pool of users) and some values are missing.
    const entities = new Set(day.predictions.map((p) => p.entityId));
    expect(entities.size).toBeLessThan(day.predictions.length);
    const all = Array.from(
      { length: 10 },
      (_, d) => generateDay({ ...base, name: 'stable' }, d).predictions,
    ).flat();
    const many = new Set(all.map((p) => p.entityId));
    expect(many.size).toBeLessThan(all.length);
    const nulls = all.filter((p) => Object.values(p.features).some((v) => v === null)).length;
    expect(nulls / all.length).toBeGreaterThan(0.02);
    expect(nulls / all.length).toBeLessThan(0.15);
  });

  it('outcomes: observed exactly labelDelayDays later; user reports and heuristics earlier, less confident and sometimes wrong', () => {
    const config = scenarioConfig({ ...base, name: 'stable', rowsPerDay: 2000 });
    const day = generateDay(config, 1);
    const predictedAt = new Map(day.predictions.map((p) => [p.requestId, Date.parse(p.timestamp)]));
    const observed = new Map(
      day.outcomes.filter((o) => o.source === 'observed').map((o) => [o.requestId, o.observedLabel]),
    );
    expect(observed.size).toBe(day.predictions.length);
    let reports = 0;
    let heuristics = 0;
    let reportWrong = 0;
    let heuristicWrong = 0;
    for (const o of day.outcomes) {
      const at = Date.parse(o.timestamp) - (predictedAt.get(o.requestId) ?? NaN);
      if (o.source === 'observed') {
        expect(at).toBe(7 * DAY_MS);
        expect(o.confidence).toBe(1);
      } else if (o.source === 'user-report') {
        reports++;
        expect(o.confidence).toBeGreaterThanOrEqual(0.6);
        expect(o.confidence).toBeLessThanOrEqual(0.9);
        expect(at).toBeGreaterThan(0);
        expect(at).toBeLessThan(7 * DAY_MS);
        if (o.observedLabel !== observed.get(o.requestId)) reportWrong++;
      } else {
        expect(o.source).toBe('heuristic');
        heuristics++;
        expect(o.confidence).toBeGreaterThanOrEqual(0.3);
        expect(o.confidence).toBeLessThanOrEqual(0.6);
        expect(at).toBeGreaterThan(0);
        expect(at).toBeLessThan(7 * DAY_MS);
        if (o.observedLabel !== observed.get(o.requestId)) heuristicWrong++;
      }
    }
    expect(reports).toBeGreaterThan(40);
    expect(heuristics).toBeGreaterThan(100);
    expect(reportWrong).toBeGreaterThan(0);
    expect(heuristicWrong / heuristics).toBeGreaterThan(reportWrong / reports);
    for (let i = 1; i < day.outcomes.length; i++) {
      expect(day.outcomes[i].timestamp >= day.outcomes[i - 1].timestamp).toBe(true);
    }
  });

  it('labelDelayDays is honoured', () => {
    const day = generateDay({ ...base, name: 'stable', labelDelayDays: 3 }, 0);
    const p = day.predictions[10];
    const o = day.outcomes.find((x) => x.requestId === p.requestId && x.source === 'observed');
    expect(Date.parse(o?.timestamp ?? '') - Date.parse(p.timestamp)).toBe(3 * DAY_MS);
  });

  it('accepts any scorer with a model version', () => {
    const calls: Features[] = [];
    const custom: ScoringModel = {
      modelVersion: 'custom-v1',
      scorer: (features) => {
        calls.push(features);
        return { predictedLabel: 'stay', scores: { churn: 0.1, stay: 0.9 } };
      },
    };
    const day = generateDay({ ...base, name: 'stable' }, 0, custom, { modelId: 'churn-eu' });
    expect(calls).toHaveLength(day.predictions.length);
    expect(day.predictions.every((p) => p.modelVersion === 'custom-v1' && p.modelId === 'churn-eu')).toBe(
      true,
    );
    expect(day.predictions.every((p) => p.predictedLabel === 'stay')).toBe(true);
    // The scorer does not change the traffic or the truth.
    const ref = generateDay({ ...base, name: 'stable' }, 0);
    expect(day.outcomes).toEqual(ref.outcomes);
    expect(day.predictions.map((p) => p.features)).toEqual(ref.predictions.map((p) => p.features));

    const bare = generateDay({ ...base, name: 'stable' }, 0, custom.scorer, { modelVersion: 'bare-v2' });
    expect(bare.predictions[0].modelVersion).toBe('bare-v2');
    expect(generateDay({ ...base, name: 'stable' }, 0, referenceScorer).predictions[0].modelVersion).toBe(
      'reference-v0',
    );
    expect(() => generateDay({ ...base, name: 'stable' }, 0, custom.scorer)).toThrow(/modelVersion/);
    expect(() =>
      generateDay(
        { ...base, name: 'stable' },
        0,
        () => ({ predictedLabel: 'churn', scores: { churn: 2, stay: -1 } }),
        {
          modelVersion: 'broken',
        },
      ),
    ).toThrow(/outside/);
  });

  it('includeTruth returns the true probability and label of every request', () => {
    const day = generateDay({ ...base, name: 'stable' }, 4, undefined, { includeTruth: true });
    expect(day.truth).toHaveLength(day.predictions.length);
    const observed = day.outcomes.filter((o) => o.source === 'observed');
    const byId = new Map(observed.map((o) => [o.requestId, o.observedLabel]));
    for (const t of day.truth ?? []) {
      expect(t.probability).toBeGreaterThan(0);
      expect(t.probability).toBeLessThan(1);
      expect(byId.get(t.requestId)).toBe(t.label);
    }
    expect(generateDay({ ...base, name: 'stable' }, 4).truth).toBeUndefined();
  });
});

describe('simulate: generateHistory', () => {
  it('is labelled, pre-launch, deterministic and valid', () => {
    const config = { name: 'concept-drift' as const, seed: 99, rowsPerDay: 300 };
    const history = generateHistory(config, { days: 14 });
    expect(JSON.stringify(generateHistory(config, { days: 14 }))).toBe(JSON.stringify(history));
    expect(JSON.stringify(generateHistory({ ...config, seed: 100 }, { days: 14 }))).not.toBe(
      JSON.stringify(history),
    );
    const cfg = scenarioConfig(config);
    const expected = Array.from({ length: 14 }, (_, k) => rowsForDay(cfg, -14 + k)).reduce(
      (a, b) => a + b,
      0,
    );
    expect(history).toHaveLength(expected);
    expect(history[0].timestamp.slice(0, 10)).toBe('2026-05-18');
    expect(history[history.length - 1].timestamp.slice(0, 10)).toBe('2026-05-31');
    for (const row of history) {
      const parsed = LabeledRowSchema.safeParse(row);
      if (!parsed.success) throw new Error(`${row.requestId}: ${parsed.error.message}`);
      expect(row.labelSource).toBe('historical');
      expect(row.timestamp < '2026-06-01').toBe(true);
    }
    expect(new Set(history.map((r) => r.requestId)).size).toBe(history.length);
    const churn = history.filter((r) => r.label === 'churn').length / history.length;
    expect(churn).toBeGreaterThan(0.1);
    expect(churn).toBeLessThan(0.25);
    expect(generateHistory(config, { days: 28 })).toHaveLength(
      Array.from({ length: 28 }, (_, k) => rowsForDay(cfg, -28 + k)).reduce((a, b) => a + b, 0),
    );
  });

  it('country-encoding history uses codes (the switch is in production)', () => {
    const history = generateHistory(
      { name: 'country-encoding', seed: 5, rowsPerDay: 200, switchDay: 0 },
      { days: 3 },
    );
    expect(
      history.every((r) => typeof r.features.country === 'string' && r.features.country.length === 2),
    ).toBe(true);
  });
});
