import { z } from 'zod';
import type { SliceMetrics as SliceReports } from '../ml/metrics';
import { flattenMetrics } from '../ml/train-and-evaluate';
import type { Scorer } from '../scoring/scorer';
import { evaluateScorer, perturbationFlipRateOf, predictLabels } from '../scoring/scorer';
import { loadScorer } from '../scoring/load';
import { ChallengeSetConfigSchema } from '../policy/challenge-set';
import type { ChallengeSetConfig } from '../policy/challenge-set';
import { predictionFlipRate } from '../policy/feedback-caps';
import { blessCandidate, PromotionGateConfigSchema } from '../policy/promotion-gate';
import type { SliceMetrics } from '../policy/promotion-gate';
import { LabeledRowSchema, ModelIdSchema } from '../schemas';
import type { Blessing, LabeledRow } from '../schemas';
import { layout } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { writeJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { whileHeartbeating } from './heartbeat';
import { readAllRows } from './read-rows';

export const EvaluateCandidateInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  candidateVersion: z.string().min(1),
  /** The refreshed test set; null when none could be built yet. */
  testSetKey: z.string().nullable(),
  gate: PromotionGateConfigSchema.prefault({}),
  asOf: z.string(),
  /** Rare slices and hard cases mined from production, gated per group. */
  challengeSetKey: z.string().nullable().default(null),
  challenge: ChallengeSetConfigSchema.prefault({}),
  seed: z.number().int().default(1),
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
  /** Per challenge group (reason): rows and accuracy of candidate and champion. */
  challenge: Record<string, { rows: number; candidate: number; champion: number | null }>;
  perturbationFlipRate: number | null;
}

/** Accuracy per challenge reason (a row may count in several groups). */
function groupAccuracy(
  scorer: Scorer,
  rows: readonly LabeledRow[],
): Record<string, { rows: number; correct: number }> {
  const out: Record<string, { rows: number; correct: number }> = {};
  const predicted = predictLabels(
    scorer,
    rows.map((r) => r.features),
  );
  for (const [i, r] of rows.entries()) {
    const ok = predicted[i] === r.label;
    for (const reason of (r.lineage?.reasons ?? 'challenge').split(',')) {
      const g = (out[reason] ??= { rows: 0, correct: 0 });
      g.rows++;
      if (ok) g.correct++;
    }
  }
  return out;
}

/**
 * The challenge-set and robustness checks added to a blessing: no challenge group (with enough rows)
 * may lose more than maxGroupRegression accuracy against the champion, and the candidate's predictions
 * may not flip under small perturbations more than maxPerturbationFlipRate.
 */
function challengeChecks(
  challenge: EvaluateCandidateResult['challenge'],
  flipRate: number | null,
  config: ChallengeSetConfig,
): Blessing['checks'] {
  const checks: Blessing['checks'] = [];
  for (const [group, g] of Object.entries(challenge)) {
    if (g.champion === null || g.rows < config.minGroupRows) continue;
    const drop = g.champion - g.candidate;
    checks.push({
      name: `challenge:${group}`,
      passed: drop <= config.maxGroupRegression + 1e-12,
      detail: `challenge group ${group}: accuracy ${g.candidate.toFixed(4)} vs champion ${g.champion.toFixed(4)} on ${g.rows} rows (allowed drop ${config.maxGroupRegression})`,
    });
  }
  if (flipRate !== null) {
    checks.push({
      name: 'perturbation-flip-rate',
      passed: flipRate <= config.maxPerturbationFlipRate + 1e-12,
      detail: `${(100 * flipRate).toFixed(1)}% of predictions flip under small perturbations (max ${(100 * config.maxPerturbationFlipRate).toFixed(1)}%)`,
    });
  }
  return checks;
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
    return whileHeartbeating({ phase: 'evaluate', version: input.candidateVersion }, () => evaluate(input));
  };

  async function evaluate(
    input: z.infer<typeof EvaluateCandidateInputSchema>,
  ): Promise<EvaluateCandidateResult> {
    const { modelId } = input;
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    // Either kind (linear, onnx) scores through its one path: the one serving uses.
    const candidate = await loadScorer(registry, modelId, input.candidateVersion);
    const candidateManifest = await registry.getManifest(modelId, input.candidateVersion);
    const championVersion = (await registry.getAliases(modelId)).aliases.champion ?? null;
    const champion: Scorer | null =
      championVersion && championVersion !== input.candidateVersion
        ? await loadScorer(registry, modelId, championVersion)
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
      const candReport = evaluateScorer(candidate, rows);
      candidateMetrics = flattenMetrics(candReport);
      let champReport = null;
      if (champion) {
        champReport = evaluateScorer(champion, rows);
        championMetrics = flattenMetrics(champReport);
        const features = rows.map((r) => r.features);
        flipRate = predictionFlipRate(predictLabels(champion, features), predictLabels(candidate, features));
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
    const challengeRows = input.challengeSetKey
      ? await readAllRows(deps.store, [input.challengeSetKey], LabeledRowSchema)
      : [];
    const challenge: EvaluateCandidateResult['challenge'] = {};
    if (challengeRows.length) {
      const cand = groupAccuracy(candidate, challengeRows);
      const champ = champion ? groupAccuracy(champion, challengeRows) : null;
      for (const [group, g] of Object.entries(cand)) {
        const c = champ?.[group];
        challenge[group] = {
          rows: g.rows,
          candidate: g.correct / g.rows,
          champion: c ? c.correct / c.rows : null,
        };
      }
    }
    const perturbation = rows.length ? perturbationFlipRateOf(candidate, rows, input.seed) : null;
    const extra = challengeChecks(challenge, perturbation, input.challenge);
    const failed = extra.filter((c) => !c.passed);
    blessing = {
      ...blessing,
      blessed: blessing.blessed && failed.length === 0,
      checks: [...blessing.checks, ...extra],
      reasons: failed.length
        ? [...blessing.reasons.filter((r) => !/^blessed/.test(r)), ...failed.map((c) => c.detail)]
        : blessing.reasons,
      // Recorded so listings can compare versions on the test set the gate used, not their own holdouts.
      ...(rows.length > 0
        ? { comparison: { testRows: rows.length, candidate: candidateMetrics, champion: championMetrics } }
        : {}),
    };
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
      challenge,
      perturbationFlipRate: perturbation,
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
      challenge,
      perturbationFlipRate: perturbation,
    };
  }
}
