/**
 * The review queue's state and rules, without I/O or clocks: every method that depends on time takes
 * `nowMs`. The `reviewQueue` workflow wraps one instance; unit tests drive it directly.
 *
 * The state is PLAIN JSON (records and arrays, no Map/Set/Date/undefined-as-value) because it travels
 * through continue-as-new via the JSON payload converter: `new ReviewQueueState(opts, JSON.parse(
 * JSON.stringify(q.toJSON())))` behaves exactly like `q`. Records keyed by user-supplied strings (task
 * ids, annotator names) are only read and written through own-property helpers, so a key such as
 * `__proto__` or `toString` is data, never the prototype.
 */
import type { LabeledRow } from '../schemas/records';
import type {
  SubmitLabel,
  AddTaskSegment,
  AddTaskSegmentResult,
  ClaimResult,
  RejectionCode,
  RejectionView,
  ReviewQueueConfig,
  ReviewStats,
  ReviewTask,
  SubmitResult,
  TaskStatus,
  TaskView,
} from '../schemas/review';

/** Resolved queue options (see ReviewQueueConfig for the user-facing knobs). */
export interface ReviewQueueOptions {
  /** Tasks for another model are rejected (`wrong-model`) when set. */
  modelId?: string;
  leaseMs: number;
  lifetimeMs: number;
  consensusK: number;
  maxAnnotatorsPerHardTask: number;
  /** Active window: tasks paged in from the backlog; refilled once it falls to half. */
  windowTasks: number;
  /** Task JSON held in the window at most (so the state fits a continue-as-new payload). */
  windowBytes: number;
  /** Backlog segment ids remembered to answer a re-sent segment as a duplicate. */
  maxSegmentIdsKept: number;
  /** Rejections kept for `reviewStats` (the counter counts all). */
  maxRejectionsKept: number;
  /** Finished tasks remembered (status + labels) to answer duplicates and the `task` query. */
  maxFinishedKept: number;
  /**
   * A label whose task is not paged in yet waits for it (inbox entries stay in the inbox, signals and
   * updates are handed to the inbox) instead of being refused as `unknown-task`. Off only while a run
   * recorded before this rule replays.
   */
  deferUnknown: boolean;
}

/** Backlog segments the inbox drain looks into for the tasks of its labels (the first ones). */
export const LOOKUP_SEGMENTS = 200;
/** Labels (signal or update) waiting to be written to the inbox at most; beyond, they are refused. */
export const MAX_TO_INBOX = 500;
/** Inbox entries deferred in one drain pass at most; then the pass ends until the next poll. */
export const MAX_INBOX_DEFERRED = 2000;
/** Consumed segment objects waiting to be deleted at most (a leftover is found and deleted again). */
const MAX_CONSUMED_KEPT = 1000;

const HOUR_MS = 3_600_000;
/** Finished tasks are forgotten in steps of this many beyond maxFinishedKept. */
const FINISHED_TRIM_STEP = 64;
const DAY_MS = 86_400_000;

export const defaultReviewQueueOptions: ReviewQueueOptions = {
  leaseMs: HOUR_MS,
  lifetimeMs: 10 * DAY_MS,
  consensusK: 2,
  maxAnnotatorsPerHardTask: 3,
  windowTasks: 200,
  windowBytes: 600_000,
  maxSegmentIdsKept: 2000,
  maxRejectionsKept: 100,
  maxFinishedKept: 1000,
  deferUnknown: true,
};

/** Resolves a (validated) queue config into options; k above the annotator cap raises the cap to k. */
export function reviewQueueOptions(config: ReviewQueueConfig = {}, modelId?: string): ReviewQueueOptions {
  const d = defaultReviewQueueOptions;
  const consensusK = config.consensusK ?? d.consensusK;
  return {
    ...d,
    modelId,
    leaseMs: Math.round((config.leaseSeconds ?? d.leaseMs / 1000) * 1000),
    lifetimeMs: Math.round((config.taskLifetimeDays ?? d.lifetimeMs / DAY_MS) * DAY_MS),
    consensusK,
    maxAnnotatorsPerHardTask: Math.max(
      consensusK,
      config.maxAnnotatorsPerHardTask ?? d.maxAnnotatorsPerHardTask,
    ),
    // maxOpenTasks / maxOpenTaskBytes of older configs are accepted and ignored: nothing is dropped.
    windowTasks: config.activeWindowTasks ?? d.windowTasks,
  };
}

/** One label as received. */
export interface ReceivedLabel {
  annotator: string;
  label: string;
  atMs: number;
  note?: string;
}

/** A task still in the queue: pending, claimed, or escalated (kept visible until its lifetime ends). */
export interface OpenTaskRecord {
  task: ReviewTask;
  status: 'pending' | 'claimed' | 'escalated';
  enqueuedAtMs: number;
  lease?: { annotator: string; expiresAtMs: number; leaseMs: number };
  labels: ReceivedLabel[];
  skippedBy: string[];
  /** JSON size of `task`, counted against the window's byte bound. */
  bytes: number;
  escalatedAtMs?: number;
}

/**
 * What is remembered of a finished task once its details leave the queue: enough to answer a repeated
 * label (`duplicate`/`conflicting-label`) and the `task` query. Kept small: it travels in the state.
 */
export interface FinishedTaskRecord {
  status: 'done' | 'escalated' | 'expired';
  finishedAtMs: number;
  /** annotator → label */
  labels: Record<string, string>;
  finalLabel?: string;
}

export interface Rejection {
  atMs: number;
  message: string;
  via: 'signal' | 'update' | 'inbox';
  code: RejectionCode;
  detail: string;
  taskId?: string;
  annotator?: string;
}

export interface AnnotatorCounters {
  claimed: number;
  submitted: number;
  skipped: number;
}

/** A labelled row produced by the queue, waiting to be written to `labels/{model}/human/`. */
export type ReviewLabelRow = LabeledRow & { lineage: Record<string, string> };

/**
 * A segment of the backlog: tasks in the store (`key`, NDJSON, oldest first), of which the first
 * `offset` were paged in. Every task of a segment counts as enqueued when the segment was accepted.
 */
export interface BacklogSegment {
  id: string;
  key: string;
  count: number;
  offset: number;
  addedAtMs: number;
  /**
   * Lines (0-based) paged in ahead of `offset` because a label asked for their task: a bitmap in hex
   * (bit j of digit k is line 4k+j), at most 250 characters for a 1,000-task segment.
   */
  taken?: string;
}

/** A task found in a backlog segment for a label that named it (the inbox drain's lookup). */
export interface FoundTask {
  segmentId: string;
  /** 0-based task line in the segment. */
  line: number;
  task: ReviewTask;
}

/** What the workflow asks the page-in activity for: the next lines of the oldest segment. */
export interface PageInRequest {
  segmentId: string;
  key: string;
  offset: number;
  limit: number;
  maxBytes: number;
}

/** The whole queue as plain JSON. */
export interface ReviewQueueStateData {
  version: 2;
  tasks: Record<string, OpenTaskRecord>;
  /** Ids of `tasks`, oldest first (enqueue order; a batch is ordered by createdAt). */
  order: string[];
  finished: Record<string, FinishedTaskRecord>;
  /** Ids of `finished`, oldest first, for bounding it. */
  finishedOrder: string[];
  outbox: ReviewLabelRow[];
  /** The backlog: segments in the store, oldest first. Only references travel in the state. */
  backlog: BacklogSegment[];
  /** Tasks sent inline (`addTasks` signal) while a backlog exists, waiting to be written as a segment. */
  staged: ReviewTask[];
  /** When the oldest staged task arrived. */
  stagedSinceMs: number | null;
  /** Ids of segments accepted so far (bounded), to answer a re-sent segment as a duplicate. */
  segmentIds: string[];
  /**
   * Inbox entries applied (or refused), each deletable once `flushedRows` reaches `afterRows`: the rows
   * the label produced are written by then. Bounded by the drain batch.
   */
  inboxAcks: Array<{ id: string; afterRows: number }>;
  /** Inbox entries left in the inbox in this drain pass (their task may be in the backlog): skipped. */
  inboxDeferred: string[];
  /** Labels sent by signal or update for tasks not paged in yet, to be written to the inbox. */
  toInbox: SubmitLabel[];
  /** Segments that left the backlog (read, expired, unreadable): their objects are deleted next. */
  consumed: string[];
  /** Segments found in the store without an announcement: a late announcement of one counts once. */
  discovered: string[];
  /** Sequence number of the next flushed batch (names the batch: runId-independent, so retries rewrite it). */
  flushSeq: number;
  counters: {
    added: number;
    duplicateTasks: number;
    droppedTasks: number;
    segmentsAdded: number;
    duplicateSegments: number;
    pagedIn: number;
    unreadable: number;
    inboxLabels: number;
    deferredLabels: number;
    segmentsDiscovered: number;
    done: number;
    escalated: number;
    expired: number;
    rejected: number;
    labelsAccepted: number;
    duplicateLabels: number;
    leaseExpiries: number;
    flushedRows: number;
    flushedBatches: number;
    flushFailures: number;
    continuedAsNew: number;
  };
  annotators: Record<string, AnnotatorCounters>;
  rejections: Rejection[];
}

export function emptyReviewQueueState(): ReviewQueueStateData {
  return {
    version: 2,
    tasks: {},
    order: [],
    finished: {},
    finishedOrder: [],
    outbox: [],
    backlog: [],
    staged: [],
    stagedSinceMs: null,
    segmentIds: [],
    inboxAcks: [],
    inboxDeferred: [],
    toInbox: [],
    consumed: [],
    discovered: [],
    flushSeq: 1,
    counters: {
      added: 0,
      duplicateTasks: 0,
      droppedTasks: 0,
      segmentsAdded: 0,
      duplicateSegments: 0,
      pagedIn: 0,
      unreadable: 0,
      inboxLabels: 0,
      deferredLabels: 0,
      segmentsDiscovered: 0,
      done: 0,
      escalated: 0,
      expired: 0,
      rejected: 0,
      labelsAccepted: 0,
      duplicateLabels: 0,
      leaseExpiries: 0,
      flushedRows: 0,
      flushedBatches: 0,
      flushFailures: 0,
      continuedAsNew: 0,
    },
    annotators: {},
    rejections: [],
  };
}

/**
 * Restores state carried through continue-as-new. Version 1 (before the backlog redesign: every task
 * held in the state) is migrated: its tasks become the active window and its backlog is empty. A
 * missing field takes its empty value; anything that is not a state object gives an empty queue and
 * `false`.
 */
export function restoreReviewQueueState(raw: unknown): { data: ReviewQueueStateData; ok: boolean } {
  const empty = emptyReviewQueueState();
  if (raw === undefined || raw === null) return { data: empty, ok: true };
  const version = (raw as { version?: unknown }).version;
  if (typeof raw !== 'object' || Array.isArray(raw) || (version !== 1 && version !== 2)) {
    return { data: empty, ok: false };
  }
  const r = raw as Partial<ReviewQueueStateData>;
  const isRecord = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isSegment = (v: unknown): v is BacklogSegment => {
    const g = v as BacklogSegment;
    return (
      isRecord(v) &&
      typeof g.id === 'string' &&
      typeof g.key === 'string' &&
      Number.isInteger(g.count) &&
      Number.isInteger(g.offset) &&
      typeof g.addedAtMs === 'number' &&
      g.offset < g.count &&
      (g.taken === undefined || (typeof g.taken === 'string' && /^[0-9a-f]*$/.test(g.taken)))
    );
  };
  const data: ReviewQueueStateData = {
    version: 2,
    tasks: isRecord(r.tasks) ? r.tasks! : {},
    order: Array.isArray(r.order) ? r.order : [],
    finished: isRecord(r.finished) ? r.finished! : {},
    finishedOrder: Array.isArray(r.finishedOrder) ? r.finishedOrder : [],
    outbox: Array.isArray(r.outbox) ? r.outbox : [],
    backlog: Array.isArray(r.backlog) ? r.backlog.filter(isSegment) : [],
    staged: Array.isArray(r.staged) ? r.staged : [],
    stagedSinceMs: typeof r.stagedSinceMs === 'number' ? r.stagedSinceMs : null,
    segmentIds: Array.isArray(r.segmentIds) ? r.segmentIds.filter((x) => typeof x === 'string') : [],
    inboxAcks: Array.isArray(r.inboxAcks)
      ? r.inboxAcks.filter((a) => isRecord(a) && typeof a.id === 'string' && typeof a.afterRows === 'number')
      : [],
    inboxDeferred: strings(r.inboxDeferred),
    toInbox: Array.isArray(r.toInbox)
      ? r.toInbox.filter(
          (l) =>
            isRecord(l) &&
            typeof l.taskId === 'string' &&
            typeof l.label === 'string' &&
            typeof l.annotator === 'string',
        )
      : [],
    consumed: strings(r.consumed),
    discovered: strings(r.discovered),
    flushSeq: typeof r.flushSeq === 'number' ? r.flushSeq : 1,
    counters: { ...empty.counters, ...(isRecord(r.counters) ? r.counters : {}) },
    annotators: isRecord(r.annotators) ? r.annotators! : {},
    rejections: Array.isArray(r.rejections) ? r.rejections : [],
  };
  // Keep `order` and `tasks` consistent whatever was carried (a Set here is fine: it is not state).
  const seen = new Set<string>();
  data.order = data.order.filter((id) => {
    if (typeof id !== 'string' || !hasOwn(data.tasks, id) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  for (const id of Object.keys(data.tasks)) if (!seen.has(id)) data.order.push(id);
  if (data.staged.length > 0 && data.stagedSinceMs === null) data.stagedSinceMs = 0;
  return { data, ok: true };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

// --- line bitmaps of a segment (hex digits, 4 lines each): plain strings, so they travel as JSON ---

function bitAt(hex: string | undefined, i: number): boolean {
  if (!hex) return false;
  const k = i >> 2;
  return k < hex.length && ((parseInt(hex[k], 16) >> (i & 3)) & 1) === 1;
}

function withBit(hex: string | undefined, i: number): string {
  const k = i >> 2;
  const h = (hex ?? '').padEnd(k + 1, '0');
  return h.slice(0, k) + (parseInt(h[k], 16) | (1 << (i & 3))).toString(16) + h.slice(k + 1);
}

/** Lines at or after `from` whose bit is set. */
function bitsFrom(hex: string | undefined, from: number): number {
  if (!hex) return 0;
  let n = 0;
  for (let i = from; i < hex.length * 4; i++) if (bitAt(hex, i)) n++;
  return n;
}

/** Tasks of a segment not paged in yet. */
function remaining(g: BacklogSegment): number {
  return g.count - g.offset - bitsFrom(g.taken, g.offset);
}

/**
 * The annotators of a written label row's lineage: a JSON list since labels carry any annotator id;
 * rows written before that joined them with "," (read as such).
 */
export function lineageAnnotators(lineage: Record<string, string> | undefined): string[] {
  const raw = lineage?.annotators;
  if (raw === undefined) return [];
  if (raw.startsWith('[')) {
    try {
      const v = JSON.parse(raw) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      // an old row whose first annotator id began with "["
    }
  }
  return raw === '' ? [] : raw.split(',');
}

// --- own-property helpers: user strings as keys never reach the prototype -------------------------

function hasOwn(rec: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(rec, key);
}

function getOwn<T>(rec: Record<string, T>, key: string): T | undefined {
  return hasOwn(rec, key) ? rec[key] : undefined;
}

function setOwn<T>(rec: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(rec, key, { value, enumerable: true, writable: true, configurable: true });
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Bounds free-form text copied from a message into state or a rejection. */
const clip = (s: string, max = 200): string => (s.length > max ? `${s.slice(0, max)}…` : s);

type Via = 'signal' | 'update' | 'inbox';

/** Everything a message handler needs to know to answer: the result and, on rejection, its record. */
function rejected(code: RejectionCode, detail: string, status: SubmitResult['status']): SubmitResult {
  return { accepted: false, reason: code, detail, status };
}

/**
 * The review queue: tasks with leases, labels with consensus, expiry, rejections, and an outbox of
 * finished labels. All mutations go through methods; `toJSON()` is the state to carry.
 */
export class ReviewQueueState {
  private readonly s: ReviewQueueStateData;
  /** Earliest lease or lifetime deadline, or undefined when unknown (derived, never carried). */
  private dueCache: number | undefined;

  constructor(
    readonly opts: ReviewQueueOptions = defaultReviewQueueOptions,
    data?: ReviewQueueStateData,
  ) {
    this.s = data ?? emptyReviewQueueState();
  }

  /** The plain-JSON state (the live object: serialise it, do not mutate it). */
  toJSON(): ReviewQueueStateData {
    return this.s;
  }

  // --- time ----------------------------------------------------------------------------------------

  /**
   * Applies the clock: expired leases return their task to pending; tasks past their lifetime expire
   * (escalated ones leave the queue but stay known). Called before every message and on timers.
   */
  tick(nowMs: number): void {
    if (this.dueCache !== undefined && nowMs < this.dueCache) return;
    const expiredIds: string[] = [];
    for (const id of this.s.order) {
      const t = this.s.tasks[id];
      if (t.lease && t.lease.expiresAtMs <= nowMs) {
        delete t.lease;
        if (t.status === 'claimed') t.status = 'pending';
        this.s.counters.leaseExpiries++;
      }
      if (t.enqueuedAtMs + this.opts.lifetimeMs <= nowMs) expiredIds.push(id);
    }
    for (const id of expiredIds) {
      const t = this.s.tasks[id];
      if (t.status === 'escalated') this.finish(id, 'escalated', t.escalatedAtMs ?? nowMs);
      else {
        this.s.counters.expired++;
        this.finish(id, 'expired', nowMs);
      }
    }
    // A backlog segment past its lifetime expires whole, without being read: its tasks were never
    // offered, so they are counted as expired (not finished one by one, and not remembered by id).
    this.s.backlog = this.s.backlog.filter((g) => {
      if (g.addedAtMs + this.opts.lifetimeMs > nowMs) return true;
      this.s.counters.expired += remaining(g);
      this.consume(g.id);
      return false;
    });
    this.dueCache = undefined;
    this.dueCache = this.nextDueMs();
  }

  /** The next instant `tick` would change something (lease end or task lifetime), or Infinity. */
  nextDueMs(): number {
    if (this.dueCache !== undefined) return this.dueCache;
    let due = Infinity;
    for (const id of this.s.order) {
      const t = this.s.tasks[id];
      due = Math.min(due, t.enqueuedAtMs + this.opts.lifetimeMs);
      if (t.lease) due = Math.min(due, t.lease.expiresAtMs);
    }
    for (const g of this.s.backlog) due = Math.min(due, g.addedAtMs + this.opts.lifetimeMs);
    this.dueCache = due;
    return due;
  }

  // --- messages ------------------------------------------------------------------------------------

  /**
   * Adds tasks sent inline (already validated), ignoring ids already known (adding is idempotent).
   * Tasks for another model are refused and recorded. Nothing is dropped for lack of room: while the
   * backlog is empty and the window has room, tasks join the window; otherwise they are staged, to be
   * written to the store as a backlog segment (`takeStaged` / `addSegment`), so they queue behind older
   * backlog and the state stays bounded.
   */
  addTasks(tasks: ReviewTask[], nowMs: number): { added: number; duplicates: number; rejected: number } {
    this.tick(nowMs);
    let added = 0;
    let duplicates = 0;
    let rejectedCount = 0;
    // Oldest first within a batch; the sort is stable, so equal timestamps keep the sender's order.
    const sorted = [...tasks].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    let bytes = this.openBytes();
    for (const task of sorted) {
      if (
        hasOwn(this.s.tasks, task.taskId) ||
        hasOwn(this.s.finished, task.taskId) ||
        this.s.staged.some((t) => t.taskId === task.taskId)
      ) {
        duplicates++;
        this.s.counters.duplicateTasks++;
        continue;
      }
      if (this.opts.modelId !== undefined && task.modelId !== this.opts.modelId) {
        rejectedCount++;
        this.reject(
          nowMs,
          'addTasks',
          'signal',
          'wrong-model',
          `task is for model "${task.modelId}", this queue is for "${this.opts.modelId}"`,
          task.taskId,
        );
        continue;
      }
      const size = JSON.stringify(task).length;
      const roomInWindow =
        this.s.backlog.length === 0 &&
        this.s.staged.length === 0 &&
        this.s.order.length < this.opts.windowTasks &&
        bytes + size <= this.opts.windowBytes;
      if (roomInWindow) {
        bytes += size;
        this.enter(task, nowMs, size);
      } else {
        if (this.s.staged.length === 0) this.s.stagedSinceMs = nowMs;
        this.s.staged.push(task);
      }
      this.s.counters.added++;
      added++;
    }
    this.dueCache = undefined;
    return { added, duplicates, rejected: rejectedCount };
  }

  // --- backlog -------------------------------------------------------------------------------------

  /**
   * Takes a backlog segment by reference (its tasks stay in the store). A segment already known is a
   * duplicate: its tasks are counted once. Tasks are enqueued now, for their lifetime.
   */
  addSegment(ref: AddTaskSegment, nowMs: number): AddTaskSegmentResult {
    this.tick(nowMs);
    // Found in the store before its announcement arrived (a sender that gave up waiting, or one whose
    // announcement was on its way when a drain listed the backlog): its tasks were counted then. The
    // first announcement claims them as accepted, as it would have without the drain; later ones are
    // duplicates.
    const found = this.s.discovered.indexOf(ref.segmentId);
    if (found >= 0) {
      this.s.discovered.splice(found, 1);
      return { accepted: ref.count, duplicate: 0, backlog: this.backlogSize() };
    }
    if (this.s.segmentIds.includes(ref.segmentId) || this.s.backlog.some((g) => g.id === ref.segmentId)) {
      this.s.counters.duplicateSegments++;
      this.s.counters.duplicateTasks += ref.count;
      return { accepted: 0, duplicate: ref.count, backlog: this.backlogSize() };
    }
    this.appendSegment(ref, nowMs);
    this.s.counters.added += ref.count;
    return { accepted: ref.count, duplicate: 0, backlog: this.backlogSize() };
  }

  /** Tasks staged for the backlog (sent inline while a backlog exists). */
  stagedCount(): number {
    return this.s.staged.length;
  }

  /** The staged tasks to write as one segment (oldest first), or none. */
  stagedTasks(): ReviewTask[] {
    return this.s.staged.slice(0, 1000);
  }

  /**
   * The first `n` staged tasks were written to the store as `ref`: they join the backlog as a segment
   * (already counted as added when they arrived). Enqueued when they were staged.
   */
  stagedWritten(n: number, ref: AddTaskSegment, nowMs: number): void {
    const since = this.s.stagedSinceMs ?? nowMs;
    this.s.staged.splice(0, n);
    this.s.stagedSinceMs = this.s.staged.length > 0 ? nowMs : null;
    const found = this.s.discovered.indexOf(ref.segmentId);
    if (found >= 0) {
      // An earlier write of these very tasks was found in the store first: they were counted twice.
      this.s.discovered.splice(found, 1);
      this.s.counters.added -= ref.count;
      this.s.counters.segmentsDiscovered--;
      return;
    }
    if (this.s.segmentIds.includes(ref.segmentId) || this.s.backlog.some((g) => g.id === ref.segmentId))
      return;
    this.appendSegment(ref, since);
  }

  /** Tasks accepted but not paged in: backlog segments plus staged tasks. */
  backlogSize(): number {
    let n = this.s.staged.length;
    for (const g of this.s.backlog) n += remaining(g);
    return n;
  }

  /**
   * A segment found in the store that was never announced (its sender gave up waiting for the queue):
   * accepted like an announced one, counted once by its id. A segment the queue already had is a
   * leftover object: it is deleted. True when it joined the backlog.
   */
  discoverSegment(ref: AddTaskSegment, nowMs: number): boolean {
    this.tick(nowMs);
    if (this.s.backlog.some((g) => g.id === ref.segmentId)) return false;
    if (this.s.segmentIds.includes(ref.segmentId)) {
      this.consume(ref.segmentId);
      return false;
    }
    this.appendSegment(ref, nowMs);
    this.s.counters.added += ref.count;
    this.s.counters.segmentsDiscovered++;
    this.s.discovered.push(ref.segmentId);
    const extra = this.s.discovered.length - this.opts.maxSegmentIdsKept;
    if (extra > 0) this.s.discovered.splice(0, extra);
    return true;
  }

  /** Backlog segments the inbox drain looks into (id and first unread line), oldest first. */
  lookupSegments(): Array<{ segmentId: string; offset: number }> {
    return this.s.backlog.slice(0, LOOKUP_SEGMENTS).map((g) => ({ segmentId: g.id, offset: g.offset }));
  }

  /** Every backlog segment id (the drain's discovery leaves them out). */
  backlogSegmentIds(): string[] {
    return this.s.backlog.map((g) => g.id);
  }

  /** Segment objects to delete (they left the backlog), at most `max`. */
  consumedSegments(max = 200): string[] {
    return this.s.consumed.slice(0, max);
  }

  /** The given segment objects were deleted. */
  consumedDeleted(ids: string[]): void {
    const done = new Set(ids);
    this.s.consumed = this.s.consumed.filter((id) => !done.has(id));
  }

  /**
   * What to page in next from the oldest backlog segment, or undefined: the window is refilled once it
   * falls to half of `windowTasks`. `force` (a claim found nothing for its annotator) asks for more
   * even above half, up to twice the window; `'fill'` fills the window to `windowTasks`.
   */
  pageInRequest(force: boolean | 'fill' = false): PageInRequest | undefined {
    const g = this.s.backlog[0];
    if (!g) return undefined;
    const open = this.s.order.length;
    const target = this.opts.windowTasks;
    // 'fill' (a segment was just added): up to the window's size even above half, so tasks labelled
    // by id right after they were sent are found when the window has room for them.
    if (force === false && open > Math.floor(target / 2)) return undefined;
    const limit =
      force === true ? Math.max(target - open, Math.min(target, 2 * target - open)) : target - open;
    if (limit <= 0) return undefined;
    const bytes = this.openBytes();
    if (!force && bytes >= this.opts.windowBytes) return undefined;
    return {
      segmentId: g.id,
      key: g.key,
      offset: g.offset,
      limit: Math.min(limit, g.count - g.offset),
      maxBytes: Math.max(0, this.opts.windowBytes - bytes),
    };
  }

  /**
   * The tasks read for `req` (validated by the activity), and the lines that could not be read. Known
   * task ids are skipped as duplicates, tasks for another model refused; the rest join the window with
   * their segment's enqueue time. A stale answer (the segment moved on meanwhile) is ignored.
   */
  pagedIn(
    req: { segmentId: string; offset: number },
    read: { tasks: ReviewTask[]; nextOffset: number; invalid: Array<{ line: number; detail: string }> },
    nowMs: number,
  ): void {
    const g = this.s.backlog[0];
    if (!g || g.id !== req.segmentId || g.offset !== req.offset) return;
    // The task lines read, in order: every line from `offset` on that was not an invalid one.
    const invalidLines = new Set(read.invalid.map((b) => b.line - 1));
    let line = req.offset;
    for (const task of read.tasks) {
      while (invalidLines.has(line)) line++;
      // Paged in already, ahead of its turn, for a label that named it.
      if (bitAt(g.taken, line++)) continue;
      if (hasOwn(this.s.tasks, task.taskId) || hasOwn(this.s.finished, task.taskId)) {
        // Accepted with its segment, found known only now: counted as a duplicate instead.
        this.s.counters.duplicateTasks++;
        this.s.counters.added--;
        continue;
      }
      if (this.opts.modelId !== undefined && task.modelId !== this.opts.modelId) {
        this.s.counters.added--;
        this.s.counters.unreadable++;
        this.reject(
          nowMs,
          'page-in',
          'signal',
          'wrong-model',
          `segment ${g.id}: task for "${task.modelId}"`,
          task.taskId,
        );
        continue;
      }
      this.enter(task, g.addedAtMs, JSON.stringify(task).length);
      this.s.counters.pagedIn++;
    }
    for (const bad of read.invalid) {
      this.s.counters.added--;
      this.s.counters.unreadable++;
      this.reject(
        nowMs,
        'page-in',
        'signal',
        'unreadable-segment',
        `segment ${g.id} line ${bad.line}: ${bad.detail}`,
      );
    }
    g.offset = Math.min(g.count, Math.max(read.nextOffset, g.offset + 1));
    if (remaining(g) <= 0) {
      this.s.backlog.shift();
      this.consume(g.id);
    }
    this.dueCache = undefined;
  }

  /**
   * Pages one task in ahead of its turn because a label names it (found by the inbox drain in an
   * unread part of a backlog segment). Its line is marked so the segment's own page-in skips it later.
   * True when the task joined the window.
   */
  takeFound(found: FoundTask): boolean {
    const i = this.s.backlog.findIndex((g) => g.id === found.segmentId);
    const g = this.s.backlog[i];
    if (!g || found.line < g.offset || found.line >= g.count || bitAt(g.taken, found.line)) return false;
    const task = found.task;
    if (hasOwn(this.s.tasks, task.taskId) || hasOwn(this.s.finished, task.taskId)) return false;
    if (this.opts.modelId !== undefined && task.modelId !== this.opts.modelId) return false;
    g.taken = withBit(g.taken, found.line);
    this.enter(task, g.addedAtMs, JSON.stringify(task).length);
    this.s.counters.pagedIn++;
    if (remaining(g) <= 0) {
      this.s.backlog.splice(i, 1);
      this.consume(g.id);
    }
    this.dueCache = undefined;
    return true;
  }

  /** The oldest segment cannot be read at all (its object is gone): its remaining tasks are counted. */
  segmentUnreadable(segmentId: string, detail: string, nowMs: number): void {
    const g = this.s.backlog[0];
    if (!g || g.id !== segmentId) return;
    const left = remaining(g);
    this.s.counters.unreadable += left;
    this.s.counters.added -= left;
    this.reject(
      nowMs,
      'page-in',
      'signal',
      'unreadable-segment',
      `segment ${g.id} (${left} tasks): ${detail}`,
    );
    this.s.backlog.shift();
    this.consume(g.id);
  }

  /** Records a message that could not even be read (bad payload): counted and kept, never thrown. */
  rejectInvalid(
    nowMs: number,
    message: string,
    via: Via,
    detail: string,
    code: RejectionCode = 'invalid-payload',
    taskId?: string,
  ): void {
    this.reject(nowMs, message, via, code, detail, taskId);
  }

  /**
   * A label from an annotator. Hard tasks need `consensusK` agreeing labels from distinct annotators
   * (at most `maxAnnotatorsPerHardTask`, then escalated); other tasks are done on one label.
   */
  submitLabel(
    p: { taskId: string; label: string; annotator: string; note?: string },
    nowMs: number,
    via: Via = 'signal',
  ): SubmitResult {
    this.tick(nowMs);
    const msg = via === 'update' ? 'submitLabelUpdate' : 'submitLabel';
    const fail = (code: RejectionCode, detail: string, status: SubmitResult['status']): SubmitResult => {
      this.reject(nowMs, msg, via, code, detail, p.taskId, p.annotator);
      return rejected(code, detail, status);
    };
    if (p.annotator.trim() === '')
      return fail('empty-annotator', 'annotator must not be empty', this.statusOf(p.taskId));
    const open = getOwn(this.s.tasks, p.taskId);
    const fin = open ? undefined : getOwn(this.s.finished, p.taskId);
    if (!open && !fin && via !== 'inbox' && this.opts.deferUnknown && this.backlogSize() > 0) {
      // The task may wait in the backlog: the label goes to the store inbox (written by the workflow
      // through an activity) and is applied when its task is paged in. Bounded: beyond, refused.
      if (this.s.toInbox.length >= MAX_TO_INBOX)
        return fail(
          'unknown-task',
          `${this.unknownTaskDetail(p.taskId)}; ${MAX_TO_INBOX} labels already wait to be stored in the inbox, send this one again later or through the inbox (loopkeeper review submit)`,
          'unknown',
        );
      const kept: SubmitLabel = { taskId: p.taskId, label: p.label, annotator: p.annotator };
      if (p.note !== undefined) kept.note = p.note;
      this.s.toInbox.push(kept);
      this.s.counters.deferredLabels++;
      return {
        accepted: true,
        reason: 'deferred',
        detail: `task "${clip(p.taskId)}" is not paged in yet (${this.backlogSize()} tasks wait in the backlog): the label is kept in the store inbox and applied when its task is`,
        status: 'unknown',
      };
    }
    if (!open && !fin) return fail('unknown-task', this.unknownTaskDetail(p.taskId), 'unknown');
    const mine = open
      ? open.labels.find((l) => l.annotator === p.annotator)?.label
      : getOwn(fin!.labels, p.annotator);
    if (mine !== undefined) {
      if (mine === p.label) {
        this.s.counters.duplicateLabels++;
        return {
          accepted: true,
          reason: 'duplicate',
          detail: 'this label was already counted',
          status: this.statusOf(p.taskId),
        };
      }
      return fail(
        'conflicting-label',
        `${clip(p.annotator)} already labelled this task "${mine}"; a different label is not accepted`,
        this.statusOf(p.taskId),
      );
    }
    if (!open || open.status === 'escalated') {
      return fail(
        'task-finished',
        `task is ${open ? open.status : fin!.status}; no more labels are taken`,
        this.statusOf(p.taskId),
      );
    }
    if (!open.task.classes.includes(p.label)) {
      return fail(
        'label-not-in-classes',
        `label "${clip(p.label)}" is not one of the task's classes (${open.task.classes.join(', ')})`,
        open.status,
      );
    }
    if (open.lease && open.lease.annotator !== p.annotator) {
      return fail(
        'claimed-by-other',
        `task is claimed by ${open.lease.annotator} until ${iso(open.lease.expiresAtMs)}`,
        open.status,
      );
    }
    const label: ReceivedLabel = { annotator: p.annotator, label: p.label, atMs: nowMs };
    if (p.note !== undefined && p.note !== '') label.note = clip(p.note, 500);
    open.labels.push(label);
    delete open.lease;
    open.status = 'pending';
    this.annotator(p.annotator).submitted++;
    this.s.counters.labelsAccepted++;
    this.settle(p.taskId, open, nowMs);
    return { accepted: true, status: this.statusOf(p.taskId) };
  }

  /** Hands the annotator the oldest pending task they have not labelled or skipped, under a lease. */
  claim(p: { annotator: string; leaseSeconds?: number }, nowMs: number): ClaimResult {
    this.tick(nowMs);
    if (p.annotator.trim() === '') {
      const detail = 'annotator must not be empty';
      this.reject(nowMs, 'claimTask', 'update', 'empty-annotator', detail);
      return { task: null, reason: 'empty-annotator', detail };
    }
    const leaseMs = p.leaseSeconds !== undefined ? p.leaseSeconds * 1000 : this.opts.leaseMs;
    // An annotator holds one lease at a time: claiming again returns (and renews) the held task.
    for (const id of this.s.order) {
      const t = this.s.tasks[id];
      if (t.status === 'claimed' && t.lease?.annotator === p.annotator) {
        t.lease = { annotator: p.annotator, expiresAtMs: nowMs + leaseMs, leaseMs };
        this.dueCache = undefined;
        return { task: this.claimedView(t) };
      }
    }
    for (const id of this.s.order) {
      const t = this.s.tasks[id];
      if (t.status !== 'pending') continue;
      if (t.skippedBy.includes(p.annotator) || t.labels.some((l) => l.annotator === p.annotator)) continue;
      t.status = 'claimed';
      t.lease = { annotator: p.annotator, expiresAtMs: nowMs + leaseMs, leaseMs };
      this.annotator(p.annotator).claimed++;
      this.dueCache = undefined;
      return { task: this.claimedView(t) };
    }
    return { task: null, reason: 'no-task', detail: `no pending task left for ${clip(p.annotator)}` };
  }

  /** Extends the caller's lease by its original length. */
  renewLease(p: { taskId: string; annotator: string }, nowMs: number): SubmitResult {
    this.tick(nowMs);
    const checked = this.checkLeaseHolder('renewLease', 'update', p, nowMs);
    if ('result' in checked) return checked.result;
    const lease = checked.task.lease!;
    lease.expiresAtMs = nowMs + lease.leaseMs;
    this.dueCache = undefined;
    return { accepted: true, status: 'claimed', leaseExpiresAt: iso(lease.expiresAtMs) };
  }

  /** Gives a claimed task back to the queue before its lease ends. */
  releaseTask(p: { taskId: string; annotator: string }, nowMs: number, via: Via = 'signal'): SubmitResult {
    this.tick(nowMs);
    const checked = this.checkLeaseHolder('releaseTask', via, p, nowMs);
    if ('result' in checked) return checked.result;
    delete checked.task.lease;
    checked.task.status = 'pending';
    return { accepted: true, status: 'pending' };
  }

  /** The annotator will not label this task: it stays pending for others and is never offered to them again. */
  skipTask(p: { taskId: string; annotator: string }, nowMs: number, via: Via = 'signal'): SubmitResult {
    this.tick(nowMs);
    const fail = (code: RejectionCode, detail: string, status: SubmitResult['status']): SubmitResult => {
      this.reject(nowMs, 'skipTask', via, code, detail, p.taskId, p.annotator);
      return rejected(code, detail, status);
    };
    const found = this.openTaskFor('skipTask', via, p, nowMs);
    if ('result' in found) return found.result;
    const open = found.task;
    if (open.skippedBy.includes(p.annotator)) {
      return { accepted: true, reason: 'duplicate', detail: 'already skipped', status: open.status };
    }
    if (open.labels.some((l) => l.annotator === p.annotator)) {
      return fail('already-labelled', `${clip(p.annotator)} already labelled this task`, open.status);
    }
    if (open.lease && open.lease.annotator !== p.annotator) {
      return fail(
        'claimed-by-other',
        `task is claimed by ${open.lease.annotator} until ${iso(open.lease.expiresAtMs)}`,
        open.status,
      );
    }
    open.skippedBy.push(p.annotator);
    delete open.lease;
    open.status = 'pending';
    this.annotator(p.annotator).skipped++;
    return { accepted: true, status: 'pending' };
  }

  // --- inbox: labels stored by clients before the queue saw them ---------------------------------

  /**
   * Applies a label read from the store inbox, with the same rules as a signal or update (a label read
   * twice counts once: the second is a `duplicate`). The entry may be deleted once the rows written
   * so far include the row this label produced (see `ackableInbox`).
   */
  applyInboxLabel(
    entryId: string,
    p: { taskId: string; label: string; annotator: string; note?: string },
    nowMs: number,
    lookup?: { found?: FoundTask; complete: boolean },
  ): SubmitResult {
    if (lookup && this.opts.deferUnknown && !this.knows(p.taskId)) {
      this.tick(nowMs);
      // Its task waits in an unread part of a backlog segment: page that one task in now (the window
      // may grow past its size for it, not past twice its byte budget).
      const roomy = this.openBytes() <= 2 * this.opts.windowBytes;
      if (lookup.found && roomy) this.takeFound(lookup.found);
      const mayWait =
        (lookup.found !== undefined && !roomy) ||
        this.s.staged.some((t) => t.taskId === p.taskId) ||
        (!lookup.complete && this.s.backlog.length > 0);
      if (!this.knows(p.taskId) && mayWait) {
        // Left in the inbox: read again on the next pass, when its task may be paged in.
        this.s.inboxDeferred.push(entryId);
        return {
          accepted: true,
          reason: 'deferred',
          detail: 'its task is not paged in yet; kept in the inbox',
          status: 'unknown',
        };
      }
    }
    const r = this.submitLabel(p, nowMs, 'inbox');
    this.s.counters.inboxLabels++;
    this.s.inboxAcks.push({ id: entryId, afterRows: this.s.counters.flushedRows + this.s.outbox.length });
    return r;
  }

  /** An inbox entry that is not a label: recorded as a rejection, deletable at once. */
  rejectInboxEntry(entryId: string, detail: string, nowMs: number): void {
    this.reject(nowMs, 'submitLabel', 'inbox', 'invalid-payload', `inbox entry ${entryId}: ${detail}`);
    this.s.inboxAcks.push({ id: entryId, afterRows: 0 });
  }

  /** Inbox entries applied and not yet deleted, and entries deferred in this pass (the drain skips them). */
  inboxPending(): string[] {
    return [...this.s.inboxAcks.map((a) => a.id), ...this.s.inboxDeferred];
  }

  /** A new drain pass reads deferred entries again. */
  startInboxPass(): void {
    this.s.inboxDeferred = [];
  }

  /** Inbox entries deferred in this pass. */
  inboxDeferredCount(): number {
    return this.s.inboxDeferred.length;
  }

  /** Labels (signal or update) waiting to be written to the inbox, oldest first (at most `max`). */
  labelsForInbox(max = MAX_TO_INBOX): SubmitLabel[] {
    return this.s.toInbox.slice(0, max);
  }

  /** The first `n` labels waiting for the inbox were written there. */
  labelsStoredInInbox(n: number): void {
    this.s.toInbox.splice(0, n);
  }

  /** How many inbox entries wait to be deleted. */
  inboxPendingCount(): number {
    return this.s.inboxAcks.length;
  }

  /** True when some inbox entry can be deleted (its rows are written). */
  hasAckableInbox(): boolean {
    const written = this.s.counters.flushedRows;
    return this.s.inboxAcks.some((a) => a.afterRows <= written);
  }

  /** Inbox entries whose rows are written: safe to delete. */
  ackableInbox(): string[] {
    const written = this.s.counters.flushedRows;
    return this.s.inboxAcks.filter((a) => a.afterRows <= written).map((a) => a.id);
  }

  /** True while applied inbox labels wait for their rows to be written. */
  inboxWaitsForFlush(): boolean {
    const written = this.s.counters.flushedRows;
    return this.s.inboxAcks.some((a) => a.afterRows > written);
  }

  /** The given entries were deleted from the store. */
  inboxAcked(ids: string[]): void {
    const done = new Set(ids);
    this.s.inboxAcks = this.s.inboxAcks.filter((a) => !done.has(a.id));
  }

  // --- outbox --------------------------------------------------------------------------------------

  outboxSize(): number {
    return this.s.outbox.length;
  }

  /** The first `n` rows of the outbox (not removed until `markFlushed`). */
  peekOutbox(n: number): ReviewLabelRow[] {
    return this.s.outbox.slice(0, n);
  }

  /** The sequence number naming the next flushed batch. */
  nextFlushSeq(): number {
    return this.s.flushSeq;
  }

  /** Removes the first `n` rows after they were written, and advances the batch sequence. */
  markFlushed(n: number): void {
    this.s.outbox.splice(0, n);
    this.s.counters.flushedRows += n;
    this.s.counters.flushedBatches++;
    this.s.flushSeq++;
  }

  markFlushFailed(): void {
    this.s.counters.flushFailures++;
  }

  markContinuedAsNew(): void {
    this.s.counters.continuedAsNew++;
  }

  // --- views ---------------------------------------------------------------------------------------

  task(taskId: string): TaskView | null {
    const open = getOwn(this.s.tasks, taskId);
    if (open) return this.openView(taskId, open);
    const fin = getOwn(this.s.finished, taskId);
    if (!fin) return null;
    const v: TaskView = {
      taskId,
      status: fin.status,
      finishedAt: iso(fin.finishedAtMs),
      labels: Object.keys(fin.labels).map((annotator) => ({ annotator, label: fin.labels[annotator] })),
      skippedBy: [],
    };
    if (fin.finalLabel !== undefined) v.finalLabel = fin.finalLabel;
    return v;
  }

  /** Tasks still in the queue, oldest first. */
  list(opts: { limit?: number; statuses?: TaskStatus[] } = {}): TaskView[] {
    const statuses = opts.statuses ?? ['pending', 'claimed', 'escalated'];
    const limit = opts.limit ?? 50;
    const out: TaskView[] = [];
    for (const id of this.s.order) {
      if (out.length >= limit) break;
      const t = this.s.tasks[id];
      if (statuses.includes(t.status)) out.push(this.openView(id, t));
    }
    if (out.length < limit && (statuses.includes('done') || statuses.includes('expired'))) {
      for (let i = this.s.finishedOrder.length - 1; i >= 0 && out.length < limit; i--) {
        const id = this.s.finishedOrder[i];
        const f = this.s.finished[id];
        if (statuses.includes(f.status)) out.push(this.task(id)!);
      }
    }
    return out;
  }

  stats(nowMs: number, extra: { modelId?: string; historyLength?: number } = {}): ReviewStats {
    let pending = 0;
    let claimed = 0;
    let oldest: number | null = null;
    for (const id of this.s.order) {
      const t = this.s.tasks[id];
      if (t.status === 'pending') {
        pending++;
        if (oldest === null || t.enqueuedAtMs < oldest) oldest = t.enqueuedAtMs;
      } else if (t.status === 'claimed') claimed++;
    }
    // The backlog is older than anything paged in after it: its first segment (or staged task) counts.
    const backlogSince = this.s.backlog[0]?.addedAtMs ?? this.s.stagedSinceMs;
    if (backlogSince !== null && (oldest === null || backlogSince < oldest)) oldest = backlogSince;
    const c = this.s.counters;
    const annotators: ReviewStats['annotators'] = {};
    for (const name of Object.keys(this.s.annotators))
      setOwn(annotators, name, { ...this.s.annotators[name] });
    return {
      modelId: extra.modelId ?? this.opts.modelId ?? '',
      backlog: this.backlogSize(),
      backlogSegments: this.s.backlog.length,
      window: this.s.order.length,
      pending,
      claimed,
      done: c.done,
      escalated: c.escalated,
      expired: c.expired,
      rejected: c.rejected,
      added: c.added,
      duplicateTasks: c.duplicateTasks,
      droppedTasks: c.droppedTasks,
      segmentsAdded: c.segmentsAdded,
      duplicateSegments: c.duplicateSegments,
      pagedIn: c.pagedIn,
      unreadable: c.unreadable,
      inboxLabels: c.inboxLabels,
      inboxPending: this.s.inboxAcks.length,
      inboxDeferred: this.s.inboxDeferred.length + this.s.toInbox.length,
      deferredLabels: c.deferredLabels,
      segmentsDiscovered: c.segmentsDiscovered,
      labelsAccepted: c.labelsAccepted,
      duplicateLabels: c.duplicateLabels,
      leaseExpiries: c.leaseExpiries,
      annotators,
      oldestPendingAgeMs: oldest === null ? null : Math.max(0, nowMs - oldest),
      outbox: this.s.outbox.length,
      flushedRows: c.flushedRows,
      flushedBatches: c.flushedBatches,
      flushFailures: c.flushFailures,
      rejections: this.s.rejections.map((r): RejectionView => ({ ...omitAtMs(r), at: iso(r.atMs) })),
      continuedAsNew: c.continuedAsNew,
      historyLength: extra.historyLength ?? 0,
    };
  }

  // --- internals -----------------------------------------------------------------------------------

  /** True when the task is open or remembered as finished. */
  private knows(taskId: string): boolean {
    return hasOwn(this.s.tasks, taskId) || hasOwn(this.s.finished, taskId);
  }

  /** A segment left the backlog: its object is deleted later (only under the rule that discovers). */
  private consume(id: string): void {
    if (!this.opts.deferUnknown) return;
    this.s.consumed.push(id);
    const extra = this.s.consumed.length - MAX_CONSUMED_KEPT;
    if (extra > 0) this.s.consumed.splice(0, extra);
  }

  private statusOf(taskId: string): SubmitResult['status'] {
    return getOwn(this.s.tasks, taskId)?.status ?? getOwn(this.s.finished, taskId)?.status ?? 'unknown';
  }

  /** A task id not in the window: say so, and whether it may still wait in the backlog. */
  private unknownTaskDetail(taskId: string): string {
    const waiting = this.backlogSize();
    return waiting > 0
      ? `no task "${clip(taskId)}" in the active window (${waiting} tasks wait in the backlog, not yet paged in: claim tasks with claimTask)`
      : `no task "${clip(taskId)}" in this queue`;
  }

  private enter(task: ReviewTask, enqueuedAtMs: number, bytes: number): void {
    setOwn(this.s.tasks, task.taskId, {
      task,
      status: 'pending',
      enqueuedAtMs,
      labels: [],
      skippedBy: [],
      bytes,
    });
    this.s.order.push(task.taskId);
  }

  private appendSegment(ref: AddTaskSegment, addedAtMs: number): void {
    this.s.backlog.push({ id: ref.segmentId, key: ref.key, count: ref.count, offset: 0, addedAtMs });
    this.s.segmentIds.push(ref.segmentId);
    const extra = this.s.segmentIds.length - this.opts.maxSegmentIdsKept;
    if (extra > 0) this.s.segmentIds.splice(0, extra);
    this.s.counters.segmentsAdded++;
    this.dueCache = undefined;
  }

  private openBytes(): number {
    let n = 0;
    for (const id of this.s.order) n += this.s.tasks[id].bytes;
    return n;
  }

  private annotator(name: string): AnnotatorCounters {
    let a = getOwn(this.s.annotators, name);
    if (!a) {
      a = { claimed: 0, submitted: 0, skipped: 0 };
      setOwn(this.s.annotators, name, a);
    }
    return a;
  }

  private reject(
    nowMs: number,
    message: string,
    via: Via,
    code: RejectionCode,
    detail: string,
    taskId?: string,
    annotator?: string,
  ): void {
    this.s.counters.rejected++;
    const r: Rejection = { atMs: nowMs, message, via, code, detail: clip(detail, 500) };
    if (taskId !== undefined) r.taskId = clip(taskId);
    if (annotator !== undefined) r.annotator = clip(annotator);
    this.s.rejections.push(r);
    const extra = this.s.rejections.length - this.opts.maxRejectionsKept;
    if (extra > 0) this.s.rejections.splice(0, extra);
  }

  /**
   * The open task a message is about, or the recorded rejection: empty annotator, unknown task, or a task
   * already finished or escalated. Shared by every per-task message so they reject alike.
   */
  private openTaskFor(
    message: string,
    via: Via,
    p: { taskId: string; annotator: string },
    nowMs: number,
  ): { task: OpenTaskRecord } | { result: SubmitResult } {
    const fail = (code: RejectionCode, detail: string, status: SubmitResult['status']) => {
      this.reject(nowMs, message, via, code, detail, p.taskId, p.annotator);
      return { result: rejected(code, detail, status) };
    };
    if (p.annotator.trim() === '')
      return fail('empty-annotator', 'annotator must not be empty', this.statusOf(p.taskId));
    const open = getOwn(this.s.tasks, p.taskId);
    if (!open) {
      const fin = getOwn(this.s.finished, p.taskId);
      return fin
        ? fail('task-finished', `task is ${fin.status}`, fin.status)
        : fail('unknown-task', this.unknownTaskDetail(p.taskId), 'unknown');
    }
    if (open.status === 'escalated') return fail('task-finished', 'task is escalated', open.status);
    return { task: open };
  }

  private checkLeaseHolder(
    message: string,
    via: Via,
    p: { taskId: string; annotator: string },
    nowMs: number,
  ): { task: OpenTaskRecord } | { result: SubmitResult } {
    const fail = (code: RejectionCode, detail: string, status: SubmitResult['status']) => {
      this.reject(nowMs, message, via, code, detail, p.taskId, p.annotator);
      return { result: rejected(code, detail, status) };
    };
    const found = this.openTaskFor(message, via, p, nowMs);
    if ('result' in found) return found;
    const open = found.task;
    if (!open.lease)
      return fail('not-lease-holder', `task is not claimed (its lease ended or was released)`, open.status);
    if (open.lease.annotator !== p.annotator) {
      return fail(
        'claimed-by-other',
        `task is claimed by ${open.lease.annotator} until ${iso(open.lease.expiresAtMs)}`,
        open.status,
      );
    }
    return { task: open };
  }

  /** After a label: done (single label, or k agreeing), escalated (annotator cap reached), or pending again. */
  private settle(taskId: string, t: OpenTaskRecord, nowMs: number): void {
    if (!t.task.hard) {
      this.complete(taskId, t, t.labels[0].label, 'single', nowMs);
      return;
    }
    const counts = new Map<string, number>();
    let best = '';
    let bestCount = 0;
    for (const l of t.labels) {
      const n = (counts.get(l.label) ?? 0) + 1;
      counts.set(l.label, n);
      if (n > bestCount) {
        best = l.label;
        bestCount = n;
      }
    }
    if (bestCount >= this.opts.consensusK) {
      this.complete(taskId, t, best, `${bestCount}-of-${t.labels.length}`, nowMs);
    } else if (t.labels.length >= this.opts.maxAnnotatorsPerHardTask) {
      t.status = 'escalated';
      t.escalatedAtMs = nowMs;
      this.s.counters.escalated++;
    }
  }

  private complete(taskId: string, t: OpenTaskRecord, label: string, consensus: string, nowMs: number): void {
    const task = t.task;
    const agreeing = t.labels.filter((l) => l.label === label);
    const lineage: Record<string, string> = {
      taskId,
      // A JSON list: annotator ids may hold any character, "," included (lineageAnnotators reads both).
      annotators: JSON.stringify(agreeing.map((l) => l.annotator)),
      routeReason: task.routeReason,
      consensus,
      predictedLabel: task.predictedLabel,
      givenLabel: task.givenLabel,
      givenLabelSource: task.labelSource,
      hard: String(task.hard),
      audit: String(task.audit),
      labelledAt: iso(nowMs),
    };
    const notes = t.labels.filter((l) => l.note !== undefined).map((l) => `${l.annotator}: ${l.note}`);
    if (notes.length > 0) lineage.notes = notes.join(' | ');
    if (agreeing.length < t.labels.length) {
      lineage.dissent = JSON.stringify(
        t.labels.filter((l) => l.label !== label).map((l) => ({ annotator: l.annotator, label: l.label })),
      );
    }
    const row: ReviewLabelRow = {
      requestId: task.requestId,
      timestamp: task.timestamp ?? task.createdAt,
      features: task.features,
      label,
      labelSource: 'human-review',
      lineage,
    };
    if (task.slices) row.slices = task.slices;
    this.s.outbox.push(row);
    this.s.counters.done++;
    this.finish(taskId, 'done', nowMs, label);
  }

  /** Moves a task out of the queue into the bounded memory of finished tasks. */
  private finish(
    taskId: string,
    status: FinishedTaskRecord['status'],
    nowMs: number,
    finalLabel?: string,
  ): void {
    const t = this.s.tasks[taskId];
    delete this.s.tasks[taskId];
    const i = this.s.order.indexOf(taskId);
    if (i >= 0) this.s.order.splice(i, 1);
    const labels: Record<string, string> = {};
    for (const l of t.labels) setOwn(labels, l.annotator, l.label);
    const rec: FinishedTaskRecord = { status, finishedAtMs: nowMs, labels };
    if (finalLabel !== undefined) rec.finalLabel = finalLabel;
    setOwn(this.s.finished, taskId, rec);
    this.s.finishedOrder.push(taskId);
    // Trimmed in steps, so finishing a task stays cheap (no array shift per label).
    const extra = this.s.finishedOrder.length - this.opts.maxFinishedKept;
    if (extra >= FINISHED_TRIM_STEP || (extra > 0 && this.opts.maxFinishedKept < FINISHED_TRIM_STEP))
      for (const old of this.s.finishedOrder.splice(0, extra)) delete this.s.finished[old];
    // Removing a task only removes deadlines: a cached earlier due time just costs one extra scan.
  }

  private openView(taskId: string, t: OpenTaskRecord): TaskView {
    const v: TaskView = {
      taskId,
      status: t.status,
      enqueuedAt: iso(t.enqueuedAtMs),
      labels: t.labels.map(labelView),
      skippedBy: [...t.skippedBy],
      task: t.task,
    };
    if (t.lease) v.lease = { annotator: t.lease.annotator, expiresAt: iso(t.lease.expiresAtMs) };
    if (t.escalatedAtMs !== undefined) v.finishedAt = iso(t.escalatedAtMs);
    return v;
  }

  private claimedView(t: OpenTaskRecord): NonNullable<ClaimResult['task']> {
    return {
      ...t.task,
      lease: { annotator: t.lease!.annotator, expiresAt: iso(t.lease!.expiresAtMs) },
      labelsNeeded: t.task.hard ? this.opts.consensusK : 1,
      labelsSoFar: t.labels.length,
    };
  }
}

function labelView(l: ReceivedLabel): TaskView['labels'][number] {
  const v: TaskView['labels'][number] = { annotator: l.annotator, label: l.label, at: iso(l.atMs) };
  if (l.note !== undefined) v.note = l.note;
  return v;
}

function omitAtMs(r: Rejection): Omit<Rejection, 'atMs'> {
  const { atMs: _atMs, ...rest } = r;
  return rest;
}
