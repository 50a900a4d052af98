import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { Activities } from '../activities';
import { ModelIdSchema } from '../schemas/records';
import { layout } from '../storage/layout';
import {
  AddTaskSegmentSchema,
  ClaimTaskSchema,
  PendingTasksQuerySchema,
  ReleaseTaskSchema,
  RenewLeaseSchema,
  ReviewQueueConfigSchema,
  ReviewTaskSchema,
  SkipTaskSchema,
  SubmitLabelSchema,
  TaskQuerySchema,
} from '../schemas/review';
import type { ClaimResult, ReviewQueueConfig, ReviewTask, SubmitResult } from '../schemas/review';
import {
  addTaskSegment,
  addTasks,
  claimTask,
  nudgeInbox,
  pendingTasks,
  releaseTask,
  renewLease,
  reviewStats,
  skipTask,
  submitLabel,
  submitLabelUpdate,
  task,
} from './messages';
import { reviewLabelBatchId } from './review-ids';
import {
  MAX_INBOX_DEFERRED,
  restoreReviewQueueState,
  ReviewQueueState,
  reviewQueueOptions,
} from './review-queue-state';
import type { ReviewQueueStateData } from './review-queue-state';

/** Input of `reviewQueue`: the model, optional tuning, and the state carried over by continue-as-new. */
export interface ReviewQueueInput {
  modelId: string;
  config?: ReviewQueueConfig;
  /** Set by continue-as-new only. */
  state?: ReviewQueueStateData;
}

const DEFAULT_FLUSH_BATCH_SIZE = 200;
const DEFAULT_FLUSH_EVERY_MS = 60_000;
const DEFAULT_MAX_HISTORY_EVENTS = 2000;
/** Flushes attempted before continue-as-new; whatever is left travels in the state. */
const MAX_FLUSHES_BEFORE_CONTINUE = 20;
/** Largest state carried into the next run (Temporal refuses payloads over 2 MB). */
const MAX_CARRIED_STATE_BYTES = 1_500_000;
/**
 * Under a fast stream of signals a run is kept short. A worker that loses its cached copy of the run
 * (a restart, a workflow task the server had to fail) replays the whole run, about 1 ms per event, while
 * the server holds at most 100 new events for a workflow task in flight before failing that task too:
 * a long run under load could never catch up. So a run ends after at most
 * SIGNAL_RATE_EVENT_BUDGET / (signals per second) events (never fewer than MIN_RUN_EVENTS), which keeps
 * a replay around half of that window. At human labelling rates maxHistoryEvents applies unchanged.
 */
const SIGNAL_RATE_EVENT_BUDGET = 50_000;
const MIN_RUN_EVENTS = 250;

const { flushReviewLabels } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['ZodError'],
  },
});

/** Paging the backlog in: a store outage is retried a few times, then again after flushEveryMs. */
const {
  readReviewSegment,
  writeStagedReviewSegment,
  readReviewInbox,
  ackReviewInbox,
  storeReviewInboxLabels,
} = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '20 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['ZodError', 'ReviewSegmentMissing', 'InvalidReviewTasks'],
  },
});

/** Labels read from the store inbox per batch (a batch is applied, written, then deleted). */
const INBOX_BATCH = 500;
/** Unknown segments one drain takes at most (the activity's bound): more may wait. */
const DISCOVER_MAX = 100;
const DEFAULT_INBOX_POLL_MS = 60_000;

/** Claims that found nothing while a backlog waits ask for a page-in this many times at most. */
const CLAIM_PAGE_IN_ROUNDS = 3;

/** The ApplicationFailure type behind an activity failure, if any. */
function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure
    ? (err.cause.type ?? undefined)
    : undefined;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

/** Validates a message payload; the detail names the first offending field. */
function parsePayload<T>(schema: z.ZodType<T>, value: unknown): Parsed<T> {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(payload)';
  return { ok: false, detail: `${where}: ${issue.message}` };
}

/** The task id of a payload that failed validation, when it has a readable one. */
function taskIdOf(value: unknown): string | undefined {
  const id = (value as { taskId?: unknown } | null | undefined)?.taskId;
  return typeof id === 'string' ? id.slice(0, 200) : undefined;
}

/** Update validators run before the update enters history: a malformed payload is rejected there. */
function validatorFor(name: string, schema: z.ZodType<unknown>) {
  return (payload: unknown): void => {
    const r = parsePayload(schema, payload);
    if (!r.ok)
      throw ApplicationFailure.nonRetryable(`invalid ${name} payload: ${r.detail}`, 'InvalidPayload');
  };
}

/**
 * The human review queue of one model (workflow id `review-{modelId}`): a long-running entity workflow
 * answered through signals, updates and queries (see messages.ts and REVIEW.md). Finished labels are
 * written in batches to `labels/{model}/human/`; the run continues as new when Temporal suggests it or
 * its history reaches `maxHistoryEvents`, carrying its state as plain JSON. Bad input never fails it:
 * malformed signals are recorded as rejections, malformed updates are refused by their validators.
 */
export async function reviewQueue(input: ReviewQueueInput): Promise<void> {
  const info = workflowInfo();
  const now = (): number => Date.now(); // workflow time: deterministic on replay

  const modelParse = ModelIdSchema.safeParse(input?.modelId);
  const modelId = modelParse.success ? modelParse.data : String(input?.modelId ?? '');
  const configParse = ReviewQueueConfigSchema.safeParse(input?.config ?? {});
  const config: ReviewQueueConfig = configParse.success ? configParse.data : {};
  const flushBatchSize = config.flushBatchSize ?? DEFAULT_FLUSH_BATCH_SIZE;
  const flushEveryMs = config.flushEveryMs ?? DEFAULT_FLUSH_EVERY_MS;
  const maxHistoryEvents = config.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const inboxPollMs = config.inboxPollMs ?? DEFAULT_INBOX_POLL_MS;

  // Labels for tasks not paged in yet wait for them, and unannounced backlog segments are found in the
  // store: new commands, so a run recorded before this rule replays without them.
  const waitsForTasks = patched('review-labels-wait-for-tasks');
  const restored = restoreReviewQueueState(input?.state);
  const q = new ReviewQueueState(
    { ...reviewQueueOptions(config, modelParse.success ? modelId : undefined), deferUnknown: waitsForTasks },
    restored.data,
  );
  if (!restored.ok) {
    log.error('review queue: carried state unreadable, starting empty', { workflowId: info.workflowId });
    q.rejectInvalid(now(), 'workflow input', 'signal', 'state: not a review queue state; started empty');
  }
  if (!configParse.success) {
    const detail = parsePayload(ReviewQueueConfigSchema, input?.config);
    q.rejectInvalid(
      now(),
      'workflow input',
      'signal',
      `config ${detail.ok ? '' : detail.detail}; defaults used`,
    );
  }
  if (!modelParse.success && input?.state === undefined) {
    q.rejectInvalid(
      now(),
      'workflow input',
      'signal',
      `modelId "${modelId}" is not a valid model id; labels cannot be written`,
    );
  }

  // --- loop bookkeeping: handlers wake the loop only when it must act before its current timer ---
  let waitingUntil = Infinity;
  let wake = false;
  /** When the oldest unflushed row entered the outbox (this run). */
  let outboxSince: number | undefined = q.outboxSize() > 0 ? now() : undefined;
  /** After a failed flush, the next attempt waits until then. */
  let flushBlockedUntil = 0;

  // Rows of inbox labels are written at once: their inbox entries can only be deleted after that.
  const flushDueAt = (): number =>
    outboxSince === undefined
      ? Infinity
      : Math.max(flushBlockedUntil, q.inboxWaitsForFlush() ? 0 : outboxSince + flushEveryMs);
  // --- backlog: staged tasks are written as segments, the window is paged in from the store ---
  /** Claims waiting for a page-in (they found nothing for their annotator while a backlog waits). */
  let claimsWaiting = 0;
  /** addTaskSegment answers waiting for the window to be filled from their segment. */
  let fillsWaiting = 0;
  const pageInMode = (): boolean | 'fill' => (claimsWaiting > 0 ? true : fillsWaiting > 0 ? 'fill' : false);
  /** Page-in attempts so far (success or not): waiting claims retry after each. */
  let pageInRound = 0;
  let pageInBlockedUntil = 0;
  let stageBlockedUntil = 0;
  /** Set while the run is closing (continue-as-new): waiting claims answer instead of waiting. */
  let closing = false;
  // --- inbox: read on the start of every run, on a nudge, and every inboxPollMs as a backstop ---
  let inboxDue = true;
  let inboxNextPollAt = now() + inboxPollMs;
  let inboxBlockedUntil = 0;
  const inboxDueAt = (): number => {
    if (q.hasAckableInbox()) return inboxBlockedUntil;
    if (q.inboxPendingCount() >= 2 * INBOX_BATCH) return Infinity; // written first, then drained
    return Math.max(inboxBlockedUntil, inboxDue ? 0 : inboxNextPollAt);
  };
  // --- labels (signal or update) for tasks not paged in yet: written to the inbox in batches ---
  let toInboxBlockedUntil = 0;
  /** Labels written to the inbox by this run: a deferred update answers once its label is among them. */
  let toInboxWritten = 0;
  const backlogDueAt = (): number => {
    let due = inboxDueAt();
    if (q.labelsForInbox(1).length > 0) due = Math.min(due, toInboxBlockedUntil);
    if (q.stagedCount() > 0) due = Math.min(due, stageBlockedUntil);
    if (q.pageInRequest(pageInMode())) due = Math.min(due, pageInBlockedUntil);
    return due;
  };
  const nextWakeAt = (): number => Math.min(q.nextDueMs(), flushDueAt(), backlogDueAt());
  /** After a state too large to carry, continue-as-new is not retried before this history length. */
  let deferContinueUntil = 0;
  /** Messages (signals and updates) received by this run and when it started: the run's message rate. */
  let signalsThisRun = 0;
  const runStartMs = now();
  const continueDue = (): boolean => {
    const i = workflowInfo();
    if (i.historyLength < deferContinueUntil) return false;
    if (i.continueAsNewSuggested) return true;
    const perSecond = signalsThisRun / Math.max(1, (now() - runStartMs) / 1000);
    const underLoad = Math.max(MIN_RUN_EVENTS, Math.floor(SIGNAL_RATE_EVENT_BUDGET / Math.max(1, perSecond)));
    return i.historyLength >= Math.min(maxHistoryEvents, underLoad);
  };
  const afterMessage = (): void => {
    const t = now();
    if (q.outboxSize() > 0 && outboxSince === undefined) outboxSince = t;
    if ((q.outboxSize() >= flushBatchSize && t >= flushBlockedUntil) || nextWakeAt() < waitingUntil)
      wake = true;
  };

  /** Runs a handler body; an unexpected error is logged and recorded, never thrown into the workflow. */
  const guarded = <T>(
    message: string,
    via: 'signal' | 'update',
    body: () => T,
    fallback: (detail: string) => T,
  ): T => {
    try {
      return body();
    } catch (err) {
      const detail = `internal error: ${err instanceof Error ? err.message : String(err)}`;
      log.error(`review queue: ${message} failed`, { error: detail });
      q.rejectInvalid(now(), message, via, detail);
      return fallback(detail);
    } finally {
      if (via === 'update') signalsThisRun++;
      afterMessage();
    }
  };
  const rejectedResult = (detail: string): SubmitResult => ({
    accepted: false,
    reason: 'invalid-payload',
    detail,
    status: 'unknown',
  });

  // --- signals: never throw; invalid payloads become rejections -----------------------------------
  const signalBodies: Record<string, (payload: unknown) => void> = {
    addTasks: (payload) => {
      // Each task is validated on its own, so one bad task does not drop the batch.
      const raw = (payload as { tasks?: unknown } | null | undefined)?.tasks;
      if (!Array.isArray(raw)) {
        q.rejectInvalid(now(), 'addTasks', 'signal', 'tasks: expected an array of review tasks');
        return;
      }
      const valid: ReviewTask[] = [];
      raw.forEach((item, i) => {
        const r = parsePayload(ReviewTaskSchema, item);
        if (r.ok) valid.push(r.value);
        else
          q.rejectInvalid(
            now(),
            'addTasks',
            'signal',
            `tasks.${i}.${r.detail}`,
            'invalid-task',
            taskIdOf(item),
          );
      });
      q.addTasks(valid, now());
    },
    nudgeInbox: () => {
      inboxDue = true;
    },
    submitLabel: (payload) => {
      const p = parsePayload(SubmitLabelSchema, payload);
      if (p.ok) q.submitLabel(p.value, now(), 'signal');
      else q.rejectInvalid(now(), 'submitLabel', 'signal', p.detail, 'invalid-payload', taskIdOf(payload));
    },
    skipTask: (payload) => {
      const p = parsePayload(SkipTaskSchema, payload);
      if (p.ok) q.skipTask(p.value, now(), 'signal');
      else q.rejectInvalid(now(), 'skipTask', 'signal', p.detail, 'invalid-payload', taskIdOf(payload));
    },
    releaseTask: (payload) => {
      const p = parsePayload(ReleaseTaskSchema, payload);
      if (p.ok) q.releaseTask(p.value, now(), 'signal');
      else q.rejectInvalid(now(), 'releaseTask', 'signal', p.detail, 'invalid-payload', taskIdOf(payload));
    },
  };
  const onSignal = (name: string, payload: unknown): void => {
    signalsThisRun++;
    guarded(
      name,
      'signal',
      () => {
        const body = Object.prototype.hasOwnProperty.call(signalBodies, name)
          ? signalBodies[name]
          : undefined;
        if (body) body(payload);
        else
          q.rejectInvalid(
            now(),
            name.slice(0, 100),
            'signal',
            `no signal named "${name.slice(0, 100)}"`,
            'unknown-message',
          );
      },
      () => undefined,
    );
  };
  // Signals that reach a run before its handlers exist (the first workflow task of every run) are held
  // by the SDK and handed to the first handler registered for their name, which would reorder them
  // (a label behind a later addTasks). A default handler registered first gets them in arrival order;
  // it also records signals with unknown names instead of leaving them buffered.
  setDefaultSignalHandler((name: string, ...args: unknown[]) => onSignal(name, args[0]));
  setHandler(addTasks, (payload: unknown) => onSignal('addTasks', payload));
  setHandler(submitLabel, (payload: unknown) => onSignal('submitLabel', payload));
  setHandler(skipTask, (payload: unknown) => onSignal('skipTask', payload));
  setHandler(releaseTask, (payload: unknown) => onSignal('releaseTask', payload));
  setHandler(nudgeInbox, (payload?: unknown) => onSignal('nudgeInbox', payload));

  // --- updates: validated before they enter history; rule violations are answered, not thrown -----
  setHandler(
    submitLabelUpdate,
    async (payload) => {
      const r = guarded(
        'submitLabelUpdate',
        'update',
        () => q.submitLabel(SubmitLabelSchema.parse(payload), now(), 'update'),
        rejectedResult,
      );
      if (r.reason !== 'deferred') return r;
      // Answer once the label is in the store inbox (or carried into the next run's state).
      const target = toInboxWritten + q.labelsForInbox().length;
      wake = true;
      await condition(() => toInboxWritten >= target || closing);
      return r;
    },
    {
      validator: validatorFor('submitLabelUpdate', SubmitLabelSchema),
      description: 'label a task and get the verdict',
    },
  );
  const claimNow = (payload: unknown): ClaimResult =>
    guarded(
      'claimTask',
      'update',
      () => q.claim(ClaimTaskSchema.parse(payload), now()),
      (detail): ClaimResult => ({ task: null, reason: 'no-task', detail }),
    );
  setHandler(
    claimTask,
    async (payload) => {
      let r = claimNow(payload);
      // Nothing in the window for this annotator while the backlog waits in the store: page in more.
      for (
        let i = 0;
        i < CLAIM_PAGE_IN_ROUNDS && !r.task && r.reason === 'no-task' && !closing && q.pageInRequest(true);
        i++
      ) {
        const round = pageInRound;
        claimsWaiting++;
        wake = true;
        try {
          await condition(() => pageInRound !== round || closing);
        } finally {
          claimsWaiting--;
        }
        r = claimNow(payload);
      }
      return r;
    },
    {
      validator: validatorFor('claimTask', ClaimTaskSchema),
      description: 'claim the oldest pending task under a lease',
    },
  );
  setHandler(
    renewLease,
    (payload) =>
      guarded(
        'renewLease',
        'update',
        () => q.renewLease(RenewLeaseSchema.parse(payload), now()),
        rejectedResult,
      ),
    { validator: validatorFor('renewLease', RenewLeaseSchema), description: "extend the caller's lease" },
  );

  setHandler(
    addTaskSegment,
    async (payload) => {
      const r = guarded(
        'addTaskSegment',
        'update',
        () => q.addSegment(AddTaskSegmentSchema.parse(payload), now()),
        () => undefined,
      );
      if (!r)
        throw ApplicationFailure.nonRetryable('addTaskSegment failed inside the queue', 'InternalError');
      // Answer once the window is filled from it (when it has room): a client that labels tasks by id
      // right after adding them finds them, as it did when tasks were sent inline.
      if (r.accepted > 0 && q.pageInRequest('fill')) {
        const round = pageInRound;
        fillsWaiting++;
        wake = true;
        try {
          await condition(() => pageInRound !== round || closing);
        } finally {
          fillsWaiting--;
        }
      }
      return { ...r, backlog: q.backlogSize() };
    },
    {
      validator: (payload: unknown): void => {
        validatorFor('addTaskSegment', AddTaskSegmentSchema)(payload);
        const ref = AddTaskSegmentSchema.parse(payload);
        const expected = layout.reviewBacklogSegment(modelId, ref.segmentId);
        if (ref.key !== expected)
          throw ApplicationFailure.nonRetryable(
            `invalid addTaskSegment payload: key must be "${expected}" for this queue, got "${ref.key.slice(0, 200)}"`,
            'InvalidPayload',
          );
      },
      description: 'add a backlog segment (tasks in the store) by reference',
    },
  );

  // --- queries: read-only ------------------------------------------------------------------------
  setHandler(pendingTasks, (payload?: unknown) => {
    const p = parsePayload(PendingTasksQuerySchema, payload ?? {});
    if (!p.ok) throw new Error(`invalid pendingTasks payload: ${p.detail}`);
    return q.list(p.value);
  });
  setHandler(task, (payload: unknown) => {
    const p = parsePayload(TaskQuerySchema, payload);
    if (!p.ok) throw new Error(`invalid task payload: ${p.detail}`);
    return q.task(p.value.taskId);
  });
  setHandler(reviewStats, () => q.stats(now(), { modelId, historyLength: workflowInfo().historyLength }));

  /** Serves messages, timers and flushes until it is time to continue as new. */
  const serve = async (): Promise<void> => {
    for (;;) {
      const t = now();
      q.tick(t);
      // Checked before flushing: under a steady stream of labels there is always something to flush.
      if (continueDue()) return;
      if (q.outboxSize() > 0 && outboxSince === undefined) outboxSince = t;
      if (
        q.outboxSize() > 0 &&
        t >= flushBlockedUntil &&
        (q.outboxSize() >= flushBatchSize || t >= flushDueAt())
      ) {
        await flushOnce(flushBatchSize);
        continue;
      }
      if (q.labelsForInbox(1).length > 0 && t >= toInboxBlockedUntil) {
        await storeLabelsInInbox();
        continue;
      }
      if (t >= inboxBlockedUntil) {
        const acks = q.ackableInbox();
        if (acks.length > 0) {
          await ackInbox(acks);
          continue;
        }
        if ((inboxDue || t >= inboxNextPollAt) && q.inboxPendingCount() < 2 * INBOX_BATCH) {
          await drainInbox();
          continue;
        }
      }
      if (q.stagedCount() > 0 && t >= stageBlockedUntil) {
        await spillStaged();
        continue;
      }
      const page = t >= pageInBlockedUntil ? q.pageInRequest(pageInMode()) : undefined;
      if (page) {
        await pageIn(page);
        continue;
      }
      const next = nextWakeAt();
      wake = false;
      waitingUntil = next;
      const woken = (): boolean => wake || continueDue();
      if (next === Infinity) await condition(woken);
      else await condition(woken, Math.max(1, next - t));
      waitingUntil = Infinity;
    }
  };

  /** Writes labels for tasks not paged in yet to the store inbox; the drain applies them later. */
  const storeLabelsInInbox = async (): Promise<void> => {
    const labels = q.labelsForInbox();
    try {
      await storeReviewInboxLabels({ modelId, labels });
      q.labelsStoredInInbox(labels.length);
      toInboxWritten += labels.length;
      inboxDue = true;
    } catch (err) {
      toInboxBlockedUntil = now() + flushEveryMs;
      log.warn('review queue: storing deferred labels in the inbox failed; keeping them for the next try', {
        labels: labels.length,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  /** A drain pass reads the whole inbox once; entries deferred in it are read again by the next one. */
  let inboxPassOpen = false;
  /** Reads one bounded batch of the store inbox and applies it; a full batch means: read again. */
  const drainInbox = async (): Promise<void> => {
    inboxDue = false;
    inboxNextPollAt = now() + inboxPollMs;
    if (waitsForTasks && !inboxPassOpen) q.startInboxPass();
    inboxPassOpen = true;
    try {
      const segments = waitsForTasks ? q.lookupSegments() : [];
      const backlogIds = waitsForTasks ? q.backlogSegmentIds() : [];
      const consumed = waitsForTasks ? q.consumedSegments() : [];
      const read = await readReviewInbox({
        modelId,
        limit: INBOX_BATCH,
        skip: q.inboxPending(),
        ...(waitsForTasks ? { segments, discover: true, backlogIds, consumed } : {}),
      });
      const t = now();
      if (read.deleted) q.consumedDeleted(read.deleted);
      for (const g of read.discovered ?? []) q.discoverSegment(g, t);
      // Every segment that could hold a label's task was looked into: a task found nowhere is unknown.
      const complete = segments.length === backlogIds.length && (read.discovered?.length ?? 0) < DISCOVER_MAX;
      const found = new Map((read.found ?? []).map((f) => [f.entryId, f]));
      for (const e of read.labels)
        q.applyInboxLabel(
          e.entryId,
          e.label,
          t,
          waitsForTasks ? { found: found.get(e.entryId), complete } : undefined,
        );
      for (const e of read.invalid) q.rejectInboxEntry(e.entryId, e.detail, t);
      inboxDue = read.more && q.inboxDeferredCount() < MAX_INBOX_DEFERRED;
      if (!inboxDue) inboxPassOpen = false;
      if (q.outboxSize() > 0 && outboxSince === undefined) outboxSince = t;
    } catch (err) {
      inboxBlockedUntil = now() + flushEveryMs;
      log.warn('review queue: reading the label inbox failed; trying again later', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  /** Deletes inbox entries whose rows are written. */
  const ackInbox = async (ids: string[]): Promise<void> => {
    try {
      await ackReviewInbox({ modelId, entryIds: ids });
      q.inboxAcked(ids);
    } catch (err) {
      inboxBlockedUntil = now() + flushEveryMs;
      log.warn('review queue: deleting applied inbox entries failed; trying again later', {
        entries: ids.length,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  /** Writes the staged tasks (sent inline) as a backlog segment; on failure they stay staged. */
  const spillStaged = async (): Promise<void> => {
    const tasks = q.stagedTasks();
    try {
      const ref = await writeStagedReviewSegment({ modelId, tasks });
      q.stagedWritten(tasks.length, ref, now());
    } catch (err) {
      stageBlockedUntil = now() + flushEveryMs;
      log.warn('review queue: writing staged tasks to the backlog failed; keeping them for the next try', {
        tasks: tasks.length,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  /** Reads the next tasks of the oldest backlog segment into the window. */
  const pageIn = async (req: NonNullable<ReturnType<typeof q.pageInRequest>>): Promise<void> => {
    try {
      const read = await readReviewSegment({
        modelId,
        segmentId: req.segmentId,
        offset: req.offset,
        limit: req.limit,
        maxBytes: req.maxBytes,
      });
      if (read.tasks.length + read.invalid.length === 0)
        q.segmentUnreadable(req.segmentId, `the object ends before task ${req.offset + 1}`, now());
      else q.pagedIn(req, read, now());
    } catch (err) {
      const detail =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      const type = failureType(err);
      if (type === 'ReviewSegmentMissing' || type === 'ZodError')
        q.segmentUnreadable(req.segmentId, detail, now());
      else {
        pageInBlockedUntil = now() + flushEveryMs;
        log.warn('review queue: paging the backlog in failed; trying again later', {
          segment: req.segmentId,
          error: detail,
        });
      }
    } finally {
      pageInRound++;
    }
  };

  /** Writes up to one batch from the outbox; on failure the rows stay and the next try waits. */
  const flushOnce = async (max: number): Promise<boolean> => {
    const n = Math.min(q.outboxSize(), max);
    const rows = q.peekOutbox(n);
    const batchId = reviewLabelBatchId(info.workflowId, q.nextFlushSeq());
    try {
      await flushReviewLabels({ modelId, batchId, rows });
      q.markFlushed(n);
      if (q.outboxSize() === 0) outboxSince = undefined;
      return true;
    } catch (err) {
      q.markFlushFailed();
      flushBlockedUntil = now() + flushEveryMs;
      log.warn('review queue: writing labels failed; keeping them for the next try', {
        batchId,
        rows: n,
        error: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  };

  for (;;) {
    await serve();

    // Continue-as-new: let handlers finish, write the rows waiting now (rows that arrive meanwhile, or
    // that cannot be written, travel in the state), and carry the state as plain JSON.
    closing = true;
    // Deferred labels: written to the inbox now if possible; otherwise they travel in the state.
    if (q.labelsForInbox(1).length > 0) await storeLabelsInInbox();
    await condition(allHandlersFinished);
    let toFlush = q.outboxSize();
    for (let i = 0; i < MAX_FLUSHES_BEFORE_CONTINUE && toFlush > 0; i++) {
      const n = Math.min(toFlush, flushBatchSize);
      if (!(await flushOnce(n))) break;
      toFlush -= n;
    }
    await condition(allHandlersFinished);
    q.tick(now());
    const size = JSON.stringify(q.toJSON()).length;
    if (size > MAX_CARRIED_STATE_BYTES) {
      // Too big to carry (labels piling up while the store is unreachable): a payload over Temporal's
      // limit would end the workflow. Keep serving in this run and try again later.
      const historyLength = workflowInfo().historyLength;
      deferContinueUntil = historyLength + Math.max(100, Math.floor(maxHistoryEvents / 4));
      log.warn('review queue: state too large to continue as new; retrying later', {
        stateBytes: size,
        outbox: q.outboxSize(),
        historyLength,
      });
      closing = false;
      continue;
    }
    q.markContinuedAsNew();
    log.info('review queue: continuing as new', {
      workflowId: info.workflowId,
      historyLength: workflowInfo().historyLength,
      stateBytes: size,
    });
    await continueAsNew<typeof reviewQueue>({ modelId, config, state: q.toJSON() });
  }
}
