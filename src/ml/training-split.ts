/**
 * The split every trainer sees: test = the latest `testFraction` of the rows (never seen by fitting or
 * early stopping), validation = the latest `validationFraction` of the rest (early stopping), train =
 * the remainder. Shared by the built-in trainers (`trainAndEvaluate`) and the training matrix written
 * for external trainers, so both learn from the same rows and are judged on the same test period.
 */
import { temporalSplit } from './temporal-split';

/** The split's parts and boundaries. */
export interface TrainingSplit<T> {
  train: T[];
  /** Empty when early stopping is off or its rows hold a label unseen in `train`. */
  validation: T[];
  test: T[];
  /** First timestamp of the test period (ISO). */
  testFrom: string;
  /** First timestamp of the validation period, when there is one. */
  validationFrom: string | null;
}

/**
 * Splits rows by time: train < validation < test.
 *
 * @throws SplitError when the test split would be empty.
 */
export function splitTrainingRows<T extends { timestamp: string; label: string }>(
  rows: readonly T[],
  options: { testFraction?: number; validationFraction?: number } = {},
): TrainingSplit<T> {
  const testFraction = options.testFraction ?? 0.2;
  const validationFraction = options.validationFraction ?? 0.1;
  const {
    train: fitRows,
    validation: test,
    cutoff: testFrom,
  } = temporalSplit(rows, {
    validationFraction: testFraction,
  });
  let train: T[] = fitRows;
  let validation: T[] = [];
  let validationFrom: string | null = null;
  if (validationFraction > 0 && fitRows.length >= 2) {
    const inner = temporalSplit(fitRows, { validationFraction });
    // Early stopping needs validation labels seen in training; otherwise train on everything.
    const seen = new Set(inner.train.map((r) => r.label));
    if (inner.validation.every((r) => seen.has(r.label)) && seen.size >= 2) {
      train = inner.train;
      validation = inner.validation;
      validationFrom = inner.cutoff;
    }
  }
  return { train, validation, test, testFrom, validationFrom };
}
