/**
 * Thrown when training (or pipeline fitting) is asked to learn from data it cannot learn from: no
 * rows, a single class, mismatched lengths, non-finite features. It is a distinct class so that a
 * Temporal activity can mark it non-retryable: retrying the same bad data cannot succeed.
 */
export class TrainingDataError extends Error {
  override readonly name = 'TrainingDataError';
}
