import { minimizeLbfgs } from './lbfgs';
import type { LinearModel } from './linear-model';
import type { LabeledMatrix, TrainInput, TrainOptions } from './trainers';
import { resolveClassWeights } from './trainers';

// Hot loops use these module-level aliases instead of `Math.x`: under Jest's vm sandbox every global
// lookup goes through an interceptor and made training ~10x slower. Harmless elsewhere.
const { abs, exp, log, log1p, max } = Math;

/**
 * The objective both solvers minimise, for weights `W` (nOut × d, row-major) and biases `b`:
 *
 *   (1/n) Σᵢ wᵢ · ℓᵢ  +  (l2 / 2) · ‖W‖²
 *
 * ℓᵢ the log loss of row i, wᵢ its class weight, biases not penalised. (This is the objective whose
 * gradient the minibatch Adam loop follows, batch by batch.)
 */
export interface LinearProblem {
  data: Float64Array;
  y: Int32Array;
  n: number;
  d: number;
  nOut: number;
  softmax: boolean;
  classWeight: Float64Array;
  l2: number;
}

/** The problem of `input` with the given head and resolved options. */
export function linearProblem(
  input: TrainInput,
  head: 'logistic' | 'softmax',
  options: Pick<TrainOptions, 'classWeights' | 'l2'>,
): LinearProblem {
  return {
    data: input.X.data,
    y: input.y,
    n: input.X.nRows,
    d: input.X.nCols,
    nOut: head === 'logistic' ? 1 : input.classes.length,
    softmax: head === 'softmax',
    classWeight: resolveClassWeights(options.classWeights, input.classes, input.y),
    l2: options.l2,
  };
}

/**
 * Objective value at θ = [W, b] (W row-major nOut × d, then nOut biases); with `grad`, also writes the
 * gradient there. Also returns the weighted mean log loss without the penalty, for the summary.
 */
export function linearObjective(
  p: LinearProblem,
  theta: Float64Array,
  grad?: Float64Array,
): { objective: number; meanLoss: number } {
  const { data, y, n, d, nOut, classWeight, l2 } = p;
  const biasAt = nOut * d;
  if (grad) grad.fill(0);
  const z = new Float64Array(nOut);
  let loss = 0;
  let weightSum = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i];
    const sw = classWeight[label];
    const offset = i * d;
    weightSum += sw;
    if (!p.softmax) {
      let s = theta[biasAt];
      for (let j = 0; j < d; j++) s += theta[j] * data[offset + j];
      const e = exp(-abs(s));
      loss += sw * (max(s, 0) - label * s + log1p(e));
      if (grad) {
        const g = sw * ((s >= 0 ? 1 / (1 + e) : e / (1 + e)) - label);
        for (let j = 0; j < d; j++) grad[j] += g * data[offset + j];
        grad[biasAt] += g;
      }
      continue;
    }
    let top = -Infinity;
    for (let k = 0; k < nOut; k++) {
      let s = theta[biasAt + k];
      const w = k * d;
      for (let j = 0; j < d; j++) s += theta[w + j] * data[offset + j];
      z[k] = s;
      if (s > top) top = s;
    }
    let total = 0;
    for (let k = 0; k < nOut; k++) total += exp(z[k] - top);
    loss += sw * (top + log(total) - z[label]);
    if (grad) {
      for (let k = 0; k < nOut; k++) {
        const g = sw * (exp(z[k] - top) / total - (k === label ? 1 : 0));
        const w = k * d;
        for (let j = 0; j < d; j++) grad[w + j] += g * data[offset + j];
        grad[biasAt + k] += g;
      }
    }
  }
  let penalty = 0;
  for (let q = 0; q < biasAt; q++) penalty += theta[q] * theta[q];
  if (grad) {
    for (let q = 0; q < grad.length; q++) grad[q] /= n;
    for (let q = 0; q < biasAt; q++) grad[q] += l2 * theta[q];
  }
  return { objective: loss / n + (l2 / 2) * penalty, meanLoss: weightSum > 0 ? loss / weightSum : 0 };
}

/** θ = [W, b] of a linear model (for {@link linearObjective}). */
export function thetaOf(model: Pick<LinearModel, 'weights' | 'bias'>): Float64Array {
  return Float64Array.from([...model.weights.flat(), ...model.bias]);
}

/** The weighted mean log loss of θ on a held-out set. */
function heldOutLoss(p: LinearProblem, theta: Float64Array, set: LabeledMatrix): number {
  return linearObjective({ ...p, data: set.X.data, y: set.y, n: set.X.nRows, l2: 0 }, theta).meanLoss;
}

/**
 * Full-batch L-BFGS on the whole training matrix, to the objective's minimum (it is convex and, with
 * l2 > 0, strictly so in W). Validation rows, when given, are only scored for the summary: there is no
 * epoch to choose, so nothing to stop early on.
 */
export function fitLinearFullBatch(
  input: TrainInput,
  head: 'logistic' | 'softmax',
  trainerName: string,
  options: TrainOptions,
): LinearModel {
  const p = linearProblem(input, head, options);
  const { d, nOut } = p;
  const result = minimizeLbfgs(
    (theta, grad) => linearObjective(p, theta, grad).objective,
    new Float64Array(nOut * d + nOut),
    { maxIterations: options.maxIterations, gradientTolerance: options.gradientTolerance },
  );
  const theta = result.x;
  if (!theta.every(Number.isFinite)) {
    throw new Error(`${trainerName}: L-BFGS diverged to non-finite weights; raise l2`);
  }
  const weights: number[][] = [];
  for (let k = 0; k < nOut; k++) weights.push(Array.from(theta.subarray(k * d, (k + 1) * d)));
  const validation = input.validation && input.validation.X.nRows > 0 ? input.validation : undefined;
  return {
    kind: head,
    classes: [...input.classes],
    nFeatures: d,
    weights,
    bias: Array.from(theta.subarray(nOut * d)),
    training: {
      trainer: trainerName,
      nTrain: p.n,
      nValidation: validation ? validation.X.nRows : 0,
      epochs: result.iterations,
      bestEpoch: result.iterations,
      trainLoss: linearObjective(p, theta).meanLoss,
      validationLoss: validation ? heldOutLoss(p, theta, validation) : null,
      stoppedEarly: false,
      solver: 'lbfgs',
      objective: result.f,
      converged: result.converged,
    },
  };
}
