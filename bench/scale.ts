import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { ActivityRun } from './cluster';
import { activityRuns, peakRssMb, startCluster } from './cluster';

/**
 * `npm run bench:scale` (issue 18 §3): a cycle's drift fan-out over a big window with 1, 2 and 4 worker
 * processes on this machine (real processes, the Temporal dev server, S3 through versitygw). For each
 * worker count it starts that many fresh `loopkeeper worker` processes, runs one cycle over a window of
 * `--rows` rows (consecutive overlapping windows of one simulated traffic, so every run ingests its own
 * window), and reads from the histories: the partition phase (first driftPartition scheduled → last
 * closed), the reduce (reduceDrift), rows/s over both, the share of the reduce, which worker ran what,
 * and each worker's peak RSS (VmHWM from /proc, over the whole cycle: the worker that took ingest or
 * training peaks there, the others show a partition's memory). Figures, not assertions.
 *
 *   --rows N             rows in each window (default 1000000; the issue asks 10M, too much for a
 *                        shared 2-core machine)
 *   --workers 1,2,4      worker counts to run
 *   --partition-rows N   rows per columnar partition (default 100000)
 */

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    workers: { type: 'string', default: '1,2,4' },
    'partition-rows': { type: 'string', default: '100000' },
    dir: { type: 'string' },
  },
});

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} ${JSON.stringify(v)}: expected a positive integer`);
  return n;
}

const addDays = (day: string, n: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

interface Row {
  workers: number;
  rows: number;
  partitions: number;
  cycleS: number;
  /** ingestWindow: the one NDJSON parser, one activity on one worker. */
  ingestS: number;
  prepareS: number;
  partitionsS: number;
  reduceS: number;
  rowsPerS: number;
  reduceShare: number;
  perWorker: { pid: number; partitions: number; other: string[]; peakRssMb: number | null }[];
}

function span(runs: ActivityRun[]): number {
  if (runs.length === 0) return 0;
  return (Math.max(...runs.map((r) => r.closedMs)) - Math.min(...runs.map((r) => r.scheduledMs))) / 1000;
}

async function main(): Promise<void> {
  const rows = positive('rows', args.rows);
  const partitionRows = positive('partition-rows', args['partition-rows']);
  const counts = args.workers.split(',').map((w) => positive('workers', w));
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-scale-'));
  const model = 'churn';
  const start = '2026-06-01';
  // Weekends carry less traffic; 7 × rowsPerDay slightly overshoots, and the real count is printed.
  const rowsPerDay = Math.ceil(rows / 6.5);
  const cluster = await startCluster({ dir, partitionRows });
  const results: Row[] = [];
  try {
    console.log(
      `simulating ${counts.length + 6} days × ${rowsPerDay} rows/day (one ${rows}-row window per run) …`,
    );
    await cluster.run([
      '--init',
      'simulate',
      '--model',
      model,
      '--start',
      start,
      '--days',
      String(7 + counts.length - 1),
      '--history-days',
      '2',
      '--rows-per-day',
      String(rowsPerDay),
      '--score-with',
      'reference',
    ]);
    for (const [i, n] of counts.entries()) {
      const workers = await cluster.startWorkers(n);
      const namespace = workers[0].ready[1];
      const window = `${addDays(start, i)}..${addDays(start, i + 7)}`;
      const t0 = Date.now();
      const out = await cluster.run([
        'cycle',
        'run',
        '--model',
        model,
        '--window',
        window,
        '--wait',
        '--json',
      ]);
      const cycleS = (Date.now() - t0) / 1000;
      const status = JSON.parse(out) as {
        cycleId?: string;
        state: string;
        drift?: { rows?: number };
        ingest?: { lines?: number };
      };
      const workflowId = `cycle-${model}-${window.replace('..', '_')}`;
      const { client, connection } = await cluster.client(namespace);
      let runs: ActivityRun[];
      try {
        runs = await activityRuns(client, workflowId);
      } finally {
        await connection.close();
      }
      const parts = runs.filter((r) => r.type === 'driftPartition');
      const reduce = runs.filter((r) => r.type === 'reduceDrift');
      const prepare = runs.filter((r) => r.type === 'prepareDrift');
      const partitionsS = span(parts);
      const reduceS = span(reduce);
      const windowRows = status.drift?.rows ?? 0;
      const perWorker = workers.map((w) => {
        const pid = w.child.pid ?? 0;
        const mine = runs.filter((r) => r.identity.startsWith(`${pid}@`));
        const peak = peakRssMb(pid);
        return {
          pid,
          partitions: mine.filter((r) => r.type === 'driftPartition').length,
          other: [...new Set(mine.filter((r) => r.type !== 'driftPartition').map((r) => r.type))],
          peakRssMb: peak === undefined ? null : Math.round(peak),
        };
      });
      await cluster.stopProcs(workers);
      const row: Row = {
        workers: n,
        rows: windowRows,
        partitions: parts.length,
        cycleS,
        ingestS: span(runs.filter((r) => r.type === 'ingestWindow')),
        prepareS: span(prepare),
        partitionsS,
        reduceS,
        rowsPerS: windowRows / Math.max(partitionsS + reduceS, 1e-9),
        reduceShare: reduceS / Math.max(partitionsS + reduceS, 1e-9),
        perWorker,
      };
      results.push(row);
      console.log(
        `${n} worker(s), cycle ${status.state} in ${cycleS.toFixed(1)} s: ${windowRows} rows in ${parts.length} partitions; ` +
          `ingest ${row.ingestS.toFixed(1)} s, prepare ${row.prepareS.toFixed(2)} s, partitions ${partitionsS.toFixed(2)} s, reduce ${reduceS.toFixed(2)} s → ` +
          `${Math.round(row.rowsPerS)} rows/s, reduce ${(100 * row.reduceShare).toFixed(1)}% of the fan-out`,
      );
      for (const w of perWorker)
        console.log(
          `    worker ${w.pid}: ${w.partitions} partitions${w.other.length ? ` + ${w.other.join(', ')}` : ''}, peak RSS ${w.peakRssMb ?? '?'} MB`,
        );
    }
    console.log(JSON.stringify({ rows, partitionRows, results }));
  } finally {
    await cluster.stop();
  }
  if (!args.dir) fs.rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:scale: ${(err as Error).message}`);
    process.exit(1);
  },
);
