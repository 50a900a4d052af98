import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AddTaskSegment,
  AddTaskSegmentResult,
  AddTasks,
  ClaimResult,
  ClaimTask,
  PendingTasksQuery,
  ReleaseTask,
  RenewLease,
  ReviewStats,
  SkipTask,
  SubmitLabel,
  SubmitResult,
  TaskQuery,
  TaskView,
} from '../schemas/review';
import type { CycleStatus } from './cycle-status';
import type { DriftMonitorStatus } from './drift-monitor';
import type { RolloutSignal, RolloutStatus } from './rollout';

/** Current stage, per-stage results, counters and blob keys of a continuous-learning cycle. */
export const status = defineQuery<CycleStatus>('status');

/** The driftMonitor's window, drift/skew summary (report keys) and the cycle it triggered, if any. */
export const driftStatus = defineQuery<DriftMonitorStatus>('driftStatus');

// --- reviewQueue (workflow id `review-{modelId}`; payloads in src/schemas/review.ts, see REVIEW.md) ---

/** Adds review tasks inline `{ tasks: ReviewTask[] }` (plain clients; at most 1000 per signal); known task ids are ignored. */
export const addTasks = defineSignal<[AddTasks]>('addTasks');

/** Labels a task `{ taskId, label, annotator, note? }`; rejections are recorded in `reviewStats.rejections`. */
export const submitLabel = defineSignal<[SubmitLabel]>('submitLabel');

/**
 * Cheap hint (no payload needed) that labels wait in the store inbox `review/{model}/inbox/`: the queue
 * reads it soon instead of at its next periodic check.
 */
export const nudgeInbox = defineSignal<[Record<string, never>?]>('nudgeInbox');

/** The annotator will not label this task `{ taskId, annotator, reason? }`; it is offered to others. */
export const skipTask = defineSignal<[SkipTask]>('skipTask');

/** Gives a claimed task back before its lease ends `{ taskId, annotator }`. */
export const releaseTask = defineSignal<[ReleaseTask]>('releaseTask');

/**
 * Adds a backlog segment by reference `{ segmentId, key, count, createdAtFirst, createdAtLast }` (tasks
 * written to the store by the sender); answered `{ accepted, duplicate, backlog }`. A known segment is a duplicate.
 */
export const addTaskSegment = defineUpdate<AddTaskSegmentResult, [AddTaskSegment]>('addTaskSegment');

/** Same payload as `submitLabel`, answered: `{ accepted, reason?, detail?, status }`. Malformed payloads are rejected by the validator. */
export const submitLabelUpdate = defineUpdate<SubmitResult, [SubmitLabel]>('submitLabelUpdate');

/** Claims the oldest pending task for `{ annotator, leaseSeconds? }`: the task under a lease, or `{ task: null, reason }`. */
export const claimTask = defineUpdate<ClaimResult, [ClaimTask]>('claimTask');

/** Extends the caller's lease `{ taskId, annotator }` by its original length. */
export const renewLease = defineUpdate<SubmitResult, [RenewLease]>('renewLease');

/** Tasks still in the queue, oldest first `{ limit?, statuses? }` (default: pending, claimed, escalated; 50). */
export const pendingTasks = defineQuery<TaskView[], [PendingTasksQuery?]>('pendingTasks');

/** One task `{ taskId }` with its status, lease and labels, or null when unknown. */
export const task = defineQuery<TaskView | null, [TaskQuery]>('task');

/** Queue counters, per-annotator counts, oldest pending age, outbox and the last rejections. */
export const reviewStats = defineQuery<ReviewStats>('reviewStats');

// --- rolloutModel (workflow id `rollout-{modelId}`, see src/workflows/rollout.ts) ---

/** A human accepts the degradation a paused rollout step reported `{ actor, reason }`: the rollout proceeds. */
export const approveRollout = defineSignal<[RolloutSignal]>('approveRollout');

/** Stops the rollout `{ actor, reason }`: the candidate is rolled back (route and alias), outcome `aborted`. */
export const abortRollout = defineSignal<[RolloutSignal]>('abortRollout');

/** Holds the rollout at its current step `{ actor, reason }` (analysis and automatic rollback continue). */
export const pauseRollout = defineSignal<[RolloutSignal]>('pauseRollout');

/** Lets a rollout held by `pauseRollout` proceed again `{ actor, reason }`. */
export const resumeRollout = defineSignal<[RolloutSignal]>('resumeRollout');

/** Phase, current step and weight, the last analysis and every decision taken so far. */
export const rolloutStatus = defineQuery<RolloutStatus>('rolloutStatus');
