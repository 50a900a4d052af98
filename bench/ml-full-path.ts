import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import type { Features } from '../src/schemas/records';
import type { Rng } from '../src/ml';
import { createRng, fitPipeline, logisticTrainer, trainArtifact, transformBatch } from '../src/ml';

/**
 * The full training path on N × 20 raw features (row objects → pipeline fit → transform → L-BFGS fit),
 * each phase timed, in a child process so its peak RSS (VmHWM) is the path's own. Budget (issue 17):
 * full path ≤ 2 × the fit alone and ≤ 600 MB peak RSS on 1M rows.
 */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

function rowsOf(n: number, rng: Rng): { features: Features; label: string }[] {
  const plans = ['monthly', 'annual', 'trial', 'enterprise'];
  const countries = ['DE', 'FR', 'US', 'GB', 'ES', 'IT', 'NL', 'PL'];
  return Array.from({ length: n }, () => {
    const features: Features = {
      plan: plans[rng.int(plans.length)],
      country: rng.next() < 0.02 ? null : countries[rng.int(countries.length)],
      channel: rng.next() < 0.5 ? 'web' : 'app',
      autopay: rng.next() < 0.6,
    };
    let z = -2 + (features.plan === 'monthly' ? 0.8 : 0) + (features.autopay ? -0.5 : 0);
    for (let j = 0; j < 16; j++) {
      const v = rng.normal();
      features[`signal_${j}`] = rng.next() < 0.03 ? null : v * 10 + j;
      if (j < 6) z += 0.5 * v;
    }
    return { features, label: rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay' };
  });
}

export interface FullPathFigures {
  rows: number;
  columns: number;
  rowsSeconds: number;
  fitPipelineSeconds: number;
  transformSeconds: number;
  fitSeconds: number;
  fullPathSeconds: number;
  /** RSS after building the row objects (the input), before any training. */
  rowsRssMb: number;
  /** Peak RSS (VmHWM) of the process running trainArtifact alone. */
  peakRssMb: number;
}

type Mode = 'phases' | 'full';

/** `phases`: each step timed apart (the fit alone is the budget's yardstick); `full`: trainArtifact alone. */
function child(n: number, mode: Mode): Partial<FullPathFigures> {
  const rng = createRng(17);
  let t = performance.now();
  const rows = rowsOf(n, rng);
  const rowsSeconds = (performance.now() - t) / 1000;
  const rowsRssMb = process.memoryUsage().rss / 2 ** 20;
  if (mode === 'full') {
    t = performance.now();
    const artifact = trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1 } });
    return {
      rows: n,
      columns: artifact.pipeline.nOutputs,
      fullPathSeconds: (performance.now() - t) / 1000,
      rowsSeconds,
      rowsRssMb,
      peakRssMb: peakRssMb(),
    };
  }
  t = performance.now();
  const pipeline = fitPipeline(rows.map((r) => r.features));
  const fitPipelineSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const X = transformBatch(
    pipeline,
    rows.map((r) => r.features),
  );
  const transformSeconds = (performance.now() - t) / 1000;
  const y = Int32Array.from(rows, (r) => (r.label === 'churn' ? 1 : 0));
  t = performance.now();
  logisticTrainer.train({ X, y, classes: ['stay', 'churn'], options: { seed: 1 } });
  return { fitPipelineSeconds, transformSeconds, fitSeconds: (performance.now() - t) / 1000 };
}

function runChild(rows: number, mode: Mode): Promise<Partial<FullPathFigures>> {
  return new Promise((resolve, reject) => {
    const p = fork(__filename, [String(rows), mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.once('message', (m) => resolve(m as Partial<FullPathFigures>));
    p.once('error', reject);
    p.once('exit', (code) => (code ? reject(new Error(`full-path child exited with ${code}`)) : undefined));
  });
}

/** Runs the phases and the full path on `rows` rows, each in its own child process. */
export async function runFullPath(rows: number): Promise<FullPathFigures> {
  const phases = await runChild(rows, 'phases');
  const full = await runChild(rows, 'full');
  return { ...phases, ...full } as FullPathFigures;
}

if (require.main === module && process.send) {
  process.send(child(Number(process.argv[2]), process.argv[3] as Mode));
}
