import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { defaults } from '../config/defaults';
import { ModelIdSchema } from '../schemas/records';
import { AddTaskSegmentResultSchema, ReviewQueueConfigSchema } from '../schemas/review';
import type { AddTaskSegment, ReviewQueueConfig } from '../schemas/review';
import type { BlobStore } from '../storage/blob-store';
import { addTaskSegment } from '../workflows/messages';
import { REVIEW_QUEUE_WORKFLOW_TYPE, reviewQueueWorkflowId } from '../workflows/review-ids';
import type { ActivityDeps } from './deps';
import { heartbeat, lastHeartbeat } from './heartbeat';
import { buildReviewSegments, validateReviewTasks, writeReviewSegment } from './review-segments';
import type { ReviewTaskRejections } from './review-segments';
import { startSearchAttributes } from '../workflows/search-attributes';

export const EnqueueReviewTasksInputSchema = z.object({
  modelId: ModelIdSchema,
  /** Validated one by one: an invalid task is refused and counted, the others are sent. */
  tasks: z.array(z.unknown()),
  /** Queue config, used only when this call starts the queue (a running queue keeps its own). */
  config: ReviewQueueConfigSchema.optional(),
  /** Task queue of the review queue workflow; default: the configured one. */
  taskQueue: z.string().min(1).optional(),
});
export type EnqueueReviewTasksInput = z.infer<typeof EnqueueReviewTasksInputSchema>;

/**
 * What happened to the tasks a sender sent: `sent = accepted + duplicate + rejected`. Accepted tasks
 * are in the queue's backlog (in the store) until paged in, labelled or expired by policy.
 */
export interface SendReviewTasksResult extends ReviewTaskRejections {
  workflowId: string;
  sent: number;
  accepted: number;
  /** Repeated within the batch, or in a segment the queue already had. */
  duplicate: number;
  segments: number;
  /** Tasks waiting in the store, not yet paged in (after the last segment). */
  backlog: number;
  /**
   * Tasks written to the store whose segment the queue did not answer for within the announce
   * deadline (no worker running): the queue finds those segments in the store itself. With it,
   * `sent = accepted + duplicate + rejected + stored`.
   */
  stored?: number;
}
/** Kept for callers of the former name. */
export type EnqueueReviewTasksResult = SendReviewTasksResult;

const ProgressSchema = z.object({
  segmentsDone: z.number().int().min(0),
  accepted: z.number().int().min(0),
  duplicate: z.number().int().min(0),
  backlog: z.number().int().min(0),
});
type Progress = z.infer<typeof ProgressSchema>;

/** gRPC status FAILED_PRECONDITION. */
const GRPC_FAILED_PRECONDITION = 9;
/** Attempts at announcing one segment while the queue's run is closing (continue-as-new). */
const ANNOUNCE_ATTEMPTS = 8;

/**
 * Announces one segment with update-with-start. While the queue's run is closing (continue-as-new) the
 * server refuses the multi-operation with FAILED_PRECONDITION without executing it: that is retried
 * (a fresh start operation each time: they are single-use).
 */
async function announceSegment(
  client: Client,
  o: {
    workflowId: string;
    taskQueue: string;
    modelId: string;
    config?: ReviewQueueConfig;
    ref: AddTaskSegment;
  },
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.workflow.executeUpdateWithStart(addTaskSegment, {
        args: [o.ref],
        startWorkflowOperation: new WithStartWorkflowOperation(REVIEW_QUEUE_WORKFLOW_TYPE, {
          workflowId: o.workflowId,
          taskQueue: o.taskQueue,
          args: [{ modelId: o.modelId, ...(o.config ? { config: o.config } : {}) }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: startSearchAttributes(o.modelId, 'review'),
          staticSummary: `${o.modelId} review queue (annotators: loopkeeper review next --model ${o.modelId})`,
          // Catching up on thousands of buffered signals may take one workflow task several seconds.
          workflowTaskTimeout: defaults.reviewQueueWorkflowTaskTimeoutMs,
        }),
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== GRPC_FAILED_PRECONDITION || attempt >= ANNOUNCE_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

/**
 * Sends tasks to a model's review queue: validates each (refusals are counted with reasons, never
 * sent), writes them as backlog segments to the store, and announces each segment with the
 * `addTaskSegment` update (update-with-start: the queue is started when absent), which answers how
 * many tasks it accepted and how many it already had. Nothing is dropped: the backlog has no cap.
 * Used by mineAndRoute, the enqueue activity and `loopkeeper review add`.
 */
export async function sendReviewTasks(
  client: Client,
  store: BlobStore,
  opts: {
    taskQueue: string;
    modelId: string;
    tasks: unknown[];
    config?: ReviewQueueConfig;
    /** Progress of an earlier attempt (from its heartbeat): segments already announced are skipped. */
    resume?: Progress;
    /**
     * Wait at most this long for each segment's answer; past it the segment (already in the store) is
     * counted as stored, and the rest are written without being announced. Default: wait.
     */
    announceDeadlineMs?: number;
    onSegment?: (progress: Progress) => void;
  },
): Promise<SendReviewTasksResult> {
  const workflowId = reviewQueueWorkflowId(opts.modelId);
  const checked = validateReviewTasks(opts.tasks, opts.modelId);
  const segments = buildReviewSegments(opts.modelId, checked.tasks);
  const progress: Progress = opts.resume ?? { segmentsDone: 0, accepted: 0, duplicate: 0, backlog: 0 };
  let stored = 0;
  for (let i = progress.segmentsDone; i < segments.length; i++) {
    // Durable first: once written, the queue finds the segment even if it never hears of it.
    await writeReviewSegment(store, segments[i]);
    if (stored > 0) {
      stored += segments[i].ref.count;
      continue;
    }
    const announce = (): Promise<unknown> =>
      announceSegment(client, {
        workflowId,
        taskQueue: opts.taskQueue,
        modelId: opts.modelId,
        config: opts.config,
        ref: segments[i].ref,
      });
    let raw: unknown;
    if (opts.announceDeadlineMs === undefined) raw = await announce();
    else {
      try {
        raw = await client.withDeadline(Date.now() + opts.announceDeadlineMs, announce);
      } catch (err) {
        if (!isDeadlineExceeded(err)) throw err;
        stored += segments[i].ref.count;
        continue;
      }
    }
    const answer = AddTaskSegmentResultSchema.parse(raw);
    progress.segmentsDone = i + 1;
    progress.accepted += answer.accepted;
    progress.duplicate += answer.duplicate;
    progress.backlog = answer.backlog;
    opts.onSegment?.({ ...progress });
  }
  return {
    workflowId,
    sent: opts.tasks.length,
    accepted: progress.accepted,
    duplicate: progress.duplicate + checked.duplicate,
    rejected: checked.rejected,
    reasons: checked.reasons,
    examples: checked.examples,
    segments: segments.length,
    backlog: progress.backlog,
    ...(stored > 0 ? { stored } : {}),
  };
}

/** gRPC status DEADLINE_EXCEEDED. */
const GRPC_DEADLINE_EXCEEDED = 4;

/** True for a call that ran past its deadline (the queue's worker did not answer in time). */
function isDeadlineExceeded(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return (
    e?.code === GRPC_DEADLINE_EXCEEDED ||
    e?.cause?.code === GRPC_DEADLINE_EXCEEDED ||
    /deadline exceeded/i.test(String((err as Error)?.message ?? err))
  );
}

/**
 * Activity: adds review tasks to the model's queue (workflow `review-{modelId}`, started if absent)
 * through the store (see sendReviewTasks). Needs a Temporal client in the deps; without one it fails
 * at once, non-retryably. A retry resumes after the last segment it heartbeated.
 */
export function createEnqueueReviewTasks(deps: ActivityDeps) {
  return async function enqueueReviewTasks(
    rawInput: EnqueueReviewTasksInput,
  ): Promise<SendReviewTasksResult> {
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
        `invalid enqueueReviewTasks input at ${issue.path.map(String).join('.') || '(input)'}: ${issue.message}`,
        'InvalidReviewTasks',
      );
    }
    const input = parsed.data;
    const resume = ProgressSchema.safeParse(lastHeartbeat());
    return sendReviewTasks(client, deps.store, {
      taskQueue: input.taskQueue ?? deps.config.temporal.taskQueue,
      modelId: input.modelId,
      tasks: input.tasks,
      config: input.config,
      ...(resume.success ? { resume: resume.data } : {}),
      onSegment: (p) => heartbeat(p),
    });
  };
}
