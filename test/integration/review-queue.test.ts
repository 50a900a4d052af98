import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createEnqueueReviewTasks } from '../../src/activities/enqueue-review-tasks';
import { main } from '../../src/cli';
import { LabeledRowSchema } from '../../src/schemas';
import type { LabeledRow } from '../../src/schemas';
import { ReviewTaskSchema } from '../../src/schemas/review';
import type { ClaimResult, ReviewQueueConfig, ReviewStats, ReviewTask } from '../../src/schemas/review';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import { readLines } from '../../src/storage/ndjson';
import {
  claimTask,
  renewLease,
  reviewStats,
  submitLabel,
  submitLabelUpdate,
  task as taskQuery,
} from '../../src/workflows/messages';
import { createLoopkeeperWorker } from '../../src/workers/worker';
import { reviewQueueWorkflowId } from '../../src/workflows/review-ids';
import { maybeRecordHistory } from '../support/histories';
import {
  testConfig,
  testTemporalAddress,
  tempFileStore,
  withInstalledWorker,
  withWorker,
  workflowBundle,
} from '../support/temporal';
import type { TestStack } from '../support/temporal';

/**
 * The review queue on the real Temporal dev server: tasks come in by signal-with-start, annotators claim
 * (update), label by signal (sent by name, as any outside client would) or by update, skip and release;
 * leases and tasks expire on timers; hard tasks need consensus; bad input is recorded, never fatal; and
 * continue-as-new keeps every label.
 */

const root = path.resolve(__dirname, '../..');
let modelSeq = 0;

/** A model id of its own per test, so workflow ids never collide on the shared server. */
function freshModel(): string {
  return `rq-${Date.now().toString(36)}-${++modelSeq}`;
}

function makeTask(modelId: string, id: string, overrides: Partial<ReviewTask> = {}): ReviewTask {
  return ReviewTaskSchema.parse({
    taskId: id,
    modelId,
    requestId: `req-${id}`,
    timestamp: '2026-06-01T12:00:00.000Z',
    features: { tenure_days: 12, plan: 'pro' },
    predictedLabel: 'stay',
    scores: { churn: 0.3, stay: 0.7 },
    givenLabel: 'churn',
    labelSource: 'user-report',
    routeReason: 'model-disputes-label',
    hard: false,
    audit: false,
    classes: ['churn', 'stay'],
    createdAt: '2026-06-09T00:00:00.000Z',
    ...overrides,
  });
}

/** Adds tasks the way the cycle does: the enqueue activity's signal-with-start. */
async function enqueue(
  stack: TestStack,
  store: BlobStore,
  modelId: string,
  tasks: ReviewTask[],
  config?: ReviewQueueConfig,
): Promise<WorkflowHandle> {
  const enqueueReviewTasks = createEnqueueReviewTasks({ store, config: stack.config, client: stack.client });
  const r = await enqueueReviewTasks({ modelId, tasks, config });
  expect(r).toMatchObject({ workflowId: reviewQueueWorkflowId(modelId), sent: tasks.length });
  return stack.client.workflow.getHandle(r.workflowId);
}

async function waitFor<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 150));
    last = await read();
  }
  return last;
}

/**
 * Claims a task, retrying when the server failed the workflow task that carried the update (under load
 * on a shared machine): such an update was not applied, so a retry is safe, as for any client.
 */
async function claimRetrying(h: WorkflowHandle, annotator: string): Promise<ClaimResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h.executeUpdate(claimTask, { args: [{ annotator }] });
    } catch (err) {
      const cause = (err as { cause?: { code?: number } }).cause;
      if (attempt >= 5 || cause?.code !== 9) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

const stats = (h: WorkflowHandle): Promise<ReviewStats> => h.query(reviewStats);

async function storedLabels(store: BlobStore, modelId: string): Promise<LabeledRow[]> {
  const rows: LabeledRow[] = [];
  for await (const info of store.list(layout.labelsPrefix(modelId, 'human'))) {
    for await (const { line } of readLines(store, info.key))
      rows.push(LabeledRowSchema.parse(JSON.parse(line)));
  }
  return rows;
}

/** Every run of a continue-as-new chain, from its first run: run id and history length. */
async function runChain(
  client: Client,
  workflowId: string,
  firstRunId: string,
): Promise<{ runId: string; events: number }[]> {
  const runs: { runId: string; events: number }[] = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    runs.push({ runId, events: events.length });
    runId =
      events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
      undefined;
  }
  return runs;
}

async function finish(h: WorkflowHandle, historyName?: string): Promise<void> {
  await h.terminate('test finished');
  if (historyName) await maybeRecordHistory(h, historyName);
}

describe('reviewQueue workflow on the real server', () => {
  test('signal-with-start adds tasks; claim by update, label by signal (by name) and by update, skip', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      const tasks = ['t1', 't2', 't3'].map((id, i) =>
        makeTask(modelId, id, { createdAt: `2026-06-09T0${i}:00:00.000Z` }),
      );
      const h = await enqueue(stack, store, modelId, tasks, { flushEveryMs: 300 });
      // Enqueueing again is harmless: known ids are ignored.
      await enqueue(stack, store, modelId, tasks.slice(0, 1));

      const claim = await h.executeUpdate(claimTask, { args: [{ annotator: 'alice' }] });
      expect(claim.task).toMatchObject({ taskId: 't1', lease: { annotator: 'alice' }, labelsNeeded: 1 });
      expect(Date.parse(claim.task!.lease.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);

      // An outside client knows only the name and the JSON payload.
      await h.signal('submitLabel', {
        taskId: 't1',
        label: 'churn',
        annotator: 'alice',
        note: 'checked CRM',
      });

      const viaUpdate = await h.executeUpdate(submitLabelUpdate, {
        args: [{ taskId: 't2', label: 'stay', annotator: 'bob' }],
      });
      expect(viaUpdate).toEqual({ accepted: true, status: 'done' });
      expect(
        await h.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: 't2', label: 'stay', annotator: 'bob' }],
        }),
      ).toMatchObject({ accepted: true, reason: 'duplicate' });
      expect(
        await h.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: 't3', label: 'maybe', annotator: 'bob' }],
        }),
      ).toMatchObject({ accepted: false, reason: 'label-not-in-classes', status: 'pending' });

      await h.signal('skipTask', { taskId: 't3', annotator: 'alice', reason: 'not sure' });
      expect(await h.executeUpdate(claimTask, { args: [{ annotator: 'alice' }] })).toMatchObject({
        task: null,
        reason: 'no-task',
      });
      const bobClaim = await h.executeUpdate(claimTask, { args: [{ annotator: 'bob', leaseSeconds: 600 }] });
      expect(bobClaim.task?.taskId).toBe('t3');
      expect(
        await h.executeUpdate(renewLease, { args: [{ taskId: 't3', annotator: 'alice' }] }),
      ).toMatchObject({ accepted: false, reason: 'claimed-by-other' });
      await h.signal('releaseTask', { taskId: 't3', annotator: 'bob' });
      expect(await h.query(taskQuery, { taskId: 't3' })).toMatchObject({
        status: 'pending',
        skippedBy: ['alice'],
      });

      const s = await waitFor(
        () => stats(h),
        (x) => x.flushedRows === 2,
        'two labels written',
      );
      expect(s).toMatchObject({
        pending: 1,
        claimed: 0,
        done: 2,
        added: 3,
        duplicateTasks: 1,
        labelsAccepted: 2,
        duplicateLabels: 1,
        rejected: 2, // the out-of-classes label and alice's renewal of bob's lease
        outbox: 0,
      });
      expect(s.annotators).toEqual({
        alice: { claimed: 1, submitted: 1, skipped: 1 },
        bob: { claimed: 1, submitted: 1, skipped: 0 },
      });
      const rows = await storedLabels(store, modelId);
      expect(rows.map((r) => [r.requestId, r.label, r.labelSource]).sort()).toEqual([
        ['req-t1', 'churn', 'human-review'],
        ['req-t2', 'stay', 'human-review'],
      ]);
      expect(rows.find((r) => r.requestId === 'req-t1')?.lineage).toMatchObject({
        taskId: 't1',
        annotators: '["alice"]',
        routeReason: 'model-disputes-label',
        consensus: 'single',
      });
      const keys: string[] = [];
      for await (const info of store.list(layout.labelsPrefix(modelId, 'human'))) keys.push(info.key);
      expect(keys.every((k) => k.startsWith(`labels/${modelId}/human/review-${modelId}-0000`))).toBe(true);
      await finish(h, 'review-queue-basic');
    });
  });

  test('a short lease returns the task to the queue, and a short lifetime expires unanswered tasks', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      const h = await enqueue(
        stack,
        store,
        modelId,
        ['t1', 't2', 't3'].map((id) => makeTask(modelId, id)),
        { leaseSeconds: 2, taskLifetimeDays: 6 / 86_400, flushEveryMs: 200 },
      );
      const claimedAt = Date.now();
      const claim = await h.executeUpdate(claimTask, { args: [{ annotator: 'alice' }] });
      expect(claim.task?.taskId).toBe('t1');
      // No message arrives: the workflow's own timer ends the lease.
      await waitFor(
        () => h.query(taskQuery, { taskId: 't1' }),
        (v) => v?.status === 'pending',
        'lease expiry',
        10_000,
      );
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(1900);
      expect((await stats(h)).leaseExpiries).toBe(1);
      expect((await h.executeUpdate(claimTask, { args: [{ annotator: 'bob' }] })).task?.taskId).toBe('t1');
      await h.signal(submitLabel, { taskId: 't2', label: 'stay', annotator: 'carol' });

      const s = await waitFor(
        () => stats(h),
        (x) => x.expired === 2,
        'task expiry',
        15_000,
      );
      expect(s).toMatchObject({ pending: 0, claimed: 0, done: 1, expired: 2, flushedRows: 1 });
      expect(
        await h.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: 't1', label: 'churn', annotator: 'bob' }],
        }),
      ).toMatchObject({ accepted: false, reason: 'task-finished', status: 'expired' });
      await finish(h, 'review-queue-expiry');
    });
  });

  test('hard tasks: two agreeing annotators finish one, three disagreeing escalate another', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      const h = await enqueue(
        stack,
        store,
        modelId,
        [
          makeTask(modelId, 'agree', { hard: true }),
          makeTask(modelId, 'split', { hard: true, classes: ['churn', 'stay', 'unsure'] }),
        ],
        { flushEveryMs: 200 },
      );
      const first = await h.executeUpdate(claimTask, { args: [{ annotator: 'alice' }] });
      expect(first.task).toMatchObject({ taskId: 'agree', labelsNeeded: 2, labelsSoFar: 0 });
      await h.signal('submitLabel', { taskId: 'agree', label: 'churn', annotator: 'alice' });
      const second = await h.executeUpdate(claimTask, { args: [{ annotator: 'bob' }] });
      expect(second.task).toMatchObject({ taskId: 'agree', labelsSoFar: 1 });
      expect(
        await h.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: 'agree', label: 'churn', annotator: 'bob' }],
        }),
      ).toEqual({ accepted: true, status: 'done' });

      await h.signal('submitLabel', { taskId: 'split', label: 'churn', annotator: 'alice' });
      await h.signal('submitLabel', { taskId: 'split', label: 'stay', annotator: 'bob' });
      expect(
        await h.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: 'split', label: 'unsure', annotator: 'carol' }],
        }),
      ).toEqual({ accepted: true, status: 'escalated' });

      const s = await waitFor(
        () => stats(h),
        (x) => x.flushedRows === 1,
        'consensus label written',
      );
      expect(s).toMatchObject({ done: 1, escalated: 1, pending: 0, labelsAccepted: 5 });
      expect(await h.query(taskQuery, { taskId: 'split' })).toMatchObject({ status: 'escalated' });
      const rows = await storedLabels(store, modelId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        requestId: 'req-agree',
        label: 'churn',
        lineage: { annotators: '["alice","bob"]', consensus: '2-of-2', hard: 'true' },
      });
      await finish(h);
    });
  });

  test('malformed signals are recorded as rejections and malformed updates refused, never failing the queue', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      const h = await enqueue(stack, store, modelId, [makeTask(modelId, 't1')]);
      await h.signal('submitLabel', { taskId: 42, label: 'churn', annotator: 'alice' });
      await h.signal('submitLabel', 'not an object');
      await h.signal('submitLabel');
      await h.signal('skipTask', { taskId: 't1' });
      await h.signal('releaseTask', null);
      await h.signal('addTasks', { tasks: [{ taskId: 'bad-1', modelId }, makeTask(modelId, 'ok-1')] });
      await h.signal('addTasks', { tasks: 'nope' });
      await h.signal('addTasks', { tasks: [makeTask('some-other-model', 'foreign')] });
      await h.signal('submitLabel', { taskId: 't1', label: 'churn', annotator: '' });
      await h.signal('labelIt', { taskId: 't1' });

      const err = await h
        .executeUpdate(submitLabelUpdate, { args: [{ taskId: 7 } as never] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((err as WorkflowUpdateFailedError).cause?.message)).toMatch(
        /invalid submitLabelUpdate payload: taskId/,
      );
      await expect(h.executeUpdate('claimTask', { args: [{ leaseSeconds: -1 }] })).rejects.toBeInstanceOf(
        WorkflowUpdateFailedError,
      );

      const s = await waitFor(
        () => stats(h),
        (x) => x.rejected >= 10,
        'rejections recorded',
      );
      expect(s.rejections.map((r) => [r.message, r.code])).toEqual([
        ['submitLabel', 'invalid-payload'],
        ['submitLabel', 'invalid-payload'],
        ['submitLabel', 'invalid-payload'],
        ['skipTask', 'invalid-payload'],
        ['releaseTask', 'invalid-payload'],
        ['addTasks', 'invalid-task'],
        ['addTasks', 'invalid-payload'],
        ['addTasks', 'wrong-model'],
        ['submitLabel', 'empty-annotator'],
        ['labelIt', 'unknown-message'],
      ]);
      expect(s.rejections[0].detail).toMatch(/^taskId: /);
      expect(s.rejections[5]).toMatchObject({
        taskId: 'bad-1',
        detail: expect.stringMatching(/^tasks\.0\./),
      });
      expect(s).toMatchObject({ rejected: 10, added: 2, pending: 2 });
      expect((await h.describe()).status.name).toBe('RUNNING');
      // Still fully working.
      expect(
        await h.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: 'ok-1', label: 'stay', annotator: 'alice' }],
        }),
      ).toEqual({ accepted: true, status: 'done' });
      await finish(h, 'review-queue-invalid-input');
    });
  });

  test('signals that reach a run before its first workflow task keep their arrival order', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      // No worker polls this queue yet: everything below waits for the run's first workflow task, where
      // the SDK holds signals until handlers exist. Order matters: t3 only fits once t1 is labelled.
      const taskQueue = `${stack.taskQueue}-late`;
      // t3 only fits the window (2 tasks) once t1 is labelled. The inline `addTasks` signal is the path
      // of plain clients (the loopkeeper sender waits for the queue's answer, so it needs a worker).
      const config: ReviewQueueConfig = { activeWindowTasks: 2, flushEveryMs: 200 };
      const addInline = (tasks: ReviewTask[]) =>
        stack.client.workflow.signalWithStart('reviewQueue', {
          workflowId: reviewQueueWorkflowId(modelId),
          taskQueue,
          args: [{ modelId, config }],
          signal: 'addTasks',
          signalArgs: [{ tasks }],
        });
      await addInline([makeTask(modelId, 't1'), makeTask(modelId, 't2')]);
      const h = stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId));
      await h.signal('submitLabel', { taskId: 't1', label: 'churn', annotator: 'alice' });
      await addInline([makeTask(modelId, 't3')]);
      await h.signal('submitLabel', { taskId: 't3', label: 'stay', annotator: 'alice' });

      const connection = await NativeConnection.connect({ address: testTemporalAddress() });
      try {
        const worker = await createLoopkeeperWorker({
          connection,
          namespace: stack.config.temporal.namespace,
          taskQueue,
          deps: { store, config: stack.config },
          workflowBundle: await workflowBundle(),
        });
        await worker.runUntil(async () => {
          const s = await waitFor(
            () => stats(h),
            (x) => x.flushedRows === 2,
            'both labels written',
          );
          expect(s).toMatchObject({ added: 3, droppedTasks: 0, done: 2, pending: 1, rejected: 0 });
          await h.terminate('test finished');
        });
      } finally {
        await connection.close();
      }
    });
  });

  test('continue-as-new (forced by a low history limit) keeps every label: store == submitted', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      const n = 36;
      const tasks = Array.from({ length: n }, (_, i) =>
        makeTask(modelId, `t${String(i).padStart(3, '0')}`, { hard: i % 6 === 0 }),
      );
      const h = await enqueue(stack, store, modelId, tasks, {
        maxHistoryEvents: 40,
        flushBatchSize: 4,
        flushEveryMs: 300,
      });
      const firstRunId = (await h.describe()).runId;
      const submitted = new Map<string, string>();
      for (const [i, t] of tasks.entries()) {
        const label = i % 3 === 0 ? 'churn' : 'stay';
        submitted.set(t.requestId, label);
        if (i % 4 === 0) {
          const r = await h.executeUpdate(submitLabelUpdate, {
            args: [{ taskId: t.taskId, label, annotator: 'alice' }],
          });
          expect(r.accepted).toBe(true);
        } else {
          await h.signal('submitLabel', { taskId: t.taskId, label, annotator: 'alice' });
        }
        if (t.hard) await h.signal('submitLabel', { taskId: t.taskId, label, annotator: 'bob' });
        // A retried signal must not count twice, even across runs.
        if (i % 5 === 0) await h.signal('submitLabel', { taskId: t.taskId, label, annotator: 'alice' });
      }
      const s = await waitFor(
        () => stats(h),
        (x) => x.flushedRows === n,
        'all labels written',
        60_000,
      );
      const chain = await runChain(stack.client, h.workflowId, firstRunId);
      expect(s.continuedAsNew).toBeGreaterThanOrEqual(2);
      expect(chain).toHaveLength(s.continuedAsNew + 1);
      // Each run stops soon after its limit: it only finishes writing the rows it already holds.
      expect(Math.max(...chain.map((r) => r.events))).toBeLessThan(150);
      expect(s).toMatchObject({ done: n, pending: 0, outbox: 0, rejected: 0, added: n });
      expect(s.labelsAccepted).toBe(n + tasks.filter((t) => t.hard).length);

      const rows = await storedLabels(store, modelId);
      expect(rows).toHaveLength(n);
      expect(new Map(rows.map((r) => [r.requestId, r.label]))).toEqual(submitted);

      const firstRun = stack.client.workflow.getHandle(h.workflowId, firstRunId);
      const history = await firstRun.fetchHistory();
      const last = history.events?.[history.events.length - 1];
      expect(last?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      await maybeRecordHistory(firstRun, 'review-queue-continue-as-new');
      await finish(h);
    });
  });

  test('a backlog far above the old cap (5,200 tasks, 6 segments) lives in the store: nothing dropped, claimed in order', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    await withWorker(store, async (stack) => {
      const n = 5200;
      const tasks = Array.from({ length: n }, (_, i) =>
        makeTask(modelId, `b${String(i).padStart(5, '0')}`, {
          createdAt: new Date(Date.parse('2026-06-09T00:00:00.000Z') + i).toISOString(),
          features: { tenure_days: i, plan: 'pro', note: 'x'.repeat(200) },
        }),
      );
      const enqueueReviewTasks = createEnqueueReviewTasks({
        store,
        config: stack.config,
        client: stack.client,
      });
      const config: ReviewQueueConfig = { flushEveryMs: 2000, flushBatchSize: 500 };
      const first = await enqueueReviewTasks({ modelId, tasks: tasks.slice(0, 3000), config });
      // Sent again with more tasks and two invalid ones: the first segments are duplicates, the invalid
      // tasks refused with their reason, and every count adds up.
      const invalid = [{ ...tasks[0], taskId: 'bad-1', classes: [] }, { taskId: 'bad-2' }];
      const second = await enqueueReviewTasks({ modelId, tasks: [...tasks, ...invalid], config });
      expect(first).toMatchObject({ sent: 3000, accepted: 3000, duplicate: 0, rejected: 0, segments: 3 });
      expect(second).toMatchObject({
        sent: n + 2,
        accepted: n - 3000,
        duplicate: 3000,
        rejected: 2,
        reasons: { 'invalid-task': 2 },
      });
      expect(second.sent).toBe(second.accepted + second.duplicate + second.rejected);
      const segmentKeys: string[] = [];
      for await (const info of store.list(layout.reviewBacklogPrefix(modelId))) segmentKeys.push(info.key);
      expect(segmentKeys.length).toBeGreaterThanOrEqual(6);

      const h = stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId));
      const before = await stats(h);
      expect(before).toMatchObject({ added: n, droppedTasks: 0, rejected: 0 });
      expect(before.backlog + before.window).toBe(n);

      // A team of annotators works through the first segment into the second (page-ins on the way);
      // each one's claims come oldest first, and together they are exactly the oldest tasks. (Claiming
      // all 5,200 in order is the pure state's unit test: here every claim is a server round trip.)
      const toClaim = 1100;
      const team = Array.from({ length: 4 }, (_, i) => `annotator-${i}`);
      let handedOut = 0;
      const claims = await Promise.all(
        team.map(async (annotator) => {
          const mine: string[] = [];
          while (handedOut < toClaim) {
            handedOut++;
            const c = await claimRetrying(h, annotator);
            expect(c.task).not.toBeNull();
            expect(c.task!.features).toMatchObject({ tenure_days: Number(c.task!.taskId.slice(1)) });
            mine.push(c.task!.taskId);
            await h.signal('submitLabel', { taskId: c.task!.taskId, label: 'churn', annotator });
          }
          return mine;
        }),
      );
      for (const mine of claims) expect(mine).toEqual([...mine].sort());
      expect(claims.flat().sort()).toEqual(tasks.slice(0, toClaim).map((t) => t.taskId));
      const s = await waitFor(
        () => stats(h),
        (x) => x.flushedRows === toClaim,
        'the labels written',
        120_000,
      );
      // Nothing dropped: every task is done, paged in and waiting, or in the store's backlog.
      expect(s).toMatchObject({ done: toClaim, expired: 0, droppedTasks: 0, rejected: 0, unreadable: 0 });
      expect(s.done + s.window + s.backlog).toBe(n);
      expect(s.backlog).toBeGreaterThan(n - toClaim - 2 * 200);
      const rows = await storedLabels(store, modelId);
      expect(rows).toHaveLength(toClaim);
      await finish(h);
    });
  }, 600_000);

  test('the plain temporal CLI labels a task by signal, update and query', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    const temporal = execFileSync('bash', [path.join(root, 'infra', 'paths.sh'), 'temporal'], {
      encoding: 'utf8',
    }).trim();
    await withWorker(store, async (stack) => {
      const h = await enqueue(stack, store, modelId, [makeTask(modelId, 't1'), makeTask(modelId, 't2')]);
      const flags = ['--address', testTemporalAddress(), '--namespace', stack.config.temporal.namespace];
      // The signal needs no answer, so a blocking call is fine. Updates and queries are answered by the
      // worker running in this very process: those calls must not block its event loop.
      const cli = (...args: string[]): string =>
        execFileSync(temporal, [...args, ...flags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const cliAsync = async (...args: string[]): Promise<string> =>
        (await promisify(execFile)(temporal, [...args, ...flags], { encoding: 'utf8' })).stdout;
      cli(
        'workflow',
        'signal',
        '--workflow-id',
        h.workflowId,
        '--name',
        'submitLabel',
        '--input',
        JSON.stringify({ taskId: 't1', label: 'churn', annotator: 'alice' }),
      );
      const s = await waitFor(
        () => stats(h),
        (x) => x.done === 1,
        'the CLI label counted',
      );
      expect(s.annotators.alice.submitted).toBe(1);

      const updated = await cliAsync(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        h.workflowId,
        '--name',
        'submitLabelUpdate',
        '--input',
        JSON.stringify({ taskId: 't2', label: 'nope', annotator: 'bob' }),
        '--output',
        'json',
      );
      expect(JSON.parse(updated)).toMatchObject({
        result: { accepted: false, reason: 'label-not-in-classes' },
      });
      const queried = await cliAsync(
        'workflow',
        'query',
        '--workflow-id',
        h.workflowId,
        '--name',
        'task',
        '--input',
        JSON.stringify({ taskId: 't1' }),
        '--output',
        'json',
      );
      expect(JSON.stringify(JSON.parse(queried))).toContain('"status":"done"');
      await finish(h);
    });
  });

  test('loopkeeper review commands: add, list, next, submit (rejected → exit 2), skip, release, stats', async () => {
    const { store, dir } = tempFileStore();
    const modelId = freshModel();
    // The CLI works in the store's installation namespace (and `review add` writes backlog segments to
    // the store): the worker runs there too, as `loopkeeper worker` would.
    await withInstalledWorker(store, async (stack) => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'review-cli-')), 'tasks.ndjson');
      const lines = ['c1', 'c2', 'c3'].map((id) => {
        const { modelId: _m, ...rest } = makeTask(modelId, id);
        return JSON.stringify(rest); // modelId comes from --model
      });
      fs.writeFileSync(file, lines.join('\n') + '\n');

      const saved = { ...process.env };
      Object.assign(process.env, {
        TEMPORAL_ADDRESS: testTemporalAddress(),
        LOOPKEEPER_TASK_QUEUE: stack.taskQueue,
        LOOPKEEPER_STORE: `file://${dir}`,
      });
      const out: string[] = [];
      const log = jest.spyOn(console, 'log').mockImplementation((m: unknown) => void out.push(String(m)));
      const err = jest.spyOn(console, 'error').mockImplementation((m: unknown) => void out.push(String(m)));
      const run = async (...args: string[]): Promise<{ code: number; text: string }> => {
        out.length = 0;
        const code = await main(['node', 'loopkeeper', 'review', ...args]);
        return { code, text: out.join('\n') };
      };
      try {
        expect(await run('add', '--model', modelId, '--file', file)).toMatchObject({
          code: 0,
          text: expect.stringContaining(
            `sent 3 tasks to review-${modelId}: 3 accepted, 0 duplicate, 0 rejected`,
          ),
        });
        const list = await run('list', '--model', modelId, '--json');
        expect((JSON.parse(list.text) as { taskId: string }[]).map((t) => t.taskId)).toEqual([
          'c1',
          'c2',
          'c3',
        ]);

        const next = await run('next', '--model', modelId, '--annotator', 'alice');
        expect(next.code).toBe(0);
        expect(next.text).toMatch(/^task c1/);
        expect(next.text).toContain('why routed:  model-disputes-label');
        expect(next.text).toContain('given label: churn   (from user-report)');
        expect(next.text).toContain('lease: alice until');

        const bad = await run(
          'submit',
          '--model',
          modelId,
          '--task',
          'c1',
          '--label',
          'x',
          '--annotator',
          'alice',
        );
        expect(bad.code).toBe(2);
        expect(bad.text).toContain('rejected (label-not-in-classes)');
        const good = await run(
          'submit',
          '--model',
          modelId,
          '--task',
          'c1',
          '--label',
          'churn',
          '--annotator',
          'alice',
        );
        expect(good).toEqual({ code: 0, text: 'accepted: task c1 is done' });

        expect(await run('skip', '--model', modelId, '--task', 'c2', '--annotator', 'alice')).toEqual({
          code: 0,
          text: 'skipped: task c2 is pending',
        });
        const foreignRelease = await run('release', '--model', modelId, '--task', 'c3', '--annotator', 'bob');
        expect(foreignRelease.code).toBe(2);
        expect(foreignRelease.text).toContain('not-lease-holder');

        const st = await run('stats', '--model', modelId, '--json');
        expect(JSON.parse(st.text)).toMatchObject({ done: 1, pending: 2, rejected: 2 });
        const human = await run('stats', '--model', modelId);
        expect(human.text).toContain('1 done · 0 escalated · 0 expired');

        const missing = await run('stats', '--model', 'no-such-queue');
        expect(missing.code).toBe(1);
        expect(missing.text).toContain('no running review queue for model "no-such-queue"');
      } finally {
        log.mockRestore();
        err.mockRestore();
        for (const k of ['TEMPORAL_ADDRESS', 'LOOPKEEPER_TASK_QUEUE', 'LOOPKEEPER_STORE']) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
      await finish(stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId)));
    });
  });

  test('enqueueReviewTasks without a client fails at once, non-retryably', async () => {
    const { store } = tempFileStore();
    const act = createEnqueueReviewTasks({ store, config: testConfig(store.uri) });
    await expect(act({ modelId: 'churn', tasks: [] })).rejects.toMatchObject({
      type: 'ReviewClientMissing',
      nonRetryable: true,
    });
  });
});
