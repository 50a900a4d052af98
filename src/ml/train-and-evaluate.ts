/**
 * Rows in, a packaged model and its held-out metrics out (pure: no I/O, no clock). Shared by the
 * `loopkeeper train` command and the retraining activities so a model trained either way is split,
 * fitted and evaluated identically.
 */
import type { ModelManifest } from '../schemas/manifests';
import type { TrainingRow, ModelArtifact } from './model';
import { evaluateArtifact, ModelArtifactSchema, scoreFeatures, trainArtifact } from './model';
import type { EvaluationReport } from './metrics';
import type { PipelineSpec } from './feature-pipeline';
import { validateLabels } from './labels';
import { splitTrainingRows } from './training-split';
import type { Trainer, TrainOptionsInput } from './trainers';
import { logisticTrainer } from './logistic';
import { softmaxTrainer } from './softmax';
import type { ThresholdDecision, ThresholdPolicyInput } from './threshold';
import { pickThreshold } from './threshold';

/** A labelled row with the timestamp the temporal split needs. */
export type TimedTrainingRow = TrainingRow & { timestamp: string };

/** Arguments of {@link trainAndEvaluate}. */
export interface TrainAndEvaluateInput {
  rows: readonly TimedTrainingRow[];
  /** Latest share of rows held out as the test set (default 0.2). Never seen by fitting or early stopping. */
  testFraction?: number;
  /** Latest share of the remaining rows used for early stopping (default 0.1; 0 disables). */
  validationFraction?: number;
  trainer?: Trainer;
  options?: TrainOptionsInput;
  spec?: PipelineSpec;
  positiveClass?: string;
  /** A fixed decision threshold (binary); shorthand for `thresholdPolicy: { objective: 'fixed', value }`. */
  threshold?: number;
  /** How the binary decision threshold is picked on the validation split (default: maximise F1). */
  thresholdPolicy?: ThresholdPolicyInput;
  /** Fewest training rows per class (default MIN_ROWS_PER_CLASS, see labels.ts). */
  minRowsPerClass?: number;
}

/** Sizes and boundaries of the split, for the manifest's lineage. */
export interface SplitSummary {
  trainRows: number;
  validationRows: number;
  testRows: number;
  /** First timestamp of the test period (ISO). */
  testFrom: string;
  /** First timestamp of the early-stopping period, when there is one. */
  validationFrom: string | null;
}

/** Manifest fields training can fill in; the caller adds createdAt, trainingData and codeVersion. */
export type TrainedManifestFields = Pick<ModelManifest, 'trainer' | 'metrics' | 'lineage'>;

/** What {@link trainAndEvaluate} returns. */
export interface TrainAndEvaluateResult {
  artifact: ModelArtifact;
  manifest: TrainedManifestFields;
  /** Flat metrics on the test set (the same record as manifest.metrics). */
  metrics: Record<string, number>;
  /** The full evaluation report on the test set (per class, calibration, slices). */
  report: EvaluationReport;
  split: SplitSummary;
  /** How the decision threshold was picked (binary models; null for multiclass). */
  threshold: ThresholdDecision | null;
}

/**
 * Flattens an evaluation report into the manifest's metric record (names as the promotion gate uses
 * them). Binary `f1`/`precision`/`recall` are the positive class's; multiclass ones are macro averages.
 * Metrics that are undefined for the data (AUC with one class present) are left out, not set to 0.
 */
export function flattenMetrics(report: EvaluationReport): Record<string, number> {
  const positive =
    report.positiveClass === null ? undefined : report.perClass.find((c) => c.class === report.positiveClass);
  const metrics: Record<string, number> = {
    accuracy: report.accuracy,
    f1: positive ? positive.f1 : report.macroF1,
    precision: positive ? positive.precision : report.macroPrecision,
    recall: positive ? positive.recall : report.macroRecall,
    macro_f1: report.macroF1,
    macro_precision: report.macroPrecision,
    macro_recall: report.macroRecall,
    log_loss: report.logLoss,
    brier: report.brier,
    ece: report.ece,
    test_rows: report.n,
  };
  if (report.rocAuc !== null) metrics.roc_auc = report.rocAuc;
  if (report.prAuc !== null) metrics.pr_auc = report.prAuc;
  return metrics;
}

/**
 * Splits by time (train < validation < test), fits the pipeline and model on the training part only,
 * early-stops on the validation part and evaluates on the test part through `scoreFeatures` — the
 * serving path — so the metrics describe what serving will do.
 *
 * @throws SplitError when a split would be empty; TrainingDataError when the data cannot be learned.
 */
export function trainAndEvaluate(input: TrainAndEvaluateInput): TrainAndEvaluateResult {
  // Before the split: a bad label should fail at once, naming the row, not after training.
  validateLabels(input.rows);
  // The same split the training matrix of an external trainer is cut from (training-split.ts).
  const { train, validation, test, testFrom, validationFrom } = splitTrainingRows(input.rows, input);
  const labels = new Set(train.map((r) => r.label));
  const trainer = input.trainer ?? (labels.size === 2 ? logisticTrainer : softmaxTrainer);
  const fitted = trainArtifact({
    rows: train,
    validation,
    trainer,
    options: input.options,
    spec: input.spec,
    positiveClass: input.positiveClass,
    minRowsPerClass: input.minRowsPerClass,
  });
  const { artifact, threshold } = chooseArtifactThreshold(
    fitted,
    validation,
    input.threshold !== undefined ? { objective: 'fixed', value: input.threshold } : input.thresholdPolicy,
  );
  // Test rows with a label the model has never seen cannot be scored against it: evaluate the rest and
  // say how many were dropped.
  const known = new Set(artifact.classes);
  const scorable = test.filter((r) => known.has(r.label));
  const report = evaluateArtifact(artifact, scorable);
  const metrics = { ...flattenMetrics(report), train_rows: train.length };
  const split: SplitSummary = {
    trainRows: train.length,
    validationRows: validation.length,
    testRows: scorable.length,
    testFrom,
    validationFrom,
  };
  return {
    artifact,
    manifest: {
      trainer: trainer.name,
      metrics,
      lineage: {
        split: { kind: 'temporal', ...split, testRowsWithUnseenLabels: test.length - scorable.length },
        training: artifact.model.training ?? null,
        ...(threshold ? { threshold } : {}),
      },
    },
    metrics,
    report,
    split,
    threshold,
  };
}

/**
 * The threshold stage: scores the validation rows through the serving path and sets the binary
 * artifact's threshold by the policy (a warning, e.g. an unreachable target, goes into the model's
 * training warnings). Multiclass artifacts are returned unchanged.
 */
export function chooseArtifactThreshold(
  artifact: ModelArtifact,
  validation: readonly TrainingRow[],
  policy: ThresholdPolicyInput = {},
): { artifact: ModelArtifact; threshold: ThresholdDecision | null } {
  if (artifact.classes.length !== 2) return { artifact, threshold: null };
  const positiveClass = artifact.positiveClass ?? artifact.classes[1];
  const scores = new Float64Array(validation.length);
  // Score at threshold 0.5: only the probabilities matter here, not the decision.
  const probe: ModelArtifact = { ...artifact, threshold: undefined };
  validation.forEach((r, i) => {
    scores[i] = scoreFeatures(probe, r.features).scores[positiveClass];
  });
  const decision = pickThreshold(
    scores,
    validation.map((r) => r.label === positiveClass),
    policy,
  );
  let model = artifact.model;
  if (decision.warning && model.training) {
    model = {
      ...model,
      training: { ...model.training, warnings: [...(model.training.warnings ?? []), decision.warning] },
    };
  }
  return {
    artifact: ModelArtifactSchema.parse({ ...artifact, model, threshold: decision.threshold }),
    threshold: decision,
  };
}
