import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createIngestWindow } from '../src/activities/ingest-window';
import { loadConfig } from '../src/config';
import { FileBlobStore } from '../src/storage/file-blob-store';
import { writeSimulatedLogs } from '../src/simulate/write-logs';

const BUDGET_ROWS_PER_SEC = 200_000;
const BUDGET_RSS_MB = 500;

interface Measured {
  lines: number;
  predictions: number;
  joinedRows: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  threads: string;
}

/** Peak resident memory of this process so far (Linux VmHWM; covers every thread), in MB. */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // Not Linux: fall back to the current RSS.
  }
  return process.memoryUsage().rss / 2 ** 20;
}

/** Runs one ingest over the generated store; in its own process so its peak RSS is ingest's alone. */
async function measure(dir: string): Promise<Measured> {
  const store = new FileBlobStore({ root: dir, uri: `file://${dir}` });
  const config = loadConfig({ ...process.env, LOOPKEEPER_STORE: store.uri });
  const ingest = createIngestWindow({ store, config });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await ingest({
    modelId: 'churn',
    cycleId: `bench-${Date.now()}`,
    window: { from: '2026-06-08', to: '2026-06-15' },
    lookbackDays: 7,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const shards = new Set(r.joinedKeys.map((k) => /-s\d+of(\d+)\.ndjson$/.exec(k)?.[1] ?? '1'));
  return {
    lines: r.lines,
    predictions: r.summary.predictions,
    joinedRows: r.joinedRows,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: peakRssMb(),
    threads: [...shards].join(','),
  };
}

function measureInChild(dir: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--measure', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: Measured | { error: string }) =>
      'error' in m ? reject(new Error(m.error)) : resolve(m),
    );
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`ingest bench child exited with ${code}`)));
  });
}

/**
 * Ingest of ~1M simulated prediction rows with their outcomes (budget ≥ 200k rows/s, RSS < 500 MB).
 * The window's outcomes join to the predictions of the week before, so every prediction file is read.
 * The ingest runs in a fresh process, so its peak RSS is not the generator's. Set
 * LOOPKEEPER_INGEST_THREADS=1 to measure the single-threaded path.
 */
export async function benchIngest(
  totalRows = Number(process.env.LOOPKEEPER_BENCH_INGEST_ROWS ?? 1_000_000),
  runs = Number(process.env.LOOPKEEPER_BENCH_INGEST_RUNS ?? 3),
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-ingest-'));
  const store = new FileBlobStore({ root: dir, uri: `file://${dir}` });
  try {
    const days = 14;
    const rowsPerDay = Math.ceil(totalRows / days / ((5 + 2 * 0.7) / 7));
    const t0 = Date.now();
    const sim = await writeSimulatedLogs(store, {
      modelId: 'churn',
      config: { name: 'concept-drift', seed: 11, start: '2026-06-01', days, rowsPerDay },
      historyDays: 0,
    });
    console.log(
      `ingest: generated ${sim.predictions.rows} predictions + ${sim.outcomes.rows} outcomes in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const results: Measured[] = [];
    for (let i = 0; i < runs; i++) {
      const m = await measureInChild(dir);
      results.push(m);
      const rowsPerSec = m.lines / m.seconds;
      console.log(
        `ingest run ${i + 1}: ${m.lines} lines validated (of ${sim.predictions.rows} predictions + ${sim.outcomes.rows} outcomes stored) ` +
          `on ${m.threads} thread(s) in ${m.seconds.toFixed(2)} s = ${Math.round(rowsPerSec).toLocaleString('en')} rows/s; ` +
          `${m.joinedRows} joined; ${m.cpuSeconds.toFixed(1)} s CPU; peak RSS ${m.peakRssMb.toFixed(0)} MB`,
      );
    }
    const best = results.reduce((a, b) => (b.lines / b.seconds > a.lines / a.seconds ? b : a));
    const rate = best.lines / best.seconds;
    const worstRss = Math.max(...results.map((r) => r.peakRssMb));
    console.log(
      `ingest: best of ${runs} ${Math.round(rate).toLocaleString('en')} rows/s, worst peak RSS ${worstRss.toFixed(0)} MB ` +
        `(budget ≥ ${BUDGET_ROWS_PER_SEC.toLocaleString('en')} rows/s, < ${BUDGET_RSS_MB} MB: ` +
        `${rate >= BUDGET_ROWS_PER_SEC && worstRss < BUDGET_RSS_MB ? 'met' : 'NOT met'}); ` +
        `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (other work competes for them)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--measure');
  if (at >= 0) {
    measure(process.argv[at + 1]).then(
      (m) => process.send?.(m, () => process.exit(0)),
      (err: unknown) => process.send?.({ error: String((err as Error).stack ?? err) }, () => process.exit(1)),
    );
  } else void benchIngest();
}
