import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { TrainExternalInput, TrainExternalResult } from '../external/contract';
import { EXTERNAL_NON_RETRYABLE, TRAIN_EXTERNAL_ACTIVITY } from '../external/names';
import type { TrainerConfig } from '../policy/model-policy';
import {
  badInputErrorTypes,
  evaluateActivityOptions,
  promoteActivityOptions,
  trainActivityOptions,
} from './activity-options';
import type { EvaluateCandidateResult } from '../activities/evaluate-candidate';
import type { TrainCandidateResult } from '../activities/train-candidate';
import type { ModelPolicy } from '../policy/model-policy';
import { observe } from './observe';
import { refusalClause, retrainOutcome } from './summaries';

/** Input of one retraining run (a child of the cycle, or started on its own). */
export interface RetrainInput {
  modelId: string;
  cycleId: string;
  /** Cycle time (ISO): end of the training window, and the blessing's decision time. */
  asOf: string;
  testSetKey: string | null;
  /** Challenge set (rare slices, hard cases) gated per group; null when none was mined yet. */
  challengeSetKey?: string | null;
  policy: Pick<ModelPolicy, 'retrain' | 'gate' | 'promotion' | 'seed'> &
    Partial<Pick<ModelPolicy, 'challenge' | 'trainer'>>;
}

/** What a retrain returns: the registered version, its blessing, and where it went. */
export interface RetrainResult {
  train: TrainCandidateResult;
  evaluation: EvaluateCandidateResult;
  /** The alias the version got: champion, challenger, or none (not blessed). */
  registeredAs: 'champion' | 'challenger' | null;
}

const { trainCandidate } = proxyActivities<Activities>(trainActivityOptions);
const { evaluateCandidate } = proxyActivities<Activities>(evaluateActivityOptions);
const { promoteCandidate } = proxyActivities<Activities>(promoteActivityOptions);
const { prepareExternalTraining, registerExternalModel } = proxyActivities<Activities>(trainActivityOptions);

/** The external trainer's activity, by its contract name (served by a worker in any language). */
type ExternalTrainerActivities = Record<
  typeof TRAIN_EXTERNAL_ACTIVITY,
  (input: TrainExternalInput) => Promise<TrainExternalResult>
>;

/**
 * Trains through an external worker (workers/README.md): the Node side writes the training matrix, the
 * worker on `trainer.taskQueue` trains and writes an ONNX graph, the Node side verifies, evaluates and
 * registers it as an `onnx` version. The worker heartbeats at least every 10 s, so a dead worker is
 * noticed within a minute and the attempt retried, up to `timeoutMinutes` per attempt.
 */
async function trainExternally(
  input: RetrainInput,
  trainer: Extract<TrainerConfig, { kind: 'external' }>,
): Promise<TrainCandidateResult> {
  const prepared = await prepareExternalTraining({
    modelId: input.modelId,
    cycleId: input.cycleId,
    asOf: input.asOf,
    retrain: input.policy.retrain,
    seed: input.policy.seed,
    testSetKey: input.testSetKey,
    trainer,
  });
  const external = proxyActivities<ExternalTrainerActivities>({
    taskQueue: trainer.taskQueue,
    startToCloseTimeout: `${trainer.timeoutMinutes} minutes`,
    heartbeatTimeout: '1 minute',
    // No worker polling the queue is not an error to fail fast on: the task waits for one, this long.
    scheduleToCloseTimeout: `${trainer.timeoutMinutes * 3} minutes`,
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [...badInputErrorTypes, ...EXTERNAL_NON_RETRYABLE],
    },
  });
  const result = await external[TRAIN_EXTERNAL_ACTIVITY](prepared.trainInput);
  return registerExternalModel({
    modelId: input.modelId,
    preparedKey: prepared.preparedKey,
    result,
    taskQueue: trainer.taskQueue,
    algorithm: trainer.algorithm,
    prepared: {
      trainingRows: prepared.trainingRows,
      baseRows: prepared.baseRows,
      feedback: prepared.feedback,
      usedHistory: prepared.usedHistory,
      trainingData: prepared.trainingData,
    },
  });
}

/**
 * Retrain → evaluate against the champion on the fresh test set → bless → register. Runs as a child of
 * the cycle so its history stays separate and it can be retried or re-run alone.
 */
export async function retrainModel(input: RetrainInput): Promise<RetrainResult> {
  const obs = observe(input.modelId, 'retrain');
  try {
    const result = await retrainSteps(input);
    const outcome = retrainOutcome(result);
    obs.outcome(outcome);
    const what = outcome === 'refused' ? `refused (${refusalClause(result)})` : outcome;
    obs.summary(`${input.modelId} ${result.train.version}: ${what}`, true);
    return result;
  } catch (err) {
    obs.outcome('failed');
    throw err;
  }
}

async function retrainSteps(input: RetrainInput): Promise<RetrainResult> {
  const trainer = input.policy.trainer;
  // Only an external trainer adds commands: histories of built-in retrains replay unchanged.
  const train =
    trainer?.kind === 'external'
      ? await trainExternally(input, trainer)
      : await trainCandidate({
          modelId: input.modelId,
          cycleId: input.cycleId,
          asOf: input.asOf,
          retrain: input.policy.retrain,
          seed: input.policy.seed,
          testSetKey: input.testSetKey,
          ...(trainer ? { trainer } : {}),
        });
  const evaluation = await evaluateCandidate({
    modelId: input.modelId,
    cycleId: input.cycleId,
    candidateVersion: train.version,
    testSetKey: input.testSetKey,
    gate: input.policy.gate,
    asOf: input.asOf,
    challengeSetKey: input.challengeSetKey ?? null,
    challenge: input.policy.challenge,
    seed: input.policy.seed,
  });
  let registeredAs: RetrainResult['registeredAs'] = null;
  if (evaluation.blessed) {
    // A first model has nothing to be compared with in shadow or canary: it becomes champion directly.
    const direct =
      input.policy.promotion === 'promote' ||
      (input.policy.promotion === 'rollout' && !evaluation.championVersion);
    registeredAs = direct ? 'champion' : 'challenger';
    await promoteCandidate({
      modelId: input.modelId,
      version: train.version,
      cycleId: input.cycleId,
      to: registeredAs,
    });
  }
  return { train, evaluation, registeredAs };
}
