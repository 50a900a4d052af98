import type { LinearModel, Matrix, TrainInput } from '../../src/ml';
import {
  createRng,
  LinearModelSchema,
  logisticTrainer,
  matrixFromRows,
  matrixRow,
  predictProba,
  rocAuc,
  softmaxTrainer,
  TrainingDataError,
} from '../../src/ml';

/** Two Gaussian blobs; `separation` is the distance between class means along every axis. */
function blobs(
  n: number,
  d: number,
  seed: number,
  separation: number,
  positiveRate = 0.5,
): { X: Matrix; y: Int32Array } {
  const rng = createRng(seed);
  const data = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < positiveRate ? 1 : 0;
    for (let j = 0; j < d; j++)
      data[i * d + j] = rng.normal() + (y[i] === 1 ? separation / 2 : -separation / 2);
  }
  return { X: { data, nRows: n, nCols: d }, y };
}

function positiveScores(model: LinearModel, X: Matrix): number[] {
  return Array.from({ length: X.nRows }, (_, i) => predictProba(model, matrixRow(X, i))[1]);
}

describe('logisticTrainer', () => {
  const train = blobs(4000, 5, 1, 1.5);
  const test = blobs(2000, 5, 2, 1.5);

  it('reaches AUC > 0.95 on separable synthetic data and emits a valid model', () => {
    const model = logisticTrainer.train({
      ...train,
      classes: ['no', 'yes'],
      validation: test,
      options: { seed: 3 },
    });
    expect(LinearModelSchema.parse(model)).toEqual(model);
    expect(model.kind).toBe('logistic');
    expect(model.training).toMatchObject({ trainer: 'logistic-adam', nTrain: 4000, nValidation: 2000 });
    expect(
      rocAuc(
        positiveScores(model, test.X),
        Array.from(test.y, (v) => v === 1),
      ),
    ).toBeGreaterThan(0.95);
    const p = predictProba(model, matrixRow(test.X, 0));
    expect(p[0] + p[1]).toBeCloseTo(1, 12);
  });

  it('is deterministic for a seed and depends on it', () => {
    const input: TrainInput = {
      ...train,
      classes: ['no', 'yes'],
      options: { seed: 42, maxEpochs: 5, solver: 'adam' },
    };
    const a = logisticTrainer.train(input);
    const b = logisticTrainer.train(input);
    expect(b).toEqual(a);
    const c = logisticTrainer.train({ ...input, options: { seed: 43, maxEpochs: 5, solver: 'adam' } });
    expect(c.weights).not.toEqual(a.weights);
  });

  // Speed lives in `npm run bench` (bench/ml.ts), never in a timed test; this checks the fit itself.
  it('trains 80k x 20 to a useful model', () => {
    const big = blobs(80_000, 20, 5, 0.3, 0.2);
    const model = logisticTrainer.train({ ...big, classes: ['stay', 'churn'], options: { seed: 1 } });
    expect(
      rocAuc(
        positiveScores(model, big.X),
        Array.from(big.y, (v) => v === 1),
      ),
    ).toBeGreaterThan(0.8);
  });

  it('class weights shift the decision towards the weighted class', () => {
    // Overlapping, imbalanced data: unweighted, the model rarely predicts the 10% class at 0.5.
    const data = blobs(5000, 3, 9, 1, 0.1);
    const plain = logisticTrainer.train({ ...data, classes: ['no', 'yes'], options: { seed: 1 } });
    const balanced = logisticTrainer.train({
      ...data,
      classes: ['no', 'yes'],
      options: { seed: 1, classWeights: 'balanced' },
    });
    const heavy = logisticTrainer.train({
      ...data,
      classes: ['no', 'yes'],
      options: { seed: 1, classWeights: { yes: 20 } },
    });
    const predictedPositive = (m: LinearModel) => positiveScores(m, data.X).filter((p) => p >= 0.5).length;
    expect(predictedPositive(balanced)).toBeGreaterThan(3 * predictedPositive(plain));
    expect(predictedPositive(heavy)).toBeGreaterThan(predictedPositive(balanced));
    expect(balanced.bias[0]).toBeGreaterThan(plain.bias[0]);
    expect(() =>
      logisticTrainer.train({ ...data, classes: ['no', 'yes'], options: { classWeights: { maybe: 2 } } }),
    ).toThrow(/unknown class "maybe"/);
  });

  it('stops early on validation loss and keeps the best epoch', () => {
    const model = logisticTrainer.train({
      ...blobs(3000, 5, 1, 1),
      classes: ['no', 'yes'],
      validation: blobs(1000, 5, 2, 1),
      options: { maxEpochs: 500, seed: 1, solver: 'adam' },
    });
    expect(model.training?.stoppedEarly).toBe(true);
    expect(model.training?.epochs).toBeLessThan(500);
    expect(model.training?.bestEpoch).toBeLessThanOrEqual(model.training?.epochs ?? 0);
    expect(model.training?.validationLoss).toEqual(expect.any(Number));
  });
});

describe('softmaxTrainer', () => {
  it('separates three blobs and is deterministic', () => {
    const rng = createRng(4);
    const centres = [
      [0, 4],
      [4, 0],
      [-4, -4],
    ];
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 1500; i++) {
      const k = i % 3;
      rows.push([centres[k][0] + rng.normal(), centres[k][1] + rng.normal()]);
      labels.push(k);
    }
    const input: TrainInput = {
      X: matrixFromRows(rows),
      y: Int32Array.from(labels),
      classes: ['a', 'b', 'c'],
      options: { seed: 7 },
    };
    const model = softmaxTrainer.train(input);
    expect(LinearModelSchema.parse(model)).toEqual(model);
    expect(model.weights).toHaveLength(3);
    let correct = 0;
    for (let i = 0; i < rows.length; i++) {
      const p = predictProba(model, rows[i]);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      if (p.indexOf(Math.max(...p)) === labels[i]) correct++;
    }
    expect(correct / rows.length).toBeGreaterThan(0.98);
    expect(softmaxTrainer.train(input)).toEqual(model);
  });
});

describe('TrainingDataError', () => {
  const ok = { X: matrixFromRows([[0], [1], [2]]), y: Int32Array.of(0, 1, 1), classes: ['a', 'b'] };
  const cases: [string, TrainInput, RegExp][] = [
    [
      'empty data',
      { X: { data: new Float64Array(0), nRows: 0, nCols: 1 }, y: new Int32Array(0), classes: ['a', 'b'] },
      /no training rows/,
    ],
    ['a single class', { ...ok, y: Int32Array.of(1, 1, 1) }, /single class \(b\)/],
    ['mismatched lengths', { ...ok, y: Int32Array.of(0, 1) }, /3 rows but y has 2 labels/],
    [
      'NaN in X',
      { ...ok, X: matrixFromRows([[0], [NaN], [2]]) },
      /non-finite value \(NaN\) at row 1, column 0/,
    ],
    [
      'a bad data length',
      { ...ok, X: { data: new Float64Array(2), nRows: 3, nCols: 1 } },
      /expected nRows \* nCols = 3/,
    ],
    ['a label out of range', { ...ok, y: Int32Array.of(0, 1, 2) }, /y\[2\] = 2/],
    ['fewer than two classes', { ...ok, classes: ['a'] }, /at least two classes/],
    [
      'validation with other columns',
      { ...ok, validation: { X: matrixFromRows([[1, 2]]), y: Int32Array.of(0) } },
      /validation has 2 columns/,
    ],
    [
      'Infinity in validation',
      { ...ok, validation: { X: matrixFromRows([[Infinity]]), y: Int32Array.of(0) } },
      /validation data: X has a non-finite/,
    ],
  ];
  it.each(cases)('is thrown for %s', (_name, input, message) => {
    for (const trainer of [logisticTrainer, softmaxTrainer]) {
      expect(() => trainer.train(input)).toThrow(TrainingDataError);
      expect(() => trainer.train(input)).toThrow(message);
    }
  });

  it('reports divergence as a plain Error (an options problem, not a data problem)', () => {
    const data = blobs(500, 3, 1, 1);
    const diverge = () =>
      logisticTrainer.train({
        ...data,
        classes: ['a', 'b'],
        options: { learningRate: 1e308, solver: 'adam' },
      });
    expect(diverge).toThrow(/diverged/);
    expect(diverge).not.toThrow(TrainingDataError);
  });

  it('logistic regression needs exactly two classes', () => {
    expect(() => logisticTrainer.train({ ...ok, classes: ['a', 'b', 'c'] })).toThrow(/exactly 2 classes/);
  });
});
