/**
 * What a person sees from outside the workflows, on the real dev server: search attributes that list a
 * model's workflows by kind and outcome (a refused candidate and a rolled-back rollout without opening
 * them), one-line summaries, alert webhooks (signed, with an idempotency key; a dead webhook never fails
 * the cycle) and the worker's Prometheus endpoint with loopkeeper's counters beside the SDK's.
 *
 * The worker's Runtime must be installed with the metrics exporter before anything else creates it, so
 * the test support (which installs a plain one on import) is imported only after that.
 */
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import { alertEventId } from '../../src/alerts/alert-event';
import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import { createServingApp } from '../../src/serving/app';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeJson } from '../../src/storage/ndjson';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import type { RolloutResult } from '../../src/workflows/rollout';
import { rolloutWorkflowId } from '../../src/workflows/rollout-ids';
import { installWorkerRuntime } from '../../src/workers/worker';
import { runCli } from '../support/cli';
import { freePort } from '../support/services';
import type * as SupportModule from '../support/temporal';

type Support = typeof SupportModule;

let support: Support;
let metricsUrl: string;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
let receiver: http.Server;
let receiverUrl: string;
let deadUrl: string;
const SECRET = 'a-shared-secret-for-the-test';
let configFile: string;

beforeAll(async () => {
  const port = await freePort();
  metricsUrl = installWorkerRuntime({ metricsPort: port, level: 'WARN' }).metricsUrl!;
  support = await import('../support/temporal');
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/loopkeeper?token=t0k3n`;
  // Nothing listens here: every delivery is refused (ECONNREFUSED).
  deadUrl = `http://127.0.0.1:${await freePort()}/dead`;
  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-obs-')), 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      alerts: {
        webhooks: [
          {
            url: receiverUrl,
            events: ['candidate-refused', 'rollout-rolled-back', 'review-backlog'],
            hmacSecret: SECRET,
          },
          { url: deadUrl, events: ['candidate-refused'] },
        ],
        // Any pending task is overdue: the cycle's backlog check alerts.
        reviewBacklogHours: 0.000001,
        maxAttempts: 2,
      },
    }),
  );
});

afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

/** Lists workflow ids matching a visibility query, polling (visibility is eventually consistent). */
async function listIds(client: Client, query: string, expected: string[], ms = 30_000): Promise<string[]> {
  const until = Date.now() + ms;
  let ids: string[] = [];
  for (;;) {
    ids = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    ids.sort();
    if (expected.every((id) => ids.includes(id)) || Date.now() > until) return ids;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one series (all labels given must match), 0 when absent. */
function series(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('a refused candidate: listed by model, kind and outcome, summarised, alerted (signed), counted; a dead webhook does not fail the cycle', async () => {
  const { store } = support.tempFileStore();
  const model = 'obsref';
  // An impossible absolute bound: the first candidate is refused by the gate.
  await writeJson(store, `config/${model}/policy.json`, {
    retrain: { positiveClass: 'churn' },
    gate: { rules: [{ metric: 'f1', minAbsolute: 0.999 }] },
  });
  await writeSimulatedLogs(store, {
    modelId: model,
    config: { name: 'concept-drift', seed: 5, start: '2026-06-01', days: 14, rowsPerDay: 300 },
    historyDays: 14,
  });
  const before = await scrape();
  expect(series(before, 'loopkeeper_rows_ingested_total', { model })).toBe(0);

  await support.withWorker(
    store,
    async ({ client, taskQueue }) => {
      const workflowId = `cycle-${model}-2026-06-08_2026-06-15`;
      // Started without search attributes, as a plain client would: the workflow upserts them.
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId,
        args: [{ modelId: model, window: { from: '2026-06-08', to: '2026-06-15' } }],
      });
      const st = (await handle.result()) as CycleStatus;
      expect(st.state).toBe('completed');
      expect(st.retrain?.evaluation.blessed).toBe(false);
      const retrainId = `${workflowId}-retrain`;

      expect(
        await listIds(client, `LoopkeeperModel='${model}' AND LoopkeeperOutcome='refused'`, [
          workflowId,
          retrainId,
        ]),
      ).toEqual([workflowId, retrainId].sort());
      expect(
        await listIds(client, `LoopkeeperModel='${model}' AND LoopkeeperKind='cycle'`, [workflowId]),
      ).toEqual([workflowId]);
      expect(
        await listIds(client, `LoopkeeperKind='retrain' AND LoopkeeperModel='${model}'`, [retrainId]),
      ).toEqual([retrainId]);
      // The review queue was started by the cycle's routing with its attributes set at start.
      expect(
        await listIds(client, `LoopkeeperModel='${model}' AND LoopkeeperKind='review'`, [`review-${model}`]),
      ).toEqual([`review-${model}`]);

      // The summary is in the memo (a list shows it without a query) and in the current details.
      const d = await handle.describe();
      expect(st.retrain?.evaluation.reasons.join('; ')).toMatch(/f1 [0-9.]+ misses the minimum 0\.999/);
      expect(d.memo?.summary).toMatch(
        new RegExp(`^${model} 2026-06-08\\.\\.14: refused \\(.+\\), .*\\d+ review tasks$`),
      );
      const listed = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId='${retrainId}'` })) listed.push(wf);
      expect(listed[0]?.memo?.summary).toMatch(new RegExp(`^${model} v-[0-9a-f]+: refused \\(`));

      // The alert: Slack-compatible text, the structured event, HMAC over the body, idempotency key.
      const refused = received.filter((r) => r.headers['x-loopkeeper-event'] === 'candidate-refused');
      expect(refused).toHaveLength(1);
      const [r] = refused;
      const body = JSON.parse(r.body) as { text: string; loopkeeper: Record<string, unknown> };
      expect(body.text).toMatch(
        new RegExp(`^\\[loopkeeper\\] ${model}: v-[0-9a-f]+ refused by the promotion gate`),
      );
      expect(body.loopkeeper).toMatchObject({ event: 'candidate-refused', modelId: model, workflowId });
      const id = alertEventId({ workflowId, event: 'candidate-refused', occurrence: '' });
      expect(r.headers['idempotency-key']).toBe(id);
      expect(r.headers['x-loopkeeper-signature']).toBe(
        `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`,
      );
      // The backlog alert went out too (every pending task is older than the threshold).
      expect(received.some((x) => x.headers['x-loopkeeper-event'] === 'review-backlog')).toBe(true);

      // The dead webhook: recorded in the store and in the cycle's messages, the cycle completed anyway.
      const failure = JSON.parse((await store.get(`alerts/${model}/failed/${id}.json`)).toString('utf8')) as {
        failed: Array<{ target: string; attempts: number; error: string }>;
      };
      expect(failure.failed).toEqual([
        expect.objectContaining({
          target: deadUrl,
          attempts: 2,
          error: expect.stringMatching(/ECONNREFUSED/),
        }),
      ]);
      expect(
        st.messages.some((m) => m.includes('alert candidate-refused not delivered') && m.includes(deadUrl)),
      ).toBe(true);
      // No URL query (where tokens live) is ever recorded.
      expect(JSON.stringify(st)).not.toContain('t0k3n');

      // Scraped while the worker runs (the SDK's runtime, and its exporter, stop with the last worker).
      const after = await scrape();
      expect(series(after, 'loopkeeper_rows_ingested_total', { model })).toBeGreaterThan(0);
      expect(series(after, 'loopkeeper_retrains_total', { model, outcome: 'refused' })).toBe(1);
      expect(series(after, 'loopkeeper_candidates_total', { model, verdict: 'refused' })).toBe(1);
      expect(series(after, 'loopkeeper_rows_routed_total', { model, route: 'human-review' })).toBeGreaterThan(
        0,
      );
      expect(series(after, 'loopkeeper_alerts_delivered_total', { model, event: 'candidate-refused' })).toBe(
        1,
      );
      expect(
        series(after, 'loopkeeper_alert_delivery_failures_total', { model, event: 'candidate-refused' }),
      ).toBe(1);
      expect(series(after, 'loopkeeper_review_tasks', { model, state: 'open' })).toBeGreaterThan(0);
      // The SDK's own metrics come from the same endpoint.
      expect(after).toMatch(/^temporal_workflow_completed\{/m);
    },
    { LOOPKEEPER_CONFIG: configFile },
  );
}, 600_000);

function rows(n: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const usage = rng.normal();
    const z = -1 - 1.5 * usage;
    return { features: { usage }, label: rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay' };
  });
}

test('a rolled-back rollout is listed as such by model and outcome, alerted and counted', async () => {
  const { store } = support.tempFileStore();
  const model = 'obsroll';
  const registry = new ModelRegistry(store);
  const v1 = trainArtifact({ rows: rows(1000, 1), positiveClass: 'churn', options: { seed: 1 } });
  const blessing = {
    blessed: true,
    reasons: ['test'],
    comparedTo: 'v1',
    testSetKey: null,
    decidedAt: '2026-06-01T00:00:00.000Z',
    checks: [],
  };
  for (const [version, day] of [
    ['v1', '01'],
    ['v2', '02'],
  ] as const)
    await registry.registerVersion({
      modelId: model,
      version,
      artifact: { ...v1, threshold: version === 'v1' ? 0.5 : 0.4 },
      manifest: {
        createdAt: `2026-06-${day}T00:00:00.000Z`,
        trainer: 'logistic-adam',
        trainingData: [],
        codeVersion: 'test',
        blessing,
      },
    });
  await registry.promote({ modelId: model, version: 'v1', actor: 'test', reason: 'setup' });
  // The candidate's artifact is corrupt: the fleet cannot load it and the rollout rolls back.
  await store.put(`models/${model}/versions/v2/model.json`, '{"not": "a model"');
  const app = await createServingApp({
    store,
    modelId: model,
    aliasPollMs: 100,
    logFlushMs: 250,
    fleetReport: { instanceId: 'serve-a', intervalMs: 200 },
    loadRetryMs: 60_000,
  });
  try {
    await support.withWorker(
      store,
      async ({ client, taskQueue }) => {
        const workflowId = rolloutWorkflowId(model);
        const handle = await client.workflow.start('rolloutModel', {
          taskQueue,
          workflowId,
          args: [
            {
              modelId: model,
              candidateVersion: 'v2',
              config: {
                shadow: { minDurationMs: 300, minRequests: 50, sampleShare: 1 },
                steps: [50, 100],
                stepIntervalMs: 300,
                minSamplesPerStep: 50,
                analysisIntervalMs: 150,
                maxStepWaitMs: 30_000,
                approvalTimeoutMs: 60_000,
                analysis: { minRequests: 50, minLatencyDeltaMs: 1000 },
              },
            },
          ],
        });
        const done = handle.result() as Promise<RolloutResult>;
        let finished = false;
        void done.finally(() => (finished = true)).catch(() => undefined);
        for (let i = 0; !finished && i < 20_000; i++) {
          await app.app.request('/predict', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              requestId: `r-${i}`,
              entityId: `u-${i % 500}`,
              features: { usage: (i % 40) / 10 - 2 },
            }),
          });
          if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
        }
        const result = await done;
        expect(result.outcome).toBe('rolled-back');

        expect(
          await listIds(client, `LoopkeeperModel='${model}' AND LoopkeeperOutcome='rolled-back'`, [
            workflowId,
          ]),
        ).toEqual([workflowId]);
        expect(
          await listIds(client, `LoopkeeperKind='rollout' AND LoopkeeperModel='${model}'`, [workflowId]),
        ).toEqual([workflowId]);
        // Not listed under any other outcome.
        expect(
          await listIds(client, `LoopkeeperModel='${model}' AND LoopkeeperOutcome='promoted'`, [], 0),
        ).toEqual([]);
        expect((await handle.describe()).memo?.summary).toMatch(new RegExp(`^${model} v2: rolled-back \\(`));

        const alert = received.find(
          (r) => r.headers['x-loopkeeper-event'] === 'rollout-rolled-back' && r.body.includes(`"${model}"`),
        );
        expect(alert).toBeDefined();
        expect(JSON.parse(alert!.body)).toMatchObject({
          text: expect.stringMatching(new RegExp(`^\\[loopkeeper\\] ${model}: rollout of v2 rolled-back`)),
          loopkeeper: { event: 'rollout-rolled-back', workflowId, details: { outcome: 'rolled-back' } },
        });
        const text = await scrape();
        expect(series(text, 'loopkeeper_rollbacks_total', { model, outcome: 'rolled-back' })).toBe(1);
        expect(series(text, 'loopkeeper_rollouts_total', { model, outcome: 'rolled-back' })).toBe(1);
      },
      { LOOPKEEPER_CONFIG: configFile },
    );
  } finally {
    await app.close();
  }
}, 600_000);

test("an installation's own namespace gets the search attributes when claimed; `workflows list` answers by model and outcome", async () => {
  const { store } = support.tempFileStore();
  const model = 'obsempty';
  // The model has a policy but no logs at all: its cycle fails at ingest (UnknownModel).
  await writeJson(store, `config/${model}/policy.json`, {});
  await support.withInstalledWorker(store, async ({ client, taskQueue, config }) => {
    const { namespace } = config.temporal;
    expect(namespace).toMatch(/^loopkeeper-/);
    const attrs = await client.connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(attrs.customAttributes ?? {})).toEqual(
      expect.arrayContaining(['LoopkeeperModel', 'LoopkeeperKind', 'LoopkeeperOutcome']),
    );
    const env = {
      TEMPORAL_ADDRESS: support.testTemporalAddress(),
      LOOPKEEPER_TASK_QUEUE: taskQueue,
      LOOPKEEPER_STORE: store.uri,
    };
    const run = await runCli(
      env,
      'cycle',
      'run',
      '--model',
      model,
      '--window',
      '2026-06-08..2026-06-15',
      '--wait',
    );
    expect(run.code).toBe(2);
    expect(run.out).toContain('stage ingest failed: unknown model');
    // The worker's log events are JSON lines with the workflow's identity and the model.
    const failedEvent = run.err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.msg === 'Activity failed');
    expect(failedEvent).toMatchObject({
      level: 'WARN',
      activityType: 'ingestWindow',
      workflowId: `cycle-${model}-2026-06-08_2026-06-15`,
      runId: expect.any(String),
      attempt: 1,
      model,
      error: { type: 'UnknownModel', message: expect.stringContaining('unknown model') },
    });
    const workflowId = `cycle-${model}-2026-06-08_2026-06-15`;
    // The CLI set the static summary at start (shown by the Temporal UI and `temporal workflow describe`).
    expect(
      await client.workflow
        .getHandle(workflowId)
        .describe()
        .then((d) => d.staticSummary()),
    ).toBe(`${model} 2026-06-08..14: continuous-learning cycle`);
    let listed: Array<{ workflowId: string; kind: string; outcome: string; summary: string }> = [];
    for (let i = 0; i < 120 && listed.length === 0; i++) {
      const out = await runCli(env, 'workflows', 'list', '--model', model, '--outcome', 'failed', '--json');
      expect(out.code).toBe(0);
      listed = JSON.parse(out.out) as typeof listed;
      if (listed.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(listed).toEqual([
      expect.objectContaining({
        workflowId,
        kind: 'cycle',
        outcome: 'failed',
        summary: expect.stringMatching(
          new RegExp(`^${model} 2026-06-08\\.\\.14: failed at ingest \\(unknown model`),
        ),
      }),
    ]);
    const human = await runCli(env, 'workflows', 'list', '--model', model);
    expect(human.out).toMatch(
      new RegExp(`cycle +failed +${workflowId}\\n +${model} 2026-06-08\\.\\.14: failed at ingest`),
    );
    const bad = await runCli(env, 'workflows', 'list', '--model', model, '--outcome', "x' OR 1=1");
    expect(bad.code).toBe(64);
  });
}, 300_000);
