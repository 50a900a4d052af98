import type { ReviewTask } from '../../src/schemas/review';
import { ReviewTaskSchema } from '../../src/schemas/review';
import {
  defaultReviewQueueOptions,
  restoreReviewQueueState,
  ReviewQueueState,
  reviewQueueOptions,
} from '../../src/workflows/review-queue-state';
import type { ReviewQueueOptions, ReviewQueueStateData } from '../../src/workflows/review-queue-state';
import { lineageAnnotators, MAX_TO_INBOX } from '../../src/workflows/review-queue-state';

const T0 = Date.parse('2026-06-10T00:00:00.000Z');
const SEC = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function makeTask(id: string, overrides: Partial<ReviewTask> = {}): ReviewTask {
  return ReviewTaskSchema.parse({
    taskId: id,
    modelId: 'churn',
    requestId: `req-${id}`,
    timestamp: '2026-06-01T12:00:00.000Z',
    features: { tenure_days: 12, plan: 'pro', discount_used: false, note: null },
    predictedLabel: 'stay',
    scores: { churn: 0.3, stay: 0.7 },
    givenLabel: 'churn',
    labelSource: 'user-report',
    routeReason: 'model-disputes-label',
    hard: false,
    audit: false,
    classes: ['churn', 'stay'],
    createdAt: '2026-06-09T00:00:00.000Z',
    slices: { country: 'DE' },
    ...overrides,
  });
}

/** A backlog segment reference as a sender builds it (the key follows the store layout). */
function segmentRef(segmentId: string, count: number) {
  return {
    segmentId,
    key: `review/churn/backlog/${segmentId}.ndjson`,
    count,
    createdAtFirst: '2026-06-09T00:00:00.000Z',
    createdAtLast: '2026-06-09T00:00:00.000Z',
  };
}

function queue(opts: Partial<ReviewQueueOptions> = {}, data?: ReviewQueueStateData): ReviewQueueState {
  return new ReviewQueueState({ ...defaultReviewQueueOptions, modelId: 'churn', ...opts }, data);
}

/** A copy that went through the JSON converter, as continue-as-new does. */
function roundTrip(q: ReviewQueueState): ReviewQueueState {
  const data = JSON.parse(JSON.stringify(q.toJSON())) as ReviewQueueStateData;
  return new ReviewQueueState(q.opts, restoreReviewQueueState(data).data);
}

describe('ReviewQueueState: claim, submit, skip, release', () => {
  test('a non-hard task is done on one label and its row lands in the outbox with lineage', () => {
    const q = queue();
    expect(q.addTasks([makeTask('t1')], T0)).toEqual({ added: 1, duplicates: 0, rejected: 0 });
    const claim = q.claim({ annotator: 'alice' }, T0 + SEC);
    expect(claim.task?.taskId).toBe('t1');
    expect(claim.task?.lease).toEqual({
      annotator: 'alice',
      expiresAt: new Date(T0 + SEC + HOUR).toISOString(),
    });
    expect(claim.task?.labelsNeeded).toBe(1);
    expect(q.task('t1')?.status).toBe('claimed');

    const r = q.submitLabel(
      { taskId: 't1', label: 'churn', annotator: 'alice', note: 'called support' },
      T0 + 2 * SEC,
    );
    expect(r).toEqual({ accepted: true, status: 'done' });
    expect(q.outboxSize()).toBe(1);
    const [row] = q.peekOutbox(10);
    expect(row).toEqual({
      requestId: 'req-t1',
      timestamp: '2026-06-01T12:00:00.000Z',
      features: { tenure_days: 12, plan: 'pro', discount_used: false, note: null },
      label: 'churn',
      labelSource: 'human-review',
      slices: { country: 'DE' },
      lineage: {
        taskId: 't1',
        annotators: '["alice"]',
        routeReason: 'model-disputes-label',
        consensus: 'single',
        predictedLabel: 'stay',
        givenLabel: 'churn',
        givenLabelSource: 'user-report',
        hard: 'false',
        audit: 'false',
        labelledAt: new Date(T0 + 2 * SEC).toISOString(),
        notes: 'alice: called support',
      },
    });
    // A finished task leaves the queue; a compact record remains (answers repeats and the task query).
    expect(q.task('t1')).toEqual({
      taskId: 't1',
      status: 'done',
      finishedAt: new Date(T0 + 2 * SEC).toISOString(),
      labels: [{ annotator: 'alice', label: 'churn' }],
      skippedBy: [],
      finalLabel: 'churn',
    });
    const s = q.stats(T0 + 3 * SEC);
    expect(s).toMatchObject({ pending: 0, claimed: 0, done: 1, labelsAccepted: 1, outbox: 1, rejected: 0 });
    expect(s.annotators).toEqual({ alice: { claimed: 1, submitted: 1, skipped: 0 } });

    q.markFlushed(1);
    expect(q.outboxSize()).toBe(0);
    expect(q.nextFlushSeq()).toBe(2);
    expect(q.stats(T0).flushedRows).toBe(1);
  });

  test('claim hands out the oldest pending task; claiming again returns the held task with a renewed lease', () => {
    const q = queue();
    q.addTasks(
      [
        makeTask('late', { createdAt: '2026-06-09T05:00:00.000Z' }),
        makeTask('early', { createdAt: '2026-06-09T01:00:00.000Z' }),
      ],
      T0,
    );
    q.addTasks([makeTask('next-batch', { createdAt: '2026-06-01T00:00:00.000Z' })], T0 + SEC);
    expect(q.list().map((t) => t.taskId)).toEqual(['early', 'late', 'next-batch']);
    expect(q.claim({ annotator: 'alice' }, T0 + 2 * SEC).task?.taskId).toBe('early');
    const again = q.claim({ annotator: 'alice', leaseSeconds: 60 }, T0 + 10 * SEC);
    expect(again.task?.taskId).toBe('early');
    expect(again.task?.lease.expiresAt).toBe(new Date(T0 + 70 * SEC).toISOString());
    expect(q.claim({ annotator: 'bob' }, T0 + 11 * SEC).task?.taskId).toBe('late');
    expect(q.claim({ annotator: 'carol' }, T0 + 12 * SEC).task?.taskId).toBe('next-batch');
    expect(q.claim({ annotator: 'dave' }, T0 + 13 * SEC)).toEqual({
      task: null,
      reason: 'no-task',
      detail: 'no pending task left for dave',
    });
    expect(q.stats(T0 + 13 * SEC)).toMatchObject({ pending: 0, claimed: 3 });
    expect(q.stats(T0).annotators.alice.claimed).toBe(1);
  });

  test('a pending task can be labelled without a claim (an outside signal)', () => {
    const q = queue();
    q.addTasks([makeTask('t1')], T0);
    expect(q.submitLabel({ taskId: 't1', label: 'stay', annotator: 'ops' }, T0 + SEC).accepted).toBe(true);
    expect(q.task('t1')?.status).toBe('done');
  });

  test('skip keeps the task pending for others and never offers it to the skipper again', () => {
    const q = queue();
    q.addTasks([makeTask('t1'), makeTask('t2', { createdAt: '2026-06-09T01:00:00.000Z' })], T0);
    expect(q.claim({ annotator: 'alice' }, T0).task?.taskId).toBe('t1');
    expect(q.skipTask({ taskId: 't1', annotator: 'alice' }, T0 + SEC)).toEqual({
      accepted: true,
      status: 'pending',
    });
    expect(q.task('t1')).toMatchObject({ status: 'pending', skippedBy: ['alice'] });
    expect(q.task('t1')?.lease).toBeUndefined();
    expect(q.skipTask({ taskId: 't1', annotator: 'alice' }, T0 + SEC)).toMatchObject({
      accepted: true,
      reason: 'duplicate',
    });
    expect(q.claim({ annotator: 'alice' }, T0 + 2 * SEC).task?.taskId).toBe('t2');
    expect(q.claim({ annotator: 'bob' }, T0 + 3 * SEC).task?.taskId).toBe('t1');
    expect(q.stats(T0).annotators.alice).toEqual({ claimed: 2, submitted: 0, skipped: 1 });
  });

  test('release gives the task back; only the lease holder may release or renew', () => {
    const q = queue();
    q.addTasks([makeTask('t1')], T0);
    q.claim({ annotator: 'alice', leaseSeconds: 100 }, T0);
    expect(q.releaseTask({ taskId: 't1', annotator: 'bob' }, T0 + SEC)).toMatchObject({
      accepted: false,
      reason: 'claimed-by-other',
    });
    expect(q.renewLease({ taskId: 't1', annotator: 'alice' }, T0 + 50 * SEC)).toEqual({
      accepted: true,
      status: 'claimed',
      leaseExpiresAt: new Date(T0 + 150 * SEC).toISOString(),
    });
    expect(q.releaseTask({ taskId: 't1', annotator: 'alice' }, T0 + 60 * SEC)).toEqual({
      accepted: true,
      status: 'pending',
    });
    expect(q.releaseTask({ taskId: 't1', annotator: 'alice' }, T0 + 61 * SEC)).toMatchObject({
      accepted: false,
      reason: 'not-lease-holder',
    });
    expect(q.renewLease({ taskId: 't1', annotator: 'alice' }, T0 + 61 * SEC)).toMatchObject({
      accepted: false,
      reason: 'not-lease-holder',
    });
    // Released, not skipped: alice may claim it again.
    expect(q.claim({ annotator: 'alice' }, T0 + 62 * SEC).task?.taskId).toBe('t1');
  });
});

describe('ReviewQueueState: time', () => {
  test('an expired lease returns the task to pending (on tick and on any message)', () => {
    const q = queue({ leaseMs: 2 * SEC });
    q.addTasks([makeTask('t1')], T0);
    q.claim({ annotator: 'alice' }, T0);
    expect(q.nextDueMs()).toBe(T0 + 2 * SEC);
    q.tick(T0 + 1999);
    expect(q.task('t1')?.status).toBe('claimed');
    q.tick(T0 + 2 * SEC);
    expect(q.task('t1')?.status).toBe('pending');
    expect(q.stats(T0 + 2 * SEC).leaseExpiries).toBe(1);
    expect(q.nextDueMs()).toBe(T0 + 10 * DAY);

    // Expiry also applies on a message: bob's claim after alice's second lease ran out succeeds.
    q.claim({ annotator: 'alice' }, T0 + 3 * SEC);
    expect(q.claim({ annotator: 'bob' }, T0 + 5 * SEC + 1).task?.taskId).toBe('t1');
    // alice's late submit now meets bob's lease.
    expect(q.submitLabel({ taskId: 't1', label: 'churn', annotator: 'alice' }, T0 + 6 * SEC)).toMatchObject({
      accepted: false,
      reason: 'claimed-by-other',
      status: 'claimed',
    });
  });

  test('a task unanswered past its lifetime expires, is counted, and takes no more labels', () => {
    const q = queue({ lifetimeMs: 10 * DAY });
    q.addTasks([makeTask('t1'), makeTask('t2')], T0);
    q.submitLabel({ taskId: 't2', label: 'stay', annotator: 'alice' }, T0 + DAY);
    q.claim({ annotator: 'bob' }, T0 + 10 * DAY - 1);
    q.tick(T0 + 10 * DAY);
    expect(q.task('t1')).toMatchObject({
      status: 'expired',
      finishedAt: new Date(T0 + 10 * DAY).toISOString(),
    });
    expect(q.task('t2')?.status).toBe('done');
    expect(q.stats(T0 + 10 * DAY)).toMatchObject({ pending: 0, claimed: 0, expired: 1, done: 1 });
    expect(q.submitLabel({ taskId: 't1', label: 'churn', annotator: 'bob' }, T0 + 11 * DAY)).toMatchObject({
      accepted: false,
      reason: 'task-finished',
      status: 'expired',
    });
    expect(q.nextDueMs()).toBe(Infinity);
  });

  test('oldest pending age is measured from enqueue time', () => {
    const q = queue();
    expect(q.stats(T0).oldestPendingAgeMs).toBeNull();
    q.addTasks([makeTask('t1')], T0);
    q.addTasks([makeTask('t2')], T0 + 5 * SEC);
    expect(q.stats(T0 + 65 * SEC).oldestPendingAgeMs).toBe(65 * SEC);
    q.claim({ annotator: 'alice' }, T0 + 65 * SEC);
    expect(q.stats(T0 + 65 * SEC).oldestPendingAgeMs).toBe(60 * SEC);
  });
});

describe('ReviewQueueState: consensus on hard tasks', () => {
  test('k=2 agreeing labels finish a hard task; annotators claim it one after another', () => {
    const q = queue();
    q.addTasks([makeTask('h1', { hard: true })], T0);
    const a = q.claim({ annotator: 'alice' }, T0);
    expect(a.task).toMatchObject({ taskId: 'h1', labelsNeeded: 2, labelsSoFar: 0 });
    expect(q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'alice' }, T0 + SEC)).toEqual({
      accepted: true,
      status: 'pending',
    });
    expect(q.claim({ annotator: 'alice' }, T0 + 2 * SEC).task).toBeNull();
    expect(q.claim({ annotator: 'bob' }, T0 + 2 * SEC).task).toMatchObject({ taskId: 'h1', labelsSoFar: 1 });
    expect(q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'bob' }, T0 + 3 * SEC)).toEqual({
      accepted: true,
      status: 'done',
    });
    expect(q.peekOutbox(1)[0]).toMatchObject({
      label: 'churn',
      lineage: { annotators: '["alice","bob"]', consensus: '2-of-2', hard: 'true' },
    });
    expect(q.stats(T0)).toMatchObject({ done: 1, escalated: 0, labelsAccepted: 2 });
  });

  test('a 2-of-3 majority finishes the task and records the dissent', () => {
    const q = queue();
    q.addTasks([makeTask('h1', { hard: true })], T0);
    q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'alice' }, T0);
    q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'bob' }, T0);
    expect(q.task('h1')?.status).toBe('pending');
    q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'carol' }, T0);
    expect(q.task('h1')).toMatchObject({ status: 'done', finalLabel: 'stay' });
    expect(q.peekOutbox(1)[0].lineage).toMatchObject({
      annotators: '["bob","carol"]',
      consensus: '2-of-3',
      dissent: '[{"annotator":"alice","label":"churn"}]',
    });
  });

  test('three labels without k agreeing escalate the task: counted, kept and visible, no row written', () => {
    const q = queue();
    q.addTasks([makeTask('h1', { hard: true, classes: ['churn', 'stay', 'unsure'] })], T0);
    q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'alice' }, T0);
    q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'bob' }, T0);
    expect(q.submitLabel({ taskId: 'h1', label: 'unsure', annotator: 'carol' }, T0 + SEC)).toEqual({
      accepted: true,
      status: 'escalated',
    });
    expect(q.outboxSize()).toBe(0);
    expect(q.stats(T0)).toMatchObject({ escalated: 1, done: 0, pending: 0 });
    expect(q.list().map((t) => [t.taskId, t.status])).toEqual([['h1', 'escalated']]);
    expect(q.task('h1')?.labels.map((l) => l.label)).toEqual(['churn', 'stay', 'unsure']);
    expect(q.claim({ annotator: 'dave' }, T0 + 2 * SEC).task).toBeNull();
    expect(q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'dave' }, T0 + 2 * SEC)).toMatchObject({
      accepted: false,
      reason: 'task-finished',
      status: 'escalated',
    });
    // At the end of its lifetime it leaves the queue but stays known as escalated (not expired).
    q.tick(T0 + 10 * DAY);
    expect(q.task('h1')?.status).toBe('escalated');
    expect(q.stats(T0 + 10 * DAY)).toMatchObject({ escalated: 1, expired: 0 });
    expect(q.list()).toEqual([]);
  });

  test('k and the annotator cap are configurable; a cap below k is raised to k', () => {
    expect(reviewQueueOptions({ consensusK: 3, maxAnnotatorsPerHardTask: 2 })).toMatchObject({
      consensusK: 3,
      maxAnnotatorsPerHardTask: 3,
    });
    const o = reviewQueueOptions({ leaseSeconds: 2, taskLifetimeDays: 0.5 });
    expect(o).toMatchObject({ leaseMs: 2000, lifetimeMs: DAY / 2 });
    const q = queue({ consensusK: 1 });
    q.addTasks([makeTask('h1', { hard: true })], T0);
    expect(q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'alice' }, T0).status).toBe('done');
  });
});

describe('ReviewQueueState: rejections and duplicates', () => {
  test('every rejection returns a reason and is recorded with a counter', () => {
    const q = queue();
    q.addTasks([makeTask('t1'), makeTask('t2'), makeTask('h1', { hard: true })], T0);
    q.submitLabel({ taskId: 't2', label: 'stay', annotator: 'alice' }, T0);
    q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'alice' }, T0);
    q.claim({ annotator: 'bob' }, T0);

    const cases: [string, () => { accepted: boolean; reason?: string; status: string }, string, string][] = [
      [
        'empty annotator',
        () => q.submitLabel({ taskId: 't1', label: 'churn', annotator: '  ' }, T0),
        'empty-annotator',
        'claimed',
      ],
      [
        'unknown task',
        () => q.submitLabel({ taskId: 'nope', label: 'churn', annotator: 'alice' }, T0),
        'unknown-task',
        'unknown',
      ],
      [
        'finished task',
        () => q.submitLabel({ taskId: 't2', label: 'stay', annotator: 'carol' }, T0),
        'task-finished',
        'done',
      ],
      [
        'label outside classes',
        () => q.submitLabel({ taskId: 'h1', label: 'maybe', annotator: 'carol' }, T0),
        'label-not-in-classes',
        'pending',
      ],
      [
        'claimed by someone else',
        () => q.submitLabel({ taskId: 't1', label: 'churn', annotator: 'carol' }, T0),
        'claimed-by-other',
        'claimed',
      ],
      [
        'a different label from the same annotator',
        () => q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'alice' }, T0),
        'conflicting-label',
        'pending',
      ],
      [
        'skip after labelling',
        () => q.skipTask({ taskId: 'h1', annotator: 'alice' }, T0),
        'already-labelled',
        'pending',
      ],
      [
        'skip a task claimed by someone else',
        () => q.skipTask({ taskId: 't1', annotator: 'carol' }, T0),
        'claimed-by-other',
        'claimed',
      ],
      [
        'skip a finished task',
        () => q.skipTask({ taskId: 't2', annotator: 'carol' }, T0),
        'task-finished',
        'done',
      ],
      [
        'release without a lease',
        () => q.releaseTask({ taskId: 'h1', annotator: 'carol' }, T0),
        'not-lease-holder',
        'pending',
      ],
      [
        'renew an unknown task',
        () => q.renewLease({ taskId: 'zzz', annotator: 'carol' }, T0),
        'unknown-task',
        'unknown',
      ],
    ];
    for (const [name, run, reason, status] of cases) {
      const r = run();
      expect({ name, accepted: r.accepted, reason: r.reason, status: r.status }).toEqual({
        name,
        accepted: false,
        reason,
        status,
      });
    }
    expect(q.claim({ annotator: '' }, T0)).toMatchObject({ task: null, reason: 'empty-annotator' });
    q.rejectInvalid(T0, 'submitLabel', 'signal', 'taskId: expected string');
    expect(q.addTasks([makeTask('x', { modelId: 'fraud' })], T0)).toEqual({
      added: 0,
      duplicates: 0,
      rejected: 1,
    });

    const s = q.stats(T0);
    expect(s.rejected).toBe(cases.length + 3);
    expect(s.rejections.map((r) => r.code)).toEqual([
      ...cases.map((c) => c[2]),
      'empty-annotator',
      'invalid-payload',
      'wrong-model',
    ]);
    expect(s.rejections[1]).toEqual({
      at: new Date(T0).toISOString(),
      message: 'submitLabel',
      via: 'signal',
      code: 'unknown-task',
      detail: 'no task "nope" in this queue',
      taskId: 'nope',
      annotator: 'alice',
    });
    expect(s.rejections[3].detail).toBe('label "maybe" is not one of the task\'s classes (churn, stay)');
    // Nothing changed: the tasks are where they were.
    expect(s).toMatchObject({ pending: 1, claimed: 1, done: 1, labelsAccepted: 2 });
  });

  test('the rejection list keeps the last 100; the counter counts all', () => {
    const q = queue();
    for (let i = 0; i < 150; i++) q.submitLabel({ taskId: `nope-${i}`, label: 'x', annotator: 'a' }, T0 + i);
    const s = q.stats(T0);
    expect(s.rejected).toBe(150);
    expect(s.rejections).toHaveLength(100);
    expect(s.rejections[0].taskId).toBe('nope-50');
    expect(s.rejections[99].taskId).toBe('nope-149');
  });

  test('a duplicate submit counts once and is answered accepted with reason duplicate', () => {
    const q = queue();
    q.addTasks([makeTask('t1'), makeTask('h1', { hard: true })], T0);
    const p = { taskId: 't1', label: 'churn', annotator: 'alice' };
    expect(q.submitLabel(p, T0)).toEqual({ accepted: true, status: 'done' });
    expect(q.submitLabel(p, T0 + SEC)).toEqual({
      accepted: true,
      reason: 'duplicate',
      detail: 'this label was already counted',
      status: 'done',
    });
    q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'bob' }, T0);
    expect(q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'bob' }, T0)).toMatchObject({
      accepted: true,
      reason: 'duplicate',
      status: 'pending',
    });
    expect(q.task('h1')?.labels).toHaveLength(1);
    expect(q.outboxSize()).toBe(1);
    expect(q.stats(T0)).toMatchObject({ labelsAccepted: 2, duplicateLabels: 2, rejected: 0, done: 1 });
    expect(q.stats(T0).annotators).toEqual({
      alice: { claimed: 0, submitted: 1, skipped: 0 },
      bob: { claimed: 0, submitted: 1, skipped: 0 },
    });
  });

  test('finished tasks are remembered up to maxFinishedKept, oldest forgotten first', () => {
    const q = queue({ maxFinishedKept: 2 });
    q.addTasks([makeTask('a'), makeTask('b'), makeTask('c')], T0);
    for (const id of ['a', 'b', 'c']) q.submitLabel({ taskId: id, label: 'stay', annotator: 'x' }, T0);
    expect(q.task('a')).toBeNull();
    expect(q.task('c')?.status).toBe('done');
    expect(q.submitLabel({ taskId: 'b', label: 'stay', annotator: 'x' }, T0).reason).toBe('duplicate');
    expect(q.submitLabel({ taskId: 'a', label: 'stay', annotator: 'x' }, T0).reason).toBe('unknown-task');
    expect(q.toJSON().finishedOrder).toEqual(['b', 'c']);
  });

  test('adding a known task id (open or finished) is ignored', () => {
    const q = queue();
    q.addTasks([makeTask('t1'), makeTask('t2')], T0);
    q.submitLabel({ taskId: 't1', label: 'churn', annotator: 'alice' }, T0);
    expect(q.addTasks([makeTask('t1'), makeTask('t2'), makeTask('t3')], T0)).toEqual({
      added: 1,
      duplicates: 2,
      rejected: 0,
    });
    expect(q.stats(T0)).toMatchObject({ added: 3, duplicateTasks: 2, pending: 2 });
  });

  test('inline tasks beyond the window are staged for the backlog, never dropped', () => {
    const q = queue({ windowTasks: 2 });
    expect(q.addTasks([makeTask('a'), makeTask('b'), makeTask('c')], T0)).toEqual({
      added: 3,
      duplicates: 0,
      rejected: 0,
    });
    expect(q.stats(T0)).toMatchObject({ added: 3, window: 2, backlog: 1, droppedTasks: 0, rejected: 0 });
    expect(q.stagedTasks().map((t) => t.taskId)).toEqual(['c']);
    // Staged once: sending it again is a duplicate.
    expect(q.addTasks([makeTask('c')], T0)).toMatchObject({ added: 0, duplicates: 1 });
    q.stagedWritten(1, segmentRef('stagedseg1', 1), T0 + SEC);
    expect(q.stats(T0)).toMatchObject({ backlog: 1, backlogSegments: 1 });
    expect(q.stagedTasks()).toEqual([]);
  });

  test('task ids and annotator names that look like Object.prototype members are plain data', () => {
    const q = queue();
    q.addTasks([makeTask('__proto__'), makeTask('toString')], T0);
    expect(q.claim({ annotator: 'constructor' }, T0).task?.taskId).toBe('__proto__');
    expect(q.submitLabel({ taskId: '__proto__', label: 'churn', annotator: 'constructor' }, T0).status).toBe(
      'done',
    );
    expect(q.submitLabel({ taskId: 'hasOwnProperty', label: 'churn', annotator: 'x' }, T0).reason).toBe(
      'unknown-task',
    );
    const copy = roundTrip(q);
    expect(copy.task('__proto__')?.status).toBe('done');
    expect(copy.stats(T0).annotators.constructor).toEqual({ claimed: 1, submitted: 1, skipped: 0 });
    expect(copy.submitLabel({ taskId: 'toString', label: 'stay', annotator: 'constructor' }, T0).status).toBe(
      'done',
    );
    expect(Object.getPrototypeOf(copy.toJSON().tasks)).toBe(Object.prototype);
  });
});

describe('ReviewQueueState: JSON round trip (continue-as-new)', () => {
  test('a queue rebuilt from JSON.parse(JSON.stringify(state)) at every step behaves identically', () => {
    const opts: Partial<ReviewQueueOptions> = { leaseMs: 5 * SEC, lifetimeMs: 60 * SEC };
    const live = queue(opts);
    let copy = queue(opts);
    const steps: ((q: ReviewQueueState) => unknown)[] = [
      (q) =>
        q.addTasks(
          [
            makeTask('t1'),
            makeTask('h1', { hard: true }),
            makeTask('t2', { createdAt: '2026-06-09T03:00:00.000Z' }),
          ],
          T0,
        ),
      (q) => q.claim({ annotator: 'alice' }, T0 + SEC),
      (q) => q.submitLabel({ taskId: 't1', label: 'churn', annotator: 'alice' }, T0 + 2 * SEC),
      (q) => q.claim({ annotator: 'alice', leaseSeconds: 3 }, T0 + 3 * SEC),
      (q) => q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'alice' }, T0 + 4 * SEC),
      (q) => q.claim({ annotator: 'bob' }, T0 + 5 * SEC),
      (q) => q.nextDueMs(),
      (q) => q.tick(T0 + 11 * SEC),
      (q) => q.skipTask({ taskId: 'h1', annotator: 'carol' }, T0 + 12 * SEC),
      (q) => q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'alice' }, T0 + 13 * SEC),
      (q) => q.submitLabel({ taskId: 'h1', label: 'maybe', annotator: 'dave' }, T0 + 13 * SEC),
      (q) => q.submitLabel({ taskId: 'h1', label: 'stay', annotator: 'dave' }, T0 + 14 * SEC),
      (q) => q.peekOutbox(10),
      (q) => q.markFlushed(1),
      (q) => q.claim({ annotator: 'erin' }, T0 + 15 * SEC),
      (q) => q.renewLease({ taskId: 't2', annotator: 'erin' }, T0 + 16 * SEC),
      (q) => q.nextDueMs(),
      (q) => q.tick(T0 + 61 * SEC),
      (q) => q.list({ statuses: ['pending', 'claimed', 'done', 'expired', 'escalated'] }),
      (q) => q.stats(T0 + 61 * SEC),
    ];
    for (const step of steps) {
      copy = roundTrip(copy);
      expect(step(copy)).toEqual(step(live));
      expect(JSON.parse(JSON.stringify(copy.toJSON()))).toEqual(JSON.parse(JSON.stringify(live.toJSON())));
    }
    expect(live.stats(T0 + 61 * SEC)).toMatchObject({
      done: 2,
      expired: 1,
      leaseExpiries: 2,
      flushedRows: 1,
      outbox: 1,
    });
  });

  test('restore fills missing fields and refuses what is not a state', () => {
    expect(restoreReviewQueueState(undefined)).toMatchObject({ ok: true });
    expect(restoreReviewQueueState('garbage')).toMatchObject({ ok: false });
    expect(restoreReviewQueueState({ version: 3 })).toMatchObject({ ok: false });
    const partial = restoreReviewQueueState({ version: 1, counters: { done: 7 } });
    expect(partial.ok).toBe(true);
    expect(partial.data.counters.done).toBe(7);
    expect(partial.data.counters.expired).toBe(0);
    expect(partial.data.order).toEqual([]);
  });
});

describe('ReviewQueueState: the backlog lives in the store by reference', () => {
  /** A store of segments: id → tasks, read by offset as the page-in activity does. */
  function backlogOf(total: number, perSegment: number): Map<string, ReviewTask[]> {
    const segments = new Map<string, ReviewTask[]>();
    for (let i = 0; i < total; i += perSegment) {
      const tasks = Array.from({ length: Math.min(perSegment, total - i) }, (_, j) =>
        makeTask(`b-${String(i + j).padStart(6, '0')}`),
      );
      segments.set(`seg${String(i / perSegment).padStart(5, '0')}`, tasks);
    }
    return segments;
  }

  /** Pages in while the queue asks for it (what the workflow loop does between messages). */
  function pageIn(q: ReviewQueueState, store: Map<string, ReviewTask[]>, force = false): number {
    let rounds = 0;
    for (let req = q.pageInRequest(force); req; req = q.pageInRequest(false)) {
      const tasks = store.get(req.segmentId)!.slice(req.offset, req.offset + req.limit);
      q.pagedIn(req, { tasks, nextOffset: req.offset + tasks.length, invalid: [] }, T0);
      rounds++;
    }
    return rounds;
  }

  test('5,500 tasks in six segments: none dropped, all claimed and labelled in order, counts add up', () => {
    const q = queue({ windowTasks: 200 });
    const store = backlogOf(5500, 1000);
    let accepted = 0;
    for (const [id, tasks] of store) accepted += q.addSegment(segmentRef(id, tasks.length), T0).accepted;
    expect(accepted).toBe(5500);
    // A re-sent segment is a duplicate, not double work.
    expect(q.addSegment(segmentRef('seg00002', 1000), T0)).toEqual({
      accepted: 0,
      duplicate: 1000,
      backlog: 5500,
    });
    // The state holds references, not tasks: a 5,500-task backlog costs a few hundred bytes.
    expect(JSON.stringify(q.toJSON()).length).toBeLessThan(3000);
    expect(q.stats(T0)).toMatchObject({ backlog: 5500, backlogSegments: 6, pending: 0, added: 5500 });

    const order: string[] = [];
    for (let i = 0; i < 5500; i++) {
      pageIn(q, store);
      const claim = q.claim({ annotator: 'alice' }, T0 + SEC);
      expect(claim.task).not.toBeNull();
      order.push(claim.task!.taskId);
      expect(
        q.submitLabel({ taskId: claim.task!.taskId, label: 'churn', annotator: 'alice' }, T0 + SEC).accepted,
      ).toBe(true);
      if (q.outboxSize() >= 500) q.markFlushed(q.outboxSize());
      // The window stays bounded whatever the backlog.
      expect(q.toJSON().order.length).toBeLessThanOrEqual(200);
    }
    expect(order).toEqual([...store.values()].flat().map((t) => t.taskId));
    expect(q.claim({ annotator: 'alice' }, T0 + SEC)).toMatchObject({ task: null, reason: 'no-task' });
    const s = q.stats(T0 + SEC);
    expect(s).toMatchObject({
      backlog: 0,
      backlogSegments: 0,
      pending: 0,
      done: 5500,
      pagedIn: 5500,
      expired: 0,
      droppedTasks: 0,
      rejected: 0,
      duplicateTasks: 1000,
    });
    expect(s.flushedRows + s.outbox).toBe(5500);
  });

  test('100k tasks waiting: the carried state stays small', () => {
    const q = queue();
    for (let i = 0; i < 100; i++) q.addSegment(segmentRef(`big${String(i).padStart(5, '0')}`, 1000), T0);
    expect(q.stats(T0).backlog).toBe(100_000);
    expect(JSON.stringify(q.toJSON()).length).toBeLessThan(30_000);
  });

  test('a claim that finds nothing for its annotator may page in past the half-full mark', () => {
    const q = queue({ windowTasks: 4 });
    const store = backlogOf(10, 10);
    q.addSegment(segmentRef('seg00000', 10), T0);
    pageIn(q, store);
    expect(q.stats(T0).window).toBe(4);
    for (const id of ['b-000000', 'b-000001', 'b-000002', 'b-000003'])
      q.skipTask({ taskId: id, annotator: 'alice' }, T0);
    expect(q.claim({ annotator: 'alice' }, T0).task).toBeNull();
    expect(q.pageInRequest(false)).toBeUndefined();
    expect(q.pageInRequest(true)).toMatchObject({ offset: 4, limit: 4 });
    pageIn(q, store, true);
    expect(q.claim({ annotator: 'alice' }, T0).task?.taskId).toBe('b-000004');
  });

  test('a backlog past its lifetime expires whole, unread, and is counted', () => {
    const q = queue({ windowTasks: 10, lifetimeMs: DAY });
    const store = backlogOf(25, 10);
    for (const [id, tasks] of store) q.addSegment(segmentRef(id, tasks.length), T0);
    pageIn(q, store);
    q.addSegment(segmentRef('later0001', 5), T0 + 12 * HOUR);
    expect(q.stats(T0).backlog).toBe(20);
    q.tick(T0 + DAY);
    // The window's 10 tasks and the 15 never read expired; the later segment is still young.
    expect(q.stats(T0 + DAY)).toMatchObject({ expired: 25, window: 0, backlog: 5, backlogSegments: 1 });
    expect(q.nextDueMs()).toBe(T0 + 12 * HOUR + DAY);
    q.tick(T0 + 12 * HOUR + DAY);
    expect(q.stats(T0 + 2 * DAY)).toMatchObject({ expired: 30, backlog: 0 });
  });

  test('a missing segment is counted as unreadable with a rejection; a bad line too', () => {
    const q = queue();
    q.addSegment(segmentRef('gone00001', 7), T0);
    q.addSegment(segmentRef('half00001', 3), T0);
    q.segmentUnreadable('gone00001', 'review backlog segment is missing', T0);
    const req = q.pageInRequest()!;
    q.pagedIn(
      req,
      { tasks: [makeTask('h1'), makeTask('h2')], nextOffset: 3, invalid: [{ line: 2, detail: 'not JSON' }] },
      T0,
    );
    const s = q.stats(T0);
    expect(s).toMatchObject({ unreadable: 8, backlog: 0, pending: 2, rejected: 2 });
    expect(s.rejections.map((r) => r.code)).toEqual(['unreadable-segment', 'unreadable-segment']);
  });

  test('a label (signal or update) for a task still in the backlog is deferred to the inbox, not refused', () => {
    const q = queue({ windowTasks: 1 });
    q.addTasks([makeTask('a'), makeTask('b')], T0);
    const r = q.submitLabel({ taskId: 'b', label: 'churn', annotator: 'alice', note: 'n' }, T0, 'update');
    expect(r).toMatchObject({ accepted: true, reason: 'deferred', status: 'unknown' });
    expect(r.detail).toContain('backlog');
    expect(q.labelsForInbox()).toEqual([{ taskId: 'b', label: 'churn', annotator: 'alice', note: 'n' }]);
    expect(q.stats(T0)).toMatchObject({ rejected: 0, deferredLabels: 1, inboxDeferred: 1 });
    // It travels through continue-as-new until written.
    expect(roundTrip(q).labelsForInbox()).toHaveLength(1);
    q.labelsStoredInInbox(1);
    expect(q.stats(T0).inboxDeferred).toBe(0);
    // With nothing in the backlog, no segment could hold it: refused.
    const empty = queue();
    expect(empty.submitLabel({ taskId: 'zz', label: 'churn', annotator: 'alice' }, T0)).toMatchObject({
      accepted: false,
      reason: 'unknown-task',
    });
    // Bounded: beyond MAX_TO_INBOX waiting labels, refused loudly with the reason.
    for (let i = 0; i < MAX_TO_INBOX; i++)
      q.submitLabel({ taskId: 'b', label: 'churn', annotator: `a${i}` }, T0, 'signal');
    const over = q.submitLabel({ taskId: 'b', label: 'churn', annotator: 'late' }, T0, 'signal');
    expect(over).toMatchObject({ accepted: false, reason: 'unknown-task' });
    expect(over.detail).toContain('wait to be stored in the inbox');
  });

  test('an inbox label pages its task in from an unread segment; the segment skips it later', () => {
    const q = queue({ windowTasks: 2 });
    const store = backlogOf(6, 6);
    q.addSegment(segmentRef('seg00000', 6), T0);
    pageIn(q, store);
    expect(q.stats(T0)).toMatchObject({ window: 2, backlog: 4 });
    const task = store.get('seg00000')![4];
    const label = { taskId: task.taskId, label: 'churn', annotator: 'alice' };
    const r = q.applyInboxLabel('e1', label, T0, {
      found: { segmentId: 'seg00000', line: 4, task },
      complete: true,
    });
    expect(r).toMatchObject({ accepted: true, status: 'done' });
    expect(q.stats(T0)).toMatchObject({ done: 1, backlog: 3, pagedIn: 3, rejected: 0 });
    // The same line offered again is not taken twice.
    expect(q.takeFound({ segmentId: 'seg00000', line: 4, task })).toBe(false);
    // Paging the segment in later skips the line already taken: b-000004 is not offered again.
    q.markFlushed(q.outboxSize());
    const claimed: string[] = [];
    for (let i = 0; i < 6; i++) {
      pageIn(q, store, true);
      const c = q.claim({ annotator: 'bob' }, T0);
      if (!c.task) break;
      claimed.push(c.task.taskId);
      q.submitLabel({ taskId: c.task.taskId, label: 'stay', annotator: 'bob' }, T0);
    }
    expect(claimed).toEqual(['b-000000', 'b-000001', 'b-000002', 'b-000003', 'b-000005']);
    expect(q.stats(T0)).toMatchObject({ done: 6, backlog: 0, backlogSegments: 0, duplicateTasks: 0 });
    expect(q.stats(T0).added).toBe(6);
    // The segment object left the backlog: it is deleted by the next drain.
    expect(q.consumedSegments()).toEqual(['seg00000']);
  });

  test('an inbox label whose task may be in a segment not looked into stays in the inbox; else refused', () => {
    const q = queue({ windowTasks: 1 });
    q.addSegment(segmentRef('seg00000', 5), T0);
    const label = { taskId: 'nowhere', label: 'churn', annotator: 'alice' };
    expect(q.applyInboxLabel('e1', label, T0, { complete: false })).toMatchObject({ reason: 'deferred' });
    expect(q.inboxPending()).toEqual(['e1']);
    expect(q.stats(T0)).toMatchObject({ inboxDeferred: 1, rejected: 0 });
    // A new pass reads it again; every segment looked into and the task in none: refused.
    q.startInboxPass();
    expect(q.applyInboxLabel('e1', label, T0, { complete: true })).toMatchObject({
      accepted: false,
      reason: 'unknown-task',
    });
  });

  test('a segment found in the store counts once, also when its announcement arrives later', () => {
    const q = queue();
    expect(q.discoverSegment(segmentRef('seg00000', 10), T0)).toBe(true);
    expect(q.discoverSegment(segmentRef('seg00000', 10), T0)).toBe(false);
    // Its first announcement claims it (the sender's own, late); it is not counted twice.
    expect(q.addSegment(segmentRef('seg00000', 10), T0)).toEqual({ accepted: 10, duplicate: 0, backlog: 10 });
    expect(q.stats(T0)).toMatchObject({
      added: 10,
      segmentsDiscovered: 1,
      segmentsAdded: 1,
      duplicateTasks: 0,
      duplicateSegments: 0,
    });
    // Announced again: a duplicate, counted as one.
    expect(q.addSegment(segmentRef('seg00000', 10), T0)).toMatchObject({ accepted: 0, duplicate: 10 });
    expect(q.stats(T0)).toMatchObject({ added: 10, duplicateSegments: 1 });
    // A segment the queue had and read is a leftover object: deleted, not taken again.
    const r = queue({ windowTasks: 10 });
    r.addSegment(segmentRef('seg00001', 2), T0);
    r.pagedIn(
      { segmentId: 'seg00001', offset: 0 },
      { tasks: [makeTask('x1'), makeTask('x2')], nextOffset: 2, invalid: [] },
      T0,
    );
    r.consumedDeleted(r.consumedSegments());
    expect(r.discoverSegment(segmentRef('seg00001', 2), T0)).toBe(false);
    expect(r.consumedSegments()).toEqual(['seg00001']);
    expect(r.stats(T0).added).toBe(2);
  });

  test('state carried by a queue from before the redesign (version 1) is migrated', () => {
    const v1 = {
      version: 1,
      tasks: {
        old1: {
          task: makeTask('old1'),
          status: 'pending',
          enqueuedAtMs: T0,
          labels: [],
          skippedBy: [],
          bytes: 500,
        },
      },
      order: ['old1'],
      finished: {},
      finishedOrder: [],
      outbox: [],
      flushSeq: 4,
      counters: { added: 900, droppedTasks: 208, done: 3 },
      annotators: {},
      rejections: [
        { atMs: T0, message: 'addTasks', via: 'signal', code: 'queue-full', detail: 'queue full' },
      ],
    };
    const restored = restoreReviewQueueState(JSON.parse(JSON.stringify(v1)));
    expect(restored.ok).toBe(true);
    expect(restored.data.version).toBe(2);
    const q = queue({}, restored.data);
    expect(q.stats(T0)).toMatchObject({ pending: 1, backlog: 0, droppedTasks: 208, added: 900, done: 3 });
    expect(q.claim({ annotator: 'alice' }, T0).task?.taskId).toBe('old1');
    q.addSegment(segmentRef('new000001', 3), T0);
    expect(roundTrip(q).stats(T0)).toMatchObject({ backlog: 3, claimed: 1 });
  });
});

describe('ReviewQueueState: labels from the store inbox', () => {
  test('an inbox label is applied once, read twice counts once, and is deletable only after its row is written', () => {
    const q = queue();
    q.addTasks([makeTask('t1'), makeTask('t2', { hard: true })], T0);
    const label = { taskId: 't1', label: 'churn', annotator: 'alice' };
    expect(q.applyInboxLabel('e1', label, T0)).toMatchObject({ accepted: true, status: 'done' });
    // Its row waits in the outbox: the entry must stay in the store until the row is written.
    expect(q.ackableInbox()).toEqual([]);
    expect(q.inboxWaitsForFlush()).toBe(true);
    // Read again (before it was deleted): a duplicate, not a second label.
    expect(q.applyInboxLabel('e1', label, T0)).toMatchObject({ accepted: true, reason: 'duplicate' });
    // A first label of a hard task makes no row: deletable once the rows before it are written.
    q.applyInboxLabel('e2', { taskId: 't2', label: 'stay', annotator: 'bob' }, T0);
    q.rejectInboxEntry('e3', 'not JSON', T0);
    expect(q.ackableInbox()).toEqual(['e3']);
    q.markFlushed(q.outboxSize());
    expect(q.ackableInbox()).toEqual(['e1', 'e1', 'e2', 'e3']);
    q.inboxAcked(q.ackableInbox());
    expect(q.inboxPendingCount()).toBe(0);
    const s = q.stats(T0);
    expect(s).toMatchObject({
      labelsAccepted: 2,
      duplicateLabels: 1,
      done: 1,
      flushedRows: 1,
      inboxLabels: 3,
    });
    expect(s.rejections.map((r) => [r.via, r.code])).toEqual([['inbox', 'invalid-payload']]);
  });
});

describe('label lineage', () => {
  test('annotator ids are a JSON list (any character, "," included); old comma-joined rows still read', () => {
    const q = queue({ consensusK: 2 });
    q.addTasks([makeTask('h1', { hard: true })], T0);
    q.submitLabel({ taskId: 'h1', label: 'churn', annotator: 'smith, j' }, T0);
    q.submitLabel({ taskId: 'h1', label: 'churn', annotator: '[x]' }, T0);
    const lineage = q.peekOutbox(1)[0].lineage;
    expect(lineageAnnotators(lineage)).toEqual(['smith, j', '[x]']);
    expect(lineageAnnotators({ annotators: 'alice,bob' })).toEqual(['alice', 'bob']);
    expect(lineageAnnotators({ annotators: '[x' })).toEqual(['[x']);
    expect(lineageAnnotators({})).toEqual([]);
  });
});
