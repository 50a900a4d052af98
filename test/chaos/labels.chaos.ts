import type { Client } from '@temporalio/client';
import type { SubmitLabel } from '../../src/schemas/review';
import { WorkerProcess } from '../support/processes';
import { chaosSeed, connectClient, scenarioEnv, seededRng, sleep, strayObjects } from './harness';
import type { ScenarioEnv } from './harness';
import { cleanUp } from './checks';
import {
  enqueueTasks,
  inboxObjects,
  makeTasks,
  queueStats,
  storedLabels,
  storeLabelsInInbox,
  submitLabelsDurably,
} from './review-path';
import { newTally } from './tally';

const BATCH = 300;

function labelsFor(from: number, to: number, prefix: string): SubmitLabel[] {
  return Array.from({ length: to - from }, (_, k) => ({
    taskId: `${prefix}-${from + k}`,
    label: (from + k) % 3 === 0 ? 'stay' : 'churn',
    annotator: `ann-${(from + k) % 7}`,
  }));
}

/**
 * Sends `total` labels in batches (tasks of a batch first, then their labels, so the queue never holds
 * more than one batch of open tasks), calling `between(batch)` after each batch; then waits until every
 * label is stored or `settleMs` passes, and checks stored = sent, no duplicate, no stray object.
 */
async function labelRun(opts: {
  name: string;
  total: number;
  settleMs: number;
  between?: (batch: number, w: WorkerProcess) => Promise<void>;
}): Promise<void> {
  const tally = newTally(opts.name);
  const s: ScenarioEnv = scenarioEnv(opts.name);
  const client: Client = await connectClient();
  const worker = new WorkerProcess(opts.name, s.env);
  const problems: string[] = [];
  const sent = { sent: 0 };
  try {
    await worker.start();
    // The queue exists before the faults (as in production: it lives as long as the model).
    await enqueueTasks(client, s, makeTasks(s.modelId, 'warm', 0, 1));
    await submitLabelsDurably(client, s, labelsFor(0, 1, 'warm'));
    const batches = Math.ceil(opts.total / BATCH);
    for (let b = 0; b < batches; b++) {
      const from = b * BATCH;
      const to = Math.min(opts.total, from + BATCH);
      await enqueueTasks(client, s, makeTasks(s.modelId, 't', from, to));
      const refused = await submitLabelsDurably(client, s, labelsFor(from, to, 't'), 32, sent).then(
        () => undefined,
        (err: Error) => `${err.message}: ${(err.cause as Error | undefined)?.message ?? ''}`,
      );
      tally.labelsSent = sent.sent;
      if (refused) {
        // Refused loudly (the annotator sees an error), but the label is not kept: count it and stop sending.
        problems.push(`the server refused labels after ${sent.sent} of ${opts.total} (${refused})`);
        break;
      }
      await opts.between?.(b, worker);
    }
    const until = Date.now() + opts.settleMs;
    let stored = await storedLabels(s);
    while (Date.now() < until) {
      if ([...stored.distinct].filter((id) => id.startsWith('t-')).length >= tally.labelsSent) break;
      await sleep(1000);
      stored = await storedLabels(s);
    }
    const ours = [...stored.distinct].filter((id) => id.startsWith('t-'));
    tally.labelsStored = ours.length;
    tally.labelsLost = tally.labelsSent - ours.length;
    tally.duplicates = stored.duplicates;
    if (tally.labelsLost)
      problems.push(
        `${tally.labelsLost} of ${tally.labelsSent} labels not stored ${Math.round(opts.settleMs / 1000)} s after the last was sent`,
      );
    if (stored.duplicates) problems.push(`${stored.duplicates} labels stored twice`);
    const stray = await strayObjects(s.store);
    tally.strayObjects = stray.length;
    if (stray.length) problems.push(`stray partial objects: ${stray.slice(0, 5).join(', ')}`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.labelsSent = Math.max(tally.labelsSent, sent.sent);
    tally.failed(err);
    throw err;
  } finally {
    tally.faults['worker-kill'] = worker.kills;
    tally.record();
    await cleanUp(client, s.taskQueue);
    await worker.kill9();
    await client.connection.close();
  }
}

/** 3,000 labels while the worker is killed 3 times (seeded batches): all stored once. */
test('3,000 labels while the worker is killed 3 times', async () => {
  const rng = seededRng(chaosSeed() + 1);
  const killAfter = new Set<number>();
  while (killAfter.size < 3) killAfter.add(Math.floor(rng.between(0, 9)));
  await labelRun({
    name: 'labels-3k-3-kills',
    total: 3000,
    settleMs: 90_000,
    between: async (b, w) => {
      if (!killAfter.has(b)) return;
      // A kill at a random moment while the queue applies labels and flushes them.
      await sleep(rng.between(0, 1500));
      await w.kill9();
      await sleep(rng.between(200, 2000));
      await w.start();
    },
  });
});

/**
 * A worker outage with 10,000 labels sent meanwhile through the store inbox: 10,000 tasks are enqueued
 * (most stay in the store backlog: the window holds 200), the worker is killed, every label is written
 * (the first 300 the CLI's way, inbox then a short update; the rest straight to the inbox, as an
 * annotation tool does), and the worker restarted. Every label must be stored once, none refused, and
 * the inbox emptied; the tally prints the catch-up time and rate.
 */
test('worker outage with 10,000 labels sent meanwhile through the store inbox', async () => {
  const total = Number(process.env.LOOPKEEPER_CHAOS_OUTAGE_LABELS ?? 10_000);
  const tally = newTally('labels-outage-10k');
  const s: ScenarioEnv = scenarioEnv('labels-outage-10k');
  const client: Client = await connectClient();
  const worker = new WorkerProcess('labels-outage-10k', s.env);
  const problems: string[] = [];
  const sent = { sent: 0 };
  try {
    await worker.start();
    await enqueueTasks(client, s, makeTasks(s.modelId, 'warm', 0, 1));
    await submitLabelsDurably(client, s, labelsFor(0, 1, 'warm'));
    await enqueueTasks(client, s, makeTasks(s.modelId, 't', 0, total));
    await worker.kill9();
    const labels = labelsFor(0, total, 't');
    await submitLabelsDurably(client, s, labels.slice(0, 300), 32, sent);
    await storeLabelsInInbox(s, labels.slice(300), 32, sent);
    tally.labelsSent = sent.sent;
    const inboxBefore = await inboxObjects(s);
    const restartedAt = Date.now();
    await worker.start();
    // Caught up: every label written and its inbox entry deleted (the warm-up label is one more row).
    const until = Date.now() + 150_000;
    let stats = await queueStats(client, s);
    while (Date.now() < until && !(stats.flushedRows >= total + 1 && stats.inboxPending === 0)) {
      await sleep(1000);
      stats = await queueStats(client, s);
    }
    let inboxLeft = await inboxObjects(s);
    while (Date.now() < until && inboxLeft > 0) {
      await sleep(500);
      inboxLeft = await inboxObjects(s);
    }
    const seconds = (Date.now() - restartedAt) / 1000;
    tally.figures = {
      'inbox objects at restart': inboxBefore,
      'catch-up s': Math.round(seconds * 10) / 10,
      'labels/s': Math.round(total / seconds),
    };
    console.log(
      `labels-outage-10k: ${total} inbox labels caught up in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} labels/s)`,
    );
    if (process.env.LOOPKEEPER_CHAOS_PROFILE === '1') await printActivityTimes(client, s);
    const stored = await storedLabels(s);
    const ours = [...stored.distinct].filter((id) => id.startsWith('t-'));
    tally.labelsStored = ours.length;
    tally.labelsLost = tally.labelsSent - ours.length;
    tally.duplicates = stored.duplicates;
    if (tally.labelsLost) problems.push(`${tally.labelsLost} of ${tally.labelsSent} labels not stored`);
    if (stored.duplicates) problems.push(`${stored.duplicates} labels stored twice`);
    if (stats.rejected)
      problems.push(
        `${stats.rejected} labels refused: ${stats.rejections
          .slice(-3)
          .map((r) => `${r.code} ${r.detail}`)
          .join('; ')}`,
      );
    if (inboxLeft) problems.push(`${inboxLeft} objects left in the inbox`);
    const stray = await strayObjects(s.store);
    tally.strayObjects = stray.length;
    if (stray.length) problems.push(`stray partial objects: ${stray.slice(0, 5).join(', ')}`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.labelsSent = Math.max(tally.labelsSent, sent.sent);
    tally.failed(err);
    throw err;
  } finally {
    tally.faults['worker-kill'] = worker.kills;
    tally.record();
    await cleanUp(client, s.taskQueue);
    await worker.kill9();
    await client.connection.close();
  }
});

/** Time spent per activity type and in workflow tasks over every run of the queue (a profile aid). */
async function printActivityTimes(client: Client, s: ScenarioEnv): Promise<void> {
  const totals: Record<string, { n: number; ms: number }> = {};
  const add = (k: string, ms: number): void => {
    totals[k] ??= { n: 0, ms: 0 };
    totals[k].n++;
    totals[k].ms += ms;
  };
  const id = `review-${s.modelId}`;
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
    const h = await client.workflow.getHandle(id, wf.runId).fetchHistory();
    const at = new Map<string, { type: string; t: number }>();
    let wftStart = 0;
    for (const e of h.events ?? []) {
      const t = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
      const sched = e.activityTaskScheduledEventAttributes;
      if (sched) at.set(String(e.eventId), { type: sched.activityType?.name ?? '?', t });
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const st = at.get(String(done.scheduledEventId));
        if (st) add(st.type, t - st.t);
      }
      if (e.workflowTaskStartedEventAttributes) wftStart = t;
      if (e.workflowTaskCompletedEventAttributes) add('workflow task', t - wftStart);
    }
  }
  console.log(
    Object.entries(totals)
      .map(([k, v]) => `${k}: ${v.n} × ${Math.round(v.ms / v.n)} ms = ${(v.ms / 1000).toFixed(1)} s`)
      .join('\n'),
  );
}
