/**
 * The human review queue's wire formats: tasks, the payload of every message the `reviewQueue` workflow
 * answers (signals, updates, queries), and its results. Every payload is validated with these schemas at
 * the workflow boundary, so a malformed message is rejected with a reason instead of failing the queue.
 * Pure zod: safe to import from workflow code.
 */
import { z } from 'zod';
import { FeaturesSchema, LabelSourceSchema, ModelIdSchema, TimestampSchema } from './records';

/** Longest accepted task id, annotator name, note and reason: bounds what one message can add to state. */
const ID_MAX = 200;
const NAME_MAX = 100;
const TEXT_MAX = 2000;
/** Notes travel in the queue's state and in the written row's lineage: keep them short. */
const NOTE_MAX = 500;

/** Where a task is in its life. `escalated`: hard task whose annotators did not reach consensus. */
export const TaskStatusSchema = z.enum(['pending', 'claimed', 'done', 'escalated', 'expired']);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/** One prediction sent to humans: what they see, and why it was routed to them. */
export const ReviewTaskSchema = z.object({
  /** Unique within the model's queue; re-adding a known id is ignored (adding is idempotent). */
  taskId: z.string().min(1).max(ID_MAX),
  modelId: ModelIdSchema,
  requestId: z.string().min(1).max(ID_MAX),
  /** When the prediction was served (defaults to createdAt in the labelled row). */
  timestamp: TimestampSchema.optional(),
  features: FeaturesSchema,
  predictedLabel: z.string().min(1),
  /** Class → model probability. */
  scores: z.record(z.string(), z.number().min(0).max(1)),
  /** The label the outcome source claimed (the "given" label). */
  givenLabel: z.string().min(1),
  /** Which outcome source claimed it. */
  labelSource: LabelSourceSchema,
  /** Why the router sent it to humans: a RouteReason code such as `model-disputes-label`. */
  routeReason: z.string().min(1).max(NAME_MAX),
  /** Optional human-readable explanation of the routing decision. */
  routeDetail: z.string().max(TEXT_MAX).optional(),
  /** Hard tasks need several agreeing annotators (consensus) instead of one. */
  hard: z.boolean(),
  /** Audit sample of an automatic relabel: a human checks the automation. */
  audit: z.boolean(),
  /** The labels an annotator may choose from. */
  classes: z
    .array(z.string().min(1).max(NAME_MAX))
    .min(1)
    .max(100)
    .refine((c) => new Set(c).size === c.length, 'classes must be distinct'),
  /** When the task was created (ISO-8601). */
  createdAt: TimestampSchema,
  slices: z.record(z.string(), z.string()).optional(),
});
export type ReviewTask = z.infer<typeof ReviewTaskSchema>;

const TaskIdSchema = z.string().min(1).max(ID_MAX);
/** Annotator names are checked for emptiness by the queue (a rejection with a reason, not a schema error). */
const AnnotatorSchema = z.string().max(NAME_MAX);

/** Payload of `submitLabel` (signal) and `submitLabelUpdate` (update). */
export const SubmitLabelSchema = z.object({
  taskId: TaskIdSchema,
  label: z.string().max(NAME_MAX),
  annotator: AnnotatorSchema,
  note: z.string().max(NOTE_MAX).optional(),
});
export type SubmitLabel = z.infer<typeof SubmitLabelSchema>;

/** Payload of `skipTask`: the annotator will not label this task; it goes to someone else. */
export const SkipTaskSchema = z.object({
  taskId: TaskIdSchema,
  annotator: AnnotatorSchema,
  reason: z.string().max(TEXT_MAX).optional(),
});
export type SkipTask = z.infer<typeof SkipTaskSchema>;

/** Payload of `releaseTask`: gives a claimed task back before its lease ends. */
export const ReleaseTaskSchema = z.object({ taskId: TaskIdSchema, annotator: AnnotatorSchema });
export type ReleaseTask = z.infer<typeof ReleaseTaskSchema>;

/** Payload of `claimTask`: the oldest pending task this annotator has not labelled or skipped. */
export const ClaimTaskSchema = z.object({
  annotator: AnnotatorSchema,
  /** Lease length for this claim; defaults to the queue's leaseSeconds. */
  leaseSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
});
export type ClaimTask = z.infer<typeof ClaimTaskSchema>;

/** Payload of `renewLease`: extends the caller's lease by its original length. */
export const RenewLeaseSchema = z.object({ taskId: TaskIdSchema, annotator: AnnotatorSchema });
export type RenewLease = z.infer<typeof RenewLeaseSchema>;

/** Most tasks accepted in one `addTasks` signal (senders batch a few hundred at most). */
export const MAX_TASKS_PER_SIGNAL = 1000;

/** Payload of `addTasks`. Each task is validated on its own: one bad task does not drop its batch. */
export const AddTasksSchema = z.object({ tasks: z.array(ReviewTaskSchema).max(MAX_TASKS_PER_SIGNAL) });
export type AddTasks = z.infer<typeof AddTasksSchema>;

/** Most tasks in one backlog segment: a page-in reads at most one segment's lines. */
export const SEGMENT_MAX_TASKS = 1000;

/** Key-safe, content-addressed id of a backlog segment. */
export const SegmentIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{7,79}$/, 'segment id: 8-80 of a-z, 0-9, "-"');

/**
 * Payload of `addTaskSegment` (update): a segment of tasks the sender wrote to the store as NDJSON
 * (`review/{model}/backlog/{segmentId}.ndjson`, validated, oldest first). The queue keeps only this
 * reference and pages the tasks in as they are needed; the same segment sent again is a duplicate.
 */
export const AddTaskSegmentSchema = z.strictObject({
  segmentId: SegmentIdSchema,
  key: z.string().min(1).max(400),
  count: z.number().int().min(1).max(SEGMENT_MAX_TASKS),
  /** createdAt of the first and last task (ISO-8601), for the backlog's age. */
  createdAtFirst: TimestampSchema,
  createdAtLast: TimestampSchema,
});
export type AddTaskSegment = z.infer<typeof AddTaskSegmentSchema>;

/** Answer to `addTaskSegment`: tasks taken into the backlog, or counted as a duplicate segment. */
export const AddTaskSegmentResultSchema = z.object({
  accepted: z.number().int(),
  duplicate: z.number().int(),
  /** Tasks in the store not yet paged in, after this segment. */
  backlog: z.number().int(),
});
export type AddTaskSegmentResult = z.infer<typeof AddTaskSegmentResultSchema>;

/** Payload of the `task` query. */
export const TaskQuerySchema = z.object({ taskId: TaskIdSchema });
export type TaskQuery = z.infer<typeof TaskQuerySchema>;

/** Payload of the `pendingTasks` query (all fields optional; the payload itself may be omitted). */
export const PendingTasksQuerySchema = z.object({
  limit: z.number().int().min(1).max(1000).optional(),
  /** Which statuses to list; default pending, claimed and escalated (everything still in the queue). */
  statuses: z.array(TaskStatusSchema).optional(),
});
export type PendingTasksQuery = z.infer<typeof PendingTasksQuerySchema>;

/**
 * Why a message was rejected (or, for `duplicate`, accepted without effect). Stable codes: tests,
 * dashboards and the CLI key on them; `detail` carries the human-readable explanation.
 */
export const RejectionCodeSchema = z.enum([
  'invalid-payload',
  'unknown-message',
  'invalid-task',
  'wrong-model',
  /** Only in state carried from before the backlog redesign: the queue no longer drops tasks. */
  'queue-full',
  /** A backlog segment (or a line of one) could not be read: its tasks are counted as `unreadable`. */
  'unreadable-segment',
  'empty-annotator',
  'unknown-task',
  'task-finished',
  'label-not-in-classes',
  'claimed-by-other',
  'conflicting-label',
  'already-labelled',
  'not-lease-holder',
  'duplicate',
  /**
   * Accepted, not applied yet: the label's task is in the store backlog, not yet paged in. The label is
   * kept in the store inbox and applied (with the same rules) once its task is paged in.
   */
  'deferred',
]);
export type RejectionCode = z.infer<typeof RejectionCodeSchema>;

/** Answer to `submitLabelUpdate` and `renewLease` (and what a signal would have got). */
export const SubmitResultSchema = z.object({
  accepted: z.boolean(),
  /** Set on every rejection, and to `duplicate` when a repeated label was accepted without effect. */
  reason: RejectionCodeSchema.optional(),
  detail: z.string().optional(),
  /** The task's status after the message; `unknown` when no such task is known. */
  status: z.union([TaskStatusSchema, z.literal('unknown')]),
  /** `renewLease` only: when the renewed lease ends (ISO-8601). */
  leaseExpiresAt: TimestampSchema.optional(),
});
export type SubmitResult = z.infer<typeof SubmitResultSchema>;

/** A task handed to an annotator, with its lease. Earlier annotators' labels are not shown (blind review). */
export const ClaimedTaskSchema = ReviewTaskSchema.extend({
  lease: z.object({ annotator: z.string(), expiresAt: TimestampSchema }),
  /** Agreeing labels needed to finish the task (1 unless hard). */
  labelsNeeded: z.number().int(),
  /** Labels already received from other annotators. */
  labelsSoFar: z.number().int(),
});
export type ClaimedTask = z.infer<typeof ClaimedTaskSchema>;

/** Answer to `claimTask`: a task under a lease, or none with the reason. */
export type ClaimResult =
  | { task: ClaimedTask; reason?: undefined }
  | { task: null; reason: 'no-task' | 'empty-annotator'; detail: string };

/** One label as received by the queue. */
export interface ReceivedLabelView {
  annotator: string;
  label: string;
  /** When it was received (absent for finished tasks, whose details were pruned). */
  at?: string;
  note?: string;
}

/** What the `task` and `pendingTasks` queries show about one task. */
export interface TaskView {
  taskId: string;
  status: TaskStatus;
  /** Absent for finished tasks, whose details were pruned. */
  enqueuedAt?: string;
  /** When it became done, escalated or expired. */
  finishedAt?: string;
  lease?: { annotator: string; expiresAt: string };
  labels: ReceivedLabelView[];
  skippedBy: string[];
  /** The consensus (or single) label of a done task. */
  finalLabel?: string;
  /** The task itself; absent for finished tasks after their details were pruned from the queue. */
  task?: ReviewTask;
}

/** One rejected message, as kept in the bounded `rejections` list of `reviewStats`. */
export interface RejectionView {
  at: string;
  message: string;
  via: 'signal' | 'update' | 'inbox';
  code: RejectionCode;
  detail: string;
  taskId?: string;
  annotator?: string;
}

/** Answer to the `reviewStats` query. */
export interface ReviewStats {
  modelId: string;
  /** Tasks accepted but still in the store (backlog segments and staged tasks), not yet paged in. */
  backlog: number;
  /** Backlog segments waiting (each is one NDJSON object in the store). */
  backlogSegments: number;
  /** Tasks paged in now (pending + claimed + escalated) — the active window. */
  window: number;
  /** Tasks in the active window now. */
  pending: number;
  claimed: number;
  /** Cumulative counts (across continue-as-new). */
  done: number;
  escalated: number;
  expired: number;
  rejected: number;
  added: number;
  duplicateTasks: number;
  /** Only from state carried from before the backlog redesign (the queue no longer drops tasks). */
  droppedTasks: number;
  segmentsAdded: number;
  duplicateSegments: number;
  pagedIn: number;
  /** Tasks of backlog segments that could not be read (missing object, bad line): counted, with a rejection. */
  unreadable: number;
  /** Labels applied from the store inbox (stored by a client before the queue saw them). */
  inboxLabels: number;
  /** Inbox entries applied and not yet deleted (they are deleted once their rows are written). */
  inboxPending: number;
  /**
   * Inbox entries left in the inbox in the current drain pass because their task may still be in a
   * backlog segment the queue cannot look into yet; they are read again on the next pass.
   */
  inboxDeferred: number;
  /** Labels (signal or update) whose task was not paged in yet, handed to the store inbox instead. */
  deferredLabels: number;
  /** Backlog segments found in the store without an announcement (e.g. `review add` with no worker). */
  segmentsDiscovered: number;
  labelsAccepted: number;
  duplicateLabels: number;
  leaseExpiries: number;
  annotators: Record<string, { claimed: number; submitted: number; skipped: number }>;
  /** Age of the oldest pending (unclaimed) task in ms, null when none. */
  oldestPendingAgeMs: number | null;
  outbox: number;
  flushedRows: number;
  flushedBatches: number;
  flushFailures: number;
  /** Last rejections (newest last), bounded. */
  rejections: RejectionView[];
  /** Runs of this queue so far (0 for the first run); each continue-as-new adds one. */
  continuedAsNew: number;
  historyLength: number;
}

/** Tuning of one review queue; every field is optional (defaults in brackets). */
export const ReviewQueueConfigSchema = z.object({
  /** Lease on a claimed task [3600]. */
  leaseSeconds: z
    .number()
    .positive()
    .max(7 * 86_400)
    .optional(),
  /** Unanswered tasks expire after this many days [10]; fractions allowed. */
  taskLifetimeDays: z.number().positive().max(3650).optional(),
  /** Agreeing labels a hard task needs [2]. */
  consensusK: z.number().int().min(1).max(10).optional(),
  /** Distinct annotators asked at most for a hard task before it is escalated [3]. */
  maxAnnotatorsPerHardTask: z.number().int().min(1).max(10).optional(),
  /** Labelled rows per written batch [200]. */
  flushBatchSize: z.number().int().min(1).max(10_000).optional(),
  /** Longest a finished label waits before it is written [60000]. */
  flushEveryMs: z.number().int().min(100).optional(),
  /** Continue-as-new once a run's history reaches this many events [2000]. */
  maxHistoryEvents: z.number().int().min(20).optional(),
  /**
   * Tasks paged in from the backlog (the active window) [200]; it is refilled once it falls to half.
   * The backlog itself is unbounded: it lives in the store.
   */
  activeWindowTasks: z.number().int().min(1).max(2000).optional(),
  /** Backstop: the label inbox in the store is read at least this often [60000]. */
  inboxPollMs: z.number().int().min(1000).optional(),
  /** Accepted for queues started before the backlog redesign; ignored (nothing is dropped any more). */
  maxOpenTasks: z.number().int().min(1).max(20_000).optional(),
  /** As maxOpenTasks: accepted and ignored. */
  maxOpenTaskBytes: z.number().int().min(1000).max(1_200_000).optional(),
});
export type ReviewQueueConfig = z.infer<typeof ReviewQueueConfigSchema>;
