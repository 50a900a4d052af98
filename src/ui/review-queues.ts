/** Which models have a running review queue (Temporal visibility), for the annotator and lead pages. */
import type { Client } from '@temporalio/client';
import { ModelIdSchema } from '../schemas/records';
import { REVIEW_QUEUE_WORKFLOW_TYPE } from '../workflows/review-ids';

/** Most queues listed: one per model, so this is far above any real installation. */
const MAX_QUEUES = 500;

/** Model ids of the running review queues in the client's namespace, sorted. */
export async function runningReviewQueues(client: Client): Promise<string[]> {
  const models = new Set<string>();
  for await (const wf of client.workflow.list({
    query: `WorkflowType = '${REVIEW_QUEUE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  })) {
    const id = wf.workflowId.replace(/^review-/, '');
    if (ModelIdSchema.safeParse(id).success) models.add(id);
    if (models.size >= MAX_QUEUES) break;
  }
  return [...models].sort();
}
