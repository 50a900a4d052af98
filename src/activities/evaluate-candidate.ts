import { z } from 'zod';
import { evaluateArtifact } from '../ml/model';
import type { ModelArtifact } from '../ml/model';
import type { SliceMetrics as SliceReports } from '../ml/metrics';
import { flattenMetrics } from '../ml/train-and-evaluate';
import { predictionFlipRate } from '../policy/feedback-caps';
import { blessCandidate, PromotionGateConfigSchema } from '../policy/promotion-gate';
import type { SliceMetrics } from '../policy/promotion-gate';
import { LabeledRowSchema, ModelIdSchema } from '../schemas';
import type { Blessing } from '../schemas';
import { scoreFeatures } from '../ml/model';
import { layout } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { writeJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { readAllRows } from './read-rows';

export const EvaluateCandidateInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  candidateVersion: z.string().min(1),
  /** The refreshed test set; null when none could be built yet. */
  testSetKey: z.string().nullable(),
  gate: PromotionGateConfigSchema.prefault({}),
  asOf: z.string(),
});
export type EvaluateCandidateInput = z.input<typeof EvaluateCandidateInputSchema>;

export interface EvaluateCandidateResult {
  blessed: boolean;
  reasons: string[];
  championVersion: string | null;
  testRows: number;
  flipRate: number | null;
  candidate: Record<string, number>;
  champion: Record<string, number> | null;
  reportKey: string;
}

/** Per-slice metrics in the gate's shape (`country=DE` → rows + metrics). */
function sliceMetrics(slices: SliceReports | undefined): Record<string, SliceMetrics> {
  const out: Record<string, SliceMetrics> = {};
  for (const [name, values] of Object.entries(slices ?? {})) {
    for (const [value, r] of Object.entries(values)) {
      // Slices use macro F1 as `f1`: a slice may hold too few positives for a per-class F1 to mean much.
      const metrics: Record<string, number> = {
        f1: r.macroF1,
        accuracy: r.accuracy,
        log_loss: r.logLoss,
        brier: r.brier,
      };
      if (r.rocAuc !== null) metrics.roc_auc = r.rocAuc;
      out[`${name}=${value}`] = { rows: r.n, metrics };
    }
  }
  return out;
}

/**
 * Evaluation + blessing step (TFX Evaluator-shaped): the candidate and the champion are scored on the
 * same fresh test set through the shared scoring path; the promotion gate decides, and its blessing
 * record (blessed or not, with reasons and every check) is stored in the candidate's manifest and in
 * `reports/{model}/{cycle}/evaluation.json`.
 */
export function createEvaluateCandidate(deps: ActivityDeps) {
  return async function evaluateCandidate(raw: EvaluateCandidateInput): Promise<EvaluateCandidateResult> {
    const input = EvaluateCandidateInputSchema.parse(raw);
    const { modelId } = input;
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    const candidate = await registry.loadArtifact(modelId, input.candidateVersion);
    const candidateManifest = await registry.getManifest(modelId, input.candidateVersion);
    const championVersion = (await registry.getAliases(modelId)).aliases.champion ?? null;
    const champion: ModelArtifact | null =
      championVersion && championVersion !== input.candidateVersion
        ? await registry.loadArtifact(modelId, championVersion)
        : null;
    const rows = input.testSetKey ? await readAllRows(deps.store, [input.testSetKey], LabeledRowSchema) : [];

    let blessing: Blessing;
    let flipRate: number | null = null;
    let candidateMetrics: Record<string, number>;
    let championMetrics: Record<string, number> | null = null;
    if (rows.length === 0) {
      // No fresh test set yet: only a first model may pass, judged on its own held-out period.
      candidateMetrics = candidateManifest.metrics;
      blessing = blessCandidate({
        candidate: candidateMetrics,
        champion: null,
        testRows: champion ? 0 : (candidateMetrics.test_rows ?? 0),
        gate: input.gate,
        now: input.asOf,
        championVersion,
        testSetKey: null,
      });
      if (champion) {
        blessing = {
          ...blessing,
          blessed: false,
          reasons: [...blessing.reasons, 'no test set to compare candidate and champion on'],
        };
      }
    } else {
      const candReport = evaluateArtifact(candidate, rows);
      candidateMetrics = flattenMetrics(candReport);
      let champReport = null;
      if (champion) {
        champReport = evaluateArtifact(champion, rows);
        championMetrics = flattenMetrics(champReport);
        flipRate = predictionFlipRate(
          rows.map((r) => scoreFeatures(champion, r.features).predictedLabel),
          rows.map((r) => scoreFeatures(candidate, r.features).predictedLabel),
        );
      }
      blessing = blessCandidate({
        candidate: candidateMetrics,
        champion: championMetrics,
        candidateSlices: sliceMetrics(candReport.slices),
        championSlices: champReport ? sliceMetrics(champReport.slices) : undefined,
        testRows: rows.length,
        flipRate: flipRate ?? undefined,
        gate: input.gate,
        now: input.asOf,
        championVersion,
        testSetKey: input.testSetKey,
      });
    }
    await registry.updateManifest({ modelId, version: input.candidateVersion, blessing, replace: true });
    const reportKey = layout.report(modelId, input.cycleId, 'evaluation.json');
    await writeJson(deps.store, reportKey, {
      candidateVersion: input.candidateVersion,
      championVersion,
      testSetKey: input.testSetKey,
      testRows: rows.length,
      flipRate,
      candidate: candidateMetrics,
      champion: championMetrics,
      blessing,
    });
    return {
      blessed: blessing.blessed,
      reasons: blessing.reasons,
      championVersion,
      testRows: rows.length,
      flipRate,
      candidate: candidateMetrics,
      champion: championMetrics,
      reportKey,
    };
  };
}
