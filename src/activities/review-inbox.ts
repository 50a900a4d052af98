/**
 * The review queue's label inbox in the store: a client writes an annotator's label here BEFORE the
 * queue sees it, so the label survives a worker outage of any length; the queue drains the inbox in
 * bounded batches and deletes an entry only after the rows it produced are written. One object per
 * (task, annotator): a resend rewrites the same object, and the queue's duplicate rule counts a label
 * read twice once. Node code (hashing): senders and activities only.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ModelIdSchema } from '../schemas/records';
import { SegmentIdSchema, SubmitLabelSchema } from '../schemas/review';
import type { AddTaskSegment, ReviewTask, SubmitLabel } from '../schemas/review';
import type { BlobStore } from '../storage/blob-store';
import { BlobNotFoundError, deleteKeys } from '../storage/blob-store';
import { layout } from '../storage/layout';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { discoverSegments, findTasks } from './review-segment-index';

/** Key-safe id of the inbox entry of one annotator's label on one task. */
export function reviewInboxEntryId(taskId: string, annotator: string): string {
  return createHash('sha256').update(taskId).update('\0').update(annotator).digest('hex').slice(0, 40);
}

/** What an inbox entry holds: the label as submitted, and when the client stored it. */
export const InboxEntrySchema = SubmitLabelSchema.extend({ storedAt: z.string() });
export type InboxEntry = z.infer<typeof InboxEntrySchema>;

/** Stores a label in the model's inbox (durable before any workflow sees it); returns the entry id. */
export async function storeInboxLabel(
  store: BlobStore,
  modelId: string,
  label: SubmitLabel,
  now = new Date(),
): Promise<{ entryId: string; key: string }> {
  const p = SubmitLabelSchema.parse(label);
  const entryId = reviewInboxEntryId(p.taskId, p.annotator);
  const key = layout.reviewInboxEntry(ModelIdSchema.parse(modelId), entryId);
  const entry: InboxEntry = { ...p, storedAt: now.toISOString() };
  await store.put(key, JSON.stringify(entry));
  return { entryId, key };
}

/** Removes an inbox entry (the queue answered it, or its rows are written); absent is fine. */
export async function deleteInboxEntry(store: BlobStore, modelId: string, entryId: string): Promise<void> {
  await store.delete(layout.reviewInboxEntry(modelId, entryId));
}

/** Small objects read or written at once: a remote store is not paced by one round trip per label. */
const CONCURRENCY = 16;

const EntryIdSchema = z.string().regex(/^[a-f0-9]{40}$/, 'inbox entry id: 40 hex digits');

export const ReadReviewInboxInputSchema = z.object({
  modelId: ModelIdSchema,
  /** Entries read at most (a bounded batch). */
  limit: z.number().int().min(1).max(2000),
  /** Entries the queue already applied and will delete after its next write: not returned again. */
  skip: z.array(EntryIdSchema).max(10_000).default([]),
  /**
   * Backlog segments (id, first unread line) to look into for the tasks of the labels read: a label
   * whose task is in an unread part comes back with the task (`found`), so the queue pages it in.
   */
  segments: z
    .array(z.object({ segmentId: SegmentIdSchema, offset: z.number().int().min(0) }))
    .max(1000)
    .default([]),
  /** Also list the backlog prefix for segments the queue does not know (`discovered`). */
  discover: z.boolean().default(false),
  /** Every segment id in the queue's backlog (left out of discovery). */
  backlogIds: z.array(SegmentIdSchema).max(100_000).default([]),
  /** Segment objects that left the backlog: deleted first (absent is fine). */
  consumed: z.array(SegmentIdSchema).max(1000).default([]),
});
export type ReadReviewInboxInput = z.input<typeof ReadReviewInboxInputSchema>;

export interface ReadReviewInboxResult {
  labels: Array<{ entryId: string; label: SubmitLabel }>;
  /** Entries that are not a label (bad JSON, wrong shape): the queue records and deletes them. */
  invalid: Array<{ entryId: string; detail: string }>;
  /** True when the inbox may hold more than this batch. */
  more: boolean;
  /** Tasks of labels read here that wait in an unread part of a backlog segment (see `segments`). */
  found?: Array<{ entryId: string; segmentId: string; line: number; task: ReviewTask }>;
  /** Segments in the store the queue did not know (with `discover`), oldest key first. */
  discovered?: AddTaskSegment[];
  /** The `consumed` segment objects deleted. */
  deleted?: string[];
}

/** Unknown segments taken per drain at most. */
const DISCOVER_MAX = 100;

/** Activity: reads a bounded batch of the model's label inbox (oldest key order is not promised). */
export function createReadReviewInbox(deps: ActivityDeps) {
  return async function readReviewInbox(raw: ReadReviewInboxInput): Promise<ReadReviewInboxResult> {
    const input = ReadReviewInboxInputSchema.parse(raw);
    await deleteKeys(
      deps.store,
      input.consumed.map((id) => layout.reviewBacklogSegment(input.modelId, id)),
      CONCURRENCY,
      (done) => heartbeat({ deleted: done }),
    );
    const prefix = layout.reviewInboxPrefix(input.modelId);
    const skip = new Set(input.skip);
    const labels: ReadReviewInboxResult['labels'] = [];
    const invalid: ReadReviewInboxResult['invalid'] = [];
    const ids: string[] = [];
    let cursor: string | undefined;
    let more = false;
    do {
      const page = await deps.store.listPage(prefix, { cursor, limit: 1000 });
      for (const info of page.items) {
        const id = info.key.slice(prefix.length).replace(/\.json$/, '');
        if (skip.has(id)) continue;
        if (ids.length >= input.limit) {
          more = true;
          break;
        }
        ids.push(id);
      }
      cursor = page.nextCursor;
    } while (cursor && !more);
    // Small objects: read a few at a time so a remote store is not paced by one round trip per label.
    for (let i = 0; i < ids.length; i += CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + CONCURRENCY).map(async (entryId) => {
          let body: Buffer;
          try {
            body = await deps.store.get(layout.reviewInboxEntry(input.modelId, entryId));
          } catch (err) {
            if (err instanceof BlobNotFoundError) return; // deleted meanwhile (answered by update)
            throw err;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            invalid.push({ entryId, detail: 'not JSON' });
            return;
          }
          const r = InboxEntrySchema.safeParse(parsed);
          if (!r.success) {
            const issue = r.error.issues[0];
            invalid.push({
              entryId,
              detail: `${issue.path.map(String).join('.') || '(entry)'}: ${issue.message}`,
            });
            return;
          }
          const { storedAt: _storedAt, ...label } = r.data;
          if (reviewInboxEntryId(label.taskId, label.annotator) !== entryId) {
            invalid.push({ entryId, detail: 'entry id does not match its task and annotator' });
            return;
          }
          labels.push({ entryId, label });
        }),
      );
      heartbeat({ read: i });
    }
    // Deterministic order for the queue: by entry id (listing order may differ between stores).
    labels.sort((a, b) => (a.entryId < b.entryId ? -1 : 1));
    invalid.sort((a, b) => (a.entryId < b.entryId ? -1 : 1));
    const result: ReadReviewInboxResult = { labels, invalid, more };
    if (input.consumed.length > 0) result.deleted = input.consumed;
    const progress = (): void => heartbeat({ looking: true });
    let lookIn = input.segments;
    if (input.discover) {
      const known = new Set([...input.backlogIds, ...input.consumed]);
      result.discovered = await discoverSegments(deps.store, input.modelId, known, DISCOVER_MAX, progress);
      lookIn = [...lookIn, ...result.discovered.map((g) => ({ segmentId: g.segmentId, offset: 0 }))];
    }
    if (lookIn.length > 0 && labels.length > 0) {
      const where = await findTasks(
        deps.store,
        input.modelId,
        lookIn,
        labels.map((l) => l.label.taskId),
        progress,
      );
      result.found = [];
      for (const l of labels) {
        const f = where.get(l.label.taskId);
        if (f) result.found.push({ entryId: l.entryId, ...f });
      }
    }
    return result;
  };
}

export const AckReviewInboxInputSchema = z.object({
  modelId: ModelIdSchema,
  entryIds: z.array(EntryIdSchema).max(10_000),
});
export type AckReviewInboxInput = z.infer<typeof AckReviewInboxInputSchema>;

/** Activity: deletes inbox entries whose labels the queue applied and whose rows are written. */
export function createAckReviewInbox(deps: ActivityDeps) {
  return async function ackReviewInbox(raw: AckReviewInboxInput): Promise<{ deleted: number }> {
    const parsed = AckReviewInboxInputSchema.safeParse(raw);
    if (!parsed.success)
      throw ApplicationFailure.nonRetryable(
        `invalid ackReviewInbox input: ${parsed.error.issues[0].message}`,
        'ZodError',
      );
    const { modelId, entryIds } = parsed.data;
    // One batch request on S3 (DeleteObjects) instead of a round trip per entry.
    await deleteKeys(
      deps.store,
      entryIds.map((id) => layout.reviewInboxEntry(modelId, id)),
      CONCURRENCY,
      (done) => heartbeat({ deleted: done }),
    );
    return { deleted: entryIds.length };
  };
}

export const StoreReviewInboxLabelsInputSchema = z.object({
  modelId: ModelIdSchema,
  labels: z.array(SubmitLabelSchema).min(1).max(1000),
});
export type StoreReviewInboxLabelsInput = z.infer<typeof StoreReviewInboxLabelsInputSchema>;

/**
 * Activity: writes labels the queue received (by signal or update) for tasks not paged in yet to the
 * store inbox, where the drain applies them once their task is paged in. One object per task and
 * annotator, so a retry rewrites the same objects.
 */
export function createStoreReviewInboxLabels(deps: ActivityDeps) {
  return async function storeReviewInboxLabels(
    raw: StoreReviewInboxLabelsInput,
  ): Promise<{ stored: number }> {
    const parsed = StoreReviewInboxLabelsInputSchema.safeParse(raw);
    if (!parsed.success)
      throw ApplicationFailure.nonRetryable(
        `invalid storeReviewInboxLabels input: ${parsed.error.issues[0].message}`,
        'ZodError',
      );
    const { modelId, labels } = parsed.data;
    for (let i = 0; i < labels.length; i += CONCURRENCY) {
      await Promise.all(labels.slice(i, i + CONCURRENCY).map((l) => storeInboxLabel(deps.store, modelId, l)));
      heartbeat({ stored: i });
    }
    return { stored: labels.length };
  };
}
