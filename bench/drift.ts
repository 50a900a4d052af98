import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeDriftStore } from './drift-data';

/** Budget of issue 18 for `loopkeeper drift` end to end on 1M × 20 features (was 43-51 s, 1.45 GB). */
const BUDGET_SECONDS = 5;
const BUDGET_RSS_MB = 800;

interface Run {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  exitCode: number;
}

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

/** In the child: the real CLI entry point, timed from before it is loaded, so startup counts. */
async function runCli(dir: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  process.env.LOOPKEEPER_STORE = `file://${dir}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cli = require('../src/cli/index') as { main(argv: string[]): Promise<number> };
  const log = console.log;
  console.log = () => undefined;
  const exitCode = await cli.main([
    process.argv[0],
    'loopkeeper',
    'drift',
    '--model',
    'churn',
    '--window',
    '2026-06-14..2026-06-15',
    '--html',
    path.join(dir, 'drift.html'),
  ]);
  console.log = log;
  const cpu = process.cpuUsage();
  const run: Run = {
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: peakRssMb(),
    exitCode,
  };
  process.send?.(run, () => process.exit(0));
}

function inChild(dir: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--run-cli', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: Run) => resolve(m));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`drift bench child exited with ${code}`)));
  });
}

/**
 * `loopkeeper drift` end to end in a fresh process (1M reference rows from the bootstrap history and
 * 1M prediction-log lines, 20 features; LOOPKEEPER_BENCH_DRIFT_ROWS to change): the first run builds
 * and caches the reference profile, the second reads it. Prints time, CPU and peak RSS against the budget.
 */
export async function benchDrift(
  rows = Number(process.env.LOOPKEEPER_BENCH_DRIFT_ROWS ?? 1_000_000),
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-drift-'));
  try {
    const t0 = Date.now();
    writeDriftStore(dir, rows);
    console.log(
      `drift: generated ${rows.toLocaleString('en')} reference + ${rows.toLocaleString('en')} current rows × 20 features in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const scale = 1_000_000 / rows;
    for (const label of ['cold (builds the profile)', 'warm (profile cached)']) {
      const r = await inChild(dir);
      const at1M = r.seconds * scale;
      console.log(
        `drift ${label}: ${r.seconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, peak RSS ${r.peakRssMb.toFixed(0)} MB, exit ${r.exitCode}` +
          (rows === 1_000_000 ? '' : ` (×${scale.toFixed(1)} ≈ ${at1M.toFixed(1)} s at 1M)`) +
          ` (budget ≤ ${BUDGET_SECONDS} s, ≤ ${BUDGET_RSS_MB} MB at 1M: ${at1M <= BUDGET_SECONDS && (rows !== 1_000_000 || r.peakRssMb <= BUDGET_RSS_MB) ? 'met' : 'NOT met'})`,
      );
    }
    console.log(`drift: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--run-cli');
  if (at >= 0) void runCli(process.argv[at + 1]);
  else void benchDrift();
}
