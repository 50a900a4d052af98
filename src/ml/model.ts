import { z } from 'zod';
import type { Features, LabeledRow } from '../schemas/records';
import { TrainingDataError } from './errors';
import type { PipelineSpec, TransformCounters } from './feature-pipeline';
import {
  FittedPipelineSchema,
  fitPipeline,
  pipelineWarnings,
  transform,
  transformBatch,
} from './feature-pipeline';
import { checkRowsPerClass, MIN_ROWS_PER_CLASS, validateLabels } from './labels';
import type { LinearModel } from './linear-model';
import { LinearModelSchema, predictProba } from './linear-model';
import { logisticTrainer } from './logistic';
import type { EvaluationReport } from './metrics';
import { evaluate } from './metrics';
import { softmaxTrainer } from './softmax';
import type { Trainer, TrainOptionsInput } from './trainers';

/**
 * Everything needed to score: the fitted pipeline and the model over its outputs, stored together so
 * a model can never be served with a different feature transform than it was trained with.
 */
export const ModelArtifactSchema = z
  .object({
    pipeline: FittedPipelineSchema,
    model: LinearModelSchema,
    classes: z.array(z.string().min(1)).min(2),
    /** Binary only; defaults to classes[1]. */
    positiveClass: z.string().optional(),
    /** Binary only; predict positiveClass when its probability >= threshold (default 0.5). */
    threshold: z.number().min(0).max(1).optional(),
  })
  .superRefine((a, ctx) => {
    if (JSON.stringify(a.classes) !== JSON.stringify(a.model.classes)) {
      ctx.addIssue({ code: 'custom', message: 'artifact classes must equal model classes, in order' });
    }
    if (a.pipeline.nOutputs !== a.model.nFeatures) {
      ctx.addIssue({
        code: 'custom',
        message: `pipeline has ${a.pipeline.nOutputs} outputs, model expects ${a.model.nFeatures}`,
      });
    }
    const binary = a.classes.length === 2;
    if (!binary && (a.positiveClass !== undefined || a.threshold !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'positiveClass/threshold apply to binary models only' });
    }
    if (a.positiveClass !== undefined && !a.classes.includes(a.positiveClass)) {
      ctx.addIssue({ code: 'custom', message: `positiveClass "${a.positiveClass}" is not a class` });
    }
  });
export type ModelArtifact = z.infer<typeof ModelArtifactSchema>;

/** A served answer: the label and every class probability. */
export const ScoreResultSchema = z.object({
  predictedLabel: z.string(),
  scores: z.record(z.string(), z.number()),
});
export type ScoreResult = z.infer<typeof ScoreResultSchema>;

/** The fields that turn class probabilities into a decision (shared by linear and onnx artifacts). */
export type DecisionRule = Pick<ModelArtifact, 'classes' | 'positiveClass' | 'threshold'>;

/** The index in `artifact.classes` of the class to predict from its probabilities. */
export function predictedIndex(artifact: DecisionRule, probabilities: Float64Array): number {
  const { classes } = artifact;
  let predicted = 0;
  if (classes.length === 2) {
    const positive = artifact.positiveClass === undefined ? 1 : classes.indexOf(artifact.positiveClass);
    predicted = probabilities[positive] >= (artifact.threshold ?? 0.5) ? positive : 1 - positive;
  } else {
    // Ties go to the earlier class, the same rule `evaluate` uses.
    for (let k = 1; k < probabilities.length; k++)
      if (probabilities[k] > probabilities[predicted]) predicted = k;
  }
  return predicted;
}

function decide(artifact: ModelArtifact, probabilities: Float64Array): ScoreResult {
  const { classes } = artifact;
  return {
    predictedLabel: classes[predictedIndex(artifact, probabilities)],
    // fromEntries defines own properties, so a class named "__proto__" is still a plain key.
    scores: Object.fromEntries(classes.map((c, k) => [c, probabilities[k]])),
  };
}

/**
 * Scores one feature record. This is the serving path AND the evaluation path (see `scoreBatch`,
 * `evaluateArtifact`): both go through the same `transform`, so offline metrics describe what serving does.
 */
export function scoreFeatures(
  artifact: ModelArtifact,
  features: Features,
  counters?: TransformCounters,
): ScoreResult {
  return decide(artifact, predictProba(artifact.model, transform(artifact.pipeline, features, counters)));
}

/**
 * `scoreFeatures` for one artifact into reused buffers: the same `transform`, `predictProba` and
 * decision, so the same numbers to the bit, without allocating per record (serving scores thousands
 * of records a second on one core, and each allocation is garbage to collect).
 */
export class ArtifactScorer {
  /** The last scored record's class probabilities (`artifact.classes` order), until the next call. */
  readonly probabilities: Float64Array;
  private readonly input: Float64Array;

  constructor(readonly artifact: ModelArtifact) {
    this.input = new Float64Array(artifact.pipeline.nOutputs);
    this.probabilities = new Float64Array(artifact.classes.length);
  }

  /** Scores one record; returns the index in `artifact.classes` of the predicted class. */
  score(features: Features, counters?: TransformCounters): number {
    const { artifact } = this;
    transform(artifact.pipeline, features, counters, this.input);
    predictProba(artifact.model, this.input, this.probabilities);
    return predictedIndex(artifact, this.probabilities);
  }

  /** What `scoreFeatures` returns for the last scored record. */
  result(): ScoreResult {
    return decide(this.artifact, this.probabilities);
  }
}

/** Scores many records (same semantics as `scoreFeatures`, one transform call per row). */
export function scoreBatch(
  artifact: ModelArtifact,
  rows: readonly Features[],
  counters?: TransformCounters,
): ScoreResult[] {
  return rows.map((features) => scoreFeatures(artifact, features, counters));
}

/** The part of a LabeledRow training needs (full LabeledRows are accepted). */
export type TrainingRow = Pick<LabeledRow, 'features' | 'label'> & Partial<Pick<LabeledRow, 'slices'>>;

export interface TrainArtifactInput {
  rows: readonly TrainingRow[];
  /** Held-out rows for early stopping; never used to fit the pipeline. */
  validation?: readonly TrainingRow[];
  /** Default: logisticTrainer for two classes, softmaxTrainer for more. */
  trainer?: Trainer;
  options?: TrainOptionsInput;
  spec?: PipelineSpec;
  /** Binary only. Default: the second class in sorted order. Stored as classes[1]. */
  positiveClass?: string;
  threshold?: number;
  /** Fewest training rows per class (default {@link MIN_ROWS_PER_CLASS}). */
  minRowsPerClass?: number;
}

/**
 * Fits the pipeline on the training rows, trains, and packages the artifact. The ONE way models are
 * built, so training, evaluation and serving share a pipeline by construction.
 *
 * Classes are the sorted distinct training labels; for binary problems the positive class is moved to
 * index 1 (the logistic model's output).
 *
 * @throws TrainingDataError on empty data, labels that are not non-empty strings, a single class, fewer
 * than `minRowsPerClass` rows of a class, or validation labels unseen in training.
 */
export function trainArtifact(input: TrainArtifactInput): ModelArtifact {
  const { rows } = input;
  if (rows.length === 0) throw new TrainingDataError('no training rows');
  validateLabels(rows);
  if (input.validation) validateLabels(input.validation, 'validation');
  let classes = [...new Set(rows.map((r) => r.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length < 2)
    throw new TrainingDataError(`training labels contain a single class (${classes[0]})`);
  if (input.positiveClass !== undefined) {
    if (classes.length !== 2) throw new TrainingDataError('positiveClass applies to binary problems only');
    if (!classes.includes(input.positiveClass)) {
      throw new TrainingDataError(`positiveClass "${input.positiveClass}" is not a training label`);
    }
    classes = [classes.find((c) => c !== input.positiveClass)!, input.positiveClass];
  }
  checkRowsPerClass(
    rows.map((r) => r.label),
    input.minRowsPerClass ?? MIN_ROWS_PER_CLASS,
  );
  const index = new Map(classes.map((c, k) => [c, k]));
  const unseen = [...new Set((input.validation ?? []).map((r) => r.label).filter((l) => !index.has(l)))];
  if (unseen.length > 0) {
    throw new TrainingDataError(`validation labels not present in training: ${unseen.sort().join(', ')}`);
  }

  const pipeline = fitPipeline(
    rows.map((r) => r.features),
    input.spec,
  );
  const encode = (set: readonly TrainingRow[]) => ({
    X: transformBatch(
      pipeline,
      set.map((r) => r.features),
    ),
    y: Int32Array.from(set, (r) => index.get(r.label)!),
  });
  const trainer = input.trainer ?? (classes.length === 2 ? logisticTrainer : softmaxTrainer);
  let model: LinearModel = trainer.train({
    ...encode(rows),
    classes,
    validation: input.validation && input.validation.length > 0 ? encode(input.validation) : undefined,
    options: input.options,
  });
  const warnings = pipelineWarnings(pipeline);
  if (warnings.length > 0 && model.training) {
    model = {
      ...model,
      training: { ...model.training, warnings: [...(model.training.warnings ?? []), ...warnings] },
    };
  }
  const artifact: ModelArtifact = { pipeline, model, classes };
  if (classes.length === 2) {
    artifact.positiveClass = classes[1];
    if (input.threshold !== undefined) artifact.threshold = input.threshold;
  }
  // Validate the trainer's output (custom trainers included) before anyone saves or serves it.
  return ModelArtifactSchema.parse(artifact);
}

/** Scores labelled rows with `scoreFeatures` and evaluates them, passing row slices through. */
export function evaluateArtifact(
  artifact: ModelArtifact,
  rows: readonly TrainingRow[],
  counters?: TransformCounters,
): EvaluationReport {
  const scored = rows.map((r) => scoreFeatures(artifact, r.features, counters).scores);
  const binary = artifact.classes.length === 2;
  return evaluate({
    yTrue: rows.map((r) => r.label),
    scores: scored,
    classes: artifact.classes,
    positiveClass: binary ? (artifact.positiveClass ?? artifact.classes[1]) : undefined,
    threshold: binary ? (artifact.threshold ?? 0.5) : undefined,
    slices: rows.some((r) => r.slices) ? rows.map((r) => r.slices) : undefined,
  });
}

/** Validates an artifact loaded from storage (throws a ZodError describing what is wrong). */
export function parseArtifact(json: unknown): ModelArtifact {
  return ModelArtifactSchema.parse(json);
}
