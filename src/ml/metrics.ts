import { z } from 'zod';

// Hot loops use these module-level aliases instead of `Math.x`/`Number.x`: under Jest's vm sandbox every
// global lookup goes through an interceptor and made training ~10x slower. Harmless elsewhere.
const { abs, floor, log, max, min } = Math;
const hasOwn = Object.hasOwn;
const isFiniteNumber = Number.isFinite;

/** Probabilities are clipped to [EPS, 1 - EPS] in log loss so one confident miss gives ~34.5, not Infinity. */
export const LOG_LOSS_EPSILON = 1e-15;
/** Equal-width bins used for expected calibration error and the reliability table. */
export const CALIBRATION_BINS = 10;

const nullableMetric = z.number().nullable();

export const ClassMetricsSchema = z.object({
  class: z.string(),
  /** 0 when the class was never predicted (no division by zero). */
  precision: z.number(),
  /** 0 when the class never occurs in yTrue. */
  recall: z.number(),
  f1: z.number(),
  /** Rows whose true label is this class. */
  support: z.number().int().nonnegative(),
});
export type ClassMetrics = z.infer<typeof ClassMetricsSchema>;

export const CalibrationBinSchema = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number().int().nonnegative(),
  /** Mean predicted probability in the bin (null when empty). */
  meanPredicted: nullableMetric,
  /** Observed frequency of the event in the bin (null when empty). */
  observedRate: nullableMetric,
});
export type CalibrationBin = z.infer<typeof CalibrationBinSchema>;

export const ConfusionMatrixSchema = z.object({
  labels: z.array(z.string()),
  /** counts[i][j]: rows with true label labels[i] predicted as labels[j]. */
  counts: z.array(z.array(z.number().int().nonnegative())),
});
export type ConfusionMatrix = z.infer<typeof ConfusionMatrixSchema>;

/** Compact metrics for one slice value (small enough to keep hundreds in a report). */
export const SliceReportSchema = z.object({
  n: z.number().int().nonnegative(),
  accuracy: z.number(),
  macroF1: z.number(),
  rocAuc: nullableMetric,
  prAuc: nullableMetric,
  logLoss: z.number(),
  brier: z.number(),
});
export type SliceReport = z.infer<typeof SliceReportSchema>;

/** slice key (e.g. "country") → slice value (e.g. "DE") → metrics. */
export const SliceMetricsSchema = z.record(z.string(), z.record(z.string(), SliceReportSchema));
export type SliceMetrics = z.infer<typeof SliceMetricsSchema>;

/** Everything `evaluate` computes. Metrics that are undefined for the data (e.g. AUC with one class) are null. */
export const EvaluationReportSchema = z.object({
  n: z.number().int().positive(),
  classes: z.array(z.string()),
  /** Binary only: the class whose probability is thresholded. */
  positiveClass: z.string().nullable(),
  /** Binary only: predict positiveClass when P(positiveClass) >= threshold. */
  threshold: z.number().nullable(),
  accuracy: z.number(),
  /** Macro averages are over classes that occur in yTrue. */
  macroPrecision: z.number(),
  macroRecall: z.number(),
  macroF1: z.number(),
  perClass: z.array(ClassMetricsSchema),
  /** Binary: AUC of P(positive). Multiclass: macro one-vs-rest over classes with positives and negatives. */
  rocAuc: nullableMetric,
  /** Average precision. Binary: of the positive class. Multiclass: macro one-vs-rest over classes present. */
  prAuc: nullableMetric,
  logLoss: z.number(),
  /** Binary: mean (p - y)^2 of the positive class. Multiclass: mean over rows of sum_k (p_k - y_k)^2. */
  brier: z.number(),
  /**
   * Expected calibration error over CALIBRATION_BINS equal-width bins. Binary: P(positive) vs the
   * positive rate. Multiclass: top-label confidence vs accuracy.
   */
  ece: z.number(),
  calibration: z.array(CalibrationBinSchema),
  confusionMatrix: ConfusionMatrixSchema,
  slices: SliceMetricsSchema.optional(),
});
export type EvaluationReport = z.infer<typeof EvaluationReportSchema>;

/** Input of `evaluate`: one score record (class → probability) per true label. */
export const EvaluateInputSchema = z.object({
  yTrue: z.array(z.string()),
  scores: z.array(z.record(z.string(), z.number())),
  classes: z.array(z.string()).min(2),
  positiveClass: z.string().optional(),
  threshold: z.number().min(0).max(1).optional(),
  /** Per-row slice tags, parallel to yTrue. */
  slices: z.array(z.record(z.string(), z.string()).optional()).optional(),
});
export type EvaluateInput = z.infer<typeof EvaluateInputSchema>;

/** Threshold target: maximise recall at a precision floor, or precision at a recall floor. */
export const ThresholdTargetSchema = z.union([
  z.object({ targetPrecision: z.number().gt(0).max(1) }),
  z.object({ targetRecall: z.number().gt(0).max(1) }),
]);
export type ThresholdTarget = z.infer<typeof ThresholdTargetSchema>;

export const ThresholdChoiceSchema = z.object({
  /** Predict positive when score >= threshold. Always one of the observed scores. */
  threshold: z.number(),
  precision: z.number(),
  recall: z.number(),
  predictedPositives: z.number().int().nonnegative(),
});
export type ThresholdChoice = z.infer<typeof ThresholdChoiceSchema>;

// ---------------------------------------------------------------------------------------------------
// Ranking metrics

/**
 * ROC AUC via the Mann-Whitney statistic; tied scores get the average of their ranks, so a tie between
 * a positive and a negative counts as half a correctly ordered pair. Null when a class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let nPositive = 0;
  let positiveRankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (positive[order[t]]) {
        nPositive++;
        positiveRankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const nNegative = n - nPositive;
  if (nPositive === 0 || nNegative === 0) return null;
  return (positiveRankSum - (nPositive * (nPositive + 1)) / 2) / (nPositive * nNegative);
}

/**
 * Visits each distinct score from high to low with cumulative true/false positive counts; `visit`
 * returning true stops the sweep.
 */
export function sweepThresholds(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean>,
  visit: (threshold: number, truePositives: number, falsePositives: number) => boolean | void,
): void {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n;) {
    let j = i;
    // A threshold cannot separate tied scores, so a tie group is one step of the curve.
    while (j < n && scores[order[j]] === scores[order[i]]) {
      if (positive[order[j]]) tp++;
      else fp++;
      j++;
    }
    if (visit(scores[order[i]], tp, fp) === true) return;
    i = j;
  }
}

/**
 * PR AUC as average precision: sum over thresholds of (recall step) * precision, the step-wise
 * (non-interpolated) definition also used by scikit-learn. Null when there are no positives.
 */
export function averagePrecision(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number | null {
  let nPositive = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) nPositive++;
  if (nPositive === 0) return null;
  let ap = 0;
  let previousRecall = 0;
  sweepThresholds(scores, positive, (_t, tp, fp) => {
    const recall = tp / nPositive;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  });
  return ap;
}

/**
 * Picks a decision threshold for a binary score.
 *
 * - `{ targetPrecision }`: the threshold with the highest recall whose precision >= target (among
 *   equal recall, the highest threshold, i.e. the best precision).
 * - `{ targetRecall }`: the highest threshold whose recall >= target (best precision at that recall).
 *
 * Returns null when no threshold meets the target (or there are no positives).
 */
export function chooseThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<boolean>,
  target: ThresholdTarget,
): ThresholdChoice | null {
  const parsed = ThresholdTargetSchema.parse(target);
  if (scores.length !== labels.length)
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  let nPositive = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) nPositive++;
  if (nPositive === 0) return null;
  // Tolerance so that e.g. 3/5 meets a target written as 0.6 despite floating-point rounding.
  const slack = 1e-12;
  let best: ThresholdChoice | null = null;
  sweepThresholds(scores, labels, (threshold, tp, fp) => {
    const choice = {
      threshold,
      precision: tp / (tp + fp),
      recall: tp / nPositive,
      predictedPositives: tp + fp,
    };
    if ('targetRecall' in parsed) {
      if (choice.recall >= parsed.targetRecall - slack) {
        best = choice;
        return true;
      }
    } else if (
      choice.precision >= parsed.targetPrecision - slack &&
      (best === null || choice.recall > best.recall)
    ) {
      best = choice;
    }
    return false;
  });
  return best;
}

// ---------------------------------------------------------------------------------------------------
// Calibration and counting

/** Reliability table and ECE (count-weighted mean |meanPredicted - observedRate|). */
export function calibration(
  confidence: ArrayLike<number>,
  outcome: ArrayLike<boolean>,
  bins = CALIBRATION_BINS,
): { ece: number; bins: CalibrationBin[] } {
  const count = new Float64Array(bins);
  const sumPredicted = new Float64Array(bins);
  const sumOutcome = new Float64Array(bins);
  for (let i = 0; i < confidence.length; i++) {
    // Bin b covers [b/bins, (b+1)/bins); p = 1 goes into the last bin.
    const bin = min(bins - 1, max(0, floor(confidence[i] * bins)));
    count[bin]++;
    sumPredicted[bin] += confidence[i];
    if (outcome[i]) sumOutcome[bin]++;
  }
  let ece = 0;
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const empty = count[b] === 0;
    const meanPredicted = empty ? null : sumPredicted[b] / count[b];
    const observedRate = empty ? null : sumOutcome[b] / count[b];
    if (!empty) ece += (count[b] / confidence.length) * abs(meanPredicted! - observedRate!);
    table.push({ lower: b / bins, upper: (b + 1) / bins, count: count[b], meanPredicted, observedRate });
  }
  return { ece, bins: table };
}

/** Confusion matrix; throws on labels outside `classes`. */
export function confusionMatrix(
  yTrue: readonly string[],
  yPred: readonly string[],
  classes: readonly string[],
): ConfusionMatrix {
  if (yTrue.length !== yPred.length)
    throw new RangeError(`${yTrue.length} true labels but ${yPred.length} predictions`);
  const index = classIndex(classes);
  const counts = classes.map(() => classes.map(() => 0));
  for (let i = 0; i < yTrue.length; i++) counts[lookup(index, yTrue[i])][lookup(index, yPred[i])]++;
  return { labels: [...classes], counts };
}

/** Per-class precision/recall/F1 from a confusion matrix (zero when undefined, like scikit-learn). */
export function classMetrics(matrix: ConfusionMatrix): ClassMetrics[] {
  const { labels, counts } = matrix;
  return labels.map((label, k) => {
    const truePositives = counts[k][k];
    const support = counts[k].reduce((a, b) => a + b, 0);
    const predicted = counts.reduce((sum, row) => sum + row[k], 0);
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = support > 0 ? truePositives / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: label, precision, recall, f1, support };
  });
}

function classIndex(classes: readonly string[]): Map<string, number> {
  const index = new Map(classes.map((c, k) => [c, k]));
  if (index.size !== classes.length) throw new RangeError(`duplicate classes in ${JSON.stringify(classes)}`);
  return index;
}

function lookup(index: Map<string, number>, label: string): number {
  const k = index.get(label);
  if (k === undefined) throw new RangeError(`label "${label}" is not one of the classes`);
  return k;
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

// ---------------------------------------------------------------------------------------------------
// evaluate

interface Prepared {
  n: number;
  classes: string[];
  binary: boolean;
  positive: number;
  threshold: number;
  y: Int32Array;
  /** Row-major n x K probabilities. */
  p: Float64Array;
  predicted: Int32Array;
}

function prepare(
  yTrue: readonly string[],
  scores: readonly Record<string, number>[],
  classes: readonly string[],
  positiveClass: string | undefined,
  threshold: number | undefined,
): Prepared {
  if (yTrue.length !== scores.length)
    throw new RangeError(`${yTrue.length} labels but ${scores.length} score records`);
  if (classes.length < 2) throw new RangeError('need at least two classes');
  const index = classIndex(classes);
  const binary = classes.length === 2;
  if (!binary && (positiveClass !== undefined || threshold !== undefined)) {
    throw new RangeError('positiveClass and threshold apply to binary classification only');
  }
  const positive = binary ? lookup(index, positiveClass ?? classes[1]) : -1;
  const cut = threshold ?? 0.5;
  if (!(cut >= 0 && cut <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${cut}`);
  const n = yTrue.length;
  const K = classes.length;
  const y = new Int32Array(n);
  const p = new Float64Array(n * K);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = lookup(index, yTrue[i]);
    const record = scores[i];
    let argmax = 0;
    for (let k = 0; k < K; k++) {
      // A class missing from the score record has probability 0 (e.g. a model that never saw it).
      const value = hasOwn(record, classes[k]) ? record[classes[k]] : 0;
      if (!isFiniteNumber(value)) throw new RangeError(`row ${i}: score for "${classes[k]}" is not finite`);
      p[i * K + k] = value;
      // Strict > keeps the first class on ties, matching scoreFeatures.
      if (value > p[i * K + argmax]) argmax = k;
    }
    predicted[i] = binary ? (p[i * K + positive] >= cut ? positive : 1 - positive) : argmax;
  }
  return { n, classes: [...classes], binary, positive, threshold: cut, y, p, predicted };
}

function core(prep: Prepared) {
  const { n, classes, binary, positive, y, p, predicted } = prep;
  const K = classes.length;
  const matrix: ConfusionMatrix = { labels: classes, counts: classes.map(() => classes.map(() => 0)) };
  let correct = 0;
  for (let i = 0; i < n; i++) {
    matrix.counts[y[i]][predicted[i]]++;
    if (y[i] === predicted[i]) correct++;
  }
  const perClass = classMetrics(matrix);
  const present = perClass.filter((c) => c.support > 0);

  const column = (k: number) => Float64Array.from({ length: n }, (_, i) => p[i * K + k]);
  const isClass = (k: number) => Array.from({ length: n }, (_, i) => y[i] === k);
  let rocAucValue: number | null;
  let prAucValue: number | null;
  if (binary) {
    rocAucValue = rocAuc(column(positive), isClass(positive));
    prAucValue = averagePrecision(column(positive), isClass(positive));
  } else {
    const aucs: number[] = [];
    const aps: number[] = [];
    for (let k = 0; k < K; k++) {
      const auc = rocAuc(column(k), isClass(k));
      if (auc !== null) aucs.push(auc);
      const ap = averagePrecision(column(k), isClass(k));
      if (ap !== null) aps.push(ap);
    }
    rocAucValue = mean(aucs);
    prAucValue = mean(aps);
  }

  let logLoss = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    const pTrue = min(1 - LOG_LOSS_EPSILON, max(LOG_LOSS_EPSILON, p[i * K + y[i]]));
    logLoss -= log(pTrue);
    if (binary) {
      const diff = p[i * K + positive] - (y[i] === positive ? 1 : 0);
      brier += diff * diff;
    } else {
      for (let k = 0; k < K; k++) {
        const diff = p[i * K + k] - (y[i] === k ? 1 : 0);
        brier += diff * diff;
      }
    }
  }

  const confidence = binary
    ? column(positive)
    : Float64Array.from({ length: n }, (_, i) => p[i * K + predicted[i]]);
  const outcome = binary ? isClass(positive) : Array.from({ length: n }, (_, i) => predicted[i] === y[i]);
  const calibrationResult = calibration(confidence, outcome);

  return {
    accuracy: correct / n,
    macroPrecision: mean(present.map((c) => c.precision)) ?? 0,
    macroRecall: mean(present.map((c) => c.recall)) ?? 0,
    macroF1: mean(present.map((c) => c.f1)) ?? 0,
    perClass,
    rocAuc: rocAucValue,
    prAuc: prAucValue,
    logLoss: logLoss / n,
    brier: brier / n,
    ece: calibrationResult.ece,
    calibration: calibrationResult.bins,
    confusionMatrix: matrix,
  };
}

/** One scored row for slice metrics. */
export interface SlicedScore {
  yTrue: string;
  scores: Record<string, number>;
  slices?: Record<string, string>;
}

/**
 * Metrics per slice value: rows are grouped by each slice key they carry (a row tagged
 * { country: 'DE', plan: 'pro' } counts in both country=DE and plan=pro). Keys and values are sorted.
 */
export function metricsBySlice(
  rows: readonly SlicedScore[],
  opts: { classes: readonly string[]; positiveClass?: string; threshold?: number },
): SliceMetrics {
  const groups = new Map<string, Map<string, SlicedScore[]>>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.slices ?? {})) {
      let byValue = groups.get(key);
      if (!byValue) groups.set(key, (byValue = new Map()));
      let list = byValue.get(value);
      if (!list) byValue.set(value, (list = []));
      list.push(row);
    }
  }
  const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return Object.fromEntries(
    [...groups.entries()].sort(byKey).map(([key, byValue]) => [
      key,
      Object.fromEntries(
        [...byValue.entries()].sort(byKey).map(([value, list]) => {
          const prep = prepare(
            list.map((r) => r.yTrue),
            list.map((r) => r.scores),
            opts.classes,
            opts.positiveClass,
            opts.threshold,
          );
          const m = core(prep);
          const report: SliceReport = {
            n: prep.n,
            accuracy: m.accuracy,
            macroF1: m.macroF1,
            rocAuc: m.rocAuc,
            prAuc: m.prAuc,
            logLoss: m.logLoss,
            brier: m.brier,
          };
          return [value, report];
        }),
      ),
    ]),
  );
}

/**
 * The single evaluation entry point: every gate, dashboard and test set report comes from here, so
 * the definitions above are the only ones in the codebase.
 *
 * Predictions: binary → positiveClass (default classes[1]) when its probability >= threshold
 * (default 0.5); multiclass → argmax, ties to the earlier class.
 *
 * @throws RangeError on empty input, mismatched lengths, labels outside `classes`, non-finite scores.
 */
export function evaluate(input: EvaluateInput): EvaluationReport {
  const { yTrue, scores, classes, positiveClass, threshold, slices } = input;
  if (yTrue.length === 0) throw new RangeError('nothing to evaluate: yTrue is empty');
  if (slices !== undefined && slices.length !== yTrue.length) {
    throw new RangeError(`${slices.length} slice records but ${yTrue.length} labels`);
  }
  const prep = prepare(yTrue, scores, classes, positiveClass, threshold);
  const report: EvaluationReport = {
    n: prep.n,
    classes: prep.classes,
    positiveClass: prep.binary ? prep.classes[prep.positive] : null,
    threshold: prep.binary ? prep.threshold : null,
    ...core(prep),
  };
  if (slices !== undefined) {
    report.slices = metricsBySlice(
      yTrue.map((label, i) => ({ yTrue: label, scores: scores[i], slices: slices[i] })),
      { classes, positiveClass, threshold },
    );
  }
  return report;
}
