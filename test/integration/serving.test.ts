import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ModelArtifact } from '../../src/ml/model';
import { scoreFeatures, trainArtifact } from '../../src/ml/model';
import { transformBatch, transform } from '../../src/ml/feature-pipeline';
import { matrixRow } from '../../src/ml/matrix';
import { createRng } from '../../src/ml/rng';
import { canaryShare } from '../../src/policy/canary-analysis';
import { parseLine } from '../../src/schemas/parse-line';
import type { Features, PredictionRow } from '../../src/schemas/records';
import { PredictionRowSchema } from '../../src/schemas/records';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import { ModelRegistry } from '../../src/storage/model-registry';
import { readLines } from '../../src/storage/ndjson';
import type { ServingApp } from '../../src/serving/app';
import { createServingApp } from '../../src/serving/app';
import { bearerCheck } from '../../src/serving/auth';
import { startServer } from '../../src/serving/server';
import { tempFileStore } from '../support/temporal';

const POLL_MS = 100;
const NOW = new Date('2026-06-15T12:00:00.000Z');
const COUNTRIES = ['US', 'DE', 'UK'];
const PLANS = ['basic', 'pro', 'enterprise'];

interface Row {
  features: Features;
  label: string;
}

/** Churn-like rows: low usage, basic plans and support tickets raise churn. */
function churnRows(n: number, seed: number): Row[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const usage = rng.normal();
    const tickets = rng.int(6);
    const plan = PLANS[rng.int(3)];
    const z = -1 - 1.5 * usage + 0.4 * tickets + (plan === 'basic' ? 0.8 : 0);
    return {
      features: {
        usage: rng.next() < 0.03 ? null : usage,
        tickets,
        plan,
        country: rng.next() < 0.03 ? null : COUNTRIES[rng.int(3)],
        autopay: rng.next() < 0.6,
      },
      label: rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay',
    };
  });
}

/** Requests as production sends them, including the skew the pipeline must absorb and count. */
function servingFeatures(n: number, seed: number): Features[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    usage: i % 17 === 0 ? 'NaN' : i % 13 === 0 ? null : rng.normal() * 2,
    tickets: rng.int(8),
    plan: PLANS[rng.int(3)],
    // The essay's skew: full country names the training vocabulary never saw.
    country: i % 5 === 0 ? 'United States' : COUNTRIES[rng.int(3)],
    autopay: rng.next() < 0.5,
  }));
}

/** Every feature the test models read, so a request is complete; `partial` overrides. */
function full(partial: Features): Features {
  return { usage: 0, tickets: 1, plan: 'basic', country: 'US', autopay: false, ...partial };
}

let v1: ModelArtifact;
let v2: ModelArtifact;
let v1Rows: Row[];

beforeAll(() => {
  v1Rows = churnRows(3000, 1);
  v1 = trainArtifact({ rows: v1Rows, positiveClass: 'churn', options: { seed: 1 } });
  v2 = trainArtifact({ rows: churnRows(3000, 2), positiveClass: 'churn', options: { seed: 2, l2: 0.01 } });
});

const blessing = {
  blessed: true,
  reasons: ['test'],
  comparedTo: null,
  testSetKey: null,
  decidedAt: '2026-06-01T00:00:00.000Z',
  checks: [],
};

async function registerModels(store: BlobStore): Promise<ModelRegistry> {
  const registry = new ModelRegistry(store);
  for (const [version, artifact, day] of [
    ['v1', v1, '01'],
    ['v2', v2, '02'],
  ] as const) {
    await registry.registerVersion({
      modelId: 'churn',
      version,
      artifact,
      manifest: {
        createdAt: `2026-06-${day}T00:00:00.000Z`,
        trainer: 'logistic-adam',
        trainingData: [],
        codeVersion: 'test',
        blessing,
      },
    });
  }
  await registry.promote({ modelId: 'churn', version: 'v1', actor: 'test', reason: 'setup' });
  return registry;
}

type ServingHealthJson = ReturnType<ServingApp['health']>;

interface Answer {
  requestId: string;
  modelVersion: string;
  predictedLabel: string;
  scores: Record<string, number>;
  role: string;
}

async function post(
  serving: ServingApp,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await serving.app.request('/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function predictBatch(serving: ServingApp, instances: unknown[]): Promise<Answer[]> {
  const { status, json } = await post(serving, { instances });
  expect(status).toBe(200);
  return json.predictions as Answer[];
}

async function metricsText(serving: ServingApp): Promise<string> {
  const res = await serving.app.request('/metrics');
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
  return res.text();
}

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const parts = labelText.split(',');
    if (wanted.every((w) => parts.includes(w))) return Number(line.slice(line.indexOf('}') + 2));
  }
  return undefined;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every prediction log line under logs/churn/predictions/, parsed the way ingest parses them. */
async function loggedRows(
  store: BlobStore,
): Promise<{ keys: string[]; rows: PredictionRow[]; bad: string[] }> {
  const keys: string[] = [];
  for await (const info of store.list('logs/churn/predictions/')) keys.push(info.key);
  const rows: PredictionRow[] = [];
  const bad: string[] = [];
  for (const key of keys) {
    for await (const { line } of readLines(store, key)) {
      const parsed = parseLine(line, PredictionRowSchema);
      if (parsed.ok) rows.push(parsed.row);
      else bad.push(parsed.reason);
    }
  }
  return { keys, rows, bad };
}

describe('serving app (hono, file store)', () => {
  let store: BlobStore;
  let registry: ModelRegistry;
  let serving: ServingApp;

  beforeEach(async () => {
    store = tempFileStore().store;
    registry = await registerModels(store);
    serving = await createServingApp({
      store,
      modelId: 'churn',
      aliasPollMs: POLL_MS,
      logFlushRows: 50,
      logFlushMs: 60_000,
      now: () => NOW,
    });
  });

  afterEach(async () => {
    await serving.close();
  });

  test('POST /predict: single and batch answers from the champion', async () => {
    const single = await post(serving, {
      requestId: 'r-1',
      entityId: 'u-1',
      features: full({ usage: -1.2, plan: 'basic', tickets: 3 }),
    });
    expect(single.status).toBe(200);
    expect(single.json).toMatchObject({ requestId: 'r-1', modelVersion: 'v1', role: 'champion' });
    expect(single.json.predictedLabel).toMatch(/^(churn|stay)$/);
    const scores = single.json.scores as Record<string, number>;
    expect(scores.churn + scores.stay).toBeCloseTo(1, 12);

    const generated = await post(serving, { features: full({ usage: 0 }) });
    expect(generated.json.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const batch = await predictBatch(serving, [
      { requestId: 'b-1', features: full({ usage: 1 }) },
      { requestId: 'b-2', features: full({ usage: -1 }), slices: { country: 'DE' } },
      { requestId: 'b-3', features: full({}) },
    ]);
    expect(batch.map((a) => [a.requestId, a.modelVersion, a.role])).toEqual([
      ['b-1', 'v1', 'champion'],
      ['b-2', 'v1', 'champion'],
      ['b-3', 'v1', 'champion'],
    ]);
    const health = await serving.app.request('/status');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      models: { champion: { version: 'v1' }, canary: null, shadow: null },
    });
  });

  test('invalid requests get 400 naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ requestId: 'x' }, 'features', /features: is required/],
      [{ features: [1, 2] }, 'features', /features: .*record/],
      [
        { features: { plan: { nested: true } } },
        'features.plan',
        /finite number, a string, a boolean or null/,
      ],
      [{ features: {}, requestId: 7 }, 'requestId', /requestId: .*string/],
      [{ instances: 'nope' }, 'instances', /array/],
      [{ instances: [] }, 'instances', /at least one/],
      [{ instances: [{ features: {} }, { entityId: 'u' }] }, 'instances.1.features', /is required/],
      ['{"features": {"usage": 1e999}}', 'features.usage', /finite number/],
      ['{"features": ', '(body)', /malformed JSON/],
      ['[1]', '(body)', /JSON object/],
    ];
    for (const [body, field, message] of cases) {
      const { status, json } = await post(serving, body);
      expect({ body, status, field: json.field }).toEqual({ body, status: 400, field });
      expect(json.message).toMatch(message);
    }
    const text = await metricsText(serving);
    expect(metricValue(text, 'loopkeeper_errors_total', { kind: 'invalid_request' })).toBe(cases.length);
    expect(metricValue(text, 'loopkeeper_requests_total', { role: 'champion' })).toBeUndefined();
  });

  test('unseen categories, missing values and "NaN" strings are imputed and counted in /metrics', async () => {
    // The policy lets requests leave out 'tickets' and 'autopay' (followed live, like the aliases).
    await store.put(
      layout.policy('churn'),
      JSON.stringify({ serving: { allowMissing: ['tickets', 'autopay'] } }),
    );
    await serving.refresh();
    const answers = await predictBatch(serving, [
      { features: { usage: 0.5, plan: 'pro', country: 'United States' } },
      { features: { usage: 0.5, plan: 'pro', country: 'Germany' } },
      { features: { usage: 'NaN', plan: 'pro', country: 'US' } },
      { features: { usage: null, plan: 'pro', country: 'US' } },
    ]);
    expect(answers).toHaveLength(4);
    const text = await metricsText(serving);
    const labels = { model: 'churn', version: 'v1' };
    expect(metricValue(text, 'loopkeeper_unknown_category_total', { ...labels, feature: 'country' })).toBe(2);
    expect(metricValue(text, 'loopkeeper_type_mismatch_total', { ...labels, feature: 'usage' })).toBe(1);
    // 'tickets' and 'autopay' are absent from every request; 'usage' is null once.
    expect(metricValue(text, 'loopkeeper_missing_total', { ...labels, feature: 'usage' })).toBe(1);
    expect(metricValue(text, 'loopkeeper_missing_total', { ...labels, feature: 'tickets' })).toBe(4);
    expect(metricValue(text, 'loopkeeper_transform_rows_total', labels)).toBe(4);
    expect(metricValue(text, 'loopkeeper_requests_total', { role: 'champion', version: 'v1' })).toBe(4);
    expect(text).toContain('loopkeeper_predict_latency_seconds_bucket{model="churn",le="+Inf"} 1');
    expect(metricValue(text, 'loopkeeper_model_load_failures_total', { model: 'churn' })).toBe(0);
  });

  test('pipeline parity: training-time vectors, the loaded artifact and HTTP scores agree exactly', async () => {
    // v1 is linear: the registry reads it back as the same linear artifact.
    const loaded = (await registry.loadArtifact('churn', 'v1')) as ModelArtifact;
    expect(loaded).toEqual(v1);
    // The training-time transform of the training rows equals the loaded pipeline's transform.
    const trainingX = transformBatch(
      v1.pipeline,
      v1Rows.map((r) => r.features),
    );
    v1Rows.slice(0, 300).forEach((r, i) => {
      expect(Array.from(transform(loaded.pipeline, r.features))).toEqual(Array.from(matrixRow(trainingX, i)));
    });
    // Serving-time requests (with skew) scored over HTTP equal scoreFeatures of the loaded artifact.
    const features = [...v1Rows.slice(0, 100).map((r) => r.features), ...servingFeatures(300, 9)];
    const answers = await predictBatch(
      serving,
      features.map((f, i) => ({ requestId: `p-${i}`, features: f })),
    );
    answers.forEach((answer, i) => {
      const expected = scoreFeatures(loaded, features[i]);
      expect(answer.scores).toEqual(expected.scores); // exact: JSON round-trips doubles
      expect(answer.predictedLabel).toBe(expected.predictedLabel);
      expect(scoreFeatures(v1, features[i])).toEqual(expected);
    });
  });

  test('follows promote and rollback without a restart (latency is measured by the rollback bench)', async () => {
    const version = async () => (await post(serving, { features: full({ usage: 0 }) })).json.modelVersion;
    expect(await version()).toBe('v1');

    await registry.promote({ modelId: 'churn', version: 'v2', actor: 'test', reason: 'promote v2' });
    await waitFor(async () => (await version()) === 'v2', 5000);

    await registry.rollback({ modelId: 'churn', actor: 'test', reason: 'roll back' });
    await waitFor(async () => (await version()) === 'v1', 5000);
    const health = (await (await serving.app.request('/status')).json()) as {
      aliases: Record<string, string>;
    };
    expect(health.aliases).toEqual({ champion: 'v1', previous: 'v2', 'rolled-back': 'v2' });
  });

  test('canary serves a sticky share close to its weight', async () => {
    await registry.setRollout({
      modelId: 'churn',
      config: { canary: { version: 'v2', weightPercent: 20, salt: 'rollout-1' } },
      actor: 'test',
      reason: 'canary 20%',
    });
    await serving.refresh();
    const instances = Array.from({ length: 3000 }, (_, i) => ({
      entityId: `user-${i}`,
      features: full({ usage: i % 7 }),
    }));
    const first: Answer[] = [];
    for (let i = 0; i < instances.length; i += 1000)
      first.push(...(await predictBatch(serving, instances.slice(i, i + 1000))));
    const canary = first.filter((a) => a.role === 'canary');
    expect(canary.length / first.length).toBeGreaterThan(0.17);
    expect(canary.length / first.length).toBeLessThan(0.23);
    first.forEach((a, i) => {
      expect(a.role).toBe(canaryShare(`user-${i}`, 20, 'rollout-1'));
      expect(a.modelVersion).toBe(a.role === 'canary' ? 'v2' : 'v1');
    });
    // Sticky: the same entities land on the same side again.
    const second = await predictBatch(serving, instances.slice(0, 1000));
    expect(second.map((a) => a.role)).toEqual(first.slice(0, 1000).map((a) => a.role));
    const text = await metricsText(serving);
    expect(metricValue(text, 'loopkeeper_requests_total', { role: 'canary', version: 'v2' })).toBe(
      canary.length + second.filter((a) => a.role === 'canary').length,
    );
    expect(metricValue(text, 'loopkeeper_canary_weight_percent', { model: 'churn' })).toBe(20);
  });

  test('shadow answers are logged with role shadow but never served', async () => {
    await registry.setRollout({
      modelId: 'churn',
      config: { shadow: { version: 'v2', sampleShare: 1 } },
      actor: 'test',
      reason: 'shadow v2',
    });
    await serving.refresh();
    const features = servingFeatures(40, 3);
    const answers = await predictBatch(
      serving,
      features.map((f, i) => ({ requestId: `s-${i}`, features: f })),
    );
    expect(new Set(answers.map((a) => `${a.role}/${a.modelVersion}`))).toEqual(new Set(['champion/v1']));
    await serving.close();
    const { rows, bad } = await loggedRows(store);
    expect(bad).toEqual([]);
    const shadow = rows.filter((r) => r.role === 'shadow');
    expect(shadow).toHaveLength(40);
    expect(new Set(shadow.map((r) => r.modelVersion))).toEqual(new Set(['v2']));
    shadow.forEach((row) => {
      const i = Number(row.requestId.slice(2));
      expect(row.scores).toEqual(scoreFeatures(v2, features[i]).scores);
    });
    expect(rows.filter((r) => r.role === 'champion')).toHaveLength(40);
  });

  test('a broken candidate keeps the champion serving and shows a load failure', async () => {
    const v3 = trainArtifact({ rows: churnRows(500, 3), positiveClass: 'churn', options: { seed: 3 } });
    await registry.registerVersion({
      modelId: 'churn',
      version: 'v3',
      artifact: v3,
      manifest: {
        createdAt: '2026-06-03T00:00:00.000Z',
        trainer: 'logistic-adam',
        trainingData: [],
        codeVersion: 'test',
        blessing,
      },
    });
    await store.put(layout.modelVersion('churn', 'v3'), '{"pipeline": "corrupted by a bad disk"}');
    // The registry refuses to promote an artifact that does not load, naming it...
    await expect(
      registry.promote({ modelId: 'churn', version: 'v3', actor: 'test', reason: 'promote broken' }),
    ).rejects.toThrow(/models\/churn\/versions\/v3\/model\.json .*invalid model artifact/);
    // ...so here the disk goes bad right after the registry's check passed.
    jest.spyOn(registry, 'loadModelFiles').mockResolvedValueOnce({ artifact: v3 });
    await registry.promote({ modelId: 'churn', version: 'v3', actor: 'test', reason: 'promote broken' });
    await waitFor(async () => serving.health().model_load_failures.total > 0, 5000);

    const answer = await post(serving, { features: full({ usage: 1 }) });
    expect(answer.json.modelVersion).toBe('v1');
    const res = await serving.app.request('/status');
    expect(res.status).toBe(200);
    const health = (await res.json()) as ReturnType<ServingApp['health']>;
    expect(health.status).toBe('degraded');
    expect(health.models.champion?.version).toBe('v1');
    expect(health.model_load_failures.pending).toEqual([{ role: 'champion', version: 'v3' }]);
    expect(health.model_load_failures.recent[0]).toMatchObject({ role: 'champion', version: 'v3' });
    expect(health.model_load_failures.recent[0].error).toMatch(/models\/churn\/versions\/v3\/model.json/);
    expect(
      metricValue(await metricsText(serving), 'loopkeeper_model_load_failures_total', { model: 'churn' }),
    ).toBe(1);

    // Fixing the alias (rollback) clears the degraded state.
    await registry.rollback({ modelId: 'churn', actor: 'test', reason: 'v3 is broken' });
    await waitFor(async () => serving.health().status === 'ok', 5000);
  });

  test('every response is counted once, by path and status', async () => {
    expect((await post(serving, { features: full({ usage: 1 }) })).status).toBe(200);
    expect((await post(serving, { features: full({ usage: 2 }) })).status).toBe(200);
    expect((await post(serving, { features: 'x' })).status).toBe(400);
    // No Content-Length here (app.request): the streaming body limit decides.
    expect((await post(serving, { features: { pad: 'x'.repeat(1 << 20) } })).status).toBe(413);
    expect((await serving.app.request('/predict')).status).toBe(404);
    expect((await serving.app.request('/nope')).status).toBe(404);
    expect((await serving.app.request('/healthz')).status).toBe(200);
    await metricsText(serving);
    const text = await metricsText(serving);
    const responses = (path: string, status: string) =>
      metricValue(text, 'loopkeeper_http_responses_total', { model: 'churn', path, status });
    expect(responses('/predict', '200')).toBe(2);
    expect(responses('/predict', '400')).toBe(1);
    expect(responses('/predict', '413')).toBe(1);
    expect(responses('/predict', '404')).toBe(1);
    expect(responses('other', '404')).toBe(1);
    expect(responses('/healthz', '200')).toBe(1);
    // A scrape counts itself once it has been answered.
    expect(responses('/metrics', '200')).toBe(1);
    expect(metricValue(text, 'loopkeeper_errors_total', { kind: 'invalid_request' })).toBe(2);
    expect(metricValue(text, 'loopkeeper_requests_total', { role: 'champion', version: 'v1' })).toBe(2);
  });

  test('close() flushes every prediction as valid PredictionRow parts under logs/{model}/predictions/', async () => {
    const features = servingFeatures(120, 5);
    const instances = features.map((f, i) => ({
      requestId: `l-${i}`,
      entityId: `u-${i % 9}`,
      features: f,
      slices: { plan: String(f.plan) },
    }));
    // logFlushRows is 50: each full batch of 50 writes a part; the last 20 rows wait for close().
    for (const [from, to, parts] of [
      [0, 50, 1],
      [50, 100, 2],
      [100, 120, 2],
    ] as const) {
      await predictBatch(serving, instances.slice(from, to));
      await waitFor(async () => serving.health().predictionLog.partsWritten === parts, 2000);
    }
    expect(serving.health().predictionLog).toMatchObject({ bufferedRows: 20, rowsWritten: 100 });
    await serving.close();
    expect(serving.health().predictionLog).toMatchObject({
      bufferedRows: 0,
      rowsWritten: 120,
      writeFailures: 0,
    });

    const { keys, rows, bad } = await loggedRows(store);
    expect(bad).toEqual([]);
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      expect(key).toMatch(/^logs\/churn\/predictions\/date=2026-06-15\/part-\d{8}T\d{9}Z-\d+-\d{6}\.ndjson$/);
    }
    expect(rows.map((r) => r.requestId).sort()).toEqual(features.map((_, i) => `l-${i}`).sort());
    const row = rows.find((r) => r.requestId === 'l-5')!;
    expect(row).toMatchObject({
      timestamp: NOW.toISOString(),
      modelId: 'churn',
      modelVersion: 'v1',
      entityId: 'u-5',
      role: 'champion',
      features: features[5],
      slices: { plan: String(features[5].plan) },
    });
    expect(row.latencyMs).toBeGreaterThanOrEqual(0);
    // After close the app refuses instead of dropping predictions on the floor.
    expect((await post(serving, { features: {} })).status).toBe(503);
  });
});

describe('startServer (real port)', () => {
  test('serves on 127.0.0.1 and drains + flushes on close', async () => {
    const { store } = tempFileStore();
    await registerModels(store);
    const serving = await createServingApp({
      store,
      modelId: 'churn',
      aliasPollMs: POLL_MS,
      logFlushMs: 60_000,
    });
    const server = await startServer({ app: serving, port: 0, hostname: '127.0.0.1' });
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          fetch(`${server.url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ requestId: `http-${i}`, features: full({ usage: i / 10 }) }),
          }).then((r) => r.json() as Promise<Answer>),
        ),
      );
      expect(results.map((r) => r.modelVersion)).toEqual(Array(20).fill('v1'));
      // With a Content-Length the header alone refuses an oversized body.
      const tooLarge = await fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: { pad: 'x'.repeat(1 << 20) } }),
      });
      expect(tooLarge.status).toBe(413);
      expect(await tooLarge.json()).toMatchObject({ error: 'invalid_request', field: '(body)' });
    } finally {
      await server.close();
    }
    const { rows } = await loggedRows(store);
    expect(rows.map((r) => r.requestId).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `http-${i}`).sort(),
    );
  });
});

describe('startServer: busyPollMs', () => {
  const post = (url: string, i: number) =>
    fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestId: `poll-${i}`, features: full({ usage: i / 10 }) }),
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('keeps the event loop polling after each request, answers as usual, and stops on close', async () => {
    const { store } = tempFileStore();
    await registerModels(store);
    const serving = await createServingApp({ store, modelId: 'churn', aliasPollMs: POLL_MS });
    const server = await startServer({ app: serving, port: 0, hostname: '127.0.0.1', busyPollMs: 50 });
    let afterClose: number;
    try {
      expect(server.busyPollTurns).toBe(0);
      const res = await post(server.url, 1);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Answer).modelVersion).toBe('v1');
      await sleep(10);
      const during = server.busyPollTurns;
      expect(during).toBeGreaterThan(0);
      // Polling ends once 50 ms pass without a request.
      await sleep(150);
      const settled = server.busyPollTurns;
      await sleep(30);
      expect(server.busyPollTurns).toBe(settled);
      // The next request starts it again.
      expect((await post(server.url, 2)).status).toBe(200);
      await sleep(10);
      expect(server.busyPollTurns).toBeGreaterThan(settled);
    } finally {
      await server.close();
      afterClose = server.busyPollTurns;
    }
    await sleep(30);
    expect(server.busyPollTurns).toBe(afterClose);
    const { rows } = await loggedRows(store);
    expect(rows.map((r) => r.requestId).sort()).toEqual(['poll-1', 'poll-2']);
  });

  test('is off by default: requests never poll', async () => {
    const { store } = tempFileStore();
    await registerModels(store);
    const serving = await createServingApp({ store, modelId: 'churn', aliasPollMs: POLL_MS });
    const server = await startServer({ app: serving, port: 0, hostname: '127.0.0.1' });
    try {
      expect((await post(server.url, 1)).status).toBe(200);
      await sleep(10);
      expect(server.busyPollTurns).toBe(0);
    } finally {
      await server.close();
    }
  });

  test('a negative or non-finite busyPollMs rejects before listening, naming the option', async () => {
    const { store } = tempFileStore();
    await registerModels(store);
    const serving = await createServingApp({ store, modelId: 'churn', aliasPollMs: POLL_MS });
    try {
      await expect(
        startServer({ app: serving, port: 0, hostname: '127.0.0.1', busyPollMs: -1 }),
      ).rejects.toThrow(/busyPollMs must be a finite number >= 0, got -1/);
    } finally {
      await serving.close();
    }
  });
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over node:http with the body in the given chunks (no Content-Length: chunked). */
function rawRequest(
  url: string,
  options: { method?: string; path?: string; chunks?: (string | Buffer)[]; length?: boolean },
): Promise<RawAnswer> {
  const { method = 'POST', path = '/predict', chunks = [], length = true } = options;
  const body = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      {
        method,
        agent: false,
        headers: {
          'content-type': 'application/json',
          ...(length ? { 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }),
        );
      },
    );
    req.on('error', reject);
    if (length) req.end(body);
    else {
      // Separate writes: the body arrives in several chunked-encoding chunks.
      for (const c of chunks) req.write(c);
      req.end();
    }
  });
}

describe('startServer: POST /predict on node:http answers as the hono route does', () => {
  let store: BlobStore;
  let serving: ServingApp;
  let server: Awaited<ReturnType<typeof startServer>>;

  beforeEach(async () => {
    store = tempFileStore().store;
    await registerModels(store);
    serving = await createServingApp({
      store,
      modelId: 'churn',
      aliasPollMs: POLL_MS,
      logFlushMs: 60_000,
      maxBatch: 5,
      maxBodyBytes: 4096,
      now: () => NOW,
      // Each body goes to both paths with its request id: no 409 for the second (tested on its own).
      requestIdWindow: 0,
    });
    server = await startServer({ app: serving, port: 0, hostname: '127.0.0.1' });
  });

  afterEach(async () => {
    await server.close();
  });

  test('the same status and body for accepted, refused and odd bodies', async () => {
    const bodies: (string | Buffer)[] = [
      JSON.stringify({ requestId: 'p-1', entityId: 'u-1', features: full({ usage: 0.5, plan: 'basic' }) }),
      JSON.stringify({
        instances: [1, 2, 3].map((i) => ({
          requestId: `p-b${i}`,
          features: full({ usage: i, country: 'DE' }),
        })),
      }),
      JSON.stringify({ requestId: 'p-2', features: { plan: 'Ünïcödé ✓', usage: 'NaN' }, slices: { c: 'x' } }),
      // A byte-order mark: a web Request's text() drops it, and so must the fast path.
      `\uFEFF${JSON.stringify({ requestId: 'p-bom', features: full({ usage: 1 }) })}`,
      // A malformed UTF-8 byte becomes U+FFFD on both paths.
      Buffer.concat([Buffer.from('{"requestId":"p-'), Buffer.from([0xff]), Buffer.from('","features":{}}')]),
      JSON.stringify({ features: 'x' }),
      // Incomplete (422), with a feature no model reads (200, listed), a repeated id within a batch (409
      // even with no window: it is one request).
      JSON.stringify({ requestId: 'p-m', features: { usage: 1 } }),
      JSON.stringify({ requestId: 'p-x', features: full({ extra: 1 }) }),
      JSON.stringify({
        instances: [
          { requestId: 'd', features: full({}) },
          { requestId: 'd', features: full({}) },
        ],
      }),
      JSON.stringify({ instances: [{ features: {} }, { features: { ...full({}), usage: [1] } }] }),
      JSON.stringify({ instances: Array.from({ length: 6 }, () => ({ features: {} })) }),
      JSON.stringify({ instances: [] }),
      '{"features": {"usage": 1e999}}',
      '{"features": ',
      '[]',
      '',
      JSON.stringify({ features: { pad: 'x'.repeat(5000) } }),
    ];
    for (const body of bodies) {
      const viaHono = await serving.app.request('/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const honoBody = await viaHono.text();
      const viaNode = await rawRequest(server.url, { chunks: [body] });
      const label = String(body).slice(0, 40);
      expect({ label, status: viaNode.status, body: viaNode.body }).toEqual({
        label,
        status: viaHono.status,
        body: honoBody,
      });
      expect(viaNode.headers['content-type']).toBe('application/json');
      expect(viaHono.headers.get('content-type')).toBe('application/json');
    }
    // A query string does not change the route (hono matches on the path alone).
    const withQuery = await rawRequest(server.url, {
      path: '/predict?explain=1',
      chunks: [JSON.stringify({ requestId: 'p-q', features: full({ usage: 1 }) })],
    });
    expect(withQuery.status).toBe(200);
    expect(JSON.parse(withQuery.body)).toMatchObject({ requestId: 'p-q', modelVersion: 'v1' });
  });

  test('chunked bodies: assembled across chunks, refused with 413 past maxBodyBytes', async () => {
    const text = JSON.stringify({ requestId: 'c-1', features: full({ plan: 'ü-basic', usage: 2 }) });
    const bytes = Buffer.from(text);
    const split = bytes.indexOf(0xc3) + 1; // inside the two bytes of "ü"
    const assembled = await rawRequest(server.url, {
      length: false,
      chunks: [bytes.subarray(0, split), bytes.subarray(split, split + 5), bytes.subarray(split + 5)],
    });
    const direct = await serving.app.request('/predict', { method: 'POST', body: text });
    expect(assembled.status).toBe(200);
    expect(assembled.body).toBe(await direct.text());

    const big = await rawRequest(server.url, {
      length: false,
      chunks: Array.from({ length: 6 }, () => 'x'.repeat(1000)),
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ error: 'invalid_request', field: '(body)' });
    // The connection is closed rather than reused with the rest of the refused body unread.
    expect(big.headers.connection).toBe('close');
  });

  test('other routes go to hono; every response is counted once; an aborted upload is not predicted', async () => {
    // An upload cut off mid-body: nothing to answer, nothing predicted or logged.
    await new Promise<void>((resolve) => {
      const req = http.request(`${server.url}/predict`, {
        method: 'POST',
        agent: false,
        headers: { 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"requestId":"aborted","features":{');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    expect((await rawRequest(server.url, { chunks: [JSON.stringify({ features: full({}) })] })).status).toBe(
      200,
    );
    expect((await rawRequest(server.url, { chunks: ['{'] })).status).toBe(400);
    expect((await rawRequest(server.url, { method: 'GET' })).status).toBe(404);
    expect((await rawRequest(server.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const metrics = await rawRequest(server.url, { method: 'GET', path: '/metrics' });
    expect(metrics.status).toBe(200);
    const responses = (path: string, status: string) =>
      metricValue(metrics.body, 'loopkeeper_http_responses_total', { model: 'churn', path, status });
    expect(responses('/predict', '200')).toBe(1);
    expect(responses('/predict', '400')).toBe(1);
    expect(responses('/predict', '404')).toBe(1);
    expect(responses('/healthz', '200')).toBe(1);
    expect(metricValue(metrics.body, 'loopkeeper_requests_total', { role: 'champion', version: 'v1' })).toBe(
      1,
    );
    await server.close();
    const { rows } = await loggedRows(store);
    expect(rows.map((r) => r.requestId)).not.toContain('aborted');
    expect(rows).toHaveLength(1);
  });
});

describe('trust at the edges (issue 16)', () => {
  let store: BlobStore;
  let serving: ServingApp | undefined;

  beforeEach(() => {
    store = tempFileStore().store;
    serving = undefined;
  });
  afterEach(async () => {
    await serving?.close();
  });

  const open = async (extra: Partial<Parameters<typeof createServingApp>[0]> = {}) =>
    (serving = await createServingApp({
      store,
      modelId: 'churn',
      aliasPollMs: POLL_MS,
      logFlushMs: 60_000,
      now: () => NOW,
      ...extra,
    }));

  test('no champion: every 503 says why (unknown model, nothing promoted, failed load); /readyz says not ready', async () => {
    let app = await open({ modelId: 'churnn' });
    let res = await app.app.request('/predict', { method: 'POST', body: JSON.stringify({ features: {} }) });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: 'no_model',
      message: expect.stringMatching(
        /^no champion to serve: model "churnn" has no models\/churnn\/aliases.json in the store: no version of it was ever promoted/,
      ),
    });
    expect(app.noChampionReason()).toMatch(/loopkeeper models list --model churnn/);
    const ready = await app.app.request('/readyz');
    expect([ready.status, await ready.text()]).toEqual([503, 'no_model']);
    const status = await app.app.request('/status');
    expect(status.status).toBe(503);
    expect(((await status.json()) as { reason: string }).reason).toMatch(/aliases.json/);
    await app.close();

    // Registered, but the champion alias was unset.
    const registry = await registerModels(store);
    await registry.setAlias({
      modelId: 'churn',
      alias: 'champion',
      version: null,
      actor: 't',
      reason: 'unset',
    });
    app = await open();
    res = await app.app.request('/predict', { method: 'POST', body: JSON.stringify({ features: full({}) }) });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /model "churn" has no champion alias: promote a version \(`loopkeeper models promote --model churn --version <v>`\)/,
    );
    await app.close();

    // The registry refuses to point an alias at a corrupt artifact, so the disk goes bad after the move.
    await registry.setAlias({
      modelId: 'churn',
      alias: 'champion',
      version: 'v1',
      actor: 't',
      reason: 'set',
    });
    await store.put(layout.modelVersion('churn', 'v1'), '{"pipeline": 1}');
    app = await open();
    res = await app.app.request('/predict', { method: 'POST', body: JSON.stringify({ features: full({}) }) });
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^no champion to serve: champion v1 failed to load: .*models\/churn\/versions\/v1\/model.json/,
    );
  });

  test('a request without the features the model reads is refused with 422 naming them; null is accepted', async () => {
    await registerModels(store);
    const app = await open();
    const cases: Array<[unknown, string, RegExp]> = [
      [
        { features: {} },
        'features',
        /^missing "autopay", "country", "plan", "tickets", "usage": the model reads them/,
      ],
      [
        { features: { usage_days: 3, Plan: 'basic' } },
        'features',
        /^missing "autopay", "country", "plan", "tickets", "usage"/,
      ],
      [
        { features: { ...full({}), tickets: undefined } },
        'features',
        /^missing "tickets": the model reads it/,
      ],
      [
        { instances: [{ features: full({}) }, { features: { usage: 1 } }] },
        'instances.1.features',
        /^missing "autopay", "country", "plan", "tickets"/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const { status, json } = await post(app, body);
      expect({ status, error: json.error, field: json.field }).toEqual({
        status: 422,
        error: 'missing_features',
        field,
      });
      expect(json.message).toMatch(message);
      expect(json.message).toMatch(/serving.allowMissing in config\/churn\/policy.json/);
    }
    // Explicit nulls say "unknown": imputed and counted, as for logged training data.
    const nulls = await post(app, {
      features: { usage: null, tickets: null, plan: null, country: null, autopay: null },
    });
    expect(nulls.status).toBe(200);
    const text = await metricsText(app);
    expect(metricValue(text, 'loopkeeper_errors_total', { kind: 'missing_features' })).toBe(cases.length);
    expect(metricValue(text, 'loopkeeper_requests_total', { role: 'champion', version: 'v1' })).toBe(1);
    // Nothing refused was logged.
    await app.close();
    expect((await loggedRows(store)).rows).toHaveLength(1);
  });

  test('features no model reads are answered and listed as ignored, or refused under the policy; a bad policy keeps the last good one', async () => {
    await registerModels(store);
    const app = await open();
    const ok = await post(app, { requestId: 'x-1', features: full({ tenure_days: 4, 'a/../b': 'x' }) });
    expect(ok.status).toBe(200);
    expect(ok.json.ignoredFeatures).toEqual(['tenure_days', 'a/../b']);
    const plain = await post(app, { features: full({}) });
    expect(plain.json).not.toHaveProperty('ignoredFeatures');
    expect(metricValue(await metricsText(app), 'loopkeeper_ignored_features_total', { model: 'churn' })).toBe(
      1,
    );

    await store.put(
      layout.policy('churn'),
      JSON.stringify({ serving: { unknownFeatures: 'refuse', allowMissing: ['autopay'] } }),
    );
    await app.refresh();
    const refused = await post(app, { features: full({ tenure_days: 4 }) });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ error: 'unknown_features', field: 'features' });
    expect(refused.json.message).toMatch(
      /^unknown "tenure_days": no served model reads it \(serving.unknownFeatures is "refuse"/,
    );
    const { autopay: _autopay, ...withoutAutopay } = full({});
    expect((await post(app, { features: withoutAutopay })).status).toBe(200);

    // A broken policy.json does not change what is accepted: the last good policy stays, /status says why.
    await store.put(layout.policy('churn'), JSON.stringify({ serving: { allowMising: ['usage'] } }));
    await app.refresh();
    expect((await post(app, { features: full({ tenure_days: 4 }) })).status).toBe(422);
    const status = (await (await app.app.request('/status')).json()) as ServingHealthJson;
    expect(status.status).toBe('degraded');
    expect(status.policy.error).toMatch(/config\/churn\/policy.json.*allowMising/);
    expect(status.policy.serving).toEqual({ unknownFeatures: 'refuse', allowMissing: ['autopay'] });
  });

  test('a client request id is answered once: a repeat gets 409 and logs nothing; the window is bounded', async () => {
    await registerModels(store);
    const app = await open({ requestIdWindow: 3 });
    expect((await post(app, { requestId: 'r-1', features: full({}) })).status).toBe(200);
    const again = await post(app, { requestId: 'r-1', features: full({ usage: 2 }) });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ error: 'duplicate_request_id', field: 'requestId' });
    expect(again.json.message).toMatch(
      /^request id "r-1" was already answered by this server: outcomes join the first/,
    );
    const batch = await post(app, {
      instances: [
        { requestId: 'r-2', features: full({}) },
        { requestId: 'r-1', features: full({}) },
      ],
    });
    expect([batch.status, batch.json.field]).toEqual([409, 'instances.1.requestId']);
    // r-2 was refused with its batch, so it is still free; generated ids are never refused.
    expect((await post(app, { requestId: 'r-2', features: full({}) })).status).toBe(200);
    expect((await post(app, { features: full({}) })).status).toBe(200);
    expect((await post(app, { requestId: 'r-3', features: full({}) })).status).toBe(200);
    expect((await post(app, { requestId: 'r-4', features: full({}) })).status).toBe(200);
    // Three newer ids pushed r-1 out of the window.
    expect((await post(app, { requestId: 'r-1', features: full({}) })).status).toBe(200);
    expect(
      metricValue(await metricsText(app), 'loopkeeper_errors_total', { kind: 'duplicate_request_id' }),
    ).toBe(2);
    await app.close();
    const ids = (await loggedRows(store)).rows.map((r) => r.requestId);
    expect(ids.filter((id) => id.startsWith('r-')).sort()).toEqual(['r-1', 'r-1', 'r-2', 'r-3', 'r-4']);
  });

  test('bearer token: /predict, /status and /metrics need it on both paths; /healthz is liveness only; binds 127.0.0.1 by default', async () => {
    await registerModels(store);
    const token = 'secret-token-1234';
    const app = await open({ token });
    const errors = jest.spyOn(console, 'error');
    const server = await startServer({ app, port: 0 });
    try {
      expect(server.host).toBe('127.0.0.1');
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const body = JSON.stringify({ features: full({}) });
      const send = (path: string, method: string, authorization?: string) =>
        fetch(`${server.url}${path}`, {
          method,
          headers: authorization ? { authorization } : {},
          ...(method === 'POST' ? { body } : {}),
        });
      for (const path of ['/predict', '/status', '/metrics']) {
        const method = path === '/predict' ? 'POST' : 'GET';
        for (const authorization of [
          undefined,
          'Bearer wrong',
          `Bearer ${token}x`,
          token,
          `Basic ${token}`,
        ]) {
          const res = await send(path, method, authorization);
          expect({ path, authorization, status: res.status }).toEqual({ path, authorization, status: 401 });
          expect(res.headers.get('www-authenticate')).toBe('Bearer');
          const text = await res.text();
          expect(JSON.parse(text)).toMatchObject({ error: 'unauthorized' });
          expect(text).not.toContain(token);
        }
        expect((await send(path, method, `Bearer ${token}`)).status).toBe(200);
        expect((await send(path, method, `bearer ${token}`)).status).toBe(200);
      }
      // The hono route (hosts that mount the app) asks for it too.
      expect((await app.app.request('/predict', { method: 'POST', body })).status).toBe(401);
      const health = await send('/healthz', 'GET');
      expect([health.status, await health.text()]).toEqual([200, 'ok']);
      const ready = await send('/readyz', 'GET');
      expect([ready.status, await ready.text()]).toEqual([200, 'ready']);
      expect(JSON.stringify(errors.mock.calls)).not.toContain(token);
    } finally {
      errors.mockRestore();
      await server.close();
    }
    expect(() => bearerCheck(' padded')).toThrow(/printable ASCII, without whitespace/);
    expect(() => bearerCheck('')).toThrow(/non-empty printable/);
  });
});
