import { InferenceSession, Tensor } from 'onnxruntime-node';
import { transformBatch } from '../../src/ml/feature-pipeline';
import type { ModelArtifact } from '../../src/ml/model';
import { evaluateArtifact, scoreFeatures, trainArtifact } from '../../src/ml/model';
import { perturbationFlipRate } from '../../src/ml/perturb';
import { createRng } from '../../src/ml/rng';
import type { Features } from '../../src/schemas/records';
import type { OnnxArtifact } from '../../src/scoring/artifact';
import { parseStoredArtifact } from '../../src/scoring/artifact';
import { exportLinearOnnx } from '../../src/scoring/onnx-export';
import { OnnxModelError, OnnxSession } from '../../src/scoring/onnx-session';
import {
  createScorer,
  evaluateScorer,
  linearScorer,
  perturbationFlipRateOf,
  predictLabels,
  scoreRows,
} from '../../src/scoring/scorer';
import { sha256Hex } from '../../src/storage/registry-versions';

const PLANS = ['basic', 'pro', 'enterprise'];

/** Rows with numeric, categorical and boolean features, some missing; `k` classes. */
function rows(n: number, seed: number, k: number): Array<{ features: Features; label: string }> {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const usage = rng.normal() * 3;
    const plan = PLANS[rng.int(3)];
    const z = -0.5 - 1.2 * usage + (plan === 'basic' ? 0.9 : 0) + rng.normal();
    const label = k === 2 ? (z > 0 ? 'churn' : 'stay') : ['a', 'b', 'c'][z < -1 ? 0 : z < 1 ? 1 : 2];
    return {
      features: {
        usage: rng.next() < 0.05 ? null : usage,
        tickets: rng.int(7),
        plan,
        autopay: rng.next() < 0.5,
      },
      label,
    };
  });
}

/** The same linear model as an onnx artifact (model.onnx bytes + model.json). */
function asOnnx(linear: ModelArtifact): { artifact: OnnxArtifact; bytes: Uint8Array } {
  const bytes = exportLinearOnnx(linear.model);
  const artifact = parseStoredArtifact({
    kind: 'onnx',
    pipeline: linear.pipeline,
    classes: linear.classes,
    ...(linear.positiveClass ? { positiveClass: linear.positiveClass } : {}),
    onnxSha256: sha256Hex(bytes),
    inputName: 'input',
    outputName: 'probabilities',
    opset: 15,
    producer: 'loopkeeper test',
    training: { trainer: 'test', rows: 1, validationRows: 0 },
  }) as OnnxArtifact;
  return { artifact, bytes };
}

/** Requests with values the training data never had (unknown plan, strings for numbers, missing). */
function skewed(n: number, seed: number): Features[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    usage: i % 11 === 0 ? 'NaN' : i % 7 === 0 ? null : rng.normal() * 4,
    tickets: rng.int(9),
    plan: i % 5 === 0 ? 'Premium' : PLANS[rng.int(3)],
    ...(i % 3 === 0 ? {} : { autopay: rng.next() < 0.5 }),
  }));
}

describe.each([
  ['binary (logistic: MatMul, Add, Sigmoid, [1 − p, p])', 2],
  ['multiclass (softmax: MatMul, Add, Softmax)', 3],
])('%s', (_name, k) => {
  const linear = trainArtifact({ rows: rows(1500, k, k), options: { seed: 1 } });
  const { artifact, bytes } = asOnnx(linear);
  const features = [...rows(400, 99, k).map((r) => r.features), ...skewed(300, 7)];

  test('the linear path and onnxruntime on the exported graph agree to 1e-6, record by record and in batch', async () => {
    const onnx = await createScorer(artifact, bytes);
    const lin = linearScorer(linear);
    expect(onnx.kind).toBe('onnx');
    const batch = onnx.scoreBatch(features);
    let maxDiff = 0;
    features.forEach((f, i) => {
      const want = lin.score(f);
      const got = onnx.score(f);
      for (let c = 0; c < k; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(onnx.probabilities[c] - lin.probabilities[c]));
        // One row or 8192 at a time: the same numbers.
        expect(batch[i * k + c]).toBe(onnx.probabilities[c]);
      }
      // Same decision rule; a tie within float32 rounding of the threshold is the only allowed difference.
      const margin = k === 2 ? Math.abs(lin.probabilities[1] - 0.5) : 1;
      if (margin > 1e-6) expect(got).toBe(want);
    });
    expect(maxDiff).toBeLessThan(1e-6);
    expect(maxDiff).toBeGreaterThan(0); // float32 vs float64: the comparison is not vacuous
  });

  test('evaluation through either path gives the same metrics (to float32 precision)', async () => {
    const onnx = await createScorer(artifact, bytes);
    const test = rows(500, 123, k);
    const a = evaluateArtifact(linear, test);
    const b = evaluateScorer(onnx, test);
    expect(evaluateScorer(linearScorer(linear), test)).toEqual(a);
    expect(b.accuracy).toBeCloseTo(a.accuracy, 2);
    expect(b.logLoss).toBeCloseTo(a.logLoss, 5);
    expect(b.macroF1).toBeCloseTo(a.macroF1, 2);
  });

  test('the synchronous session equals the public async InferenceSession API on the same graph', async () => {
    const session = await OnnxSession.load(bytes, {
      inputName: 'input',
      outputName: 'probabilities',
      nFeatures: linear.pipeline.nOutputs,
      nClasses: k,
    });
    const m = transformBatch(linear.pipeline, features);
    const x = Float32Array.from(m.data);
    const sync = session.run(x, m.nRows);
    const pub = await InferenceSession.create(bytes);
    const out = await pub.run({ input: new Tensor('float32', x, [m.nRows, m.nCols]) });
    expect(Array.from(sync)).toEqual(Array.from(out.probabilities.data as Float32Array));
    await pub.release();
    session.dispose();
  });
});

test('the linear scorer is exactly the artifact path (scores, labels, perturbation flip rate)', () => {
  const linear = trainArtifact({ rows: rows(800, 5, 2), options: { seed: 2 } });
  const lin = linearScorer(linear);
  const features = skewed(200, 3);
  const viaScorer = scoreRows(lin, features);
  features.forEach((f, i) => {
    lin.score(f);
    expect(viaScorer[i]).toEqual(lin.result());
    expect(lin.result()).toEqual(scoreFeatures(linear, f));
  });
  expect(predictLabels(lin, features)).toEqual(viaScorer.map((r) => r.predictedLabel));
  const test = rows(300, 8, 2);
  expect(perturbationFlipRateOf(lin, test, 4)).toBe(perturbationFlipRate(linear, test, 4));
});

test('a graph that does not fit the artifact is refused at load, naming what differs', async () => {
  const linear = trainArtifact({ rows: rows(500, 6, 2), options: { seed: 1 } });
  const bytes = exportLinearOnnx(linear.model);
  const sig = {
    inputName: 'input',
    outputName: 'probabilities',
    nFeatures: linear.pipeline.nOutputs,
    nClasses: 2,
  };
  await expect(OnnxSession.load(bytes, { ...sig, inputName: 'X' })).rejects.toThrow(
    new OnnxModelError('the graph has no input "X" (inputs: input)'),
  );
  await expect(OnnxSession.load(bytes, { ...sig, nFeatures: sig.nFeatures + 1 })).rejects.toThrow(
    `the graph input is [-1, ${sig.nFeatures}], expected [N, ${sig.nFeatures + 1}]`,
  );
  await expect(OnnxSession.load(bytes, { ...sig, nClasses: 3 })).rejects.toThrow(/expected \[N, 3\]/);
  await expect(OnnxSession.load(Buffer.from('not a graph'), sig)).rejects.toThrow(/onnxruntime cannot load/);
  const { artifact } = asOnnx(linear);
  await expect(createScorer(artifact)).rejects.toThrow(/needs its model.onnx bytes/);
});

test('stored artifacts: no kind reads as linear, "onnx" as onnx, anything else is refused', () => {
  const linear = trainArtifact({ rows: rows(300, 9, 2), options: { seed: 1 } });
  expect(parseStoredArtifact(JSON.parse(JSON.stringify(linear)))).toEqual(linear);
  expect(parseStoredArtifact({ ...JSON.parse(JSON.stringify(linear)), kind: 'linear' })).toEqual(linear);
  expect(() => parseStoredArtifact({ ...linear, kind: 'xgboost' })).toThrow(/unknown artifact kind/);
  const { artifact } = asOnnx(linear);
  expect(() => parseStoredArtifact({ ...artifact, onnxSha256: 'abc' })).toThrow(/sha256/);
});
