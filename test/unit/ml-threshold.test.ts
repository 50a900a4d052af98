import type { LabeledRow } from '../../src/schemas/records';
import {
  createRng,
  describeThreshold,
  evaluateArtifact,
  pickThreshold,
  scoreFeatures,
  ThresholdPolicySchema,
} from '../../src/ml';
import { trainAndEvaluate } from '../../src/ml/train-and-evaluate';
import { ModelPolicySchema, validatePolicyFile } from '../../src/policy/model-policy';

// P/R/F1 by threshold: .9 1/.2/.333 | .8 1/.4/.571 | .7 .667/.4/.5 | .6 .75/.6/.667 | .55 .8/.8/.8 |
// .5 .667/.8/.727 | .4 .571/.8/.667 | .3 .625/1/.769 | .2 .556/1/.714 | .1 .5/1/.667
const s = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1];
const labels = [1, 1, 0, 1, 1, 0, 0, 1, 0, 0].map((v) => v === 1);

describe('pickThreshold', () => {
  it('maximises F1 by default', () => {
    expect(pickThreshold(s, labels)).toEqual({
      threshold: 0.55,
      objective: 'f1',
      source: 'validation',
      reached: true,
      validationRows: 10,
      validationPositives: 5,
      precision: 0.8,
      recall: 0.8,
      f1: expect.closeTo(0.8, 12),
    });
  });

  it('breaks F1 ties towards the higher threshold', () => {
    // .9: P 1 R .5 F .667 | .8: .5/.5/.5 | .7: .333/.5/.4 | .6: .5/1/.667: a tie between .9 and .6.
    const d = pickThreshold([0.9, 0.8, 0.7, 0.6], [true, false, false, true]);
    expect(d.threshold).toBe(0.9);
    expect(d.f1).toBeCloseTo(2 / 3, 12);
  });

  it('treats tied scores as one step', () => {
    // The two 0.7s cannot be split: P .5 at 0.7, never P 1.
    const d = pickThreshold([0.7, 0.7, 0.3], [true, false, false]);
    expect(d).toMatchObject({ threshold: 0.7, precision: 0.5, recall: 1 });
    expect(
      pickThreshold([0.7, 0.7, 0.3], [true, false, false], { objective: 'precision', target: 0.9 }),
    ).toMatchObject({ threshold: 0.7, reached: false, precision: 0.5 });
  });

  it('reaches a target precision at the lowest threshold (most recall)', () => {
    expect(pickThreshold(s, labels, { objective: 'precision', target: 0.8 })).toMatchObject({
      threshold: 0.55,
      reached: true,
      precision: 0.8,
      recall: 0.8,
    });
    expect(pickThreshold(s, labels, { objective: 'precision', target: 0.6 }).threshold).toBe(0.3);
    expect(pickThreshold(s, labels, { objective: 'precision', target: 1 }).threshold).toBe(0.8);
  });

  it('takes the most precise threshold, with a warning, when the precision target is unreachable', () => {
    // .9: P 0 | .8: .5 | .7: .667 (R 1) | .1: .5
    const d = pickThreshold([0.9, 0.8, 0.7, 0.1], [false, true, true, false], {
      objective: 'precision',
      target: 0.95,
    });
    expect(d).toMatchObject({ threshold: 0.7, reached: false, source: 'validation' });
    expect(d.precision).toBeCloseTo(2 / 3, 12);
    expect(d.warning).toMatch(/no threshold reaches precision 0\.95 on 4 validation rows; using 0\.7/);
    expect(describeThreshold(d)).toMatch(/precision ≥ 0\.95 NOT reached/);
  });

  it('reaches a target recall at the highest threshold (most precision)', () => {
    expect(pickThreshold(s, labels, { objective: 'recall', target: 0.6 })).toMatchObject({
      threshold: 0.6,
      precision: 0.75,
      reached: true,
    });
    expect(pickThreshold(s, labels, { objective: 'recall', target: 1 }).threshold).toBe(0.3);
  });

  it('falls back to 0.5 with a warning when validation holds one class or nothing', () => {
    for (const y of [
      [false, false, false],
      [true, true, true],
    ]) {
      const d = pickThreshold([0.9, 0.4, 0.1], y);
      expect(d).toMatchObject({ threshold: 0.5, source: 'fallback', reached: false });
      expect(d.warning).toMatch(/validation split holds one class only \(3 rows/);
    }
    expect(pickThreshold([], [], { objective: 'recall', target: 0.7 }).warning).toMatch(
      /recall 0\.7: the validation split is empty; using 0\.5/,
    );
  });

  it('uses a fixed value without data', () => {
    expect(pickThreshold([], [], { objective: 'fixed', value: 0.3 })).toMatchObject({
      threshold: 0.3,
      source: 'fixed',
    });
    expect(pickThreshold(s, labels, { objective: 'fixed' }).threshold).toBe(0.5);
  });

  it('refuses an inconsistent policy with a message naming the field', () => {
    expect(() => ThresholdPolicySchema.parse({ objective: 'precision' })).toThrow(/needs a target/);
    expect(() => ThresholdPolicySchema.parse({ objective: 'f1', target: 0.5 })).toThrow(/target applies/);
    expect(() => ThresholdPolicySchema.parse({ objective: 'recall', target: 1.5 })).toThrow();
    expect(() => ThresholdPolicySchema.parse({ objective: 'f1', vaule: 0.3 })).toThrow(/vaule/);
    expect(ModelPolicySchema.parse({}).retrain.threshold).toEqual({ objective: 'f1' });
    const file = validatePolicyFile({ retrain: { threshold: { objective: 'recall', target: 0.6 } } });
    expect(file.ok && file.data.retrain.threshold).toEqual({ objective: 'recall', target: 0.6 });
  });
});

/** Rare-positive rows (≈15 %), so the F1-best threshold sits well below 0.5. */
function rareRows(n: number, seed: number): (LabeledRow & { timestamp: string })[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = rng.normal();
    const z = -2.2 + 1.2 * x;
    return {
      requestId: `r${i}`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      features: { x, noise: rng.normal() },
      label: rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay',
      labelSource: 'observed' as const,
    };
  });
}

describe('the threshold stage in trainAndEvaluate', () => {
  const rows = rareRows(4000, 7);

  it('stores the F1-best validation threshold in the artifact and records how it was chosen', () => {
    const t = trainAndEvaluate({ rows, positiveClass: 'churn', options: { seed: 1 } });
    expect(t.threshold).toMatchObject({ objective: 'f1', source: 'validation', validationRows: 320 });
    expect(t.artifact.threshold).toBe(t.threshold!.threshold);
    expect(t.artifact.threshold).toBeLessThan(0.5);
    expect(t.manifest.lineage.threshold).toEqual(t.threshold);
    // The stored threshold is the serving decision, and the test metrics are measured with it.
    const p = t.artifact.threshold!;
    const probe = rows.find((r) => {
      const c = scoreFeatures({ ...t.artifact, threshold: undefined }, r.features).scores.churn;
      return c >= p && c < 0.5;
    })!;
    expect(scoreFeatures(t.artifact, probe.features).predictedLabel).toBe('churn');
    const fixed = trainAndEvaluate({
      rows,
      positiveClass: 'churn',
      options: { seed: 1 },
      thresholdPolicy: { objective: 'fixed' },
    });
    expect(fixed.artifact.threshold).toBe(0.5);
    expect(t.metrics.recall).toBeGreaterThan(fixed.metrics.recall);
    expect(t.metrics.f1).toBeGreaterThan(fixed.metrics.f1);
  });

  it('hits a target recall on validation and warns in the training summary when a target is unreachable', () => {
    const t = trainAndEvaluate({
      rows,
      positiveClass: 'churn',
      options: { seed: 1 },
      thresholdPolicy: { objective: 'recall', target: 0.7 },
    });
    expect(t.threshold!.recall).toBeGreaterThanOrEqual(0.7);
    const u = trainAndEvaluate({
      rows,
      positiveClass: 'churn',
      options: { seed: 1 },
      thresholdPolicy: { objective: 'precision', target: 1 },
    });
    expect(u.threshold!.reached).toBe(false);
    expect(u.artifact.model.training?.warnings?.join('\n')).toMatch(/no threshold reaches precision 1/);
  });

  it('scores two artifacts on the same rows each with its own threshold (what the gate does)', () => {
    const t = trainAndEvaluate({ rows, positiveClass: 'churn', options: { seed: 1 } });
    const test = rows.slice(-800);
    const own = evaluateArtifact(t.artifact, test);
    const half = evaluateArtifact({ ...t.artifact, threshold: 0.5 }, test);
    expect(own.threshold).toBe(t.artifact.threshold);
    expect(own.perClass[1].recall).toBeGreaterThan(half.perClass[1].recall);
  });
});
