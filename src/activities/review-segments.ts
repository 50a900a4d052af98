/**
 * The review backlog in the store: tasks are validated and written as NDJSON segments (at most
 * SEGMENT_MAX_TASKS each, oldest first) under content-addressed keys, so writing the same tasks again
 * rewrites the same object and announcing it again is answered as a duplicate. Node code (hashing):
 * used by senders and activities, never by workflows.
 */
import { createHash } from 'node:crypto';
import { ReviewTaskSchema, SEGMENT_MAX_TASKS } from '../schemas/review';
import type { AddTaskSegment, ReviewTask } from '../schemas/review';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';

/** Bytes of task JSON per segment at most (a page-in reads one segment's lines). */
const SEGMENT_MAX_BYTES = 4 * 1024 * 1024;

/** Tasks the sender refused before anything was sent, by reason, with a few examples. */
export interface ReviewTaskRejections {
  rejected: number;
  /** Reason code → tasks refused for it (`invalid-task`, `wrong-model`). */
  reasons: Record<string, number>;
  /** The first few refusals, one line each, naming the task and the field. */
  examples: string[];
}

/**
 * Validates tasks one by one for `modelId`: invalid tasks and tasks for another model are refused and
 * counted (never sent), a task id repeated within the batch is a duplicate (the first one is kept).
 */
export function validateReviewTasks(
  raw: unknown[],
  modelId: string,
): { tasks: ReviewTask[]; duplicate: number } & ReviewTaskRejections {
  const tasks: ReviewTask[] = [];
  const seen = new Set<string>();
  const reasons: Record<string, number> = {};
  const examples: string[] = [];
  let rejected = 0;
  let duplicate = 0;
  const refuse = (code: string, detail: string): void => {
    rejected++;
    reasons[code] = (reasons[code] ?? 0) + 1;
    if (examples.length < 5) examples.push(detail);
  };
  raw.forEach((item, i) => {
    const r = ReviewTaskSchema.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0];
      const id = (item as { taskId?: unknown } | null)?.taskId;
      refuse(
        'invalid-task',
        `task ${typeof id === 'string' ? id.slice(0, 80) : `#${i}`}: ${issue.path.map(String).join('.') || '(task)'}: ${issue.message}`,
      );
    } else if (r.data.modelId !== modelId) {
      refuse('wrong-model', `task ${r.data.taskId}: for model "${r.data.modelId}", not "${modelId}"`);
    } else if (seen.has(r.data.taskId)) {
      duplicate++;
    } else {
      seen.add(r.data.taskId);
      tasks.push(r.data);
    }
  });
  return { tasks, duplicate, rejected, reasons, examples };
}

/** One segment ready to write: its NDJSON text and the reference the queue is told about. */
export interface ReviewSegment {
  ref: AddTaskSegment;
  text: string;
}

/**
 * Cuts validated tasks into segments, oldest first (stable sort by createdAt, so equal times keep the
 * sender's order), at most SEGMENT_MAX_TASKS tasks and about SEGMENT_MAX_BYTES each. The segment id is
 * a hash of its text: the same tasks give the same key.
 */
export function buildReviewSegments(modelId: string, tasks: ReviewTask[]): ReviewSegment[] {
  const sorted = [...tasks].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const segments: ReviewSegment[] = [];
  let lines: string[] = [];
  let first: ReviewTask | undefined;
  let last: ReviewTask | undefined;
  let bytes = 0;
  const close = (): void => {
    if (!first || !last) return;
    const text = lines.join('');
    const segmentId = createHash('sha256')
      .update(modelId)
      .update('\n')
      .update(text)
      .digest('hex')
      .slice(0, 32);
    segments.push({
      text,
      ref: {
        segmentId,
        key: layout.reviewBacklogSegment(modelId, segmentId),
        count: lines.length,
        createdAtFirst: first.createdAt,
        createdAtLast: last.createdAt,
      },
    });
    lines = [];
    bytes = 0;
    first = undefined;
  };
  for (const t of sorted) {
    const line = `${JSON.stringify(t)}\n`;
    if (lines.length > 0 && (lines.length >= SEGMENT_MAX_TASKS || bytes + line.length > SEGMENT_MAX_BYTES))
      close();
    first ??= t;
    last = t;
    lines.push(line);
    bytes += line.length;
  }
  close();
  return segments;
}

/** Writes a segment's object (the same text under the same key: a retry rewrites it unchanged). */
export async function writeReviewSegment(store: BlobStore, segment: ReviewSegment): Promise<void> {
  await store.put(segment.ref.key, segment.text);
}
