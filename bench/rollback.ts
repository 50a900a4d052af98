import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { trainArtifact } from '../src/ml/model';
import { createRng } from '../src/ml/rng';
import type { Features } from '../src/schemas/records';
import { createServingApp } from '../src/serving/app';
import { startServer } from '../src/serving/server';
import { FileBlobStore } from '../src/storage/file-blob-store';
import { ModelRegistry } from '../src/storage/model-registry';

/** Budget: from the rollback command to 100 % of answers from the previous model. */
const BUDGET_MS = 2000;
/** Concurrent keep-alive clients firing /predict. */
const CONNECTIONS = 8;
/** Hard bounds on the bench itself. */
const MAX_REQUESTS = 200_000;
const MAX_MS = 15_000;
/** Once every answer comes from the previous model, keep checking this long. */
const CONFIRM_MS = 1000;

function rows(n: number, seed: number): Array<{ features: Features; label: string }> {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const usage = rng.normal();
    const tickets = rng.int(6);
    const z = -1 - 1.5 * usage + 0.4 * tickets;
    return { features: { usage, tickets }, label: rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay' };
  });
}

/**
 * `loopkeeper models rollback` under load: a real server on 127.0.0.1 serving v2 (promoted over v1),
 * clients firing /predict continuously, then `registry.rollback` + clearing the rollout config (what the
 * CLI does). Prints the time from the command until every answer comes from v1 (the default 1 s alias
 * poll plus nothing: v1 is loaded from the store, it was never redeployed).
 */
export async function benchRollback(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-rollback-'));
  const store = new FileBlobStore({ root: dir, uri: `file://${dir}` });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    const registry = new ModelRegistry(store);
    const blessing = {
      blessed: true,
      reasons: ['bench'],
      comparedTo: null,
      testSetKey: null,
      decidedAt: new Date().toISOString(),
      checks: [],
    };
    for (const [version, seed] of [
      ['v1', 1],
      ['v2', 2],
    ] as const) {
      await registry.registerVersion({
        modelId: 'churn',
        version,
        artifact: trainArtifact({ rows: rows(2000, seed), positiveClass: 'churn', options: { seed } }),
        manifest: {
          createdAt: new Date().toISOString(),
          trainer: 'logistic-adam',
          trainingData: [],
          codeVersion: 'bench',
          blessing,
        },
      });
      await registry.promote({ modelId: 'churn', version, actor: 'bench', reason: 'bench setup' });
    }
    const serving = await createServingApp({ store, modelId: 'churn' });
    const server = await startServer({ app: serving, port: 0, hostname: '127.0.0.1' });
    const bodies = rows(1000, 3).map((r, i) => JSON.stringify({ entityId: `u-${i}`, features: r.features }));

    const post = (body: string) =>
      new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: server.port,
            path: '/predict',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
            res.on('end', () =>
              res.statusCode === 200
                ? resolve((JSON.parse(text) as { modelVersion: string }).modelVersion)
                : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    let sent = 0;
    /** When the rollback command started (set once traffic has settled on v2). */
    const mark: { commandAt?: number } = {};
    /** Send time of the last answer not from v1 after the command. */
    let lastOldSentAt: number | undefined;
    let firstNewAt: number | undefined;
    const started = performance.now();
    const done = () =>
      sent >= MAX_REQUESTS ||
      performance.now() - started > MAX_MS ||
      (firstNewAt !== undefined && performance.now() - Math.max(firstNewAt, lastOldSentAt ?? 0) > CONFIRM_MS);
    async function client(): Promise<void> {
      while (!done()) {
        const sentAt = performance.now();
        const version = await post(bodies[sent++ % bodies.length]);
        if (mark.commandAt === undefined || sentAt < mark.commandAt) continue;
        if (version === 'v1') firstNewAt ??= performance.now();
        else lastOldSentAt = Math.max(lastOldSentAt ?? 0, sentAt);
      }
    }
    const clients = Promise.all(Array.from({ length: CONNECTIONS }, client));
    // Let traffic settle on v2 first.
    await new Promise((r) => setTimeout(r, 500));
    const commandAt = performance.now();
    mark.commandAt = commandAt;
    await registry.rollback({ modelId: 'churn', actor: 'bench', reason: 'bench rollback' });
    // As `loopkeeper models rollback` does: a canary or shadow left routed would undo the rollback.
    const rollout = await registry.getRollout('churn');
    if (rollout.config.canary || rollout.config.shadow) {
      await registry.updateRollout({
        modelId: 'churn',
        update: () => ({}),
        actor: 'bench',
        reason: 'bench rollback',
      });
    }
    const commandMs = performance.now() - commandAt;
    await clients;
    await server.close();

    if (firstNewAt === undefined) throw new Error(`no answer from v1 within ${MAX_MS} ms of the rollback`);
    // Every request sent after the last old answer's send time was answered by v1.
    const switchMs = Math.max(firstNewAt, lastOldSentAt ?? commandAt) - commandAt;
    console.log(
      `rollback v2 → v1 under load: 100% of answers from v1 ${switchMs.toFixed(0)} ms after the command ` +
        `(registry writes ${commandMs.toFixed(0)} ms, alias poll 1000 ms; ${sent} requests) — budget ≤ ${BUDGET_MS} ms: ` +
        (switchMs <= BUDGET_MS ? 'OK' : 'OVER BUDGET'),
    );
  } finally {
    agent.destroy();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
