import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';

/**
 * Error types that mean the input is wrong (bad data, bad config, a missing version): retrying cannot
 * help, so they fail at once. Everything else (a worker crash, a heartbeat timeout, a store outage) is
 * retried with backoff until the activity's schedule-to-close bound: attempts are not limited, so three
 * worker kills during training cost three retries, never the cycle.
 */
export const badInputErrorTypes = [
  'ZodError',
  'UnknownModel',
  'TooManyBadRows',
  'MissingClient',
  'InvalidPolicy',
  'InvalidInput',
  'TrainingDataError',
  'NoReferenceData',
  'VersionNotFoundError',
  'NotBlessedError',
  'BlessingExistsError',
] as const;

/** Retries without an attempt limit, backing off to one try a minute; bounded by scheduleToClose. */
const retry: RetryPolicy = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...badInputErrorTypes],
};

/**
 * Ingest, mining, test-set and challenge-set refresh: streaming work that heartbeats per batch (ingest
 * resumes from its heartbeat). A worker crash is noticed within the heartbeat timeout.
 */
export const ingestActivityOptions: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '8 hours',
  retry,
};

/** Policy, champion and retrain record: a few small reads. */
export const contextActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry,
};

/** Drift + skew over a window: long streaming work with heartbeats; bad config or data is not retried. */
export const driftActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '4 hours',
  retry,
};

/** Training: reads the data (heartbeat per part), then fits on a thread while this one heartbeats. */
export const trainActivityOptions: ActivityOptions = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '12 hours',
  retry,
};

/** Evaluation against the champion on the test and challenge sets. */
export const evaluateActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '3 hours',
  retry,
};

/** Registry writes (bless, alias move): short, compare-and-swap, idempotent. */
export const promoteActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry,
};

/**
 * Alerts: each webhook gets bounded tries inside the activity (`alerts.maxAttempts`) and a dead one is
 * recorded, not thrown; crashes are retried until the half-hour bound, and the workflow ignores a final
 * failure (an alert never fails a cycle).
 */
export const alertActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '30 minutes',
  retry,
};

/** Every option block above by name, so one test can hold them all to the rules. */
export const activityOptionBlocks: Record<string, ActivityOptions> = {
  ingestActivityOptions,
  contextActivityOptions,
  driftActivityOptions,
  trainActivityOptions,
  evaluateActivityOptions,
  promoteActivityOptions,
  alertActivityOptions,
};
