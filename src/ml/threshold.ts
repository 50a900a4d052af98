/**
 * The decision-threshold stage of training (binary models): after fitting, the positive class's
 * probability on the validation split is swept and a threshold is picked by the policy's objective.
 * Pure; the choice and how it was made are kept with the model so serving, the gate and
 * `models show` all use (and explain) the same number.
 */
import { z } from 'zod';
import { sweepThresholds } from './metrics';

/** Threshold used when no choice can be made from data (and the `fixed` objective's default). */
export const DEFAULT_THRESHOLD = 0.5;

/**
 * How training picks the binary decision threshold (policy `retrain.threshold`):
 * - `f1` (default): the threshold maximising F1 of the positive class on the validation split;
 * - `precision`: the lowest threshold whose validation precision reaches `target` (most recall at
 *   that precision); when none does, the highest-precision threshold, with a warning;
 * - `recall`: the highest threshold whose validation recall reaches `target` (most precision at that
 *   recall);
 * - `fixed`: `value` (default 0.5), no data needed.
 */
export const ThresholdPolicySchema = z
  .object({
    objective: z.enum(['f1', 'precision', 'recall', 'fixed']).default('f1'),
    /** Precision or recall to reach (objectives `precision` / `recall`). */
    target: z.number().gt(0).max(1).optional(),
    /** The threshold itself (objective `fixed`). */
    value: z.number().min(0).max(1).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const needsTarget = p.objective === 'precision' || p.objective === 'recall';
    if (needsTarget && p.target === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: `objective "${p.objective}" needs a target`,
      });
    if (!needsTarget && p.target !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: `target applies to objectives "precision" and "recall", not "${p.objective}"`,
      });
    if (p.objective !== 'fixed' && p.value !== undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'value applies to objective "fixed" only' });
  });
export type ThresholdPolicy = z.infer<typeof ThresholdPolicySchema>;
export type ThresholdPolicyInput = z.input<typeof ThresholdPolicySchema>;

/** What the threshold stage decided and on what evidence (stored in the manifest's lineage). */
export const ThresholdDecisionSchema = z.object({
  threshold: z.number().min(0).max(1),
  objective: z.enum(['f1', 'precision', 'recall', 'fixed']),
  target: z.number().optional(),
  /**
   * `validation`: swept on the validation split; `fixed`: the policy's value; `fallback`: the
   * default, because the validation split could not support a choice (see `warning`).
   */
  source: z.enum(['validation', 'fixed', 'fallback']),
  /** Whether the target was met on the validation split (true for f1 and fixed). */
  reached: z.boolean(),
  validationRows: z.number().int().nonnegative(),
  validationPositives: z.number().int().nonnegative(),
  /** Validation precision / recall / F1 at the chosen threshold (null when not measured). */
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  f1: z.number().nullable(),
  warning: z.string().optional(),
});
export type ThresholdDecision = z.infer<typeof ThresholdDecisionSchema>;

const f1Of = (precision: number, recall: number): number =>
  precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;

/** Tolerance so that e.g. 3/5 meets a target written as 0.6 despite floating-point rounding. */
const SLACK = 1e-12;

/**
 * Picks the decision threshold (predict positive when P(positive) >= threshold) from validation
 * scores by the policy. Thresholds are observed scores; tied scores are one step (a threshold cannot
 * separate them). Ties in the objective go to the higher threshold (fewer positives predicted).
 *
 * Falls back to {@link DEFAULT_THRESHOLD} with a warning when the validation split is empty or holds
 * one class only (nothing to trade precision against recall with).
 *
 * @param scores validation probabilities of the positive class
 * @param positive whether each validation row's label is the positive class
 */
export function pickThreshold(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean>,
  policyInput: ThresholdPolicyInput = {},
): ThresholdDecision {
  const policy = ThresholdPolicySchema.parse(policyInput);
  if (scores.length !== positive.length)
    throw new RangeError(`${scores.length} scores but ${positive.length} labels`);
  const n = scores.length;
  let nPositive = 0;
  for (let i = 0; i < n; i++) if (positive[i]) nPositive++;
  const base = {
    objective: policy.objective,
    ...(policy.target !== undefined ? { target: policy.target } : {}),
    validationRows: n,
    validationPositives: nPositive,
  };
  if (policy.objective === 'fixed') {
    return {
      ...base,
      threshold: policy.value ?? DEFAULT_THRESHOLD,
      source: 'fixed',
      reached: true,
      precision: null,
      recall: null,
      f1: null,
    };
  }
  if (n === 0 || nPositive === 0 || nPositive === n) {
    const why =
      n === 0
        ? 'the validation split is empty'
        : `the validation split holds one class only (${n} rows, ${nPositive} positive)`;
    return {
      ...base,
      threshold: DEFAULT_THRESHOLD,
      source: 'fallback',
      reached: false,
      precision: null,
      recall: null,
      f1: null,
      warning: `threshold ${policy.objective}${policy.target !== undefined ? ` ${policy.target}` : ''}: ${why}; using ${DEFAULT_THRESHOLD}`,
    };
  }

  interface Step {
    threshold: number;
    precision: number;
    recall: number;
    f1: number;
  }
  let best: Step | null = null;
  // Fallback for an unreachable precision target: the most precise step (then the most recall).
  let mostPrecise: Step | null = null;
  sweepThresholds(scores, positive, (threshold, tp, fp) => {
    const precision = tp / (tp + fp);
    const recall = tp / nPositive;
    const step = { threshold, precision, recall, f1: f1Of(precision, recall) };
    // The sweep runs from high to low thresholds, so a strict `>` keeps the higher one on ties.
    switch (policy.objective) {
      case 'f1':
        if (best === null || step.f1 > best.f1 + SLACK) best = step;
        return false;
      case 'precision':
        if (step.precision >= policy.target! - SLACK && (best === null || step.recall > best.recall))
          best = step;
        if (mostPrecise === null || step.precision > mostPrecise.precision + SLACK) mostPrecise = step;
        return false;
      case 'recall':
        if (step.recall >= policy.target! - SLACK) {
          best = step;
          return true;
        }
        return false;
    }
  });
  const chosen = (best ?? mostPrecise) as Step | null;
  if (chosen === null) throw new Error('unreachable: a sweep over both classes has steps');
  const reached = best !== null;
  const decision: ThresholdDecision = {
    ...base,
    threshold: chosen.threshold,
    source: 'validation',
    reached,
    precision: chosen.precision,
    recall: chosen.recall,
    f1: chosen.f1,
  };
  if (!reached)
    decision.warning = `threshold: no threshold reaches precision ${policy.target} on ${n} validation rows; using ${chosen.threshold} (the most precise: precision ${chosen.precision.toFixed(4)}, recall ${chosen.recall.toFixed(4)})`;
  return decision;
}

/** One line for listings: "0.3124 (max f1 on 1200 validation rows: P 0.61 R 0.72)". */
export function describeThreshold(d: ThresholdDecision): string {
  const t = Number(d.threshold.toPrecision(4));
  if (d.source === 'fixed') return `${t} (fixed by policy)`;
  if (d.source === 'fallback') return `${t} (default: ${d.warning ?? 'no usable validation split'})`;
  const goal =
    d.objective === 'f1' ? 'max f1' : `${d.objective} ≥ ${d.target}${d.reached ? '' : ' NOT reached'}`;
  return `${t} (${goal} on ${d.validationRows} validation rows: P ${d.precision!.toFixed(3)} R ${d.recall!.toFixed(3)})`;
}
