/**
 * The rows a retrain learns from, assembled the same way for every trainer (built-in or external):
 * the base training window (labelled production traffic of the last `trainingWindowDays`, plus the
 * bootstrap history when traffic is thin) and the feedback rows (auto and human relabels) with their
 * share capped, minus the rows of the test set the candidate will be judged on. Also decides the
 * positive class, which must stay the same across versions.
 */
import type { TimedTrainingRow } from '../ml/train-and-evaluate';
import type { RetrainConfig } from '../policy/model-policy';
import { capFeedbackShare } from '../policy/retrain-data';
import type { FeedbackShareResult } from '../policy/retrain-data';
import { DatasetManifestSchema, JoinedRowSchema, LabeledRowSchema } from '../schemas';
import { trustedLabelledRow } from '../monitoring/window-summary';
import { layout } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { readJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { ndjsonKeysUnder, readRows } from './read-rows';

/** A training row with the request id it came from. */
export type AssembledRow = TimedTrainingRow & { requestId: string };

/** What to assemble: the cycle's model, time, retrain policy and held-out test set. */
export interface AssembleTrainingRowsInput {
  modelId: string;
  cycleId: string;
  /** Cycle time (ISO); the training window ends here. */
  asOf: string;
  retrain: RetrainConfig;
  seed: number;
  testSetKey: string | null;
}

/** The assembled rows and their provenance (for the manifest's lineage). */
export interface AssembledTrainingRows {
  rows: AssembledRow[];
  /** Base rows (traffic or history) that are not also feedback rows. */
  baseRows: number;
  feedback: FeedbackShareResult<AssembledRow>['report'];
  usedHistory: boolean;
  /** Dataset manifests and history parts read (not the feedback parts). */
  trainingData: string[];
  feedbackKeys: string[];
  heldOutTestRows: number;
  /** The positive class: policy, else the champion's, else the class named like the model. */
  positiveClass: string | undefined;
}

/** Reads and mixes the training rows of one retrain (heartbeating per part). */
export async function assembleTrainingRows(
  deps: ActivityDeps,
  input: AssembleTrainingRowsInput,
): Promise<AssembledTrainingRows> {
  const { modelId, retrain } = input;
  const from = new Date(Date.parse(input.asOf) - retrain.trainingWindowDays * 86_400_000).toISOString();
  const inWindow = (ts: string): boolean => ts >= from && ts < input.asOf;

  // Rows of the evaluation set never train the candidate, or the gate would grade it on its homework.
  const heldOut = new Set<string>();
  if (input.testSetKey)
    for await (const r of readRows(deps.store, [input.testSetKey], LabeledRowSchema))
      heldOut.add(r.requestId);
  const trainingData: string[] = [];
  const base = new Map<string, AssembledRow>();
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
  const feedbackById = new Map<string, AssembledRow>();
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

  // The positive class must stay the same across versions, or metrics and thresholds silently flip.
  const registry = new ModelRegistry(deps.store, { now: deps.now });
  const championVersion = (await registry.getAliases(modelId)).aliases.champion;
  // With no policy and no champion, a class named like the model (churn → "churn") is the positive one.
  const labels = new Set(rows.map((r) => r.label));
  const positiveClass =
    retrain.positiveClass ??
    (championVersion ? (await registry.getManifest(modelId, championVersion)).positiveClass : undefined) ??
    (labels.size === 2 && labels.has(modelId) ? modelId : undefined);
  return {
    rows,
    baseRows: baseRows.length,
    feedback: capped.report,
    usedHistory,
    trainingData,
    feedbackKeys,
    heldOutTestRows: heldOut.size,
    positiveClass,
  };
}
