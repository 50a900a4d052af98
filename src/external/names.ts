/**
 * Names shared by the retrain workflow and the Node side of the external-trainer contract. No imports:
 * workflow code bundles this file.
 */

/** The activity an external worker registers on its task queue (workers/README.md). */
export const TRAIN_EXTERNAL_ACTIVITY = 'trainExternalModel';

/** Failure types of an external trainer that retrying cannot fix. */
export const EXTERNAL_NON_RETRYABLE = ['TrainingDataError', 'OnnxMismatch'] as const;
