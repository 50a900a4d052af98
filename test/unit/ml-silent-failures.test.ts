import type { TrainingRow } from '../../src/ml';
import { trainAndEvaluate } from '../../src/ml/train-and-evaluate';
import type { TimedTrainingRow } from '../../src/ml/train-and-evaluate';
import {
  createRng,
  fitPipeline,
  MIN_ROWS_PER_CLASS,
  scoreFeatures,
  trainArtifact,
  TrainingDataError,
  transform,
} from '../../src/ml';

/** Regression tests for the silent failures of issue 17 §3 (each failed before its fix). */

/** Rows where the label depends on `amount` (> 50 → "yes"), plus noise. */
function amountRows(n: number, seed: number, asText: boolean): TimedTrainingRow[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const amount = Math.round(rng.next() * 10_000) / 100;
    return {
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      features: { amount: asText ? amount.toFixed(2) : amount, other: rng.normal() },
      label: amount > 50 ? 'yes' : 'no',
    };
  });
}

describe('numbers logged as strings', () => {
  const rows = amountRows(600, 1, true);

  it('are named in the pipeline and in the training summary', () => {
    const artifact = trainArtifact({ rows, options: { seed: 1 } });
    expect(artifact.pipeline.numericStringFeatures).toEqual(['amount']);
    expect(artifact.model.training?.warnings).toEqual([
      expect.stringMatching(/"amount" is numbers logged as text/),
    ]);
    const trained = trainAndEvaluate({ rows, options: { seed: 1 } });
    expect(JSON.stringify(trained.manifest.lineage)).toMatch(/numbers logged as text/);
  });

  it('are not flagged for an ordinary categorical feature or real numbers', () => {
    const p = fitPipeline([
      ...Array.from({ length: 50 }, (_, i) => ({ plan: i % 2 ? 'monthly' : 'annual', n: i })),
      { plan: '12', n: 1 },
    ]);
    expect(p.numericStringFeatures).toBeUndefined();
  });

  it('are parsed in training and serving alike with coerceNumericStrings, and carry the signal', () => {
    const spec = { coerceNumericStrings: true };
    const artifact = trainArtifact({ rows, spec, options: { seed: 1 } });
    const amount = artifact.pipeline.features.find((f) => f.name === 'amount');
    expect(amount).toMatchObject({ kind: 'numeric', parseStrings: true });
    expect(artifact.pipeline.numericStringFeatures).toBeUndefined();
    const p = (x: string): number => scoreFeatures(artifact, { amount: x, other: 0 }).scores.yes;
    expect(p('90.00')).toBeGreaterThan(0.9);
    expect(p('10.00')).toBeLessThan(0.1);
    // A number sent as a number is the same input.
    expect(scoreFeatures(artifact, { amount: 90, other: 0 }).scores.yes).toBe(p('90'));
    // Text that is not a number is a type mismatch (imputed), not a crash.
    expect(Number.isFinite(p('n/a'))).toBe(true);
  });
});

describe('values above 1e154', () => {
  it('give a finite standard deviation (not a silent std = 1)', () => {
    const values = [1e200, 2e200, 3e200, 4e200, null];
    const p = fitPipeline(values.map((x) => ({ x })));
    const x = p.features[0];
    expect(x.kind).toBe('numeric');
    if (x.kind !== 'numeric') return;
    // The imputed column in units of 1e200 (the missing value takes the median 2.5):
    const col = [1, 2, 3, 4, 2.5];
    const mean = col.reduce((s, v) => s + v, 0) / col.length;
    const std = Math.sqrt(col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length);
    expect(x.mean / 1e200).toBeCloseTo(mean, 12);
    expect(x.std / 1e200).toBeCloseTo(std, 12);
    const z = transform(p, { x: 4e200 });
    expect(z[0]).toBeCloseTo((4 - mean) / std, 10);
  });

  it('near the double maximum still standardise', () => {
    const p = fitPipeline([{ x: 1.7e308 }, { x: -1.7e308 }, { x: 0 }]);
    const x = p.features[0];
    expect(x.kind === 'numeric' && Number.isFinite(x.std) && x.std > 1e308).toBe(true);
  });
});

describe('bad labels', () => {
  const good: TrainingRow[] = amountRows(100, 2, false);

  it.each([
    ['a number', 5, /row 3: 5 \(number\)/],
    ['null', null, /row 3: null/],
    ['an empty string', '', /row 3: "" \(empty\)/],
  ])('fail before training with a TrainingDataError naming the row: %s', (_what, label, message) => {
    const rows = good.map((r, i) => (i === 3 ? { ...r, label: label as unknown as string } : r));
    expect(() => trainArtifact({ rows })).toThrow(TrainingDataError);
    expect(() => trainArtifact({ rows })).toThrow(message);
    const timed = amountRows(100, 2, false).map((r, i) =>
      i === 3 ? { ...r, label: label as unknown as string } : r,
    );
    expect(() => trainAndEvaluate({ rows: timed })).toThrow(TrainingDataError);
    expect(() => trainAndEvaluate({ rows: timed })).toThrow(message);
  });

  it('are counted beyond the first five', () => {
    const rows = good.map((r, i) => (i < 8 ? { ...r, label: null as unknown as string } : r));
    expect(() => trainArtifact({ rows })).toThrow(/8 of 100 rows are not: .* and 3 more/);
  });
});

describe('too few rows per class', () => {
  it(`refuses fewer than MIN_ROWS_PER_CLASS (${MIN_ROWS_PER_CLASS}) rows of a class`, () => {
    const tiny: TrainingRow[] = [
      { features: { x: 1 }, label: 'a' },
      { features: { x: 2 }, label: 'b' },
      { features: { x: 3 }, label: 'a' },
    ];
    expect(() => trainArtifact({ rows: tiny })).toThrow(TrainingDataError);
    expect(() => trainArtifact({ rows: tiny })).toThrow(/"b" has 1, "a" has 2 of 3 rows/);
    const enough = Array.from({ length: 2 * MIN_ROWS_PER_CLASS }, (_, i) => ({
      features: { x: i },
      label: i % 2 ? 'a' : 'b',
    }));
    expect(() => trainArtifact({ rows: enough })).not.toThrow();
    // One row short of the minimum in one class is refused.
    expect(() => trainArtifact({ rows: enough.slice(1) })).toThrow(/"b" has 4/);
    // An explicit lower minimum is the caller's decision.
    expect(() => trainArtifact({ rows: tiny, minRowsPerClass: 1 })).not.toThrow();
  });
});
