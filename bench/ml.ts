import type { Features } from '../src/schemas/records';
import type { Matrix, Rng } from '../src/ml';
import { runFullPath } from './ml-full-path';
import {
  createCounters,
  createRng,
  fitPipeline,
  logisticTrainer,
  matrixRow,
  predictProba,
  rocAuc,
  transform,
  transformBatch,
} from '../src/ml';

const N_FEATURES = 20;
/** Sets the base churn rate (~15%). */
const INTERCEPT = -3;

interface ChurnData {
  X: Matrix;
  y: Int32Array;
  /** True P(churn) per row: lets us print the best AUC any model could reach. */
  trueP: Float64Array;
}

/**
 * Churn-like synthetic rows: 14 continuous signals (usage, tenure, spend... as standard normals), 6 binary
 * flags (monthly plan, recent complaint...), a sparse true weight vector and an intercept giving a
 * ~15% churn rate. Labels are Bernoulli draws, so even the true model has AUC well below 1.
 */
function churnMatrix(n: number, rng: Rng, weights: Float64Array, intercept: number): ChurnData {
  const data = new Float64Array(n * N_FEATURES);
  const y = new Int32Array(n);
  const trueP = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = intercept;
    for (let j = 0; j < N_FEATURES; j++) {
      const v = j < 14 ? rng.normal() : rng.next() < 0.3 ? 1 : 0;
      data[i * N_FEATURES + j] = v;
      z += weights[j] * v;
    }
    trueP[i] = 1 / (1 + Math.exp(-z));
    y[i] = rng.next() < trueP[i] ? 1 : 0;
  }
  return { X: { data, nRows: n, nCols: N_FEATURES }, y, trueP };
}

function benchTraining(nTrain: number, rng: Rng, weights: Float64Array): void {
  const train = churnMatrix(nTrain, rng, weights, INTERCEPT);
  const holdout = churnMatrix(100_000, rng, weights, INTERCEPT);
  const started = performance.now();
  const model = logisticTrainer.train({
    X: train.X,
    y: train.y,
    classes: ['stay', 'churn'],
    options: { seed: 1 },
  });
  const trainMs = performance.now() - started;
  const scores = Float64Array.from(
    { length: holdout.X.nRows },
    (_, i) => predictProba(model, matrixRow(holdout.X, i))[1],
  );
  const positives = Array.from(holdout.y, (v) => v === 1);
  const churnRate = train.y.reduce((a, b) => a + b, 0) / nTrain;
  console.log(
    `ml train ${nTrain.toLocaleString('en-US')}x${N_FEATURES} logistic: ${trainMs.toFixed(0)} ms, ` +
      `${model.training?.epochs} epochs, churn rate ${(churnRate * 100).toFixed(1)}%, ` +
      `holdout ROC AUC ${rocAuc(scores, positives)?.toFixed(4)} (true-model AUC ${rocAuc(holdout.trueP, positives)?.toFixed(4)})`,
  );
}

function churnFeatures(n: number, rng: Rng): Features[] {
  const plans = ['monthly', 'annual', 'trial', 'enterprise'];
  const countries = ['DE', 'FR', 'US', 'GB', 'ES', 'IT', 'NL', 'PL'];
  return Array.from({ length: n }, () => {
    const row: Features = {
      plan: plans[rng.int(plans.length)],
      country: rng.next() < 0.02 ? null : countries[rng.int(countries.length)],
      channel: rng.next() < 0.5 ? 'web' : 'app',
      autopay: rng.next() < 0.6,
    };
    for (let j = 0; j < 16; j++) row[`signal_${j}`] = rng.next() < 0.03 ? null : rng.normal() * 10 + j;
    return row;
  });
}

function benchTransform(rng: Rng): void {
  const rows = churnFeatures(200_000, rng);
  const fitStarted = performance.now();
  const pipeline = fitPipeline(rows);
  const fitMs = performance.now() - fitStarted;
  const counters = createCounters();
  const batchStarted = performance.now();
  const X = transformBatch(pipeline, rows, counters);
  const batchMs = performance.now() - batchStarted;
  const single = rows.slice(0, 50_000);
  const singleStarted = performance.now();
  for (const row of single) transform(pipeline, row, counters);
  const singleMs = performance.now() - singleStarted;
  const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US');
  console.log(
    `ml pipeline fit 200,000 rows x 20 features -> ${X.nCols} columns: ${fitMs.toFixed(0)} ms; ` +
      `transformBatch ${perSecond(rows.length, batchMs)} rows/s; per-row transform ${perSecond(single.length, singleMs)} rows/s`,
  );
}

/** Prints training time and holdout ROC AUC for 80k and 1M x 20 synthetic churn rows, and pipeline throughput. */
export async function benchMl(): Promise<void> {
  const rng = createRng(20260601);
  const weights = Float64Array.from({ length: N_FEATURES }, (_, j) =>
    j < 8 ? rng.normal() * 0.8 : j < 14 ? 0.1 : j < 17 ? 0.6 : 0,
  );
  benchTraining(80_000, rng, weights);
  benchTraining(1_000_000, rng, weights);
  benchTransform(rng);
  await benchFullPath();
}

/**
 * The full training path (row objects → pipeline → matrix → L-BFGS) in a child process, against the
 * budget on 1M × 20: ≤ 2 × the fit alone and ≤ 600 MB peak RSS. Runs LOOPKEEPER_BENCH_FULL_ROWS rows
 * (default 200,000, since a 1M run takes minutes on a shared machine) and extrapolates linearly.
 */
async function benchFullPath(): Promise<void> {
  const n = Number(process.env.LOOPKEEPER_BENCH_FULL_ROWS ?? 200_000);
  const f = await runFullPath(n);
  const scale = 1_000_000 / n;
  const ratio = f.fullPathSeconds / f.fitSeconds;
  const rss1M = (f.peakRssMb - BASE_RSS_MB) * scale + BASE_RSS_MB;
  console.log(
    `ml full path ${n.toLocaleString('en-US')} rows x 20 features -> ${f.columns} columns: rows built in ${f.rowsSeconds.toFixed(1)} s ` +
      `(${f.rowsRssMb.toFixed(0)} MB RSS); pipeline fit ${f.fitPipelineSeconds.toFixed(1)} s, transform ${f.transformSeconds.toFixed(1)} s, ` +
      `model fit ${f.fitSeconds.toFixed(1)} s; trainArtifact ${f.fullPathSeconds.toFixed(1)} s = ${ratio.toFixed(2)} x the fit (budget ≤ 2 on 1M: ${n === 1_000_000 ? (ratio <= 2 ? 'met' : 'NOT met') : 'the ratio grows with n, set LOOPKEEPER_BENCH_FULL_ROWS=1000000 to judge'}); ` +
      `peak RSS ${f.peakRssMb.toFixed(0)} MB${n === 1_000_000 ? '' : `, ≈${rss1M.toFixed(0)} MB at 1M by linear extrapolation`} (budget ≤ 600 MB: ${(n === 1_000_000 ? f.peakRssMb : rss1M) <= 600 ? 'met' : 'NOT met'})`,
  );
}

/** RSS of a Node process before it holds any data (measured: ~50 MB), not scaled with rows. */
const BASE_RSS_MB = 50;

if (require.main === module) {
  benchMl().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
