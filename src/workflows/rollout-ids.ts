/**
 * Names shared by the rollout workflow and its clients (CLI, cycle). Pure: safe in workflow code and in
 * Node code alike.
 */

/** Workflow type of a rollout. */
export const ROLLOUT_WORKFLOW_TYPE = 'rolloutModel';

/** Workflow id of a model's rollout: at most one rollout per model at a time. */
export function rolloutWorkflowId(modelId: string): string {
  return `rollout-${modelId}`;
}

/** The audit actor of every registry change a rollout makes: `rollout {workflowId}`. */
export function rolloutActor(workflowId: string): string {
  return `rollout ${workflowId}`;
}
