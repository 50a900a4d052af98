import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSendAlert } from '../../src/activities/send-alert';
import type { SendAlertResult } from '../../src/activities/send-alert';
import { alertEventId, alertPayload, AlertEventSchema } from '../../src/alerts/alert-event';
import { deliverWebhook, redactUrl } from '../../src/alerts/deliver-webhook';
import { ConfigError, loadConfig } from '../../src/config';
import { tempFileStore } from '../support/temporal';

/** A local receiver answering each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = []) {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { got, url, close: () => new Promise((r) => server.close(r)) };
}

const event = AlertEventSchema.parse({
  event: 'rollout-rolled-back',
  modelId: 'churn',
  workflowId: 'rollout-churn',
  text: 'rollout of v2 rolled-back at 10%: canary 10% analysis rollback',
  at: '2026-06-15T00:00:00.000Z',
  details: { weightPercent: 10 },
});
const fast = { maxAttempts: 3, backoffMs: () => 10 };

function configFile(alerts: unknown): Record<string, string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-alerts-')), 'config.json');
  fs.writeFileSync(file, JSON.stringify({ alerts }));
  return { LOOPKEEPER_CONFIG: file };
}

describe('alerts.webhooks in the configuration', () => {
  test('a valid block is read, with defaults', () => {
    const cfg = loadConfig(
      configFile({ webhooks: [{ url: 'https://hooks.example/x', events: ['drift-alert'] }] }),
    );
    expect(cfg.alerts).toEqual({
      webhooks: [{ url: 'https://hooks.example/x', events: ['drift-alert'] }],
      reviewBacklogHours: 48,
      maxAttempts: 4,
    });
    expect(loadConfig({}).alerts.webhooks).toEqual([]);
  });

  test.each([
    [
      { webhooks: [{ url: 'https://h.example', events: ['drift-alert'], secret: 'x' }] },
      /alerts\.webhooks\[0\]\.secret: unknown key "secret"/,
    ],
    [{ webhooks: [{ url: 'ftp://h.example', events: ['drift-alert'] }] }, /url/],
    [{ webhooks: [{ url: 'https://h.example', events: ['drift'] }] }, /events/],
    [{ webhooks: [{ url: 'https://h.example', events: [] }] }, /at least one event/],
    [
      { webhooks: [{ url: 'https://h.example', events: ['drift-alert'], hmacSecret: 'short' }] },
      /16 characters/,
    ],
  ])('%j is refused, naming what is wrong', (alerts, why) => {
    expect(() => loadConfig(configFile(alerts))).toThrow(ConfigError);
    expect(() => loadConfig(configFile(alerts))).toThrow(why);
  });
});

test('the event id is stable per workflow, event and occurrence', () => {
  const id = alertEventId(event);
  expect(id).toMatch(/^lk-[0-9a-f]{32}$/);
  expect(alertEventId({ ...event })).toBe(id);
  expect(alertEventId({ ...event, workflowId: 'rollout-other' })).not.toBe(id);
  expect(alertEventId({ ...event, event: 'rollout-paused' })).not.toBe(id);
  expect(alertEventId({ ...event, occurrence: '2-7' })).not.toBe(id);
  expect(alertPayload(event)).toEqual({
    text: '[loopkeeper] churn: rollout of v2 rolled-back at 10%: canary 10% analysis rollback',
    loopkeeper: { id, ...event },
  });
});

describe('deliverWebhook', () => {
  test('POSTs JSON with the HMAC signature of the exact body and the idempotency key', async () => {
    const r = await receiver();
    try {
      const res = await deliverWebhook(
        { url: r.url, events: ['rollout-rolled-back'], hmacSecret: 's'.repeat(16) },
        alertPayload(event),
        fast,
      );
      expect(res).toEqual({ target: r.url, delivered: true, attempts: 1 });
      const [req] = r.got;
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['idempotency-key']).toBe(alertEventId(event));
      expect(req.headers['x-loopkeeper-signature']).toBe(
        `sha256=${createHmac('sha256', 's'.repeat(16)).update(req.body).digest('hex')}`,
      );
      expect(JSON.parse(req.body)).toEqual(alertPayload(event));
    } finally {
      await r.close();
    }
  });

  test('retries 5xx and 429 with the same idempotency key; a 4xx is final', async () => {
    const r = await receiver([503, 429, 200, 400]);
    try {
      const hook = { url: r.url, events: ['rollout-rolled-back' as const] };
      expect(await deliverWebhook(hook, alertPayload(event), fast)).toMatchObject({
        delivered: true,
        attempts: 3,
      });
      expect(new Set(r.got.map((g) => g.headers['idempotency-key']))).toEqual(new Set([alertEventId(event)]));
      expect(r.got.every((g) => g.headers['x-loopkeeper-signature'] === undefined)).toBe(true);
      expect(await deliverWebhook(hook, alertPayload(event), fast)).toEqual({
        target: r.url,
        delivered: false,
        attempts: 1,
        error: 'HTTP 400',
      });
    } finally {
      await r.close();
    }
  });

  test('a dead webhook gives up after maxAttempts; its result never shows the query (tokens)', async () => {
    const r = await receiver();
    await r.close();
    const res = await deliverWebhook(
      { url: `${r.url}?token=secret`, events: ['drift-alert'] },
      alertPayload(event),
      fast,
    );
    expect(res).toMatchObject({
      target: r.url,
      delivered: false,
      attempts: 3,
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(redactUrl('https://u:p@h.example/a/b?token=x#f')).toBe('https://h.example/a/b');
  });
});

test('sendAlert sends only to subscribed webhooks, records a dead one in the store, and skips those a retry already reached', async () => {
  const live = await receiver();
  const other = await receiver();
  const dead = await receiver();
  await dead.close();
  const { store } = tempFileStore();
  const config = loadConfig({
    LOOPKEEPER_STORE: store.uri,
    ...configFile({
      maxAttempts: 2,
      webhooks: [
        { url: live.url, events: ['rollout-rolled-back'] },
        { url: other.url, events: ['drift-alert'] },
        { url: dead.url, events: ['rollout-rolled-back', 'drift-alert'] },
      ],
    }),
  });
  try {
    const env = new MockActivityEnvironment();
    const result = (await env.run(createSendAlert({ store, config }), event)) as SendAlertResult;
    expect(live.got).toHaveLength(1);
    expect(other.got).toHaveLength(0);
    expect(result.deliveries.map((d) => [d.target, d.delivered])).toEqual([
      [live.url, true],
      [dead.url, false],
    ]);
    expect(result.failureKey).toBe(`alerts/churn/failed/${alertEventId(event)}.json`);
    const record = JSON.parse((await store.get(result.failureKey!)).toString('utf8')) as {
      failed: unknown[];
    };
    expect(record.failed).toEqual([expect.objectContaining({ target: dead.url, attempts: 2 })]);

    // A retried attempt (heartbeat says webhook 0 took it) does not send it again.
    const retry = new MockActivityEnvironment({ heartbeatDetails: { done: [0] }, attempt: 2 });
    await retry.run(createSendAlert({ store, config }), event);
    expect(live.got).toHaveLength(1);
    // Bad input is refused before any POST.
    await expect(
      env.run(createSendAlert({ store, config }), { ...event, event: 'nope' } as never),
    ).rejects.toThrow();
  } finally {
    await live.close();
    await other.close();
  }
});
