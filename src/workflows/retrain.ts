import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { evaluateActivityOptions, promoteActivityOptions, trainActivityOptions } from './activity-options';
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
    Partial<Pick<ModelPolicy, 'challenge'>>;
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
  const train = await trainCandidate({
    modelId: input.modelId,
    cycleId: input.cycleId,
    asOf: input.asOf,
    retrain: input.policy.retrain,
    seed: input.policy.seed,
    testSetKey: input.testSetKey,
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
