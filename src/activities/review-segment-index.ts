/**
 * Where the tasks of the review backlog are: which segment (and line) holds a task id, and which
 * segments are in the store without the queue knowing them. The inbox drain uses it to page in, on
 * demand, the task a label names, and to take segments whose announcement never arrived. Segments are
 * content-addressed and never change, so a segment's task ids are read once per worker process and
 * kept (a bounded cache). Node code: activities only.
 */
import { ReviewTaskSchema, SegmentIdSchema } from '../schemas/review';
import type { AddTaskSegment, ReviewTask } from '../schemas/review';
import type { BlobStore } from '../storage/blob-store';
import { BlobNotFoundError } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { readLines } from '../storage/ndjson';

/** What is known of one segment object: its task ids by line, and its reference. */
interface SegmentIndex {
  /** Task id → 0-based task line. */
  lines: Map<string, number>;
  ref: AddTaskSegment;
}

/** Segments indexed at most per process (about 50 kB each for 1,000 tasks). */
const CACHE_SEGMENTS = 400;
const cache = new Map<string, SegmentIndex>();

/**
 * Reads one segment's task lines: calls `onTask` for each valid one (0-based line) and returns its
 * index, or undefined when the object is gone. A line that does not validate keeps its number.
 */
async function scanSegment(
  store: BlobStore,
  modelId: string,
  segmentId: string,
  onTask?: (line: number, task: ReviewTask) => void,
): Promise<SegmentIndex | undefined> {
  const key = layout.reviewBacklogSegment(modelId, segmentId);
  const lines = new Map<string, number>();
  let first: string | undefined;
  let last: string | undefined;
  let n = 0;
  try {
    for await (const { line } of readLines(store, key)) {
      const at = n++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      const r = ReviewTaskSchema.safeParse(parsed);
      if (!r.success) continue;
      if (!lines.has(r.data.taskId)) lines.set(r.data.taskId, at);
      first ??= r.data.createdAt;
      last = r.data.createdAt;
      onTask?.(at, r.data);
    }
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    throw err;
  }
  if (n === 0 || !first || !last) return undefined;
  return { lines, ref: { segmentId, key, count: n, createdAtFirst: first, createdAtLast: last } };
}

async function indexOf(
  store: BlobStore,
  modelId: string,
  segmentId: string,
): Promise<SegmentIndex | undefined> {
  const key = `${store.uri}\n${modelId}\n${segmentId}`;
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last: the oldest entry is the first one evicted.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const index = await scanSegment(store, modelId, segmentId);
  if (!index) return undefined;
  cache.set(key, index);
  while (cache.size > CACHE_SEGMENTS) cache.delete(cache.keys().next().value as string);
  return index;
}

/**
 * Segment objects under the model's backlog prefix that are not in `known`, with their references
 * (at most `max`, oldest key first). Unreadable or empty objects are left out.
 */
export async function discoverSegments(
  store: BlobStore,
  modelId: string,
  known: Set<string>,
  max: number,
  onProgress: () => void = () => undefined,
): Promise<AddTaskSegment[]> {
  const prefix = layout.reviewBacklogPrefix(modelId);
  const out: AddTaskSegment[] = [];
  for await (const info of store.listSizes(prefix)) {
    const name = info.key.slice(prefix.length);
    if (!name.endsWith('.ndjson')) continue;
    const id = name.slice(0, -'.ndjson'.length);
    if (known.has(id) || !SegmentIdSchema.safeParse(id).success) continue;
    const index = await indexOf(store, modelId, id);
    onProgress();
    if (index) out.push(index.ref);
    if (out.length >= max) break;
  }
  return out;
}

/**
 * For each task id, the segment and line that hold it among `segments`, only in their unread part
 * (line ≥ offset), with the task itself. Task ids held by none are left out.
 */
export async function findTasks(
  store: BlobStore,
  modelId: string,
  segments: Array<{ segmentId: string; offset: number }>,
  taskIds: string[],
  onProgress: () => void = () => undefined,
): Promise<Map<string, { segmentId: string; line: number; task: ReviewTask }>> {
  const wanted = new Set(taskIds);
  // Where each wanted task is: segment → line → task id.
  const bySegment = new Map<string, Map<number, string>>();
  for (const g of segments) {
    if (wanted.size === 0) break;
    const index = await indexOf(store, modelId, g.segmentId);
    onProgress();
    if (!index) continue;
    for (const id of [...wanted]) {
      const line = index.lines.get(id);
      if (line === undefined || line < g.offset) continue;
      wanted.delete(id);
      let lines = bySegment.get(g.segmentId);
      if (!lines) bySegment.set(g.segmentId, (lines = new Map()));
      lines.set(line, id);
    }
  }
  const found = new Map<string, { segmentId: string; line: number; task: ReviewTask }>();
  for (const [segmentId, lines] of bySegment) {
    await scanSegment(store, modelId, segmentId, (line, task) => {
      if (lines.get(line) === task.taskId) found.set(task.taskId, { segmentId, line, task });
    });
    onProgress();
  }
  return found;
}
