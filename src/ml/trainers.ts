import { z } from 'zod';
import { TrainingDataError } from './errors';
import type { LinearModel } from './linear-model';
import type { Matrix } from './matrix';

// Hot loops use these module-level aliases instead of `Math.x`/`Number.x`: under Jest's vm sandbox every
// global lookup goes through an interceptor and made training ~10x slower. Harmless elsewhere.
const isFiniteNumber = Number.isFinite;

/** Options shared by the built-in trainers. All have defaults; see README for tuning notes. */
export const TrainOptionsSchema = z.object({
  /** L2 penalty (l2 / 2) * ||W||^2 added to the mean loss; biases are not penalised. */
  l2: z.number().min(0).default(1e-4),
  /**
   * Per-class loss weights. 'balanced' gives class c the weight n / (k * n_c), so every class
   * contributes equally; a record sets weights by class name (unlisted classes get 1).
   */
  classWeights: z.union([z.literal('balanced'), z.record(z.string(), z.number().positive())]).optional(),
  maxEpochs: z.number().int().min(1).default(200),
  /** Adam step size. It halves after every epoch whose monitored loss does not improve. */
  learningRate: z.number().positive().default(0.01),
  batchSize: z.number().int().min(1).default(256),
  /** Stop after this many consecutive epochs without an improvement larger than minDelta. */
  earlyStoppingPatience: z.number().int().min(1).default(3),
  minDelta: z.number().min(0).default(1e-4),
  /** Seeds the per-epoch shuffle: the same data, options and seed give bit-identical weights. */
  seed: z.number().int().default(0),
  /**
   * `lbfgs`: full-batch L-BFGS to the objective's minimum; `adam`: minibatch Adam with early stopping
   * (the options above); `auto`: L-BFGS while the training matrix has at most FULL_BATCH_MAX_VALUES
   * values, Adam beyond (each L-BFGS iteration is a full pass over the matrix).
   */
  solver: z.enum(['auto', 'lbfgs', 'adam']).default('auto'),
  /** L-BFGS: iteration cap. */
  maxIterations: z.number().int().min(1).default(1000),
  /** L-BFGS: converged when no gradient component exceeds this. */
  gradientTolerance: z.number().positive().default(1e-7),
});
export type TrainOptions = z.infer<typeof TrainOptionsSchema>;

/**
 * Largest training matrix (rows × columns) that `solver: 'auto'` fits with full-batch L-BFGS: 2²⁵
 * doubles, 256 MB (e.g. 1.6M rows × 20 columns). Larger data goes to minibatch Adam. Measured on
 * 1M × 20 synthetic logistic data: L-BFGS 9.7 s (7 iterations) vs Adam 19.4 s (11 epochs), same
 * objective to 4e-5 relative; on 200k × 20: 1.1 s vs 2.3 s.
 */
export const FULL_BATCH_MAX_VALUES = 1 << 25;
export type TrainOptionsInput = z.input<typeof TrainOptionsSchema>;

/** Labelled design matrix: `y[i]` is the index into `classes` of row `i` of `X`. */
export interface LabeledMatrix {
  /** Row-major, nRows x nCols (see matrix.ts). */
  X: Matrix;
  y: Int32Array;
}

/**
 * Input to a Trainer. X is a flat row-major Matrix (pipeline output), not an array of rows: one
 * buffer for 1M rows instead of 1M objects.
 */
export interface TrainInput extends LabeledMatrix {
  classes: string[];
  /** Held-out rows (e.g. the later part of a temporal split) used for early stopping. */
  validation?: LabeledMatrix;
  options?: TrainOptionsInput;
}

/** What a trainer returns: a serialisable linear model (see LinearModelSchema). */
export type TrainedModel = LinearModel;

/**
 * A training algorithm. Implementations must be pure and deterministic for a given input (seeded
 * randomness only), because they run inside retried Temporal activities.
 */
export interface Trainer {
  name: string;
  train(input: TrainInput): TrainedModel;
}

function checkMatrix(label: string, m: LabeledMatrix, nClasses: number): void {
  const { X, y } = m;
  if (!(X.data instanceof Float64Array) || X.data.length !== X.nRows * X.nCols) {
    throw new TrainingDataError(
      `${label}: X.data has ${X.data.length} values, expected nRows * nCols = ${X.nRows * X.nCols}`,
    );
  }
  if (y.length !== X.nRows) {
    throw new TrainingDataError(`${label}: X has ${X.nRows} rows but y has ${y.length} labels`);
  }
  for (let i = 0; i < X.data.length; i++) {
    if (!isFiniteNumber(X.data[i])) {
      const row = Math.floor(i / X.nCols);
      throw new TrainingDataError(
        `${label}: X has a non-finite value (${X.data[i]}) at row ${row}, column ${i - row * X.nCols}`,
      );
    }
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= nClasses) {
      throw new TrainingDataError(`${label}: y[${i}] = ${y[i]} is not a class index in [0, ${nClasses})`);
    }
  }
}

/**
 * Checks a TrainInput and throws TrainingDataError with a specific message for anything training
 * cannot recover from. Called by every built-in trainer; custom trainers should call it too.
 */
export function validateTrainInput(input: TrainInput, opts: { exactClasses?: number } = {}): void {
  const { classes } = input;
  if (classes.length < 2)
    throw new TrainingDataError(`need at least two classes, got ${JSON.stringify(classes)}`);
  if (new Set(classes).size !== classes.length)
    throw new TrainingDataError(`duplicate class names in ${JSON.stringify(classes)}`);
  if (opts.exactClasses !== undefined && classes.length !== opts.exactClasses) {
    throw new TrainingDataError(
      `this trainer needs exactly ${opts.exactClasses} classes, got ${classes.length}`,
    );
  }
  if (input.X.nRows === 0) throw new TrainingDataError('no training rows');
  if (input.X.nCols === 0) throw new TrainingDataError('training rows have no feature columns');
  checkMatrix('training data', input, classes.length);
  const present = new Set(input.y);
  if (present.size < 2) {
    throw new TrainingDataError(
      `training labels contain a single class (${classes[input.y[0]]}); need at least two`,
    );
  }
  if (input.validation) {
    if (input.validation.X.nCols !== input.X.nCols) {
      throw new TrainingDataError(
        `validation has ${input.validation.X.nCols} columns, training has ${input.X.nCols}`,
      );
    }
    checkMatrix('validation data', input.validation, classes.length);
  }
}

/** Resolves the classWeights option to one weight per class index. */
export function resolveClassWeights(
  option: TrainOptions['classWeights'],
  classes: string[],
  y: Int32Array,
): Float64Array {
  const weights = new Float64Array(classes.length).fill(1);
  if (option === undefined) return weights;
  if (option === 'balanced') {
    const counts = new Float64Array(classes.length);
    for (let i = 0; i < y.length; i++) counts[y[i]]++;
    for (let k = 0; k < classes.length; k++) {
      // A class absent from training gets weight 1; it has no rows, so the weight is never used.
      weights[k] = counts[k] > 0 ? y.length / (classes.length * counts[k]) : 1;
    }
    return weights;
  }
  for (const name of Object.keys(option)) {
    if (!classes.includes(name)) throw new TrainingDataError(`classWeights names unknown class "${name}"`);
  }
  classes.forEach((name, k) => {
    if (Object.hasOwn(option, name)) weights[k] = option[name];
  });
  return weights;
}
