/**
 * Terminal-safe output (issue 16 §3): the pure helpers, and the CLI formatters that print annotator
 * ids, labels, classes, notes and features a user or the store supplied.
 */
import { formatStatus } from '../../src/cli/format-status';
import { errorText, jsonTerminalSafe, printable, terminalSafe } from '../../src/cli/printable';
import {
  formatClaimedTask,
  formatRejection,
  formatReviewStats,
  formatTaskList,
} from '../../src/cli/review-client';
import { quoteInput } from '../../src/cli/user-input';
import type { ClaimedTask, ReviewStats, TaskView } from '../../src/schemas/review';
import { initialStatus } from '../../src/workflows/cycle-status';

/** Characters that act on a terminal: C0/C1 controls, DEL, bidi controls, line separators. */
// eslint-disable-next-line no-control-regex -- finding raw control characters is the point
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const RAW_BUT_NEWLINE = new RegExp(RAW.source.replace('\\u0000-\\u001f', '\\u0000-\\u0009\\u000b-\\u001f'));

const ESC = '\u001b[31mred\u001b[0m';
const RTL = 'ann\u202Egpj.exe';
const BIG = 'z'.repeat(1 << 20);

describe('printable', () => {
  test.each([
    ['ESC sequence', ESC, '\\u001b[31mred\\u001b[0m'],
    ['newline, CR, tab', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a\\u0000b\\u007f'],
    ['C1 CSI', 'x\u009b31m', 'x\\u009b31m'],
    ['RTL override', RTL, 'ann\\u202egpj.exe'],
    ['isolates', '\u2066a\u2069', '\\u2066a\\u2069'],
    ['line separator', 'a\u2028b', 'a\\u2028b'],
    ['lone surrogate', 'x\ud800y', 'x\\ud800y'],
    ['plain text unchanged', 'alice, bob/..\\x é 日本 😀', 'alice, bob/..\\x é 日本 😀'],
  ])('%s', (_name, input, expected) => {
    expect(printable(input)).toBe(expected);
  });

  test('a 1 MB value is cut and its length named', () => {
    const out = printable(BIG);
    expect(out).toBe(`${'z'.repeat(200)}…(${1 << 20} chars)`);
    expect(printable(BIG, 10)).toBe(`zzzzzzzzzz…(${1 << 20} chars)`);
  });

  test('escapes count towards the limit, so the output stays short', () => {
    expect(printable('\u001b'.repeat(1000)).length).toBeLessThan(230);
  });
});

describe('terminalSafe, errorText, jsonTerminalSafe, quoteInput', () => {
  test('terminalSafe keeps newlines and escapes everything else', () => {
    expect(terminalSafe(`line 1 ${ESC}\nline 2 ${RTL}`)).toBe(
      'line 1 \\u001b[31mred\\u001b[0m\nline 2 ann\\u202egpj.exe',
    );
  });

  test('errorText is terminal-safe and cut', () => {
    const out = errorText(`bad: ${BIG}${ESC}`);
    expect(out.length).toBeLessThan(4100);
    expect(out).toMatch(/…\(\d+ chars\)$/);
    expect(errorText(`bad: ${ESC}`)).toBe('bad: \\u001b[31mred\\u001b[0m');
  });

  test('jsonTerminalSafe: the same JSON value, with no raw C1 or bidi characters', () => {
    const value = { a: 'x\u009by', b: RTL, c: ESC, nested: [{ 'k\u202e': 'v\u2028' }] };
    const json = JSON.stringify(value, null, 2);
    expect(RAW_BUT_NEWLINE.test(json)).toBe(true);
    const safe = jsonTerminalSafe(json);
    expect(RAW_BUT_NEWLINE.test(safe)).toBe(false);
    expect(JSON.parse(safe)).toEqual(value);
  });

  test('quoteInput escapes C1 controls too', () => {
    expect(quoteInput('x\u009b31m')).toBe('"x\\u009b31m"');
    expect(RAW.test(quoteInput(`${ESC}${RTL}\u0085`))).toBe(false);
  });
});

// --- formatters ---------------------------------------------------------------------------------

const hostile = [ESC, RTL, 'a\nfake line', 'x\u009b2J', BIG];

function claimed(v: string): ClaimedTask {
  return {
    taskId: `t-${v.slice(0, 50)}`,
    modelId: 'churn',
    requestId: v,
    features: { [v]: v, plan: 'pro', n: 3, missing: null },
    predictedLabel: v,
    scores: { [v]: 0.7, no: 0.3 },
    givenLabel: v,
    labelSource: 'heuristic',
    routeReason: v,
    routeDetail: v,
    hard: true,
    audit: false,
    classes: [v, 'no'],
    createdAt: '2026-06-01T00:00:00.000Z',
    slices: { [v]: v },
    lease: { annotator: v, expiresAt: '2026-06-01T01:00:00.000Z' },
    labelsNeeded: 2,
    labelsSoFar: 1,
  };
}

function stats(v: string): ReviewStats {
  return {
    modelId: 'churn',
    backlog: 0,
    backlogSegments: 0,
    window: 1,
    inboxDeferred: 0,
    deferredLabels: 0,
    segmentsDiscovered: 0,
    segmentsAdded: 0,
    duplicateSegments: 0,
    pagedIn: 1,
    unreadable: 0,
    inboxLabels: 0,
    inboxPending: 0,
    pending: 1,
    claimed: 0,
    done: 0,
    escalated: 0,
    expired: 0,
    rejected: 1,
    added: 1,
    duplicateTasks: 0,
    droppedTasks: 0,
    labelsAccepted: 0,
    duplicateLabels: 0,
    leaseExpiries: 0,
    annotators: {
      [v]: { claimed: 1, submitted: 1, skipped: 0 },
      bob: { claimed: 0, submitted: 0, skipped: 0 },
    },
    oldestPendingAgeMs: null,
    outbox: 0,
    flushedRows: 0,
    flushedBatches: 0,
    flushFailures: 0,
    rejections: [
      {
        at: '2026-06-01T00:00:00.000Z',
        message: 'submitLabel',
        via: 'update',
        code: 'label-not-in-classes',
        detail: `label "${v}" is not one of the task's classes`,
        taskId: 't1',
        annotator: v,
      },
    ],
    continuedAsNew: 0,
    historyLength: 10,
  };
}

function view(v: string): TaskView {
  const t = claimed(v);
  return {
    taskId: 't1',
    status: 'claimed',
    enqueuedAt: '2026-06-01T00:00:00.000Z',
    lease: { annotator: v, expiresAt: '2026-06-01T01:00:00.000Z' },
    labels: [{ annotator: v, label: v, note: v }],
    skippedBy: [v],
    task: t,
  };
}

/** Output lines with no raw control characters, each under `max` characters. */
function expectSafe(text: string, lines: number, max: number): void {
  expect(RAW_BUT_NEWLINE.test(text)).toBe(false);
  const split = text.split('\n');
  expect(split).toHaveLength(lines);
  for (const line of split) expect(line.length).toBeLessThan(max);
}

describe('review formatters print hostile values escaped and cut', () => {
  const now = Date.parse('2026-06-01T00:30:00.000Z');
  test.each(hostile.map((v) => [JSON.stringify(v.slice(0, 20)), v] as const))('%s', (_name, v) => {
    expectSafe(formatClaimedTask(claimed(v), 'churn', now), 14, 2000);
    expectSafe(formatTaskList([view(v), view('plain')], now), 2, 1200);
    expectSafe(formatReviewStats(stats(v), 'review-churn'), 12, 1000);
    expectSafe(formatRejection(stats(v).rejections[0]), 1, 700);
  });

  test('plain values print as they are', () => {
    const out = formatReviewStats(stats('alice'), 'review-churn');
    expect(out).toContain('    alice  claimed 1  submitted 1  skipped 0');
    expect(out).toContain('[task t1 by alice]');
  });
});

describe('cycle status prints hostile messages, details and features escaped and cut', () => {
  test.each(hostile.map((v) => [JSON.stringify(v.slice(0, 20)), v] as const))('%s', (_name, v) => {
    const st = initialStatus('cycle-churn-1', 'churn', { from: '2026-06-01', to: '2026-06-02' });
    st.messages.push(v, 'plain message');
    const [first] = Object.keys(st.stages) as (keyof typeof st.stages)[];
    st.stages[first] = { state: 'failed', detail: v };
    const lines = formatStatus(st).split('\n');
    const expected = formatStatus(
      initialStatus('cycle-churn-1', 'churn', { from: '2026-06-01', to: '2026-06-02' }),
    ).split('\n').length;
    expectSafe(lines.join('\n'), expected + 2, 1100);
  });
});
