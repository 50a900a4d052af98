import type { LabeledRow } from '../../src/schemas/records';
import type { TrainingRow } from '../../src/ml';
import {
  ArtifactScorer,
  createCounters,
  createRng,
  evaluateArtifact,
  ModelArtifactSchema,
  parseArtifact,
  predictProba,
  scoreBatch,
  scoreFeatures,
  softmaxTrainer,
  temporalSplit,
  trainArtifact,
  transform,
  TrainingDataError,
} from '../../src/ml';

/** Churn-like rows: churn is more likely for low usage, monthly plans and many support tickets. */
function churnRows(n: number, seed: number): LabeledRow[] {
  const rng = createRng(seed);
  const plans = ['monthly', 'annual', 'trial'];
  return Array.from({ length: n }, (_, i) => {
    const usage = rng.normal();
    const plan = plans[rng.int(3)];
    const tickets = rng.int(5);
    const z = -1 - 1.8 * usage + (plan === 'monthly' ? 1 : plan === 'annual' ? -1 : 0) + 0.5 * tickets;
    const label = rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay';
    return {
      requestId: `r${i}`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      features: { usage: rng.next() < 0.05 ? null : usage, plan, tickets, vip: rng.next() < 0.1 },
      label,
      slices: { plan },
      labelSource: 'observed',
    };
  });
}

describe('trainArtifact / scoreFeatures', () => {
  const rows = churnRows(6000, 1);
  const { train, validation } = temporalSplit(rows, { validationFraction: 0.25 });
  const artifact = trainArtifact({ rows: train, validation, positiveClass: 'churn', options: { seed: 1 } });

  it('builds a valid binary artifact with the positive class second', () => {
    expect(ModelArtifactSchema.parse(artifact)).toEqual(artifact);
    expect(artifact.classes).toEqual(['stay', 'churn']);
    expect(artifact.positiveClass).toBe('churn');
    expect(artifact.model.kind).toBe('logistic');
    expect(artifact.pipeline.fittedRows).toBe(train.length);
  });

  it('scores with a threshold, identically after a JSON round-trip', () => {
    const features = { usage: -2, plan: 'monthly', tickets: 4, vip: false };
    const result = scoreFeatures(artifact, features);
    expect(result.scores.churn + result.scores.stay).toBeCloseTo(1, 12);
    expect(result.scores.churn).toBeGreaterThan(0.9);
    expect(result.predictedLabel).toBe('churn');
    const strict = { ...artifact, threshold: 0.9999 };
    expect(scoreFeatures(strict, features).predictedLabel).toBe('stay');
    const restored = parseArtifact(JSON.parse(JSON.stringify(artifact)));
    expect(
      scoreBatch(
        restored,
        validation.map((r) => r.features),
      ),
    ).toEqual(
      scoreBatch(
        artifact,
        validation.map((r) => r.features),
      ),
    );
  });

  it('counts serving-time skew through the shared transform', () => {
    const counters = createCounters();
    scoreFeatures(artifact, { usage: 'high', plan: 'lifetime', tickets: null }, counters);
    expect(counters.features.usage.typeMismatch).toBe(1);
    expect(counters.features.plan.unknownValues).toEqual({ lifetime: 1 });
    expect(counters.features.tickets.missing).toBe(1);
    expect(counters.features.vip.missing).toBe(1);
  });

  it('evaluates on the later data well above chance, with slices', () => {
    const report = evaluateArtifact(artifact, validation);
    expect(report.rocAuc).toBeGreaterThan(0.8);
    expect(report.positiveClass).toBe('churn');
    expect(Object.keys(report.slices?.plan ?? {}).sort()).toEqual(['annual', 'monthly', 'trial']);
  });

  it('trains softmax for more than two classes and accepts a custom trainer', () => {
    const rng = createRng(3);
    const multi: TrainingRow[] = Array.from({ length: 900 }, (_, i) => {
      const label = ['low', 'mid', 'high'][i % 3];
      return { label, features: { x: (i % 3) * 3 + rng.normal(), noise: rng.normal() } };
    });
    const calls: string[] = [];
    const artifact3 = trainArtifact({
      rows: multi,
      trainer: {
        name: 'spy',
        train: (input) => (calls.push(input.classes.join(',')), softmaxTrainer.train(input)),
      },
      options: { seed: 2, batchSize: 32 },
    });
    expect(calls).toEqual(['high,low,mid']);
    expect(artifact3.model.kind).toBe('softmax');
    expect(artifact3.positiveClass).toBeUndefined();
    expect(scoreFeatures(artifact3, { x: 6, noise: 0 }).predictedLabel).toBe('high');
    expect(evaluateArtifact(artifact3, multi).accuracy).toBeGreaterThan(0.9);
  });

  it("ArtifactScorer gives scoreFeatures's numbers to the bit and counts the same, binary and softmax", () => {
    const rng = createRng(5);
    const multi: TrainingRow[] = Array.from({ length: 600 }, (_, i) => ({
      label: ['low', 'mid', 'high', 'top'][i % 4],
      features: { x: (i % 4) * 2 + rng.normal(), c: ['a', 'b', 'c'][rng.int(3)] },
    }));
    const softmax = trainArtifact({ rows: multi, options: { seed: 4 } });
    const cases = [
      { artifact, records: [...validation.map((r) => r.features), { usage: 'high', plan: 'lifetime' }, {}] },
      { artifact: { ...artifact, threshold: 0.3 }, records: validation.map((r) => r.features) },
      { artifact: softmax, records: [...multi.map((r) => r.features), { x: Number.NaN, c: 'zzz' }] },
    ];
    for (const { artifact: a, records } of cases) {
      const scorer = new ArtifactScorer(a);
      const viaScorer = createCounters();
      const viaFunction = createCounters();
      for (const features of records) {
        const expected = scoreFeatures(a, features, viaFunction);
        const predicted = scorer.score(features, viaScorer);
        expect(a.classes[predicted]).toBe(expected.predictedLabel);
        // Bit for bit: Object.is tells -0 from 0 and compares NaN, toBe on the array would not.
        a.classes.forEach((c, k) =>
          expect(Object.is(scorer.probabilities[k], expected.scores[c])).toBe(true),
        );
        expect(scorer.result()).toEqual(expected);
      }
      expect(viaScorer).toEqual(viaFunction);
    }
  });

  it('predictProba, into a buffer or not, equals the textbook computation bit for bit', () => {
    const rng = createRng(9);
    const textbook = (weights: number[][], bias: number[], x: Float64Array, logistic: boolean) => {
      const logits = weights.map((row, k) => row.reduce((z, w, j) => z + w * x[j], bias[k]));
      if (logistic) {
        const z = logits[0];
        const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        return [1 - p, p];
      }
      const max = Math.max(...logits);
      const e = logits.map((z) => Math.exp(z - max));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / total);
    };
    for (const classes of [
      ['a', 'b'],
      ['a', 'b', 'c', 'd'],
    ]) {
      const logistic = classes.length === 2;
      const nFeatures = 7;
      const weights = Array.from({ length: logistic ? 1 : classes.length }, () =>
        Array.from({ length: nFeatures }, () => rng.normal() * 3),
      );
      const bias = weights.map(() => rng.normal());
      const model = { kind: logistic ? 'logistic' : 'softmax', classes, nFeatures, weights, bias } as const;
      const out = new Float64Array(classes.length);
      for (let i = 0; i < 200; i++) {
        const x = Float64Array.from({ length: nFeatures }, () => rng.normal() * (i % 10));
        const expected = textbook(weights, bias, x, logistic);
        expect(Array.from(predictProba(model, x))).toEqual(expected);
        expect(predictProba(model, x, out)).toBe(out);
        expect(Array.from(out)).toEqual(expected);
      }
    }
  });

  it('transform and predictProba refuse an output buffer of the wrong length', () => {
    expect(() => transform(artifact.pipeline, {}, undefined, new Float64Array(1))).toThrow(
      `pipeline has ${artifact.pipeline.nOutputs} outputs, got a buffer of 1`,
    );
    const x = transform(artifact.pipeline, {});
    expect(() => predictProba(artifact.model, x, new Float64Array(3))).toThrow(
      'model has 2 classes, got 3 output slots',
    );
  });

  it('rejects unusable training input with TrainingDataError', () => {
    const one = rows.filter((r) => r.label === 'stay').slice(0, 10);
    expect(() => trainArtifact({ rows: [] })).toThrow(TrainingDataError);
    expect(() => trainArtifact({ rows: one })).toThrow(/single class/);
    expect(() => trainArtifact({ rows: train, positiveClass: 'maybe' })).toThrow(/not a training label/);
    expect(() => trainArtifact({ rows: train, validation: [{ features: {}, label: 'paused' }] })).toThrow(
      /validation labels not present in training: paused/,
    );
  });
});
