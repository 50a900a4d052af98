import { createHash } from 'node:crypto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ApplicationFailure } from '@temporalio/common';
import {
  createPrepareExternalTraining,
  createRegisterExternalModel,
} from '../../src/activities/external-training';
import type { PrepareExternalTrainingInput } from '../../src/activities/external-training';
import { assembleTrainingRows } from '../../src/activities/training-rows';
import { loadConfig } from '../../src/config';
import type { TrainExternalResult } from '../../src/external/contract';
import { decodeTrainingMatrix, SPLIT_VALIDATION } from '../../src/external/training-matrix';
import { pickThreshold } from '../../src/ml/threshold';
import type { ThresholdDecision, ThresholdPolicyInput } from '../../src/ml/threshold';
import { trainAndEvaluate } from '../../src/ml/train-and-evaluate';
import { RetrainConfigSchema } from '../../src/policy/model-policy';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { createTestExternalTrainer } from '../support/external-trainer';
import type { TestTrainerCalls } from '../support/external-trainer';
import { tempFileStore } from '../support/temporal';

const input: PrepareExternalTrainingInput = {
  modelId: 'churn',
  cycleId: 'cycle-1',
  asOf: '2026-06-01T00:00:00.000Z',
  retrain: { positiveClass: 'churn' },
  seed: 1,
  testSetKey: null,
  trainer: {
    kind: 'external',
    taskQueue: 'q',
    algorithm: 'logistic',
    params: { seed: 2 },
    timeoutMinutes: 10,
  },
};

async function setup() {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: { name: 'concept-drift', seed: 4, start: '2026-06-01', days: 1, rowsPerDay: 10 },
    historyDays: 21,
  });
  const deps = { store, config: loadConfig({ LOOPKEEPER_STORE: store.uri }) };
  return { store, deps };
}

/** The ApplicationFailure type a promise rejects with. */
async function failureType(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    return (err as ApplicationFailure).type ?? undefined;
  }
  throw new Error('expected a failure');
}

describe('external trainer, Node side', () => {
  test('the matrix holds the split the built-in trainer uses; content-addressed; the worker answer registers an onnx version', async () => {
    const { store, deps } = await setup();
    const prepared = await createPrepareExternalTraining(deps)(input);
    const bytes = await store.get(prepared.trainInput.matrixKey);
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(prepared.trainInput).toMatchObject({
      matrixKey: `training/churn/${sha}/matrix.arrow`,
      matrixSha256: sha,
      classes: ['stay', 'churn'],
      algorithm: 'logistic',
      params: { seed: 2 },
    });
    expect(prepared.trainInput.outputPrefix).toMatch(
      new RegExp(`^training/churn/${sha}/logistic-[0-9a-f]{12}/$`),
    );
    // Preparing again (a retry) lands on the same keys.
    expect(await createPrepareExternalTraining(deps)(input)).toEqual(prepared);

    // The same rows and split as trainAndEvaluate on the rows the built-in path assembles.
    const { rows, positiveClass } = await assembleTrainingRows(deps, {
      ...input,
      retrain: RetrainConfigSchema.parse(input.retrain),
      testSetKey: null,
    });
    const builtin = trainAndEvaluate({ rows, positiveClass, options: { seed: 1, l2: 1e-3 } });
    const m = decodeTrainingMatrix(bytes);
    expect(m.nRows).toBe(builtin.split.trainRows + builtin.split.validationRows);
    expect(m.split.filter((s) => s === SPLIT_VALIDATION).length).toBe(builtin.split.validationRows);
    expect(m.featureNames.length).toBe(builtin.artifact.pipeline.nOutputs);
    expect(prepared.trainingRows).toBe(rows.length);

    const calls: TestTrainerCalls = { trained: 0, reused: 0 };
    const trainer = createTestExternalTrainer(store, calls);
    const result = await trainer.trainExternalModel(prepared.trainInput);
    expect(await trainer.trainExternalModel(prepared.trainInput)).toEqual(result);
    expect(calls).toEqual({ trained: 1, reused: 1 });

    const register = createRegisterExternalModel(deps);
    const args = {
      modelId: 'churn',
      preparedKey: prepared.preparedKey,
      taskQueue: 'q',
      algorithm: 'logistic',
      prepared,
    };
    const registered = await register({ ...args, result });
    expect(registered.created).toBe(true);
    const manifest = await new ModelRegistry(store).getManifest('churn', registered.version);
    expect(manifest).toMatchObject({ kind: 'onnx', trainer: 'external:logistic', positiveClass: 'churn' });
    expect(manifest.metrics.test_rows).toBe(builtin.split.testRows);
    // The onnx model's held-out metrics are the built-in model's (same rows, same objective; float32).
    expect(manifest.metrics.roc_auc).toBeCloseTo(builtin.metrics.roc_auc, 2);
    expect((await register({ ...args, result })).version).toBe(registered.version);

    // A worker's answer that does not hold up is refused, not retried, with the reason.
    const bad = (patch: Partial<TrainExternalResult>) =>
      register({ ...args, result: { ...result, ...patch } });
    expect(await failureType(bad({ artifactSha256: '0'.repeat(64) }))).toBe('InvalidExternalModel');
    expect(await failureType(bad({ classes: ['churn', 'stay'] }))).toBe('InvalidExternalModel');
    expect(await failureType(bad({ outputName: 'label' }))).toBe('InvalidExternalModel');
    expect(await failureType(register({ ...args, result: { ...result, contract: 2 } }))).toBe(
      'InvalidExternalModel',
    );
    const v = result.validation;
    expect(await failureType(bad({ validation: { ...v, rows: v.rows + 1 } }))).toBe('OnnxMismatch');
    expect(await failureType(bad({ validation: { ...v, maxAbsDiff: 1e-3 } }))).toBe('OnnxMismatch');
    expect(await failureType(bad({ validation: { ...v, logLoss: (v.logLoss ?? 0) + 0.05 } }))).toBe(
      'OnnxMismatch',
    );
  });

  test('the threshold stage runs on an onnx version: picked by retrain.threshold from onnxruntime validation scores, stored and in the lineage', async () => {
    const { store, deps } = await setup();
    const registry = new ModelRegistry(store);
    const trainer = createTestExternalTrainer(store);
    const registerWith = async (threshold: ThresholdPolicyInput) => {
      const prep = await createPrepareExternalTraining(deps)({
        ...input,
        retrain: { ...input.retrain, threshold },
      });
      const result = await trainer.trainExternalModel(prep.trainInput);
      const { version } = await createRegisterExternalModel(deps)({
        modelId: 'churn',
        preparedKey: prep.preparedKey,
        taskQueue: 'q',
        algorithm: 'logistic',
        prepared: prep,
        result,
      });
      return { version, prep, result };
    };

    // Offline: the public onnxruntime API on the graph the worker wrote, over the matrix's validation rows.
    const { version, prep, result } = await registerWith({ objective: 'recall', target: 0.9 });
    const m = decodeTrainingMatrix(await store.get(prep.trainInput.matrixKey));
    const rows = Array.from(m.split).flatMap((s, i) => (s === SPLIT_VALIDATION ? [i] : []));
    const d = m.featureNames.length;
    const X = new Float32Array(rows.length * d);
    rows.forEach((i, r) => X.set(m.X.subarray(i * d, (i + 1) * d), r * d));
    const session = await InferenceSession.create(await store.get(result.artifactKey));
    const out = await session.run({ input: new Tensor('float32', X, [rows.length, d]) });
    await session.release();
    const p = out.probabilities.data as Float32Array;
    const expected = pickThreshold(
      rows.map((_, r) => p[r * 2 + 1]),
      rows.map((i) => m.y[i] === 1),
      { objective: 'recall', target: 0.9 },
    );
    expect(expected.source).toBe('validation');
    expect(expected.threshold).not.toBe(0.5);

    const { artifact } = await registry.loadModelFiles('churn', version);
    const manifest = await registry.getManifest('churn', version);
    expect(artifact.threshold).toBe(expected.threshold);
    expect(manifest.threshold).toBe(expected.threshold);
    expect(manifest.lineage.threshold as ThresholdDecision).toEqual(expected);

    // A fixed policy is stored as it is; another policy is another version, and the gate's metrics are
    // measured at the stored threshold (a lower one finds more positives).
    const low = await registry.getManifest(
      'churn',
      (await registerWith({ objective: 'fixed', value: 0.1 })).version,
    );
    const high = await registry.getManifest(
      'churn',
      (await registerWith({ objective: 'fixed', value: 0.9 })).version,
    );
    expect([low.threshold, high.threshold]).toEqual([0.1, 0.9]);
    expect(low.version).not.toBe(version);
    expect(low.metrics.recall).toBeGreaterThan(high.metrics.recall);
  });

  test('data that cannot be learned fails preparation as TrainingDataError, before any worker runs', async () => {
    const { deps } = await setup();
    const one = { ...input, retrain: { ...input.retrain, positiveClass: 'nobody' } };
    expect(await failureType(createPrepareExternalTraining(deps)(one))).toBe('TrainingDataError');
  });
});
