import { z } from 'zod';

// Hot loops use these module-level aliases instead of `Math.x`/`Number.x`: under Jest's vm sandbox every
// global lookup goes through an interceptor and made training ~10x slower. Harmless elsewhere.
const { exp } = Math;

/** What happened during training; kept with the model for audit and debugging. */
export const TrainingSummarySchema = z.object({
  trainer: z.string(),
  nTrain: z.number().int().nonnegative(),
  nValidation: z.number().int().nonnegative(),
  /** Epochs actually run. */
  epochs: z.number().int().nonnegative(),
  /** Epoch whose weights were kept (the best validation loss, or the last epoch without validation). */
  bestEpoch: z.number().int().nonnegative(),
  /** Mean (class-weighted) training log loss during the kept epoch, without the L2 term. */
  trainLoss: z.number(),
  /** Mean (class-weighted) validation log loss of the kept weights; null without validation data. */
  validationLoss: z.number().nullable(),
  stoppedEarly: z.boolean(),
  /** Which solver trained it (absent on models trained before there was a choice: Adam). */
  solver: z.enum(['adam', 'lbfgs']).optional(),
  /** L-BFGS: the final regularised objective (weighted mean log loss + l2/2 ‖W‖²). */
  objective: z.number().optional(),
  /** L-BFGS: whether the gradient tolerance was met. */
  converged: z.boolean().optional(),
  /** What training could not learn well, e.g. a feature of numbers logged as text (only when any). */
  warnings: z.array(z.string()).optional(),
});
export type TrainingSummary = z.infer<typeof TrainingSummarySchema>;

/**
 * A linear classifier as plain JSON, over the feature pipeline's output columns.
 *
 * - `logistic`: exactly two classes, one weight row; the sigmoid gives P(classes[1]).
 * - `softmax`: one weight row and bias per class; probabilities are the softmax of the logits.
 *
 * Anything that can produce such coefficients (our trainers, or an external trainer on another task
 * queue) produces a model that serving can score without knowing where it came from.
 */
export const LinearModelSchema = z
  .object({
    kind: z.enum(['logistic', 'softmax']),
    classes: z.array(z.string().min(1)).min(2),
    nFeatures: z.number().int().nonnegative(),
    /** weights[k][j]: output k, input column j. */
    weights: z.array(z.array(z.number())),
    bias: z.array(z.number()),
    training: TrainingSummarySchema.optional(),
  })
  .superRefine((m, ctx) => {
    const nOut = m.kind === 'logistic' ? 1 : m.classes.length;
    if (m.kind === 'logistic' && m.classes.length !== 2) {
      ctx.addIssue({ code: 'custom', message: 'a logistic model has exactly two classes' });
    }
    if (new Set(m.classes).size !== m.classes.length)
      ctx.addIssue({ code: 'custom', message: 'duplicate classes' });
    if (m.weights.length !== nOut || m.bias.length !== nOut) {
      ctx.addIssue({ code: 'custom', message: `expected ${nOut} weight rows and biases` });
    }
    if (m.weights.some((row) => row.length !== m.nFeatures)) {
      ctx.addIssue({ code: 'custom', message: `every weight row needs ${m.nFeatures} values` });
    }
  });
export type LinearModel = z.infer<typeof LinearModelSchema>;

/** Numerically stable logistic function. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + exp(-z));
  const e = exp(z);
  return e / (1 + e);
}

/**
 * Class probabilities for one input vector, in `model.classes` order. With `out` (one slot per class)
 * they are written there and `out` is returned: serving scores into reused buffers, and both ways run
 * this same arithmetic, so the values are identical to the bit.
 *
 * @throws RangeError if `x` does not have `model.nFeatures` values or `out` has the wrong length.
 */
export function predictProba(
  model: LinearModel,
  x: ArrayLike<number>,
  out: Float64Array = new Float64Array(model.classes.length),
): Float64Array {
  if (x.length !== model.nFeatures) {
    throw new RangeError(`model expects ${model.nFeatures} features, got ${x.length}`);
  }
  if (out.length !== model.classes.length) {
    throw new RangeError(`model has ${model.classes.length} classes, got ${out.length} output slots`);
  }
  const { weights, bias } = model;
  if (model.kind === 'logistic') {
    const p = sigmoid(logit(weights[0], bias[0], x));
    out[0] = 1 - p;
    out[1] = p;
    return out;
  }
  // Subtract the max logit so exp() cannot overflow.
  let max = -Infinity;
  for (let k = 0; k < out.length; k++) {
    out[k] = logit(weights[k], bias[k], x);
    max = Math.max(max, out[k]);
  }
  let total = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = exp(out[k] - max);
    total += out[k];
  }
  for (let k = 0; k < out.length; k++) out[k] /= total;
  return out;
}

function logit(row: readonly number[], bias: number, x: ArrayLike<number>): number {
  let z = bias;
  for (let j = 0; j < row.length; j++) z += row[j] * x[j];
  return z;
}
