/**
 * Workflow and schedule ids of cycles, in one place. Pure: safe in workflow code and in Node code.
 * Ids are scoped by the installation's Temporal namespace (see src/config/installation.ts), so they
 * stay readable and two installations on one server never collide.
 */

/** Workflow id of a cycle: one per model and window, so the same window never runs twice at once. */
export function cycleWorkflowId(modelId: string, from: string, to: string): string {
  return `cycle-${modelId}-${from}_${to}`;
}

/** Workflow id prefix of a model's scheduled cycles (the schedule appends the run's time). */
export function scheduledCycleWorkflowId(modelId: string): string {
  return `cycle-${modelId}-scheduled`;
}

/** Schedule id of a model's retraining cycles (one per model). */
export function cycleScheduleId(modelId: string): string {
  return `cycle-schedule-${modelId}`;
}

/** Whether a workflow id is one of this model's cycles (explicit window or scheduled). */
export function isCycleOf(workflowId: string, modelId: string): boolean {
  const rest = workflowId.startsWith(`cycle-${modelId}-`)
    ? workflowId.slice(`cycle-${modelId}-`.length)
    : null;
  return rest !== null && (/^\d{4}-\d{2}-\d{2}_/.test(rest) || rest.startsWith('scheduled'));
}
