import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createEnqueueReviewTasks, sendReviewTasks } from '../../src/activities/enqueue-review-tasks';
import { storeInboxLabel } from '../../src/activities/review-inbox';
import { formatSendResult, reviewTask, submitReviewLabel } from '../../src/cli/review-client';
import type { DurableSubmitResult } from '../../src/cli/review-client';
import { LabeledRowSchema } from '../../src/schemas';
import type { LabeledRow } from '../../src/schemas';
import { ReviewTaskSchema } from '../../src/schemas/review';
import type { ReviewQueueConfig, ReviewStats, ReviewTask } from '../../src/schemas/review';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import { readLines } from '../../src/storage/ndjson';
import { reviewStats } from '../../src/workflows/messages';
import { reviewQueueWorkflowId } from '../../src/workflows/review-ids';
import { createLoopkeeperWorker } from '../../src/workers/worker';
import { maybeRecordHistory } from '../support/histories';
import { tempFileStore, testConfig, testTemporalAddress, workflowBundle } from '../support/temporal';

/**
 * Labels sent while the review queue's worker is down: through the store inbox (the CLI's path) none is
 * lost or counted twice however long the outage; by plain signal, thousands buffered in the run's
 * history are applied in one go within the workflow task's time limit.
 */

let modelSeq = 0;
const freshModel = (): string => `ro-${Date.now().toString(36)}-${++modelSeq}`;

/** Small hard tasks: 1,500 of them fit one active window, and each takes two agreeing labels. */
function makeTask(modelId: string, i: number): ReviewTask {
  return ReviewTaskSchema.parse({
    taskId: `h${String(i).padStart(5, '0')}`,
    modelId,
    requestId: `r${i}`,
    features: { n: i },
    predictedLabel: 'stay',
    scores: { churn: 0.4, stay: 0.6 },
    givenLabel: 'churn',
    labelSource: 'user-report',
    routeReason: 'model-disputes-label',
    hard: true,
    audit: false,
    classes: ['churn', 'stay'],
    createdAt: new Date(Date.parse('2026-06-09T00:00:00.000Z') + i).toISOString(),
  });
}

const TASKS = 1500;
const queueConfig: ReviewQueueConfig = { activeWindowTasks: 2000, flushEveryMs: 500, inboxPollMs: 2000 };

interface Stack {
  client: Client;
  store: BlobStore;
  taskQueue: string;
  /** Runs a worker on the stack's task queue while `fn` runs. */
  withQueueWorker<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function stackFor(store: BlobStore): Promise<Stack> {
  const taskQueue = `outage-${randomUUID()}`;
  const config = testConfig(store.uri, { LOOPKEEPER_TASK_QUEUE: taskQueue });
  const connection = await Connection.connect({ address: testTemporalAddress() });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    client,
    store,
    taskQueue,
    async withQueueWorker<T>(fn: () => Promise<T>): Promise<T> {
      const native = await NativeConnection.connect({ address: testTemporalAddress() });
      try {
        const worker = await createLoopkeeperWorker({
          connection: native,
          namespace: config.temporal.namespace,
          taskQueue,
          deps: { store, config, client },
          workflowBundle: await workflowBundle(),
        });
        return await worker.runUntil(fn());
      } finally {
        await native.close();
      }
    },
    close: () => connection.close(),
  };
}

async function waitFor<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 120_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}

async function storedLabels(store: BlobStore, modelId: string): Promise<LabeledRow[]> {
  const rows: LabeledRow[] = [];
  for await (const info of store.list(layout.labelsPrefix(modelId, 'human')))
    for await (const { line } of readLines(store, info.key))
      rows.push(LabeledRowSchema.parse(JSON.parse(line)));
  return rows;
}

async function keysUnder(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START */
const SCHEDULE_TO_START = 2;

/**
 * Workflow tasks that failed or ran out of time, over every run of the queue so far. A task that timed
 * out waiting on the stopped worker's sticky queue (schedule-to-start) is the normal hand-over to
 * another worker, not a failure.
 */
async function failedWorkflowTasks(client: Client, workflowId: string): Promise<number> {
  let failed = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, wf.runId).fetchHistory();
    for (const e of history.events ?? []) {
      const timedOut = e.workflowTaskTimedOutEventAttributes;
      if (e.workflowTaskFailedEventAttributes) failed++;
      else if (timedOut && timedOut.timeoutType !== SCHEDULE_TO_START) failed++;
    }
  }
  return failed;
}

/** Starts the queue with the tasks (all paged into the window) while a worker runs, then stops it. */
async function queueWithTasks(stack: Stack, modelId: string): Promise<WorkflowHandle> {
  const tasks = Array.from({ length: TASKS }, (_, i) => makeTask(modelId, i));
  const h = stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId));
  await stack.withQueueWorker(async () => {
    const enqueue = createEnqueueReviewTasks({
      store: stack.store,
      config: testConfig(stack.store.uri, { LOOPKEEPER_TASK_QUEUE: stack.taskQueue }),
      client: stack.client,
    });
    const r = await enqueue({ modelId, tasks, config: queueConfig });
    expect(r).toMatchObject({ accepted: TASKS, rejected: 0 });
    await waitFor(
      () => h.query(reviewStats) as Promise<ReviewStats>,
      (s) => s.window === TASKS,
      'every task paged in',
    );
  });
  return h;
}

/** Non-hard tasks `n00000`… (one label finishes each), about 300 bytes of JSON each. */
function plainTask(modelId: string, i: number): ReviewTask {
  return { ...makeTask(modelId, i), taskId: `n${String(i).padStart(5, '0')}`, hard: false };
}

describe('labels for tasks still in the store backlog, and tasks stored while no worker runs', () => {
  test('1,800 tasks (window 200), labels for all 1,800 through the inbox while no worker runs: 1,800 rows, none refused', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    const stack = await stackFor(store);
    const n = 1800;
    const tasks = Array.from({ length: n }, (_, i) => plainTask(modelId, i));
    // The default window (200 tasks): most tasks wait in the store backlog, not paged in.
    const config: ReviewQueueConfig = { flushEveryMs: 500, inboxPollMs: 2000 };
    const h = stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId));
    try {
      await stack.withQueueWorker(async () => {
        const r = await sendReviewTasks(stack.client, store, {
          taskQueue: stack.taskQueue,
          modelId,
          tasks,
          config,
        });
        expect(r).toMatchObject({ accepted: n, rejected: 0 });
        const s = await h.query(reviewStats);
        expect(s.backlog).toBeGreaterThanOrEqual(n - 400);
      });
      // The worker is down: an annotator tool writes every label to the inbox (oldest task last).
      await pool([...tasks].reverse(), 16, (t) =>
        storeInboxLabel(store, modelId, { taskId: t.taskId, label: 'churn', annotator: 'alice' }),
      );
      await stack.withQueueWorker(async () => {
        const s = await waitFor(
          () => h.query(reviewStats) as Promise<ReviewStats>,
          (x) => x.flushedRows === n && x.inboxPending === 0,
          'every inbox label applied and written',
        );
        expect(s.rejections.map((x) => `${x.code}: ${x.detail}`)).toEqual([]);
        expect(s).toMatchObject({ done: n, rejected: 0, labelsAccepted: n, backlog: 0, added: n });
        await waitFor(
          () => keysUnder(store, layout.reviewInboxPrefix(modelId)),
          (k) => k.length === 0,
          'inbox emptied',
        );
        const rows = await storedLabels(store, modelId);
        expect(rows).toHaveLength(n);
        expect(new Set(rows.map((r) => r.lineage?.taskId)).size).toBe(n);
        // Read segments leave the store with the next drain.
        await h.signal('nudgeInbox');
        await waitFor(
          () => keysUnder(store, layout.reviewBacklogPrefix(modelId)),
          (k) => k.length === 0,
          'read backlog segments deleted',
        );
        // A label by update for a task still in the backlog is deferred to the inbox, then applied.
        const more = Array.from({ length: 400 }, (_, i) => plainTask(modelId, n + i));
        await sendReviewTasks(stack.client, store, { taskQueue: stack.taskQueue, modelId, tasks: more });
        const last = more[more.length - 1];
        const verdict = await submitReviewLabel(
          stack.client,
          modelId,
          { taskId: last.taskId, label: 'stay', annotator: 'bob' },
          { store, deadlineMs: 10_000 },
        );
        expect(verdict).toMatchObject({ applied: false, stored: true });
        await waitFor(
          () => reviewTask(stack.client, modelId, last.taskId),
          (v) => v?.status === 'done',
          'the deferred label applied',
        );
        await h.terminate('test finished');
      });
    } finally {
      await stack.close();
    }
  }, 600_000);

  test('a label by update and by signal for tasks still in the backlog: deferred to the inbox, applied once paged in', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    const stack = await stackFor(store);
    const tasks = Array.from({ length: 5 }, (_, i) => plainTask(modelId, i));
    const h = stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId));
    try {
      await stack.withQueueWorker(async () => {
        await sendReviewTasks(stack.client, store, {
          taskQueue: stack.taskQueue,
          modelId,
          tasks,
          config: { activeWindowTasks: 1, flushEveryMs: 500, inboxPollMs: 60_000 },
        });
        const byUpdate = await submitReviewLabel(
          stack.client,
          modelId,
          { taskId: tasks[4].taskId, label: 'stay', annotator: 'bob' },
          { store, deadlineMs: 10_000 },
        );
        expect(byUpdate).toMatchObject({ applied: false, stored: true });
        await h.signal('submitLabel', { taskId: tasks[3].taskId, label: 'churn', annotator: 'carol' });
        const s = await waitFor(
          () => h.query(reviewStats) as Promise<ReviewStats>,
          (x) => x.flushedRows === 2 && x.inboxPending === 0,
          'both deferred labels applied and written',
        );
        expect(s).toMatchObject({ rejected: 0, deferredLabels: 2, done: 2 });
        expect((await storedLabels(store, modelId)).map((r) => r.lineage?.taskId).sort()).toEqual([
          tasks[3].taskId,
          tasks[4].taskId,
        ]);
        await waitFor(
          () => keysUnder(store, layout.reviewInboxPrefix(modelId)),
          (k) => k.length === 0,
          'inbox emptied',
        );
        await h.terminate('test finished');
        await maybeRecordHistory(h, 'review-queue-deferred-labels');
      });
    } finally {
      await stack.close();
    }
  }, 300_000);

  test('review add while no worker runs: tasks stored, found by the queue when a worker is back, counted once', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    const stack = await stackFor(store);
    const n = 2500;
    const tasks = Array.from({ length: n }, (_, i) => plainTask(modelId, i));
    const h = stack.client.workflow.getHandle(reviewQueueWorkflowId(modelId));
    try {
      const started = Date.now();
      const r = await sendReviewTasks(stack.client, store, {
        taskQueue: stack.taskQueue,
        modelId,
        tasks,
        config: { flushEveryMs: 500, inboxPollMs: 2000 },
        announceDeadlineMs: 1500,
      });
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(r).toMatchObject({ sent: n, accepted: 0, duplicate: 0, rejected: 0, stored: n, segments: 3 });
      expect(formatSendResult(r, modelId)).toContain(`${n} stored`);
      expect(await keysUnder(store, layout.reviewBacklogPrefix(modelId))).toHaveLength(3);
      await stack.withQueueWorker(async () => {
        const s = await waitFor(
          () => h.query(reviewStats) as Promise<ReviewStats>,
          (x) => x.backlog + x.window === n,
          'every stored segment taken by the queue',
        );
        expect(s).toMatchObject({ added: n, segmentsAdded: 3, duplicateSegments: 0, duplicateTasks: 0 });
        // Announced again with the worker running: the first announcement of a segment the queue found
        // by itself claims it (accepted), any later one is a duplicate; nothing is counted twice.
        const again = await sendReviewTasks(stack.client, store, {
          taskQueue: stack.taskQueue,
          modelId,
          tasks,
        });
        expect(again.accepted + again.duplicate).toBe(n);
        const third = await sendReviewTasks(stack.client, store, {
          taskQueue: stack.taskQueue,
          modelId,
          tasks,
        });
        expect(third).toMatchObject({ accepted: 0, duplicate: n });
        const after = await h.query(reviewStats);
        expect(after).toMatchObject({ added: n, segmentsAdded: 3 });
        expect(after.duplicateTasks).toBe(again.duplicate + n);
        await h.terminate('test finished');
        await maybeRecordHistory(h, 'review-queue-segment-discovery');
      });
    } finally {
      await stack.close();
    }
  }, 600_000);
});

describe('review labels during a worker outage', () => {
  test('3,000 labels through the store inbox while no worker runs: all applied after restart, 0 lost, 0 counted twice', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    const stack = await stackFor(store);
    try {
      const h = await queueWithTasks(stack, modelId);
      // The worker is down: every label is stored, none is answered.
      const labels = Array.from({ length: TASKS }, (_, i) => makeTask(modelId, i)).flatMap((t) =>
        ['alice', 'bob'].map((annotator) => ({ taskId: t.taskId, label: 'churn', annotator })),
      );
      const results: DurableSubmitResult[] = await pool(labels, 8, (p) =>
        submitReviewLabel(stack.client, modelId, p, { store, deadlineMs: 300 }),
      );
      expect(results.filter((r) => r.applied)).toEqual([]);
      expect((await keysUnder(store, layout.reviewInboxPrefix(modelId))).length).toBe(labels.length);
      // A resend of some labels during the outage is the same inbox entry, not a second label.
      await pool(labels.slice(0, 100), 8, (p) =>
        submitReviewLabel(stack.client, modelId, p, { store, deadlineMs: 300 }),
      );
      expect((await keysUnder(store, layout.reviewInboxPrefix(modelId))).length).toBe(labels.length);

      await stack.withQueueWorker(async () => {
        const s = await waitFor(
          () => h.query(reviewStats) as Promise<ReviewStats>,
          (x) => x.flushedRows === TASKS && x.inboxPending === 0,
          'every label applied and written',
        );
        expect(s).toMatchObject({ done: TASKS, labelsAccepted: labels.length, outbox: 0 });
        // A copy of a label the server admitted as an update during the outage may reach the queue after
        // the inbox copy finished its task and the task's record was pruned (the queue remembers the last
        // 1,000 finished tasks): it is refused as unknown-task. That is the only rejection allowed here.
        const unexpected = s.rejections.filter((r) => r.code !== 'unknown-task');
        expect(unexpected.map((r) => `${r.code}: ${r.detail}`)).toEqual([]);
        expect(s.rejected).toBe(s.rejections.length);
        // Labels that also reached the queue by update (admitted during the outage) count once.
        expect(s.labelsAccepted + s.duplicateLabels).toBeGreaterThanOrEqual(labels.length);
        await waitFor(
          () => keysUnder(store, layout.reviewInboxPrefix(modelId)),
          (k) => k.length === 0,
          'inbox emptied',
        );
        const rows = await storedLabels(store, modelId);
        expect(rows).toHaveLength(TASKS);
        expect(new Set(rows.map((r) => r.requestId)).size).toBe(TASKS);
        expect(rows.every((r) => r.lineage?.consensus === '2-of-2')).toBe(true);
        // Once the worker is back, the same path answers at once.
        const again = await submitReviewLabel(stack.client, modelId, labels[0], { store });
        expect(again).toMatchObject({ applied: true, accepted: true, reason: 'duplicate' });
        await h.terminate('test finished');
        await maybeRecordHistory(h, 'review-queue-inbox-outage');
      });
    } finally {
      await stack.close();
    }
  }, 600_000);

  test('3,000 submitLabel signals buffered while no worker runs are applied within the workflow task limit', async () => {
    const { store } = tempFileStore();
    const modelId = freshModel();
    const stack = await stackFor(store);
    try {
      const h = await queueWithTasks(stack, modelId);
      const failedBefore = await failedWorkflowTasks(stack.client, h.workflowId);
      const labels = Array.from({ length: TASKS }, (_, i) => makeTask(modelId, i)).flatMap((t) =>
        ['alice', 'bob'].map((annotator) => ({ taskId: t.taskId, label: 'stay', annotator })),
      );
      await pool(labels, 32, (p) => h.signal('submitLabel', p));
      const started = Date.now();
      await stack.withQueueWorker(async () => {
        const s = await waitFor(
          () => h.query(reviewStats) as Promise<ReviewStats>,
          (x) => x.flushedRows === TASKS,
          'every signalled label written',
        );
        console.log(`3,000 buffered signals applied and written in ${Date.now() - started} ms`);
        expect(s).toMatchObject({ done: TASKS, labelsAccepted: labels.length, rejected: 0 });
        // No workflow task failed or timed out while they were applied.
        expect((await failedWorkflowTasks(stack.client, h.workflowId)) - failedBefore).toBe(0);
        expect(await storedLabels(store, modelId)).toHaveLength(TASKS);
        await h.terminate('test finished');
        await maybeRecordHistory(h, 'review-queue-buffered-signals');
      });
    } finally {
      await stack.close();
    }
  }, 600_000);
});
