/**
 * Worker-thread entry of training (started by train-candidate.ts through run-thread.ts). Fitting is a
 * long CPU loop; on its own thread it leaves the activity's event loop free to heartbeat, so a worker
 * crash during training is noticed within the heartbeat timeout and a long fit is not mistaken for one.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TrainingDataError } from '../ml/errors';
import { SplitError } from '../ml/temporal-split';
import { logisticTrainer } from '../ml/logistic';
import { softmaxTrainer } from '../ml/softmax';
import { trainAndEvaluate } from '../ml/train-and-evaluate';
import type { TrainAndEvaluateInput, TrainAndEvaluateResult } from '../ml/train-and-evaluate';
import type { ThreadMessage } from './run-thread';

/** What the thread answers: the trained result, or why the data cannot be learned (a bad input). */
export type TrainThreadResult =
  | { ok: true; trained: Omit<TrainAndEvaluateResult, 'report'> }
  | { ok: false; error: 'TrainingDataError' | 'SplitError'; message: string };

/**
 * What the thread is given: trainAndEvaluate's input without the trainer object (functions cannot cross
 * a thread boundary), and the built-in trainer a policy names, if any.
 */
export type TrainThreadInput = Omit<TrainAndEvaluateInput, 'trainer'> & {
  builtin?: 'builtin-logistic' | 'builtin-softmax';
};

/** Trains, turning the data errors into a result so their kind survives the thread boundary. */
export function trainOnThisThread(raw: TrainThreadInput): TrainThreadResult {
  try {
    const { builtin, ...input } = raw;
    const trainer =
      builtin === 'builtin-logistic'
        ? logisticTrainer
        : builtin === 'builtin-softmax'
          ? softmaxTrainer
          : undefined;
    // The full report is not needed by the activity: leave it out of the copy back.
    const { artifact, manifest, metrics, split, threshold } = trainAndEvaluate({ ...input, trainer });
    return { ok: true, trained: { artifact, manifest, metrics, split, threshold } };
  } catch (err) {
    if (err instanceof TrainingDataError)
      return { ok: false, error: 'TrainingDataError', message: err.message };
    if (err instanceof SplitError) return { ok: false, error: 'SplitError', message: err.message };
    throw err;
  }
}

function main(): void {
  const port = parentPort;
  if (!port) return;
  const post = (m: ThreadMessage<never, TrainThreadResult>): void => port.postMessage(m);
  try {
    post({ type: 'result', result: trainOnThisThread(workerData as TrainThreadInput) });
  } catch (err) {
    post({ type: 'error', message: (err as Error).message, stack: (err as Error).stack });
  }
}

if (!isMainThread) main();
