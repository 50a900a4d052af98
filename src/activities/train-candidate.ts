import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import * as path from 'node:path';
import { BuiltinTrainerParamsSchema, RetrainConfigSchema } from '../policy/model-policy';
import type { FeedbackShareResult } from '../policy/retrain-data';
import { ModelIdSchema } from '../schemas';
import { ModelRegistry, VersionConflictError } from '../storage/model-registry';
import type { ActivityDeps } from './deps';
import { heartbeat, whileHeartbeating } from './heartbeat';
import { runThread } from './run-thread';
import type { TrainThreadResult } from './train-thread';
import { assembleTrainingRows } from './training-rows';
import { codeVersion } from '../config/package-root';

export const TrainCandidateInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  /** Cycle time (ISO); the training window ends here. */
  asOf: z.string(),
  retrain: RetrainConfigSchema.prefault({}),
  seed: z.number().int(),
  /** The test set the candidate will be judged on: its rows are held out of training. */
  testSetKey: z.string().nullable().default(null),
  /** policy.trainer when it names a built-in trainer; absent: chosen by class count. */
  trainer: z
    .object({
      kind: z.enum(['builtin-logistic', 'builtin-softmax']),
      params: BuiltinTrainerParamsSchema.optional(),
    })
    .optional(),
});
export type TrainCandidateInput = z.input<typeof TrainCandidateInputSchema>;

export interface TrainCandidateResult {
  version: string;
  created: boolean;
  metrics: Record<string, number>;
  trainingRows: number;
  baseRows: number;
  feedback: { offered: number; kept: number; share: number; maxShare: number };
  usedHistory: boolean;
  trainingData: string[];
}

/** The feedback part of a retrain's result. */
export function feedbackSummary(
  report: FeedbackShareResult<unknown>['report'],
): TrainCandidateResult['feedback'] {
  return {
    offered: report.feedbackOffered,
    kept: report.feedbackKept,
    share: report.share,
    maxShare: report.maxShare,
  };
}

/**
 * Retraining step (TFX Trainer-shaped: typed input, typed output, one function). Assembles the base
 * training window (labelled production traffic of the last `trainingWindowDays`, plus the bootstrap
 * history when traffic is thin) and the feedback rows (auto and human relabels), caps the feedback
 * share, trains with a temporal split, and registers an immutable version. The version id is content-
 * addressed, so a retry after a crash registers the same version again as a no-op.
 */
export function createTrainCandidate(deps: ActivityDeps) {
  return async function trainCandidate(raw: TrainCandidateInput): Promise<TrainCandidateResult> {
    const input = TrainCandidateInputSchema.parse(raw);
    const { modelId, retrain } = input;
    const assembled = await assembleTrainingRows(deps, input);
    const { rows, baseRows, usedHistory, trainingData, feedbackKeys, positiveClass } = assembled;
    heartbeat({ phase: 'train', rows: rows.length });
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    // Fitting runs on a thread while this one heartbeats (see train-thread.ts).
    const outcome = await whileHeartbeating(
      { phase: 'fit', rows: rows.length },
      () =>
        runThread<never, TrainThreadResult>(
          path.join(__dirname, 'train-thread'),
          {
            rows,
            testFraction: retrain.testFraction,
            validationFraction: retrain.validationFraction,
            positiveClass,
            thresholdPolicy: retrain.threshold,
            options: { l2: retrain.l2, seed: input.seed, ...input.trainer?.params },
            builtin: input.trainer?.kind,
          },
          () => undefined,
        ).result,
    );
    if (!outcome.ok) {
      throw ApplicationFailure.nonRetryable(
        `cannot train on ${rows.length} rows: ${outcome.message}`,
        'TrainingDataError',
      );
    }
    const trained = outcome.trained;
    const registration = registry.registerVersion({
      modelId,
      artifact: trained.artifact,
      manifest: {
        createdAt: (deps.now?.() ?? new Date()).toISOString(),
        trainer: trained.manifest.trainer,
        trainingData: [...trainingData, ...feedbackKeys],
        metrics: trained.metrics,
        codeVersion: codeVersion(),
        lineage: {
          ...trained.manifest.lineage,
          trigger: 'cycle',
          cycleId: input.cycleId,
          asOf: input.asOf,
          baseRows,
          feedback: assembled.feedback,
          usedHistory,
          heldOutTestRows: assembled.heldOutTestRows,
        },
      },
    });
    // The version id is a hash of the artifact. The same model again (a retry after a crash, or training
    // that converged to identical weights) meets its earlier registration: reuse it, don't fail the cycle.
    const registered = await registration.catch(async (err: unknown) => {
      if (!(err instanceof VersionConflictError)) throw err;
      return { version: err.version, created: false };
    });
    return {
      version: registered.version,
      created: registered.created,
      metrics: trained.metrics,
      trainingRows: rows.length,
      baseRows,
      feedback: feedbackSummary(assembled.feedback),
      usedHistory,
      trainingData: trainingData.slice(0, 20),
    };
  };
}
