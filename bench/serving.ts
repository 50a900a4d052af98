import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { trainAndEvaluate } from '../src/ml/train-and-evaluate';
import { createServingApp } from '../src/serving/app';
import { startServer } from '../src/serving/server';
import { generateHistory } from '../src/simulate/generate';
import { FileBlobStore } from '../src/storage/file-blob-store';
import { ModelRegistry } from '../src/storage/model-registry';

/** Measured requests (after WARMUP), connections, and the budget this bench checks. */
const REQUESTS = 20_000;
const WARMUP = 2_000;
const CONNECTIONS = 32;
const BUDGET_P99_MS = 5;
const BUDGET_RPS = 5_000;

/**
 * The load generator, run in its own process so the client neither competes with the server for its
 * event loop nor shows up in the server's CPU time (process.cpuUsage below is the server alone). Plain
 * JS passed to `node -e`, so the bench runs the same from ts-jest and from dist.
 */
const CLIENT = `
const http = require('node:http');
process.once('message', ({ port, bodies, warmup, requests, connections }) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  function once(body) {
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
          : reject(new Error('HTTP ' + res.statusCode)));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  async function run(total, latencies) {
    let next = 0;
    async function user() {
      while (next < total) {
        const i = next++;
        const ms = await once(bodies[i % bodies.length]);
        if (latencies) latencies[i] = ms;
      }
    }
    await Promise.all(Array.from({ length: connections }, user));
  }
  (async () => {
    await run(warmup, null);
    process.send({ phase: 'measuring' });
    const latencies = new Array(requests);
    const started = performance.now();
    await run(requests, latencies);
    const elapsedMs = performance.now() - started;
    agent.destroy();
    process.send({ latencies, elapsedMs }, () => process.exit(0));
  })().catch((err) => process.send({ error: String((err && err.stack) || err) }, () => process.exit(1)));
});
`;

interface ClientResult {
  latencies: Float64Array;
  elapsedMs: number;
  /** Server CPU time (user + system) spent while the measured requests ran. */
  serverCpuMs: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function runClient(port: number, bodies: string[]): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let cpu: NodeJS.CpuUsage | undefined;
    child.on('message', (m: { phase?: string; latencies?: number[]; elapsedMs?: number; error?: string }) => {
      if (m.phase === 'measuring') {
        cpu = process.cpuUsage();
        return;
      }
      const used = process.cpuUsage(cpu);
      if (m.error || !m.latencies || m.elapsedMs === undefined) reject(new Error(m.error ?? 'client failed'));
      else
        resolve({
          latencies: Float64Array.from(m.latencies),
          elapsedMs: m.elapsedMs,
          serverCpuMs: (used.user + used.system) / 1000,
        });
    });
    child.once('error', reject);
    child.send({ port, bodies, warmup: WARMUP, requests: REQUESTS, connections: CONNECTIONS });
  });
}

/**
 * Serves a churn model trained on simulated history over a real port (127.0.0.1) with prediction
 * logging on, fires single-instance /predict requests over keep-alive connections from a worker
 * thread, and prints p50/p99 latency, throughput and model load time against the budget.
 */
export async function benchServing(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-serving-'));
  const store = new FileBlobStore({ root: dir, uri: `file://${dir}` });
  try {
    const history = generateHistory(
      { name: 'concept-drift', seed: 7, start: '2026-06-01', rowsPerDay: 2000 },
      { days: 28 },
    );
    const trainStarted = performance.now();
    const trained = trainAndEvaluate({ rows: history, positiveClass: 'churn', options: { seed: 1 } });
    const trainMs = performance.now() - trainStarted;
    const registry = new ModelRegistry(store);
    const { version } = await registry.registerVersion({
      modelId: 'churn',
      artifact: trained.artifact,
      manifest: {
        ...trained.manifest,
        createdAt: new Date().toISOString(),
        trainingData: [],
        codeVersion: 'bench',
      },
    });
    await registry.updateManifest({
      modelId: 'churn',
      version,
      blessing: {
        blessed: true,
        reasons: ['bench'],
        comparedTo: null,
        testSetKey: null,
        decidedAt: new Date().toISOString(),
        checks: [],
      },
    });
    await registry.promote({ modelId: 'churn', version, actor: 'bench', reason: 'bench' });

    const appStarted = performance.now();
    const serving = await createServingApp({ store, modelId: 'churn' });
    const startupMs = performance.now() - appStarted;
    const loadMs = serving.health().models.champion?.loadMs ?? NaN;
    const server = await startServer({ app: serving, port: 0, hostname: '127.0.0.1' });

    // Real request bodies: the simulator's feature records, each with its own entity and request id.
    const bodies = history
      .slice(-5000)
      .map((row, i) =>
        JSON.stringify({ requestId: `bench-${i}`, entityId: `user-${i % 1000}`, features: row.features }),
      );
    let result: ClientResult;
    try {
      result = await runClient(server.port, bodies);
    } finally {
      await server.close();
    }
    const sorted = Float64Array.from(result.latencies).sort();
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    const rps = (REQUESTS / result.elapsedMs) * 1000;
    const log = serving.health().predictionLog;
    const ok = p99 < BUDGET_P99_MS && rps >= BUDGET_RPS;
    const cpuPerRequestUs = (result.serverCpuMs * 1000) / REQUESTS;
    console.log(
      `serving /predict ${REQUESTS.toLocaleString('en-US')} single requests, ${CONNECTIONS} keep-alive connections, logging on: ` +
        `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms, ` +
        `${Math.round(rps).toLocaleString('en-US')} req/s ` +
        `(budget p99 < ${BUDGET_P99_MS} ms, >= ${BUDGET_RPS.toLocaleString('en-US')} req/s: ${ok ? 'met' : 'MISSED'})`,
    );
    console.log(
      `serving server CPU ${cpuPerRequestUs.toFixed(0)} us/request (one core: ~${Math.round(1e6 / cpuPerRequestUs).toLocaleString('en-US')} req/s); ` +
        `machine: ${os.cpus().length} cpus, load average ${os.loadavg()[0].toFixed(1)} (other work competes for them)`,
    );
    console.log(
      `serving model ${version} (${trained.artifact.pipeline.nOutputs} inputs, trained on ${trained.split.trainRows} rows in ${trainMs.toFixed(0)} ms): ` +
        `load ${loadMs.toFixed(1)} ms, app start ${startupMs.toFixed(1)} ms; ` +
        `${log.rowsWritten.toLocaleString('en-US')} predictions logged in ${log.partsWritten} parts, ${log.writeFailures} write failures`,
    );
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchServing().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
