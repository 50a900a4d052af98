/**
 * Review queue benchmark: enqueues 10,000 tasks into one model's queue (store segments announced by
 * update-with-start, as the cycle does) and answers every one of them with a `submitLabel` signal, with a real worker on a real Temporal
 * dev server. Prints labels/s end to end (first enqueue → last label in the store), the longest history
 * of any run in the continue-as-new chain, and labels in the store vs labels submitted.
 *
 * Budget: ≥ 100 labels/s, < 10,000 events per run, every submitted label in the store.
 *
 *   LOOPKEEPER_BENCH_TEMPORAL_ADDRESS=127.0.0.1:7233  use a running server (else one is started and stopped)
 *   LOOPKEEPER_BENCH_REVIEW_TASKS=10000                 tasks (and labels)
 *   LOOPKEEPER_BENCH_REVIEW_CONCURRENCY=16              signals in flight at most
 *   LOOPKEEPER_BENCH_REVIEW_RATE=120                    labels/s offered (0: as fast as the server takes them)
 *
 * Labels are offered at a steady rate, like a team of annotators: a signal is fire-and-forget, so an
 * unpaced client measures how fast the server appends events, not how fast the queue serves labels.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { sendReviewTasks } from '../src/activities/enqueue-review-tasks';
import { loadConfig } from '../src/config';
import type { ReviewQueueConfig, ReviewStats, ReviewTask } from '../src/schemas/review';
import { FileBlobStore } from '../src/storage/file-blob-store';
import { layout } from '../src/storage/layout';
import { readLines } from '../src/storage/ndjson';
import { createLoopkeeperWorker } from '../src/workers/worker';
import { reviewStats } from '../src/workflows/messages';
import { reviewQueueWorkflowId } from '../src/workflows/review-ids';
import { startTestServices, stopTestServices } from '../test/support/services';

const BUDGET_LABELS_PER_SECOND = 100;
const BUDGET_EVENTS_PER_RUN = 10_000;
/** Tasks sent ahead of the labels (a few seconds of work, like a cycle's batch waiting for people). */
const MAX_AHEAD = 400;
const BATCH = 200;

const quiet = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

function benchTask(modelId: string, i: number): ReviewTask {
  const churn = (i % 10) / 10 + 0.05;
  return {
    taskId: `b-${String(i).padStart(6, '0')}`,
    modelId,
    requestId: `r-${i}`,
    timestamp: new Date(Date.UTC(2026, 5, 1) + i * 1000).toISOString(),
    features: {
      tenure_days: 10 + (i % 400),
      plan: i % 3 === 0 ? 'pro' : 'basic',
      discount_used: i % 2 === 0,
    },
    predictedLabel: churn >= 0.5 ? 'churn' : 'stay',
    scores: { churn, stay: 1 - churn },
    givenLabel: churn >= 0.5 ? 'stay' : 'churn',
    labelSource: 'user-report',
    routeReason: 'model-disputes-label',
    hard: false,
    audit: false,
    classes: ['churn', 'stay'],
    createdAt: new Date(Date.UTC(2026, 5, 9) + i).toISOString(),
  };
}

/** Every run of the queue's continue-as-new chain with its history length. */
async function runChain(client: Client, workflowId: string, firstRunId: string): Promise<number[]> {
  const lengths: number[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    lengths.push(events.length);
    runId =
      events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
      undefined;
  }
  return lengths;
}

export async function benchReview(): Promise<void> {
  const total = Number(process.env.LOOPKEEPER_BENCH_REVIEW_TASKS ?? 10_000);
  const concurrency = Number(process.env.LOOPKEEPER_BENCH_REVIEW_CONCURRENCY ?? 16);
  const offered = Number(process.env.LOOPKEEPER_BENCH_REVIEW_RATE ?? 120);
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by another bench in this process.
  }
  let stateDir: string | undefined;
  let address = process.env.LOOPKEEPER_BENCH_TEMPORAL_ADDRESS;
  if (!address) {
    // Server state on tmpfs when there is one: one workflow's signals are persisted one after another,
    // so a disk's fsync latency, not loopkeeper, would set the pace.
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    stateDir = fs.mkdtempSync(path.join(base, 'loopkeeper-bench-review-'));
    address = (await startTestServices(stateDir)).temporalAddress;
  }
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-review-store-'));
  const store = new FileBlobStore({ root: storeDir, uri: `file://${storeDir}` });
  const taskQueue = `bench-review-${randomUUID()}`;
  const config = loadConfig({
    TEMPORAL_ADDRESS: address,
    LOOPKEEPER_STORE: store.uri,
    LOOPKEEPER_TASK_QUEUE: taskQueue,
  });
  const modelId = `bench-${Date.now().toString(36)}`;
  const workflowId = reviewQueueWorkflowId(modelId);
  const queueConfig: ReviewQueueConfig = {
    flushEveryMs: 1000,
    // Labels go by signal, without a claim, to tasks up to MAX_AHEAD beyond the last labelled one:
    // the active window holds them all (a label for a task still in the backlog would take the slower
    // deferred path through the store inbox).
    activeWindowTasks: 2 * MAX_AHEAD,
    ...(process.env.LOOPKEEPER_BENCH_REVIEW_MAX_HISTORY
      ? { maxHistoryEvents: Number(process.env.LOOPKEEPER_BENCH_REVIEW_MAX_HISTORY) }
      : {}),
  };

  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    const worker = await createLoopkeeperWorker({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      deps: { store, config, client },
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('../src/workflows'),
        logger: quiet,
      }),
    });
    await worker.runUntil(async () => {
      const tasks = Array.from({ length: total }, (_, i) => benchTask(modelId, i));
      const handle = client.workflow.getHandle(workflowId);
      let enqueued = 0;
      let submitted = 0;
      let failedSignals = 0;

      // Warm-up: start the queue with the first batch and wait until the worker has loaded it (the
      // first workflow task of a fresh worker also builds its sandbox). The clock starts afterwards.
      const warmStart = Date.now();
      await sendReviewTasks(client, store, {
        taskQueue,
        modelId,
        tasks: tasks.slice(0, BATCH),
        config: queueConfig,
      });
      enqueued = BATCH;
      const firstRunId = (await handle.describe()).runId;
      while ((await handle.query(reviewStats)).added < BATCH) await new Promise((r) => setTimeout(r, 50));
      const warmUp = Date.now() - warmStart;
      const started = Date.now();

      const producer = async (): Promise<void> => {
        while (enqueued < total) {
          if (enqueued - submitted >= MAX_AHEAD) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const batch = tasks.slice(enqueued, enqueued + BATCH);
          await sendReviewTasks(client, store, { taskQueue, modelId, tasks: batch, config: queueConfig });
          enqueued += batch.length;
        }
      };
      let next = 0;
      const consumer = async (): Promise<void> => {
        for (;;) {
          if (next >= total) return;
          if (next >= enqueued) {
            await new Promise((r) => setTimeout(r, 2));
            continue;
          }
          const i = next++;
          const t = tasks[i];
          const due = started + (offered > 0 ? (1000 * i) / offered : 0);
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          try {
            await handle.signal('submitLabel', {
              taskId: t.taskId,
              label: t.givenLabel,
              annotator: `annotator-${i % 7}`,
            });
          } catch (err) {
            failedSignals++;
            if (failedSignals <= 3) console.error(`submitLabel signal failed: ${(err as Error).message}`);
          }
          submitted++;
        }
      };
      await Promise.all([producer(), ...Array.from({ length: concurrency }, consumer)]);
      const allSignalled = Date.now();

      let s: ReviewStats = await handle.query(reviewStats);
      while (s.flushedRows < total) {
        if (Date.now() - allSignalled > 120_000) break;
        await new Promise((r) => setTimeout(r, 100));
        s = await handle.query(reviewStats);
      }
      const finished = Date.now();

      const runs = await runChain(client, workflowId, firstRunId);
      const stored = new Set<string>();
      let storedRows = 0;
      for await (const info of store.list(layout.labelsPrefix(modelId, 'human'))) {
        for await (const { line } of readLines(store, info.key)) {
          storedRows++;
          stored.add((JSON.parse(line) as { requestId: string }).requestId);
        }
      }
      await handle.terminate('benchmark finished');

      const seconds = (finished - started) / 1000;
      const rate = total / seconds;
      const longest = Math.max(...runs);
      const complete = storedRows === total && stored.size === total && failedSignals === 0;
      console.log(
        `review queue benchmark (${total} tasks, offered ${offered > 0 ? `${offered} labels/s` : 'unpaced'}, ` +
          `≤ ${concurrency} signals in flight, ${address})`,
      );
      console.log(
        `  end to end:        ${seconds.toFixed(1)} s → ${rate.toFixed(0)} labels/s (budget ≥ ${BUDGET_LABELS_PER_SECOND})`,
      );
      if (failedSignals) console.log(`  FAILED SIGNALS:    ${failedSignals}`);
      console.log(`  history per run:   ${runs.join(' ')}`);
      console.log(
        `  warm-up:           ${(warmUp / 1000).toFixed(1)} s (queue started, first ${BATCH} tasks loaded; not timed)`,
      );
      console.log(`  signals sent in:   ${((allSignalled - started) / 1000).toFixed(1)} s`);
      console.log(
        `  runs:              ${runs.length} (continue-as-new ${s.continuedAsNew}×); longest history ${longest} events (budget < ${BUDGET_EVENTS_PER_RUN})`,
      );
      console.log(
        `  labels:            ${storedRows} rows / ${stored.size} distinct in the store vs ${total} submitted; ` +
          `accepted ${s.labelsAccepted}, rejected ${s.rejected}, dropped tasks ${s.droppedTasks}, ${s.flushedBatches} batches`,
      );
      if (s.rejected > 0) {
        const codes = new Map<string, number>();
        for (const r of s.rejections) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        console.log(
          `  last rejections:   ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')}; e.g. ${s.rejections[0]?.detail}`,
        );
      }
      const ok = rate >= BUDGET_LABELS_PER_SECOND && longest < BUDGET_EVENTS_PER_RUN && complete;
      console.log(`  ${ok ? 'PASS' : 'FAIL'}`);
      if (!ok) process.exitCode = 1;
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
    await store.close();
    fs.rmSync(storeDir, { recursive: true, force: true });
    if (stateDir) {
      stopTestServices(stateDir);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }
}

if (require.main === module) {
  benchReview().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
