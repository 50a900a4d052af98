/**
 * A test-only external trainer: the `trainExternalModel` activity of the contract in workers/README.md,
 * written in TypeScript so the contract is exercised end to end without Python. It reads the Arrow
 * training matrix, fits the built-in logistic (or softmax) model on its train rows with the validation
 * rows for early stopping, exports it to ONNX with the hand-written writer, checks onnxruntime against
 * the model's own probabilities on the validation rows, and writes model.onnx then result.json.
 */
import { randomUUID } from 'node:crypto';
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { TrainExternalInput, TrainExternalResult } from '../../src/external/contract';
import {
  MAX_VALIDATION_ABS_DIFF,
  TRAIN_EXTERNAL_ACTIVITY,
  TrainExternalInputSchema,
  TrainExternalResultSchema,
} from '../../src/external/contract';
import { decodeTrainingMatrix, SPLIT_VALIDATION } from '../../src/external/training-matrix';
import { predictProba } from '../../src/ml/linear-model';
import { logisticTrainer } from '../../src/ml/logistic';
import { softmaxTrainer } from '../../src/ml/softmax';
import { exportLinearOnnx, ONNX_EXPORT_DEFAULTS } from '../../src/scoring/onnx-export';
import { OnnxSession } from '../../src/scoring/onnx-session';
import type { BlobStore } from '../../src/storage/blob-store';
import { BlobNotFoundError } from '../../src/storage/blob-store';
import { testTemporalAddress } from './temporal';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** What the test trainer did, so a test can see that a retry did not train again. */
export interface TestTrainerCalls {
  trained: number;
  reused: number;
}

/** The activity over a store (the worker's own, as a real external worker finds it from its env). */
export function createTestExternalTrainer(
  store: BlobStore,
  calls: TestTrainerCalls = { trained: 0, reused: 0 },
) {
  return {
    async [TRAIN_EXTERNAL_ACTIVITY](raw: TrainExternalInput): Promise<TrainExternalResult> {
      const input = TrainExternalInputSchema.parse(raw);
      const onnxKey = `${input.outputPrefix}model.onnx`;
      const resultKey = `${input.outputPrefix}result.json`;
      // Idempotent by content: a complete earlier answer is returned as it is.
      if ((await store.head(onnxKey)) && (await store.head(resultKey))) {
        calls.reused++;
        return TrainExternalResultSchema.parse(JSON.parse((await store.get(resultKey)).toString('utf8')));
      }
      let bytes: Buffer;
      try {
        bytes = await store.get(input.matrixKey);
      } catch (err) {
        if (err instanceof BlobNotFoundError)
          throw ApplicationFailure.nonRetryable(
            `${input.matrixKey} is not in the store`,
            'TrainingDataError',
          );
        throw err;
      }
      if (sha256(bytes) !== input.matrixSha256)
        throw ApplicationFailure.nonRetryable(`${input.matrixKey}: sha256 mismatch`, 'TrainingDataError');
      const m = decodeTrainingMatrix(bytes);
      const d = m.featureNames.length;
      const part = (wanted: (split: number) => boolean) => {
        const rows = [...m.split.keys()].filter((i) => wanted(m.split[i]));
        const data = new Float64Array(rows.length * d);
        rows.forEach((i, r) => data.set(m.X.subarray(i * d, (i + 1) * d), r * d));
        return { X: { data, nRows: rows.length, nCols: d }, y: Int32Array.from(rows, (i) => m.y[i]) };
      };
      const train = part((s) => s !== SPLIT_VALIDATION);
      const validation = part((s) => s === SPLIT_VALIDATION);
      const trainer = m.classes.length === 2 ? logisticTrainer : softmaxTrainer;
      const seed = typeof input.params.seed === 'number' ? input.params.seed : 0;
      const l2 = typeof input.params.l2 === 'number' ? input.params.l2 : 1e-3;
      const model = trainer.train({
        ...train,
        classes: m.classes,
        validation: validation.X.nRows > 0 ? validation : undefined,
        options: { seed, l2 },
      });
      const onnx = exportLinearOnnx(model, { producerName: 'loopkeeper-test-trainer' });
      // The contract's check: onnxruntime against the library's own probabilities on the validation rows.
      const session = await OnnxSession.load(onnx, {
        inputName: ONNX_EXPORT_DEFAULTS.inputName,
        outputName: ONNX_EXPORT_DEFAULTS.outputName,
        nFeatures: d,
        nClasses: m.classes.length,
      });
      const k = m.classes.length;
      const ort = session.run(Float32Array.from(validation.X.data), validation.X.nRows);
      session.dispose();
      let maxAbsDiff = 0;
      let logLoss = 0;
      for (let i = 0; i < validation.X.nRows; i++) {
        const own = predictProba(model, validation.X.data.subarray(i * d, (i + 1) * d));
        for (let c = 0; c < k; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(own[c] - ort[i * k + c]));
        logLoss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, ort[i * k + validation.y[i]])));
      }
      if (maxAbsDiff > MAX_VALIDATION_ABS_DIFF)
        throw ApplicationFailure.nonRetryable(`onnxruntime differs by ${maxAbsDiff}`, 'OnnxMismatch');
      const result: TrainExternalResult = {
        contract: 1,
        artifactKey: onnxKey,
        artifactSha256: sha256(onnx),
        inputName: ONNX_EXPORT_DEFAULTS.inputName,
        outputName: ONNX_EXPORT_DEFAULTS.outputName,
        opset: ONNX_EXPORT_DEFAULTS.opset,
        producer: 'loopkeeper test trainer (built-in logistic → onnx)',
        classes: m.classes,
        validation: {
          rows: validation.X.nRows,
          maxAbsDiff,
          logLoss: validation.X.nRows ? logLoss / validation.X.nRows : null,
        },
        training: { rows: train.X.nRows, epochs: model.training?.epochs ?? 0 },
      };
      await store.put(onnxKey, Buffer.from(onnx));
      await store.put(resultKey, JSON.stringify(result));
      calls.trained++;
      return result;
    },
  };
}

/**
 * Runs `fn` while a worker serves the test trainer on its own task queue (returned to `fn`), in
 * `namespace`, as a team's external worker would.
 */
export async function withTestExternalTrainer<T>(
  store: BlobStore,
  namespace: string,
  fn: (taskQueue: string, calls: TestTrainerCalls) => Promise<T>,
): Promise<T> {
  const taskQueue = `external-${randomUUID()}`;
  const calls: TestTrainerCalls = { trained: 0, reused: 0 };
  const connection = await NativeConnection.connect({ address: testTemporalAddress() });
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      activities: createTestExternalTrainer(store, calls),
    });
    return await worker.runUntil(fn(taskQueue, calls));
  } finally {
    await connection.close();
  }
}
