import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import * as path from 'node:path';
import type { TimedTrainingRow } from '../ml/train-and-evaluate';
import { RetrainConfigSchema } from '../policy/model-policy';
import { capFeedbackShare } from '../policy/retrain-data';
import { DatasetManifestSchema, JoinedRowSchema, LabeledRowSchema, ModelIdSchema } from '../schemas';
import { trustedLabelledRow } from '../monitoring/window-summary';
import { layout } from '../storage/layout';
import { ModelRegistry, VersionConflictError } from '../storage/model-registry';
import { readJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { heartbeat, whileHeartbeating } from './heartbeat';
import { runThread } from './run-thread';
import type { TrainThreadResult } from './train-thread';
import { ndjsonKeysUnder, readRows } from './read-rows';
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

type Row = TimedTrainingRow & { requestId: string };

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
    const from = new Date(Date.parse(input.asOf) - retrain.trainingWindowDays * 86_400_000).toISOString();
    const inWindow = (ts: string): boolean => ts >= from && ts < input.asOf;

    // Rows of the evaluation set never train the candidate, or the gate would grade it on its homework.
    const heldOut = new Set<string>();
    if (input.testSetKey)
      for await (const r of readRows(deps.store, [input.testSetKey], LabeledRowSchema))
        heldOut.add(r.requestId);
    const trainingData: string[] = [];
    const base = new Map<string, Row>();
    // Cycle time of every cycle that ingested, to leave out what later cycles wrote (temporal validation).
    const cycleTime = new Map<string, string>();
    for await (const info of deps.store.list(`datasets/${modelId}/joined/`)) {
      if (!info.key.endsWith('/manifest.json')) continue;
      const m = await readJson(deps.store, info.key, DatasetManifestSchema);
      if (m.window) cycleTime.set(m.version, m.window.to);
      // Outcomes that matured after this cycle's time did not exist at its window's end.
      if (!m.window || m.window.to <= from || m.window.to > input.asOf) continue;
      const keys = (m.lineage.joinedKeys as string[] | undefined) ?? [];
      trainingData.push(info.key);
      for await (const row of readRows(deps.store, keys, JoinedRowSchema)) {
        const labelled = trustedLabelledRow(row, input.cycleId);
        if (!labelled || !inWindow(row.timestamp)) continue;
        const { requestId, timestamp, features, label, slices } = labelled;
        base.set(requestId, { requestId, timestamp, features, label, slices });
      }
      heartbeat({ phase: 'base', rows: base.size });
    }
    let usedHistory = false;
    if (base.size < retrain.minTrainingRows) {
      const historyKeys = (await ndjsonKeysUnder(deps.store, `datasets/${modelId}/history/`)).slice(-1);
      for await (const row of readRows(deps.store, historyKeys, LabeledRowSchema)) {
        if (!base.has(row.requestId))
          base.set(row.requestId, {
            requestId: row.requestId,
            timestamp: row.timestamp,
            features: row.features,
            label: row.label,
            slices: row.slices,
          });
      }
      usedHistory = historyKeys.length > 0;
      trainingData.push(...historyKeys);
    }

    const feedbackKeys = [
      ...(await ndjsonKeysUnder(deps.store, layout.labelsPrefix(modelId, 'auto'))),
      ...(await ndjsonKeysUnder(deps.store, layout.labelsPrefix(modelId, 'human'))),
    ];
    const feedbackById = new Map<string, Row>();
    for await (const row of readRows(deps.store, feedbackKeys, LabeledRowSchema)) {
      // Human answers are read after auto-relabels, so a human label wins for the same request. Labels a
      // later cycle derived (its auto-relabels) did not exist at this cycle's time.
      const origin = row.lineage?.cycleId ? cycleTime.get(row.lineage.cycleId) : undefined;
      if (origin !== undefined && origin > input.asOf) continue;
      if (inWindow(row.timestamp))
        feedbackById.set(row.requestId, {
          requestId: row.requestId,
          timestamp: row.timestamp,
          features: row.features,
          label: row.label,
          slices: row.slices,
        });
    }
    const feedback = [...feedbackById.values()].sort((a, b) => (a.requestId < b.requestId ? -1 : 1));
    const baseRows = [...base.values()].filter((r) => !feedbackById.has(r.requestId));
    const capped = capFeedbackShare({
      base: baseRows.length,
      feedback,
      maxShare: retrain.maxFeedbackShare,
      seed: input.seed,
    });
    const rows = [...baseRows, ...capped.kept].filter((r) => !heldOut.has(r.requestId));
    heartbeat({ phase: 'train', rows: rows.length });

    // The positive class must stay the same across versions, or metrics and thresholds silently flip.
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    const championVersion = (await registry.getAliases(modelId)).aliases.champion;
    // With no policy and no champion, a class named like the model (churn → "churn") is the positive one.
    const labels = new Set(rows.map((r) => r.label));
    const positiveClass =
      retrain.positiveClass ??
      (championVersion ? (await registry.getManifest(modelId, championVersion)).positiveClass : undefined) ??
      (labels.size === 2 && labels.has(modelId) ? modelId : undefined);
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
            options: { l2: retrain.l2, seed: input.seed },
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
          baseRows: baseRows.length,
          feedback: capped.report,
          usedHistory,
          heldOutTestRows: heldOut.size,
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
      baseRows: baseRows.length,
      feedback: {
        offered: capped.report.feedbackOffered,
        kept: capped.report.feedbackKept,
        share: capped.report.share,
        maxShare: capped.report.maxShare,
      },
      usedHistory,
      trainingData: trainingData.slice(0, 20),
    };
  };
}
