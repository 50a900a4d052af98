import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { activityRuns, startCluster } from './cluster';

/**
 * Issue 18 §5, the multi-process path run for real (`bash infra/run-multiprocess.sh`, tested by
 * test/e2e/multiprocess.test.ts): the Temporal dev server and S3 on free ports, three `loopkeeper worker`
 * processes on one store and namespace, `serve` and `ui`; simulates a window big enough for several
 * columnar partitions, runs one cycle, and checks from the histories that the drift partitions ran on
 * more than one worker process, that serve answers /readyz and the ui /healthz. Stops everything
 * (also on failure or Ctrl-C) and prints a JSON summary; exits 1 when a check fails.
 */

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '3' },
    'rows-per-day': { type: 'string', default: '2000' },
    'partition-rows': { type: 'string', default: '1500' },
    dir: { type: 'string' },
  },
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} ${JSON.stringify(v)}: expected a positive integer`);
  return n;
}

async function get(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

async function main(): Promise<number> {
  const workers = positive('workers', args.workers);
  const rowsPerDay = positive('rows-per-day', args['rows-per-day']);
  const partitionRows = positive('partition-rows', args['partition-rows']);
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-multiprocess-'));
  const model = 'churn';
  const window = '2026-06-08..2026-06-15';
  const t0 = Date.now();
  const cluster = await startCluster({ dir, partitionRows });
  const pids: number[] = [];
  try {
    await cluster.run([
      '--init',
      'simulate',
      '--model',
      model,
      '--start',
      '2026-06-01',
      '--days',
      '14',
      '--history-days',
      '14',
      '--rows-per-day',
      String(rowsPerDay),
      '--score-with',
      'reference',
    ]);
    const started = await cluster.startWorkers(workers);
    const namespace = started[0].ready[1];
    const serve = await cluster.start(
      'serve',
      ['serve', '--model', model, '--port', '0', '--allow-no-champion', '--alias-poll-ms', '200'],
      /serving model \S+ at (http:\/\/\S+)/,
    );
    const ui = await cluster.start('ui', ['ui', '--port', '0'], /loopkeeper ui at (http:\/\/\S+)/);
    pids.push(...cluster.procs.map((p) => p.child.pid ?? 0));

    const out = await cluster.run(['cycle', 'run', '--model', model, '--window', window, '--wait', '--json']);
    const cycle = JSON.parse(out) as { workflowId?: string; state?: string };
    const workflowId = cycle.workflowId ?? `cycle-${model}-${window.replace('..', '_')}`;

    const { client, connection } = await cluster.client(namespace);
    let runs;
    try {
      runs = await activityRuns(client, workflowId);
    } finally {
      await connection.close();
    }
    const partitions = runs.filter((r) => r.type === 'driftPartition');
    const identities = [...new Set(partitions.map((r) => r.identity))];
    const workerPids = started.map((w) => w.child.pid);
    const byWorker = Object.fromEntries(
      workerPids.map((pid) => [
        String(pid),
        partitions.filter((r) => r.identity.startsWith(`${pid}@`)).length,
      ]),
    );

    // serve picks the champion the cycle promoted up within its alias poll; /readyz is 200 once loaded.
    const serveUrl = serve.ready[1];
    let readyz = await get(`${serveUrl}/readyz`);
    for (let i = 0; i < 100 && readyz !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      readyz = await get(`${serveUrl}/readyz`);
    }
    const healthz = await get(`${ui.ready[1]}/healthz`);

    await cluster.stop();
    const orphans = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    const summary = {
      workflowId,
      cycleState: cycle.state ?? null,
      workers: workerPids,
      partitions: partitions.length,
      partitionsByWorker: byWorker,
      distinctWorkerIdentities: identities.length,
      serveReadyz: readyz,
      uiHealthz: healthz,
      orphans,
      seconds: (Date.now() - t0) / 1000,
      dir,
    };
    console.log(JSON.stringify(summary, null, 2));
    const failures = [
      partitions.length < 6 && `only ${partitions.length} drift partitions (want ≥ 6)`,
      identities.length < 2 && `drift partitions ran on ${identities.length} worker process(es) (want > 1)`,
      identities.some((id) => !workerPids.some((pid) => id.startsWith(`${pid}@`))) &&
        `a partition ran on a worker this script did not start: ${identities.join(', ')}`,
      readyz !== 200 && `serve /readyz answered ${readyz}`,
      healthz !== 200 && `ui /healthz answered ${healthz}`,
      orphans.length > 0 && `processes still alive after stop: ${orphans.join(', ')}`,
    ].filter(Boolean);
    for (const f of failures) console.error(`multiprocess: ${f}`);
    // A directory this run made for itself is removed when all went well (kept for a post-mortem else).
    if (failures.length === 0 && !args.dir) fs.rmSync(dir, { recursive: true, force: true });
    return failures.length === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`multiprocess: ${(err as Error).message}`);
    process.exit(1);
  },
);
