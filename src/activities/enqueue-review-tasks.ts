import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { ModelIdSchema } from '../schemas/records';
import { MAX_TASKS_PER_SIGNAL, ReviewQueueConfigSchema, ReviewTaskSchema } from '../schemas/review';
import type { ReviewQueueConfig, ReviewTask } from '../schemas/review';
import { addTasks } from '../workflows/messages';
import { REVIEW_QUEUE_WORKFLOW_TYPE, reviewQueueWorkflowId } from '../workflows/review-ids';
import type { ActivityDeps } from './deps';
import { heartbeat, lastHeartbeat } from './heartbeat';

/** Tasks per `addTasks` signal unless told otherwise. */
export const DEFAULT_TASKS_PER_SIGNAL = 200;
/** A signal's tasks are also cut at about this JSON size, far below Temporal's payload limits. */
const MAX_SIGNAL_BYTES = 256 * 1024;

export const EnqueueReviewTasksInputSchema = z.object({
  modelId: ModelIdSchema,
  tasks: z.array(ReviewTaskSchema),
  /** Tasks per signal [200]. */
  batchSize: z.number().int().min(1).max(MAX_TASKS_PER_SIGNAL).optional(),
  /** Queue config, used only when this call starts the queue (a running queue keeps its own). */
  config: ReviewQueueConfigSchema.optional(),
  /** Task queue of the review queue workflow; default: the configured one. */
  taskQueue: z.string().min(1).optional(),
});
export type EnqueueReviewTasksInput = z.infer<typeof EnqueueReviewTasksInputSchema>;

export interface EnqueueReviewTasksResult {
  workflowId: string;
  /** Tasks sent, including batches sent by an earlier attempt (the queue ignores known task ids). */
  sent: number;
  /** Signals sent by this attempt. */
  signals: number;
}

/** Splits tasks into signal batches of at most `batchSize` tasks and about MAX_SIGNAL_BYTES. */
export function reviewTaskBatches(tasks: ReviewTask[], batchSize = DEFAULT_TASKS_PER_SIGNAL): ReviewTask[][] {
  const batches: ReviewTask[][] = [];
  let current: ReviewTask[] = [];
  let bytes = 0;
  for (const t of tasks) {
    const size = JSON.stringify(t).length;
    if (current.length > 0 && (current.length >= batchSize || bytes + size > MAX_SIGNAL_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends tasks to a model's review queue with signal-with-start (the queue is started when absent), one
 * `addTasks` signal per batch. Used by the enqueue activity and by `loopkeeper review add`.
 */
export async function sendReviewTasks(
  client: Client,
  opts: {
    taskQueue: string;
    modelId: string;
    tasks: ReviewTask[];
    batchSize?: number;
    config?: ReviewQueueConfig;
    /** Batches already sent by an earlier attempt: skipped. */
    skipBatches?: number;
    onBatch?: (sentBatches: number) => void;
  },
): Promise<EnqueueReviewTasksResult> {
  const workflowId = reviewQueueWorkflowId(opts.modelId);
  const batches = reviewTaskBatches(opts.tasks, opts.batchSize);
  const skip = Math.min(opts.skipBatches ?? 0, batches.length);
  let sent = batches.slice(0, skip).reduce((n, b) => n + b.length, 0);
  let signals = 0;
  for (let i = skip; i < batches.length; i++) {
    await client.workflow.signalWithStart(REVIEW_QUEUE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [{ modelId: opts.modelId, ...(opts.config ? { config: opts.config } : {}) }],
      signal: addTasks,
      signalArgs: [{ tasks: batches[i] }],
    });
    sent += batches[i].length;
    signals++;
    opts.onBatch?.(i + 1);
  }
  return { workflowId, sent, signals };
}

/**
 * Activity: adds review tasks to the model's queue (workflow `review-{modelId}`, started if absent).
 * Needs a Temporal client in the deps; without one it fails at once, non-retryably. Resumes after the
 * last batch it heartbeated; re-sent batches are harmless because the queue ignores known task ids.
 */
export function createEnqueueReviewTasks(deps: ActivityDeps) {
  return async function enqueueReviewTasks(
    rawInput: EnqueueReviewTasksInput,
  ): Promise<EnqueueReviewTasksResult> {
    const client = deps.client;
    if (!client) {
      throw ApplicationFailure.nonRetryable(
        'enqueueReviewTasks needs a Temporal client: create the worker with deps.client set (ActivityDeps.client)',
        'ReviewClientMissing',
      );
    }
    const parsed = EnqueueReviewTasksInputSchema.safeParse(rawInput);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw ApplicationFailure.nonRetryable(
        `invalid review tasks at ${issue.path.map(String).join('.') || '(input)'}: ${issue.message}`,
        'InvalidReviewTasks',
      );
    }
    const input = parsed.data;
    const foreign = input.tasks.find((t) => t.modelId !== input.modelId);
    if (foreign) {
      throw ApplicationFailure.nonRetryable(
        `task ${foreign.taskId} is for model "${foreign.modelId}", not "${input.modelId}"`,
        'InvalidReviewTasks',
      );
    }
    const progress = z.object({ sentBatches: z.number().int().min(0) }).safeParse(lastHeartbeat());
    return sendReviewTasks(client, {
      taskQueue: input.taskQueue ?? deps.config.temporal.taskQueue,
      modelId: input.modelId,
      tasks: input.tasks,
      batchSize: input.batchSize,
      config: input.config,
      skipBatches: progress.success ? progress.data.sentBatches : 0,
      onBatch: (sentBatches) => heartbeat({ sentBatches }),
    });
  };
}
