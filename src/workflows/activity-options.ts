import type { ActivityOptions } from '@temporalio/workflow';

/** Drift + skew over a window: long streaming work with heartbeats; bad config or data is not retried. */
export const driftActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['ZodError', 'NoReferenceData', 'InvalidPolicy', 'VersionNotFoundError'],
  },
};
