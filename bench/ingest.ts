import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createIngestWindow } from '../src/activities/ingest-window';
import { loadConfig } from '../src/config';
import { FileBlobStore } from '../src/storage/file-blob-store';
import { writeSimulatedLogs } from '../src/simulate/write-logs';
import { withPeakRss } from './rss';

/**
 * Ingest of ~1M simulated prediction rows with their outcomes (budget ≥ 200k rows/s, RSS < 500 MB).
 * The window's outcomes join to the predictions of the week before, so every prediction file is read.
 */
export async function benchIngest(
  totalRows = Number(process.env.LOOPKEEPER_BENCH_INGEST_ROWS ?? 1_000_000),
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
    const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
    const ingest = createIngestWindow({ store, config });
    const cpu0 = process.cpuUsage();
    const run = await withPeakRss(() =>
      ingest({
        modelId: 'churn',
        cycleId: 'bench',
        window: { from: '2026-06-08', to: '2026-06-15' },
        lookbackDays: 7,
      }),
    );
    const r = run.result;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const rowsPerSec = r.lines / run.seconds;
    console.log(
      `ingest: ${r.lines} lines (${sim.predictions.rows} predictions + ${r.lines - sim.predictions.rows} outcomes) in ${run.seconds.toFixed(2)} s = ` +
        `${Math.round(rowsPerSec).toLocaleString('en')} rows/s; ${r.joinedRows} joined; peak RSS ${run.peakRssMb.toFixed(0)} MB ` +
        `(budget ≥ 200,000 rows/s, < 500 MB: ${rowsPerSec >= 200_000 && run.peakRssMb < 500 ? 'met' : 'NOT met'})`,
    );
    // On a shared machine wall time includes waiting for a core; CPU time says what ingest itself costs.
    console.log(
      `ingest: ${cpuSeconds.toFixed(2)} s CPU = ${Math.round(r.lines / cpuSeconds).toLocaleString('en')} rows per CPU-second; ` +
        `load average ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).cpus().length} cores`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void benchIngest();
