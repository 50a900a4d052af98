import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ModelIdSchema } from '../schemas/records';
import { ReviewTaskSchema, SegmentIdSchema, SEGMENT_MAX_TASKS } from '../schemas/review';
import type { AddTaskSegment, ReviewTask } from '../schemas/review';
import { BlobNotFoundError } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { readLines } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { buildReviewSegments, validateReviewTasks, writeReviewSegment } from './review-segments';

export const ReadReviewSegmentInputSchema = z.object({
  modelId: ModelIdSchema,
  segmentId: SegmentIdSchema,
  offset: z.number().int().min(0),
  limit: z.number().int().min(1).max(SEGMENT_MAX_TASKS),
  /** Task JSON returned at most; at least one task is always returned so paging moves on. */
  maxBytes: z.number().int().min(0),
});
export type ReadReviewSegmentInput = z.infer<typeof ReadReviewSegmentInputSchema>;

export interface ReadReviewSegmentResult {
  tasks: ReviewTask[];
  /** Task lines consumed (valid or not): where the next page starts. */
  nextOffset: number;
  /** Lines that did not validate (1-based task line number in the segment), counted by the queue. */
  invalid: Array<{ line: number; detail: string }>;
}

/**
 * Activity: pages the next tasks of a review backlog segment in, from task line `offset` on: at most
 * `limit` tasks and about `maxBytes` of task JSON. A segment whose object is gone fails
 * non-retryably (`ReviewSegmentMissing`), so the queue counts its tasks as unreadable and moves on;
 * a store outage is retried.
 */
export function createReadReviewSegment(deps: ActivityDeps) {
  return async function readReviewSegment(raw: ReadReviewSegmentInput): Promise<ReadReviewSegmentResult> {
    const input = ReadReviewSegmentInputSchema.parse(raw);
    const key = layout.reviewBacklogSegment(input.modelId, input.segmentId);
    const tasks: ReviewTask[] = [];
    const invalid: ReadReviewSegmentResult['invalid'] = [];
    let index = 0;
    let bytes = 0;
    try {
      for await (const { line } of readLines(deps.store, key)) {
        if (index < input.offset) {
          index++;
          continue;
        }
        if (tasks.length + invalid.length >= input.limit) break;
        if (tasks.length > 0 && bytes + line.length > input.maxBytes) break;
        index++;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          invalid.push({ line: index, detail: 'not JSON' });
          continue;
        }
        const r = ReviewTaskSchema.safeParse(parsed);
        if (r.success) {
          tasks.push(r.data);
          bytes += line.length;
        } else {
          const issue = r.error.issues[0];
          invalid.push({ line: index, detail: `${issue.path.map(String).join('.')}: ${issue.message}` });
        }
      }
    } catch (err) {
      if (err instanceof BlobNotFoundError) {
        throw ApplicationFailure.nonRetryable(
          `review backlog segment ${key} is missing`,
          'ReviewSegmentMissing',
        );
      }
      throw err;
    }
    heartbeat({ read: index });
    return { tasks, nextOffset: index, invalid };
  };
}

export const WriteReviewSegmentInputSchema = z.object({
  modelId: ModelIdSchema,
  /** Tasks sent inline to the queue (`addTasks`), already validated there, oldest first. */
  tasks: z.array(z.unknown()).min(1).max(SEGMENT_MAX_TASKS),
});
export type WriteReviewSegmentInput = z.infer<typeof WriteReviewSegmentInputSchema>;

/**
 * Activity: writes tasks the queue received inline as one backlog segment and returns its reference.
 * Content-addressed, so a retry rewrites the same object.
 */
export function createWriteReviewSegment(deps: ActivityDeps) {
  return async function writeStagedReviewSegment(raw: WriteReviewSegmentInput): Promise<AddTaskSegment> {
    const input = WriteReviewSegmentInputSchema.parse(raw);
    const checked = validateReviewTasks(input.tasks, input.modelId);
    if (checked.rejected > 0 || checked.duplicate > 0 || checked.tasks.length !== input.tasks.length) {
      throw ApplicationFailure.nonRetryable(
        `staged review tasks do not validate: ${checked.examples[0] ?? 'duplicates'}`,
        'InvalidReviewTasks',
      );
    }
    // The queue staged them in order already; one call is one segment (at most SEGMENT_MAX_TASKS).
    const [segment, ...rest] = buildReviewSegments(input.modelId, checked.tasks);
    if (!segment || rest.length > 0)
      throw ApplicationFailure.nonRetryable(
        'staged review tasks do not fit one segment',
        'InvalidReviewTasks',
      );
    await writeReviewSegment(deps.store, segment);
    return segment.ref;
  };
}
