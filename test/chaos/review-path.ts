import type { Client } from '@temporalio/client';
import { sendReviewTasks } from '../../src/activities/enqueue-review-tasks';
import { storeInboxLabel } from '../../src/activities/review-inbox';
import { ReviewTaskSchema } from '../../src/schemas/review';
import type { ReviewQueueConfig, ReviewStats, ReviewTask, SubmitLabel } from '../../src/schemas/review';
import { layout } from '../../src/storage/layout';
import { readLines } from '../../src/storage/ndjson';
import { reviewStats, submitLabel } from '../../src/workflows/messages';
import { reviewQueueWorkflowId } from '../../src/workflows/review-ids';
import { submitReviewLabel } from '../../src/cli/review-client';
import type { ScenarioEnv } from './harness';

/**
 * The review path as the chaos suite drives it, in one place: how tasks get into a model's review queue,
 * how an annotator's label is submitted, and where stored labels are read back. When the durable label
 * inbox landed, `submitLabelsDurably` is the annotators' path (CLI, web page); `submitLabels` stays the
 * plain-signal path of any Temporal client.
 */

/** Small review tasks `{prefix}-{i}` for i in [from, to). */
export function makeTasks(modelId: string, prefix: string, from: number, to: number): ReviewTask[] {
  const tasks: ReviewTask[] = [];
  for (let i = from; i < to; i++)
    tasks.push(
      ReviewTaskSchema.parse({
        taskId: `${prefix}-${i}`,
        modelId,
        requestId: `req-${prefix}-${i}`,
        timestamp: '2026-06-01T12:00:00.000Z',
        features: { tenure_days: i % 97, plan: 'pro' },
        predictedLabel: 'stay',
        scores: { churn: 0.3, stay: 0.7 },
        givenLabel: 'churn',
        labelSource: 'user-report',
        routeReason: 'model-disputes-label',
        hard: false,
        audit: false,
        classes: ['churn', 'stay'],
        createdAt: '2026-06-09T00:00:00.000Z',
      }),
    );
  return tasks;
}

/**
 * Queue tuning for the suite: flush often, so stored labels catch up within seconds. The window keeps
 * its default size (200 tasks): labels are sent by task id without a claim, mostly for tasks still in
 * the store backlog, which the queue pages in for them.
 */
export const chaosQueueConfig: ReviewQueueConfig = {
  flushEveryMs: 1000,
  flushBatchSize: 200,
  inboxPollMs: 5000,
};

/** Adds tasks to the model's queue the way the cycle does (signal-with-start, batches of 200). */
export async function enqueueTasks(client: Client, s: ScenarioEnv, tasks: ReviewTask[]): Promise<void> {
  await sendReviewTasks(client, s.store, {
    taskQueue: s.taskQueue,
    modelId: s.modelId,
    tasks,
    config: chaosQueueConfig,
  });
}

/**
 * Submits labels as annotators do today (the `submitLabel` signal, fire and forget), `concurrency` at a
 * time. Returns how many the server accepted, also counted in `counter` as they go; a signal the
 * server refuses for good (e.g. its per-run signal limit) throws.
 */
export async function submitLabels(
  client: Client,
  s: ScenarioEnv,
  labels: SubmitLabel[],
  concurrency = 32,
  counter: { sent: number } = { sent: 0 },
): Promise<number> {
  const handle = client.workflow.getHandle(reviewQueueWorkflowId(s.modelId));
  let next = 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < labels.length) {
        const l = labels[next++];
        await handle.signal(submitLabel, l);
        sent++;
        counter.sent++;
      }
    }),
  );
  return sent;
}

/**
 * Writes labels straight to the model's store inbox, as an annotation tool that knows the queue is down
 * would (`concurrency` at a time); counted in `counter` as they go.
 */
export async function storeLabelsInInbox(
  s: ScenarioEnv,
  labels: SubmitLabel[],
  concurrency = 32,
  counter: { sent: number } = { sent: 0 },
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < labels.length) {
        await storeInboxLabel(s.store, s.modelId, labels[next++]);
        counter.sent++;
      }
    }),
  );
}

/** Objects left in the model's label inbox. */
export async function inboxObjects(s: ScenarioEnv): Promise<number> {
  let n = 0;
  for await (const _ of s.store.listSizes(layout.reviewInboxPrefix(s.modelId))) n++;
  return n;
}

/** The queue's counters (answered by a worker). */
export async function queueStats(client: Client, s: ScenarioEnv): Promise<ReviewStats> {
  return client.workflow.getHandle(reviewQueueWorkflowId(s.modelId)).query(reviewStats);
}

/** Task ids of every human label row stored for the model (one entry per row, duplicates kept). */
export async function storedLabelTaskIds(s: ScenarioEnv): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of s.store.list(layout.labelsPrefix(s.modelId, 'human'))) {
    for await (const { line } of readLines(s.store, info.key)) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as { lineage?: { taskId?: string } };
      ids.push(String(row.lineage?.taskId));
    }
  }
  return ids;
}

/** Counts of stored label rows: distinct tasks and rows beyond the first per task. */
export async function storedLabels(s: ScenarioEnv): Promise<{ distinct: Set<string>; duplicates: number }> {
  const ids = await storedLabelTaskIds(s);
  const distinct = new Set(ids);
  return { distinct, duplicates: ids.length - distinct.size };
}

/**
 * Submits labels the way the CLI does (`submitReviewLabel`): each label is written to the store inbox
 * first, then offered to the queue with a short deadline; when no worker answers in time the label stays
 * in the inbox and the queue applies it later. Returns how many were submitted (stored or answered); an
 * error thrown here means the label was refused for good (e.g. the store is unreachable).
 */
export async function submitLabelsDurably(
  client: Client,
  s: ScenarioEnv,
  labels: SubmitLabel[],
  concurrency = 32,
  counter: { sent: number } = { sent: 0 },
): Promise<number> {
  let next = 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < labels.length) {
        const l = labels[next++];
        await submitReviewLabel(client, s.modelId, l, { store: s.store, deadlineMs: 300 });
        sent++;
        counter.sent++;
      }
    }),
  );
  return sent;
}
