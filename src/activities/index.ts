import type { ActivityDeps } from './deps';
import { createEnqueueReviewTasks } from './enqueue-review-tasks';
import { createFlushReviewLabels } from './flush-review-labels';
import { createIngestWindow } from './ingest-window';

export type { ActivityDeps } from './deps';

/**
 * Builds every activity over its dependencies. Workflows import this module as a type only
 * (`proxyActivities<Activities>`), so none of it is bundled into workflow code.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ingestWindow: createIngestWindow(deps),
    flushReviewLabels: createFlushReviewLabels(deps),
    enqueueReviewTasks: createEnqueueReviewTasks(deps),
  };
}

/** The activity interface workflows proxy. */
export type Activities = ReturnType<typeof createActivities>;
