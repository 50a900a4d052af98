/**
 * Names shared by the review queue workflow, its activities and its clients (CLI, cycle). Pure: safe in
 * workflow code and in Node code alike.
 */

/** Workflow type of the review queue. */
export const REVIEW_QUEUE_WORKFLOW_TYPE = 'reviewQueue';

/** Workflow id of a model's review queue: one long-running queue per model. */
export function reviewQueueWorkflowId(modelId: string): string {
  return `review-${modelId}`;
}

/**
 * Batch id of the `seq`-th label batch written by a queue: `{workflowId}-{seq:6}`, independent of the
 * run id, so a retried write (or a batch retried after continue-as-new) rewrites the same object.
 */
export function reviewLabelBatchId(workflowId: string, seq: number): string {
  return `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}-${String(seq).padStart(6, '0')}`;
}
