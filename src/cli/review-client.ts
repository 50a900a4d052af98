/**
 * Client-side helpers for a model's review queue (workflow `review-{modelId}`): the calls behind
 * `loopkeeper review …` and their human-readable output. Client code: never imported by workflows.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { deleteInboxEntry, storeInboxLabel } from '../activities/review-inbox';
import { parseLine } from '../schemas/parse-line';
import { ReviewTaskSchema, SubmitLabelSchema } from '../schemas/review';
import type { BlobStore } from '../storage/blob-store';
import type {
  ClaimedTask,
  ClaimResult,
  RejectionView,
  ReviewStats,
  ReviewTask,
  SubmitLabel,
  SubmitResult,
  TaskStatus,
  TaskView,
} from '../schemas/review';
import {
  claimTask,
  pendingTasks,
  releaseTask,
  renewLease,
  reviewStats,
  skipTask,
  submitLabelUpdate,
  task as taskQuery,
} from '../workflows/messages';
import { reviewQueueWorkflowId } from '../workflows/review-ids';
import type { SendReviewTasksResult } from '../activities/enqueue-review-tasks';
import { CliError } from './context';
import { printable as p } from './printable';
import { parseModelId } from './user-input';

/** Thrown for calls the queue answered with a rejection: the CLI exits with code 2. */
export const REJECTED_EXIT_CODE = 2;

/** The queue's handle; a model id that cannot name a queue is refused before Temporal sees it. */
function handleFor(client: Client, modelId: string): WorkflowHandle {
  return client.workflow.getHandle(reviewQueueWorkflowId(parseModelId(modelId, 'model id')));
}

/** Runs a call against the queue, turning "no such workflow" and validator refusals into CLI errors. */
async function call<T>(modelId: string, fn: (h: WorkflowHandle) => Promise<T>, client: Client): Promise<T> {
  try {
    return await fn(handleFor(client, modelId));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /workflow execution already completed/i.test(String(err))) {
      throw new CliError(
        `no running review queue for model "${modelId}" (workflow ${reviewQueueWorkflowId(modelId)}); add tasks with \`loopkeeper review add --model ${modelId} --file tasks.ndjson\``,
      );
    }
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause instanceof Error ? err.cause.message : err.message;
      // The queue's reason may quote what was sent (a 1 MB note, an escape sequence).
      throw new CliError(`rejected: ${p(cause, 500)}`, REJECTED_EXIT_CODE);
    }
    throw err;
  }
}

export function claimNextTask(
  client: Client,
  modelId: string,
  p: { annotator: string; leaseSeconds?: number },
): Promise<ClaimResult> {
  return call(modelId, (h) => h.executeUpdate(claimTask, { args: [p] }), client);
}

/** How long the submit path waits for the queue's verdict before it settles for "stored". */
export const DEFAULT_SUBMIT_DEADLINE_MS = 3000;

/**
 * Outcome of a durable submit: the queue's verdict when its worker answered in time, else the label is
 * stored in the inbox and will be applied (with the same rules) when the queue's worker is back.
 */
export type DurableSubmitResult =
  (SubmitResult & { applied: true }) | { applied: false; stored: true; key: string; detail: string };

/**
 * Submits a label durably: it is written to the queue's store inbox FIRST (one object per task and
 * annotator: a resend rewrites it), then offered to the queue with the `submitLabelUpdate` update and a
 * short deadline. Answered (accepted or rejected): the inbox entry is removed, the answer returned.
 * No answer in time (worker down, queue busy): the label stays in the inbox and the queue applies it
 * when it drains the inbox, so an outage of any length loses nothing. A label read twice (update and
 * inbox) counts once: the queue answers the second as a duplicate.
 */
export async function submitReviewLabel(
  client: Client,
  modelId: string,
  p: SubmitLabel,
  opts: { store: BlobStore; deadlineMs?: number },
): Promise<DurableSubmitResult> {
  // The model id names a store key here: refuse one that cannot name a queue before anything is written.
  parseModelId(modelId, 'model id');
  const label = SubmitLabelSchema.parse(p);
  const { entryId, key } = await storeInboxLabel(opts.store, modelId, label);
  const deadline = Date.now() + (opts.deadlineMs ?? DEFAULT_SUBMIT_DEADLINE_MS);
  // The update id names this label, so the server folds a resend of the same label into one update.
  const updateId = `label-${entryId}-${createHash('sha256').update(label.label).digest('hex').slice(0, 12)}`;
  let verdict: SubmitResult;
  try {
    verdict = await client.withDeadline(deadline, () =>
      handleFor(client, modelId).executeUpdate(submitLabelUpdate, { args: [label], updateId }),
    );
  } catch (err) {
    if (
      err instanceof WorkflowNotFoundError ||
      err instanceof WorkflowUpdateFailedError ||
      /workflow execution already completed/i.test(String(err))
    ) {
      // No queue to apply it later, or a payload the queue refuses: nothing to keep.
      await deleteInboxEntry(opts.store, modelId, entryId);
      return call(modelId, () => Promise.reject(err), client);
    }
    return {
      applied: false,
      stored: true,
      key,
      detail: `the review queue did not answer in time (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); the label is stored and will be applied when the queue's worker is back`,
    };
  }
  // Deferred: the task is not paged in yet and the queue applies the label from the inbox: keep it.
  if (verdict.reason === 'deferred')
    return { applied: false, stored: true, key, detail: verdict.detail ?? 'the task is not paged in yet' };
  // Answered: the label is in the queue's history now; the inbox entry is no longer needed.
  await deleteInboxEntry(opts.store, modelId, entryId).catch(() => undefined);
  return { ...verdict, applied: true };
}

export function renewReviewLease(
  client: Client,
  modelId: string,
  p: { taskId: string; annotator: string },
): Promise<SubmitResult> {
  return call(modelId, (h) => h.executeUpdate(renewLease, { args: [p] }), client);
}

export function reviewTask(client: Client, modelId: string, taskId: string): Promise<TaskView | null> {
  return call(modelId, (h) => h.query(taskQuery, { taskId }), client);
}

export function listReviewTasks(
  client: Client,
  modelId: string,
  p: { limit?: number; statuses?: TaskStatus[] } = {},
): Promise<TaskView[]> {
  return call(modelId, (h) => h.query(pendingTasks, p), client);
}

export function reviewQueueStats(client: Client, modelId: string): Promise<ReviewStats> {
  return call(modelId, (h) => h.query(reviewStats), client);
}

/**
 * Sends `skipTask` or `releaseTask` (signals: no answer) and then reads back the verdict: the task's
 * state, and the rejection the queue recorded for this very message if there was one.
 */
export async function signalAndCheck(
  client: Client,
  modelId: string,
  kind: 'skipTask' | 'releaseTask',
  p: { taskId: string; annotator: string; reason?: string },
): Promise<{ view: TaskView | null; rejection?: RejectionView }> {
  const before = await reviewQueueStats(client, modelId);
  await call(
    modelId,
    (h) =>
      kind === 'skipTask'
        ? h.signal(skipTask, p)
        : h.signal(releaseTask, { taskId: p.taskId, annotator: p.annotator }),
    client,
  );
  const after = await reviewQueueStats(client, modelId);
  const fresh = after.rejected - before.rejected;
  const rejection = after.rejections
    .slice(-Math.max(0, fresh))
    .reverse()
    .find((r) => r.message === kind && r.taskId === p.taskId && r.annotator === p.annotator);
  const view = await reviewTask(client, modelId, p.taskId);
  return { view, ...(fresh > 0 && rejection ? { rejection } : {}) };
}

/** Parses an NDJSON file of review tasks; `modelId` is filled in where a line has none. */
export function parseReviewTasksNdjson(
  text: string,
  modelId: string,
): { tasks: ReviewTask[]; errors: string[] } {
  const tasks: ReviewTask[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let withModel = line;
    try {
      const obj = JSON.parse(line) as unknown;
      if (obj && typeof obj === 'object' && !Array.isArray(obj) && !('modelId' in obj)) {
        withModel = JSON.stringify({ modelId, ...obj });
      }
    } catch {
      // parseLine reports the malformed JSON below.
    }
    const r = parseLine(withModel, ReviewTaskSchema);
    if (!r.ok) errors.push(`line ${i + 1}: ${p(r.reason, 300)}`);
    else if (r.row.modelId !== modelId)
      errors.push(`line ${i + 1}: task is for model "${p(r.row.modelId)}", not "${modelId}"`);
    else tasks.push(r.row);
  });
  return { tasks, errors };
}

// --- formatting ----------------------------------------------------------------------------------
// Every value below came from a user (annotator ids, labels, notes) or from tasks in the queue (classes,
// features, slices): each goes through `p` (printable), so none can move the cursor, recolour, reorder
// the line or fake another line, and a huge one is cut.

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function featureValue(v: unknown): string {
  return v === null ? '(missing)' : p(typeof v === 'string' ? v : JSON.stringify(v));
}

/** What `review next` shows an annotator. */
export function formatClaimedTask(t: ClaimedTask, modelId: string, nowMs = Date.now()): string {
  const tags = [t.hard ? '[hard]' : '', t.audit ? '[audit]' : ''].filter(Boolean).join(' ');
  const scores = Object.entries(t.scores)
    .sort((a, b) => b[1] - a[1])
    .map(([c, prob]) => `${p(c)} ${prob.toFixed(2)}`)
    .join(' · ');
  const names = Object.keys(t.features).map((k) => p(k, 80));
  const width = Math.max(8, ...names.map((k) => k.length));
  const classes = t.classes.map((c) => p(c));
  const annotator = p(t.lease.annotator);
  const lines = [
    `task ${p(t.taskId)}${tags ? `  ${tags}` : ''}`,
    `  model ${p(t.modelId)} · request ${p(t.requestId)}${t.timestamp ? ` at ${p(t.timestamp)}` : ''}`,
    `  why routed:  ${p(t.routeReason)}${t.routeDetail ? ` — ${p(t.routeDetail, 500)}` : ''}`,
    `  prediction:  ${p(t.predictedLabel)}   (scores: ${scores})`,
    `  given label: ${p(t.givenLabel)}   (from ${p(t.labelSource)})`,
    '  features:',
    ...Object.values(t.features).map((v, i) => `    ${names[i].padEnd(width)}  ${featureValue(v)}`),
  ];
  if (t.slices && Object.keys(t.slices).length > 0) {
    lines.push(
      `  slices: ${Object.entries(t.slices)
        .map(([k, v]) => `${p(k)}=${p(v)}`)
        .join(', ')}`,
    );
  }
  lines.push(
    `  choose one of: ${classes.join(', ')}` +
      (t.hard ? `   (${t.labelsNeeded} agreeing labels needed, ${t.labelsSoFar} received so far)` : ''),
    `  lease: ${annotator} until ${p(t.lease.expiresAt)} (${duration(Date.parse(t.lease.expiresAt) - nowMs)} left)`,
    `  label it: loopkeeper review submit --model ${p(modelId)} --task ${p(t.taskId)} --annotator ${annotator} --label <${classes.join('|')}>`,
  );
  return lines.join('\n');
}

/** One line per task for `review list`. */
export function formatTaskList(views: TaskView[], nowMs = Date.now()): string {
  if (views.length === 0) return 'no tasks';
  return views
    .map((v) => {
      const t = v.task;
      const what = t
        ? `${p(t.routeReason)}${t.hard ? ' hard' : ''}${t.audit ? ' audit' : ''} · predicted ${p(t.predictedLabel)}, given ${p(t.givenLabel)}`
        : '';
      const lease = v.lease ? ` · ${p(v.lease.annotator)} until ${p(v.lease.expiresAt)}` : '';
      const labels = v.labels.length
        ? ` · labels ${v.labels.map((l) => `${p(l.annotator, 80)}:${p(l.label, 80)}`).join(',')}`
        : '';
      const age = v.enqueuedAt ? duration(nowMs - Date.parse(v.enqueuedAt)) : '-';
      return `${p(v.taskId).padEnd(24)} ${v.status.padEnd(9)} ${age.padStart(7)}  ${what}${lease}${labels}`;
    })
    .join('\n');
}

/** What `review add` (and the cycle's routing summary) say about a send: sent = accepted + duplicate + rejected. */
export function formatSendResult(
  r: Omit<SendReviewTasksResult, 'workflowId'> & { workflowId?: string },
  modelId: string,
): string {
  const reasons = Object.entries(r.reasons)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const stored = r.stored ?? 0;
  const lines = [
    `sent ${r.sent} tasks${r.workflowId ? ` to ${r.workflowId}` : ''}: ${r.accepted} accepted, ${r.duplicate} duplicate, ${r.rejected} rejected${reasons ? ` (${reasons})` : ''}${stored ? `, ${stored} stored` : ''}`,
    stored
      ? `  stored: ${stored} tasks are in the store (backlog segments); the queue did not answer in time and takes them when its worker runs`
      : `  backlog in the store: ${r.backlog} tasks not yet paged in (${r.segments} segment(s) written)`,
    ...r.examples.map((e) => `  rejected: ${e}`),
    `  loopkeeper review stats --model ${modelId}`,
  ];
  return lines.join('\n');
}

/** `review stats`. */
export function formatReviewStats(s: ReviewStats, workflowId: string): string {
  const lines = [
    `review queue ${p(workflowId)} (model ${p(s.modelId)})`,
    `  backlog:  ${s.backlog} tasks in the store (${s.backlogSegments} segments), ${s.pagedIn} paged in so far` +
      (s.unreadable ? ` · ${s.unreadable} unreadable` : ''),
    `  open:     ${s.pending} pending, ${s.claimed} claimed` +
      (s.oldestPendingAgeMs !== null ? `; oldest pending ${duration(s.oldestPendingAgeMs)}` : ''),
    `  finished: ${s.done} done · ${s.escalated} escalated · ${s.expired} expired`,
    `  messages: ${s.labelsAccepted} labels accepted (${s.duplicateLabels} duplicates) · ${s.rejected} rejected · ` +
      `${s.added} tasks added (${s.duplicateTasks} known${s.droppedTasks ? `, ${s.droppedTasks} dropped before the backlog redesign` : ''}) · ${s.leaseExpiries} leases expired`,
    `  written:  ${s.flushedRows} labels in ${s.flushedBatches} batches · ${s.outbox} waiting` +
      (s.flushFailures ? ` · ${s.flushFailures} failed writes` : ''),
    `  runs:     ${s.continuedAsNew + 1} (history ${s.historyLength} events in this one)`,
  ];
  const names = Object.keys(s.annotators).sort();
  if (names.length > 0) {
    lines.push('  annotators:');
    // Cut shorter than elsewhere: the widest name sets the column for all of them.
    const shown = names.map((n) => p(n, 60));
    const width = Math.max(...shown.map((n) => n.length));
    names.forEach((n, i) => {
      const a = s.annotators[n];
      lines.push(
        `    ${shown[i].padEnd(width)}  claimed ${a.claimed}  submitted ${a.submitted}  skipped ${a.skipped}`,
      );
    });
  }
  if (s.rejections.length > 0) {
    lines.push(`  last rejections (${Math.min(5, s.rejections.length)} of ${s.rejected}):`);
    for (const r of s.rejections.slice(-5)) lines.push(`    ${formatRejection(r)}`);
  }
  return lines.join('\n');
}

/** One rejected message on one line, its user-sent parts escaped and cut. */
export function formatRejection(r: RejectionView): string {
  const who = [r.taskId ? `task ${p(r.taskId)}` : '', r.annotator ? `by ${p(r.annotator)}` : ''].filter(
    Boolean,
  );
  return `${p(r.at)} ${p(r.message)} (${r.via}) ${r.code}: ${p(r.detail, 300)}${who.length ? ` [${who.join(' ')}]` : ''}`;
}
