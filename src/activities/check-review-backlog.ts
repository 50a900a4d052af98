import type { ActivityDeps } from './deps';
import { reviewStats } from '../workflows/messages';
import { reviewQueueWorkflowId } from '../workflows/review-ids';
import { gaugeInActivity } from './metrics';
import { metricCatalog } from '../workflows/metric-catalog';

/** The review queue as a cycle sees it: depth, and whether its oldest pending task is overdue. */
export interface ReviewBacklogCheck {
  /** False when the model has no review queue yet (nothing was ever routed to human review). */
  exists: boolean;
  /** Tasks waiting for an annotator: pending in the window plus the stored backlog. */
  open: number;
  claimed: number;
  expired: number;
  oldestPendingHours: number | null;
  thresholdHours: number;
  overdue: boolean;
}

function notFound(err: unknown): boolean {
  const name = (err as Error | undefined)?.name ?? '';
  return name === 'WorkflowNotFoundError' || /not ?found/i.test((err as Error | undefined)?.message ?? '');
}

/**
 * Reads the model's review queue counters (`reviewStats` query), sets the review gauges
 * (`loopkeeper_review_tasks{state}`) and says whether the oldest pending task is older than
 * `alerts.reviewBacklogHours`. A model without a queue has no backlog.
 */
export function createCheckReviewBacklog(deps: ActivityDeps) {
  return async function checkReviewBacklog(input: { modelId: string }): Promise<ReviewBacklogCheck> {
    const thresholdHours = deps.config.alerts.reviewBacklogHours;
    const none: ReviewBacklogCheck = {
      exists: false,
      open: 0,
      claimed: 0,
      expired: 0,
      oldestPendingHours: null,
      thresholdHours,
      overdue: false,
    };
    if (!deps.client) return none;
    let stats;
    try {
      stats = await deps.client.workflow.getHandle(reviewQueueWorkflowId(input.modelId)).query(reviewStats);
    } catch (err) {
      if (notFound(err)) return none;
      throw err;
    }
    // The window holds pending, claimed and escalated tasks; `escalated` itself is cumulative.
    const open = stats.window - stats.claimed + stats.backlog;
    const oldestPendingHours =
      stats.oldestPendingAgeMs === null ? null : stats.oldestPendingAgeMs / 3_600_000;
    const tags = { model: input.modelId };
    gaugeInActivity(metricCatalog.reviewTasks, open, { ...tags, state: 'open' });
    gaugeInActivity(metricCatalog.reviewTasks, stats.claimed, { ...tags, state: 'claimed' });
    gaugeInActivity(metricCatalog.reviewTasks, stats.expired, { ...tags, state: 'expired' });
    return {
      exists: true,
      open,
      claimed: stats.claimed,
      expired: stats.expired,
      oldestPendingHours,
      thresholdHours,
      overdue: oldestPendingHours !== null && oldestPendingHours > thresholdHours,
    };
  };
}
