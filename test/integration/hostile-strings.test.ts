/**
 * Bad-input corpus, hostile strings (issue 16 §3): path separators, `..`, control characters, NUL, a
 * right-to-left override, a lone surrogate, a comma, blanks and 1 MB strings, sent as labels,
 * annotator ids, notes and model ids to the review queue (its message API on the real Temporal server,
 * and the CLI's client functions), as feature names and values, request and entity ids to `serve`,
 * and as `--model` to the CLI. Each must end as a rejection with a reason or be stored exactly as sent,
 * as data: never a crash, a hang, a key outside the store or a silent change. The test prints a tally.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { createEnqueueReviewTasks } from '../../src/activities/enqueue-review-tasks';
import { CliError } from '../../src/cli/context';
import {
  claimNextTask,
  formatClaimedTask,
  formatReviewStats,
  formatTaskList,
  listReviewTasks,
  reviewQueueStats,
  submitReviewLabel,
} from '../../src/cli/review-client';
import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import { parseLine } from '../../src/schemas/parse-line';
import { LabeledRowSchema, PredictionRowSchema } from '../../src/schemas/records';
import type { LabeledRow, PredictionRow } from '../../src/schemas/records';
import { ReviewTaskSchema } from '../../src/schemas/review';
import type { ReviewStats, ReviewTask } from '../../src/schemas/review';
import { createServingApp } from '../../src/serving/app';
import { startServer } from '../../src/serving/server';
import type { BlobStore } from '../../src/storage/blob-store';
import { FileBlobStore } from '../../src/storage/file-blob-store';
import { layout } from '../../src/storage/layout';
import { ModelRegistry } from '../../src/storage/model-registry';
import { readLines } from '../../src/storage/ndjson';
import { claimTask, reviewStats, submitLabelUpdate, task as taskQuery } from '../../src/workflows/messages';
import { lineageAnnotators } from '../../src/workflows/review-queue-state';
import { runCli } from '../support/cli';
import { withWorker } from '../support/temporal';
import type { TestStack } from '../support/temporal';

const MB = 'x'.repeat(1 << 20);
/** The corpus: [name, value]. */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ['slash', 'a/b'],
  ['backslash', 'a\\b'],
  ['dot-dot', '..'],
  ['traversal', '../../etc/passwd'],
  ['absolute path', '/etc/passwd'],
  ['NUL', 'a\u0000b'],
  ['control chars', '\u0007\u001b[31mred\u001b[0m\r\nnext line'],
  ['RTL override', 'annotator\u202Egpj.exe'],
  ['lone surrogate', 'x\ud800y'],
  ['comma', 'alice,bob'],
  ['blank', '   '],
  ['empty', ''],
  ['1 MB', MB],
];

type Outcome = { kind: 'rejected'; reason: string } | { kind: 'stored' };

/** Every case's outcome, printed at the end; a case without one fails the test. */
class Tally {
  readonly rows: { target: string; input: string; outcome: Outcome }[] = [];

  record(target: string, input: string, outcome: Outcome): void {
    if (outcome.kind === 'rejected') expect(outcome.reason.trim()).not.toBe('');
    this.rows.push({ target, input, outcome });
  }

  print(): string {
    const byTarget = new Map<string, { cases: number; rejected: number; stored: number }>();
    for (const r of this.rows) {
      const t = byTarget.get(r.target) ?? { cases: 0, rejected: 0, stored: 0 };
      t.cases++;
      if (r.outcome.kind === 'rejected') t.rejected++;
      else t.stored++;
      byTarget.set(r.target, t);
    }
    const total = { cases: 0, rejected: 0, stored: 0 };
    const lines = ['hostile strings: target | cases | rejected with reason | stored safely as data'];
    for (const [target, t] of byTarget) {
      lines.push(
        `  ${target.padEnd(40)} ${String(t.cases).padStart(4)} ${String(t.rejected).padStart(6)} ${String(t.stored).padStart(6)}`,
      );
      total.cases += t.cases;
      total.rejected += t.rejected;
      total.stored += t.stored;
    }
    lines.push('  each case:');
    for (const r of this.rows) {
      const what = r.outcome.kind === 'stored' ? 'stored' : `rejected: ${r.outcome.reason.slice(0, 110)}`;
      lines.push(`    ${r.target} / ${r.input}: ${JSON.stringify(what).slice(1, -1)}`);
    }
    lines.push(
      `  ${'total'.padEnd(40)} ${String(total.cases).padStart(4)} ${String(total.rejected).padStart(6)} ${String(total.stored).padStart(6)}`,
    );
    return lines.join('\n');
  }
}

const tally = new Tally();

afterAll(() => {
  console.log(tally.print());
});

/** A file store in a directory of its own, so anything written beside it (outside) shows. */
function isolatedStore(): { store: BlobStore; parent: string; root: string } {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-hostile-'));
  const root = path.join(parent, 'store');
  fs.mkdirSync(root);
  return { store: new FileBlobStore({ root, uri: `file://${root}` }), parent, root };
}

/** Nothing was written outside the store root, and every key is a plain relative path. */
async function expectContained(store: BlobStore, parent: string): Promise<string[]> {
  expect(fs.readdirSync(parent)).toEqual(['store']);
  const keys: string[] = [];
  for await (const info of store.list('')) keys.push(info.key);
  for (const key of keys) {
    expect(key.split('/').some((s) => s === '..' || s === '.' || s === '')).toBe(false);
    expect(key).toMatch(/^[\w./=-]+$/);
  }
  return keys;
}

const short = (s: string) =>
  s.length > 40 ? `${JSON.stringify(s.slice(0, 40))}…(${s.length})` : JSON.stringify(s);

async function waitFor<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out (a hang or a silent loss) waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

// --- review queue ---------------------------------------------------------------------------------

function makeTask(modelId: string, id: string, classes = ['churn', 'stay']): unknown {
  return {
    taskId: id,
    modelId,
    requestId: `req-${id}`,
    timestamp: '2026-06-01T12:00:00.000Z',
    features: { tenure_days: 12, plan: 'pro' },
    predictedLabel: 'stay',
    scores: { churn: 0.3, stay: 0.7 },
    givenLabel: 'churn',
    labelSource: 'user-report',
    routeReason: 'model-disputes-label',
    hard: false,
    audit: false,
    classes,
    createdAt: '2026-06-09T00:00:00.000Z',
  };
}

async function startQueue(
  stack: TestStack,
  store: BlobStore,
  modelId: string,
  ids: string[],
): Promise<WorkflowHandle> {
  const enqueue = createEnqueueReviewTasks({ store, config: stack.config, client: stack.client });
  const tasks = ids.map((id) => ReviewTaskSchema.parse(makeTask(modelId, id)) as ReviewTask);
  const r = await enqueue({ modelId, tasks, config: { flushEveryMs: 200 } });
  return stack.client.workflow.getHandle(r.workflowId);
}

async function humanLabels(store: BlobStore, modelId: string): Promise<LabeledRow[]> {
  const rows: LabeledRow[] = [];
  for await (const info of store.list(layout.labelsPrefix(modelId, 'human')))
    for await (const { line } of readLines(store, info.key))
      rows.push(LabeledRowSchema.parse(JSON.parse(line)));
  return rows;
}

/** Sends a signal and waits until the queue either finished the task or recorded a rejection for it. */
async function signalOutcome(
  h: WorkflowHandle,
  name: string,
  payload: unknown,
  taskId: string,
  finished: (status: string | undefined) => boolean,
): Promise<Outcome> {
  const before = (await h.query(reviewStats)).rejected;
  await h.signal(name, payload);
  const settled = await waitFor(
    async () => ({ stats: await h.query(reviewStats), view: await h.query(taskQuery, { taskId }) }),
    (x) => x.stats.rejected > before || finished(x.view?.status),
    `the outcome of ${name} for ${taskId}`,
  );
  if (settled.stats.rejected > before) {
    const r = settled.stats.rejections.at(-1)!;
    return { kind: 'rejected', reason: `${r.code}: ${r.detail}` };
  }
  return { kind: 'stored' };
}

const updateOutcome = async (run: () => Promise<{ accepted: boolean; reason?: string; detail?: string }>) => {
  try {
    const r = await run();
    return r.accepted && r.reason === undefined
      ? ({ kind: 'stored' } as const)
      : ({ kind: 'rejected', reason: `${r.reason}: ${r.detail}` } as const);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      return { kind: 'rejected', reason: (err.cause as Error | undefined)?.message ?? err.message } as const;
    throw err;
  }
};

describe('hostile strings: review queue (real Temporal server, message API)', () => {
  test('labels, annotator ids and notes by signal and update; tasks with hostile classes and model ids', async () => {
    const { store, parent } = isolatedStore();
    const modelId = `hs-${Date.now().toString(36)}`;
    await withWorker(store, async (stack) => {
      const h = await startQueue(stack, store, modelId, ['seed']);
      /** Exactly what each accepted case must have stored: [taskId, check]. */
      const expected: Array<[string, string, (row: LabeledRow) => void]> = [];

      // Tasks whose classes (the labels an annotator may choose) are hostile, added by signal.
      for (const [name, s] of HOSTILE) {
        const id = `cls-${name.replace(/\W/g, '-')}`;
        const outcome = await signalOutcome(
          h,
          'addTasks',
          { tasks: [makeTask(modelId, id, ['churn', s])] },
          id,
          (st) => st === 'pending',
        );
        tally.record('review addTasks: hostile class', name, outcome);
        if (outcome.kind === 'rejected') continue;
        // Label it with the hostile class, by update.
        const labelled = await updateOutcome(() =>
          h.executeUpdate(submitLabelUpdate, { args: [{ taskId: id, label: s, annotator: 'alice' }] }),
        );
        tally.record('review submitLabelUpdate: label', name, labelled);
        if (labelled.kind === 'stored') expected.push([id, name, (row) => expect(row.label).toBe(s)]);
      }

      // Tasks for a hostile model id are refused, whatever else they carry.
      for (const [name, s] of HOSTILE) {
        const id = `mdl-${name.replace(/\W/g, '-')}`;
        const outcome = await signalOutcome(
          h,
          'addTasks',
          { tasks: [makeTask(s, id)] },
          id,
          (st) => st === 'pending',
        );
        expect(outcome.kind).toBe('rejected');
        tally.record('review addTasks: model id', name, outcome);
      }

      // Labels outside the task's classes, annotator ids and notes: one task each.
      const plain = HOSTILE.map(([name]) => name.replace(/\W/g, '-'));
      await h.signal('addTasks', {
        tasks: plain.flatMap((n) =>
          [`lbl-${n}`, `ann-${n}`, `sig-${n}`, `note-${n}`].map((id) => makeTask(modelId, id)),
        ),
      });
      await waitFor(
        () => h.query(taskQuery, { taskId: `note-${plain.at(-1)}` }),
        (v) => v?.status === 'pending',
        'tasks added',
      );
      for (const [i, [name, s]] of HOSTILE.entries()) {
        const n = plain[i];
        tally.record(
          'review submitLabelUpdate: label',
          name,
          await updateOutcome(() =>
            h.executeUpdate(submitLabelUpdate, {
              args: [{ taskId: `lbl-${n}`, label: s, annotator: 'alice' }],
            }),
          ),
        );
        const byUpdate = await updateOutcome(() =>
          h.executeUpdate(submitLabelUpdate, {
            args: [{ taskId: `ann-${n}`, label: 'churn', annotator: s }],
          }),
        );
        tally.record('review submitLabelUpdate: annotator', name, byUpdate);
        if (byUpdate.kind === 'stored')
          expected.push([`ann-${n}`, name, (row) => expect(lineageAnnotators(row.lineage)).toEqual([s])]);

        const bySignal = await signalOutcome(
          h,
          'submitLabel',
          { taskId: `sig-${n}`, label: 'stay', annotator: s },
          `sig-${n}`,
          (st) => st === 'done',
        );
        tally.record('review submitLabel signal: annotator', name, bySignal);
        if (bySignal.kind === 'stored')
          expected.push([`sig-${n}`, name, (row) => expect(lineageAnnotators(row.lineage)).toEqual([s])]);

        const note = await signalOutcome(
          h,
          'submitLabel',
          { taskId: `note-${n}`, label: 'stay', annotator: 'bob', note: s },
          `note-${n}`,
          (st) => st === 'done',
        );
        tally.record('review submitLabel signal: note', name, note);
        // An empty note is no note.
        if (note.kind === 'stored')
          expected.push([
            `note-${n}`,
            name,
            (row) => expect(row.lineage?.notes).toBe(s === '' ? undefined : `bob: ${s}`),
          ]);
      }

      // claimTask with a hostile annotator id: a separate queue, so the leases do not hold other tasks.
      const claimModel = `${modelId}-claim`;
      const claims = await startQueue(
        stack,
        store,
        claimModel,
        HOSTILE.map((_, i) => `c-${i}`),
      );
      for (const [name, s] of HOSTILE) {
        let outcome: Outcome;
        try {
          const r = await claims.executeUpdate(claimTask, { args: [{ annotator: s }] });
          if (r.task) {
            expect(r.task.lease.annotator).toBe(s);
            outcome = { kind: 'stored' };
          } else outcome = { kind: 'rejected', reason: `${r.reason}: ${r.detail}` };
        } catch (err) {
          if (!(err instanceof WorkflowUpdateFailedError)) throw err;
          outcome = { kind: 'rejected', reason: (err.cause as Error | undefined)?.message ?? err.message };
        }
        tally.record('review claimTask: annotator', name, outcome);
      }

      // The CLI's client functions: a model id that cannot name a queue is refused before Temporal.
      for (const [name, s] of HOSTILE) {
        for (const call of [
          () => claimNextTask(stack.client, s, { annotator: 'alice' }),
          () =>
            submitReviewLabel(
              stack.client,
              s,
              { taskId: 't', label: 'churn', annotator: 'alice' },
              { store },
            ),
          () => reviewQueueStats(stack.client, s),
        ]) {
          const err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(CliError);
          const message = (err as CliError).message;
          expect(message).toMatch(/^model id ".*": model id must be/);
          expect(message).not.toContain('\n');
          expect(message.length).toBeLessThan(300);
          tally.record('review CLI functions: model id', name, { kind: 'rejected', reason: message });
        }
      }
      // …and with the real model id and a hostile annotator, they answer like the update does.
      const viaCli = await claimNextTask(stack.client, claimModel, { annotator: 'a\u202Eb' });
      expect(viaCli.task?.lease.annotator ?? viaCli.reason).toBeDefined();

      // What `review stats`, `review list` and `review next` print of these queues: every hostile
      // annotator id, label, class and note shown escaped and cut, never acting on the terminal.
      const printed = [
        formatReviewStats(await reviewQueueStats(stack.client, modelId), `review-${modelId}`),
        formatReviewStats(await reviewQueueStats(stack.client, claimModel), `review-${claimModel}`),
        formatTaskList(await listReviewTasks(stack.client, claimModel, { statuses: ['claimed'] })),
        formatTaskList(await listReviewTasks(stack.client, modelId, { statuses: ['pending', 'done'] })),
        ...(viaCli.task ? [formatClaimedTask(viaCli.task, claimModel)] : []),
      ].join('\n');
      expect(printed).toMatch(/\\u202e|\\u001b/);
      const raw = [...printed].filter((c) => {
        const n = c.codePointAt(0)!;
        return (n < 0x20 && n !== 0x0a) || (n >= 0x7f && n <= 0x9f) || (n >= 0x202a && n <= 0x202e);
      });
      expect(raw).toEqual([]);
      for (const line of printed.split('\n')) expect(line.length).toBeLessThan(2000);

      // Nothing was lost: every accepted label is stored, byte for byte; the queue still answers.
      const rows = await waitFor(
        () => humanLabels(store, modelId),
        (r) => expected.every(([taskId]) => r.some((row) => row.lineage?.taskId === taskId)),
        'every accepted label in the store',
      );
      for (const [taskId, , check] of expected) check(rows.find((row) => row.lineage?.taskId === taskId)!);
      const stats: ReviewStats = await h.query(reviewStats);
      expect(stats.flushFailures).toBe(0);
      expect((await h.describe()).status.name).toBe('RUNNING');
      expect((await claims.describe()).status.name).toBe('RUNNING');
    });
    await expectContained(store, parent);
  });
});

// --- serve ----------------------------------------------------------------------------------------

describe('hostile strings: serve', () => {
  test('as feature values and names, request, entity and slice values, and paths: 200 stored as sent or 4xx with the field', async () => {
    const { store, parent } = isolatedStore();
    const rng = createRng(1);
    const rows = Array.from({ length: 400 }, () => {
      const usage = rng.normal();
      return { features: { usage, plan: ['basic', 'pro'][rng.int(2)] }, label: usage < 0 ? 'churn' : 'stay' };
    });
    const registry = new ModelRegistry(store);
    await registry.registerVersion({
      modelId: 'churn',
      version: 'v1',
      artifact: trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1 } }),
      manifest: {
        createdAt: '2026-06-01T00:00:00.000Z',
        trainer: 'logistic-adam',
        trainingData: [],
        codeVersion: 'test',
        blessing: {
          blessed: true,
          reasons: ['test'],
          comparedTo: null,
          testSetKey: null,
          decidedAt: '2026-06-01T00:00:00.000Z',
          checks: [],
        },
      },
    });
    await registry.promote({ modelId: 'churn', version: 'v1', actor: 'test', reason: 'setup' });
    const serving = await createServingApp({
      store,
      modelId: 'churn',
      logFlushMs: 60_000,
      now: () => new Date('2026-06-15T12:00:00.000Z'),
    });
    const server = await startServer({ app: serving, port: 0 });
    const stored: Array<[string, (row: PredictionRow) => void]> = [];
    const post = async (body: unknown) => {
      const res = await fetch(`${server.url}/predict`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const record = (
      target: string,
      name: string,
      r: { status: number; json: Record<string, unknown> },
      check: (row: PredictionRow) => void,
      id: string,
    ) => {
      if (r.status === 200) {
        stored.push([id, check]);
        tally.record(target, name, { kind: 'stored' });
      } else {
        expect([400, 413, 422]).toContain(r.status);
        expect(typeof r.json.field).toBe('string');
        tally.record(target, name, {
          kind: 'rejected',
          reason: `${r.status} ${r.json.field}: ${r.json.message}`,
        });
      }
    };
    try {
      for (const [i, [name, s]] of HOSTILE.entries()) {
        const value = await post({ requestId: `v-${i}`, features: { usage: 1, plan: s } });
        record(
          'serve /predict: feature value',
          name,
          value,
          (row) => expect(row.features.plan).toBe(s),
          `v-${i}`,
        );
        const key = await post({ requestId: `k-${i}`, features: { usage: 1, plan: 'pro', [s]: 1 } });
        // A key of '' is refused (400); one that is a model feature cannot occur here.
        if (key.status === 200) expect(key.json.ignoredFeatures).toEqual([s]);
        record('serve /predict: feature name', name, key, (row) => expect(row.features[s]).toBe(1), `k-${i}`);
        const requestId = await post({ requestId: s, features: { usage: 1, plan: 'pro' } });
        record('serve /predict: request id', name, requestId, (row) => expect(row.requestId).toBe(s), s);
        const entity = await post({
          requestId: `e-${i}`,
          entityId: s,
          slices: { [s]: s },
          features: { usage: 1, plan: 'pro' },
        });
        record(
          'serve /predict: entity id, slice',
          name,
          entity,
          (row) => expect([row.entityId, row.slices?.[s]]).toEqual([s, s]),
          `e-${i}`,
        );
      }
      // The URL: there is no model id in it, and no path reaches anything but the routes.
      for (const p of [
        '/predict/../../etc/passwd',
        '/../x',
        '/predict%00',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/status/..%2F..%2Fx',
      ]) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.request(`${server.url}${p}`, { method: 'GET', agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        });
        expect({ p, status }).toEqual({ p, status: 404 });
        tally.record('serve URL path', p, { kind: 'rejected', reason: '404 Not Found' });
      }
    } finally {
      await server.close();
    }
    const logged: PredictionRow[] = [];
    for await (const info of store.list('logs/churn/predictions/'))
      for await (const { line } of readLines(store, info.key)) {
        const r = parseLine(line, PredictionRowSchema);
        expect(r.ok).toBe(true);
        if (r.ok) logged.push(r.row);
      }
    for (const [id, check] of stored) {
      const matches = logged.filter((row) => row.requestId === id);
      expect({ id: short(id), rows: matches.length }).toEqual({ id: short(id), rows: 1 });
      check(matches[0]);
    }
    expect(logged).toHaveLength(stored.length);
    await expectContained(store, parent);
  });
});

// --- CLI --------------------------------------------------------------------------------------------

describe('hostile strings: CLI --model', () => {
  test('serve and review refuse a model id that is not one, in one line naming it', async () => {
    const { store, parent, root } = isolatedStore();
    for (const [name, s] of HOSTILE) {
      for (const args of [
        ['serve', '--model', s, '--port', '0'],
        ['review', 'stats', '--model', s],
      ]) {
        const res = await runCli({ LOOPKEEPER_STORE: `file://${root}` }, ...args);
        expect({ args: args.slice(0, 2), name, code: res.code }).toEqual({
          args: args.slice(0, 2),
          name,
          code: 64,
        });
        const err = res.err.trim();
        expect(err.split('\n')).toHaveLength(1);
        expect(err.length).toBeLessThan(400);
        expect(err).toMatch(/--model|model id/);
        // Control characters and direction overrides are shown escaped, not sent to the terminal.
        expect([...err].filter((c) => c.charCodeAt(0) < 0x20 || c === '\u202e')).toEqual([]);
        tally.record(`CLI ${args[0]} ${args[0] === 'serve' ? '' : args[1]} --model`.trim(), name, {
          kind: 'rejected',
          reason: err,
        });
      }
    }
    expect(await expectContained(store, parent)).toEqual([]);
  });
});
