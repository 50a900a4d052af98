import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { scoreFeatures } from '../src/ml/model';
import type { ModelArtifact } from '../src/ml/model';
import { addDays } from '../src/schemas/window';
import { generateDay } from '../src/simulate/generate';
import { driftParameters } from '../src/simulate/ground-truth';
import type { ScoringModel } from '../src/simulate/reference-scorer';
import type { ScenarioConfigInput } from '../src/simulate/scenario';
import { outcomePartKey, predictionPartKey, writeSimulatedLogs } from '../src/simulate/write-logs';
import { FileBlobStore } from '../src/storage/file-blob-store';
import { ModelRegistry } from '../src/storage/model-registry';
import { loadScorer } from '../src/scoring/load';
import type { Scorer } from '../src/scoring/scorer';
import { writeNdjson } from '../src/storage/ndjson';
import type { CycleStatus } from '../src/workflows/cycle-status';
import { createLoopkeeperWorker, installWorkerLogging } from '../src/workers/worker';
import { startPythonWorker } from '../test/support/python-worker';
import type { PythonWorker } from '../test/support/python-worker';
import { startTestServices, stopTestServices } from '../test/support/services';
import { bootstrapLoopChampion } from './loop-bootstrap';
import { builtPythonVenv } from './python-venv';

/**
 * The headline benchmark: 8 simulated weeks of the concept-drift scenario. (a) a static model trained
 * once on the bootstrap history and never changed; (b) the loop: weekly continuousLearningCycle runs on
 * a real Temporal dev server, whose champion scores the next week's traffic. Production precision and
 * recall are measured per week against the observed outcomes. Prints a table, writes an HTML chart.
 */
const WEEKS = Number(process.env.LOOPKEEPER_BENCH_WEEKS ?? 8);
const LOOP_POLICY = {
  testSet: { maxAgeDays: 14, recentShare: 0.75, targetSize: 6000 },
  gate: { minSliceRows: 300, rules: [{ metric: 'f1', minRelativeChange: -0.03 }] },
  // Churn outreach wants most churners found: every version's threshold is set for 60 % recall on its
  // validation split, so candidate and champion are compared at the same operating point.
  // A threshold set on ~80 validation churners moved by ±0.05 recall between versions (run 2 in the
  // notes), enough to flip >10 % of predictions; 30 % of the window for validation steadies it.
  retrain: { threshold: { objective: 'recall', target: 0.6 }, validationFraction: 0.3 },
};
const scenario: ScenarioConfigInput = {
  name: 'concept-drift',
  seed: 3,
  start: '2026-06-01',
  days: WEEKS * 7,
  rowsPerDay: Number(process.env.LOOPKEEPER_BENCH_ROWS_PER_DAY ?? 2000),
  // 0.6 × the scenario's default rotation: hard enough that the static model loses over a third of its
  // precision by week 8, as the essay's did, at a pace a weekly loop with a 7-day label delay can follow.
  driftStrength: Number(process.env.LOOPKEEPER_BENCH_DRIFT ?? 0.6),
};

interface WeekFigures {
  precision: number;
  recall: number;
  rows: number;
  version: string;
}

function asScorer(version: string, artifact: ModelArtifact): ScoringModel {
  return {
    modelVersion: version,
    scorer: (f) => scoreFeatures(artifact, f) as ReturnType<ScoringModel['scorer']>,
  };
}

/** A registered version as the simulator's scorer, through the scoring path serving uses (any kind). */
function servedScorer(version: string, scorer: Scorer): ScoringModel {
  return {
    modelVersion: version,
    scorer: (f) => {
      scorer.score(f);
      return scorer.result() as ReturnType<ScoringModel['scorer']>;
    },
  };
}

/** Precision and recall of the served predictions against the observed (matured) outcome labels. */
function production(days: ReturnType<typeof generateDay>[], version: string): WeekFigures {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let rows = 0;
  for (const d of days) {
    const observed = new Map(
      d.outcomes.filter((o) => o.source === 'observed').map((o) => [o.requestId, o.observedLabel]),
    );
    for (const p of d.predictions) {
      const y = observed.get(p.requestId);
      if (!y) continue;
      rows++;
      if (p.predictedLabel === 'churn' && y === 'churn') tp++;
      else if (p.predictedLabel === 'churn') fp++;
      else if (y === 'churn') fn++;
    }
  }
  return { precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn), rows, version };
}

async function writeDay(store: FileBlobStore, day: ReturnType<typeof generateDay>): Promise<void> {
  await writeNdjson(store, predictionPartKey('churn', day.date), day.predictions);
  const byDay = new Map<string, typeof day.outcomes>();
  for (const o of day.outcomes) {
    const d = o.timestamp.slice(0, 10);
    byDay.set(d, [...(byDay.get(d) ?? []), o]);
  }
  for (const [d, rows] of byDay) await writeNdjson(store, outcomePartKey('churn', d, day.date), rows);
}

/** One loop run's weekly figures, drawn as one line. */
interface LoopSeries {
  name: string;
  color: string;
  weeks: WeekFigures[];
}

function chartHtml(weeks: number[], staticW: WeekFigures[], loops: LoopSeries[], offline: number): string {
  const W = 640;
  const H = 300;
  const x = (i: number): number => 50 + (i * (W - 80)) / Math.max(1, weeks.length - 1);
  const y = (v: number): number => H - 30 - v * (H - 60);
  const line = (vals: number[], color: string): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${vals.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>` +
    vals
      .map((v, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`)
      .join('');
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="50" x2="${W - 30}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="10" y="${y(v) + 4}" font-size="11">${v.toFixed(2)}</text>`,
    )
    .join('');
  const labels = weeks
    .map((w, i) => `<text x="${x(i) - 8}" y="${H - 10}" font-size="11">w${w}</text>`)
    .join('');
  const head = loops.map((l) => `<th>${l.name} P</th><th>${l.name} R</th><th>${l.name} model</th>`).join('');
  const cells = (i: number): string =>
    loops
      .map(
        (l) =>
          `<td>${l.weeks[i].precision.toFixed(3)}</td><td>${l.weeks[i].recall.toFixed(3)}</td><td>${l.weeks[i].version}</td>`,
      )
      .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>loopkeeper: static model vs the loop</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}</style></head><body>
<h1>Production precision per week: static model vs the loop</h1>
<p>Scenario ${JSON.stringify(scenario)}; policy ${JSON.stringify(LOOP_POLICY)}. Offline precision of the static model: ${offline.toFixed(3)}.</p>
<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${grid}${labels}
<line x1="50" x2="${W - 30}" y1="${y(offline)}" y2="${y(offline)}" stroke="#999" stroke-dasharray="4 4"/>
${line(
  staticW.map((s) => s.precision),
  '#c0392b',
)}${loops
    .map((l) =>
      line(
        l.weeks.map((s) => s.precision),
        l.color,
      ),
    )
    .join('')}</svg>
<p><span style="color:#c0392b">■ static</span> ${loops.map((l) => `<span style="color:${l.color}">■ ${l.name}</span>`).join(' ')} <span style="color:#999">- - offline</span></p>
<table><tr><th>week</th><th>static P</th><th>static R</th>${head}</tr>
${weeks.map((w, i) => `<tr><td>${w}</td><td>${staticW[i].precision.toFixed(3)}</td><td>${staticW[i].recall.toFixed(3)}</td>${cells(i)}</tr>`).join('')}
</table></body></html>`;
}

/** Wall time of one cycle over a week of ~1M predictions (two weeks generated, so outcomes mature). */
async function bigWeek(client: Client, taskQueue: string, store: FileBlobStore): Promise<void> {
  const rowsPerDay = Math.ceil(1_000_000 / 7 / ((5 + 2 * 0.7) / 7));
  const t0 = Date.now();
  const sim = await writeSimulatedLogs(store, {
    modelId: 'churn-big',
    config: { name: 'concept-drift', seed: 9, start: '2026-06-01', days: 14, rowsPerDay },
    historyDays: 0,
  });
  console.log(
    `loop: 1M-row week: generated ${sim.predictions.rows} predictions + ${sim.outcomes.rows} outcomes in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  const t1 = Date.now();
  const st = (await client.workflow.execute('continuousLearningCycle', {
    taskQueue,
    workflowId: 'cycle-churn-big-2026-06-08_2026-06-15',
    args: [{ modelId: 'churn-big', window: { from: '2026-06-08', to: '2026-06-15' } }],
  })) as CycleStatus;
  const stages = Object.entries(st.stages)
    .map(([k, v]) => `${k}:${v.state}`)
    .join(' ');
  console.log(
    `loop: 1M-row week: cycle wall time ${((Date.now() - t1) / 1000).toFixed(1)} s (${st.summary?.rows} predictions in the window, ` +
      `${st.ingest?.joinedRows} joined, trained on ${st.retrain?.train.trainingRows ?? 0} rows; ${stages})`,
  );
}

/** The trainers `--trainer` accepts: the built-in linear model, or LightGBM through the Python worker. */
type BenchTrainer = 'linear' | 'lightgbm';

/** What one loop run measured. */
interface LoopRun {
  trainer: BenchTrainer;
  weeks: number[];
  staticW: WeekFigures[];
  loopW: WeekFigures[];
  offline: { precision: number; recall: number };
  v0: string;
}

/** `--trainer lightgbm` (or `--trainer=lightgbm`); anything else is a one-line error. */
function trainerArg(argv: readonly string[]): BenchTrainer {
  const i = argv.findIndex((a) => a === '--trainer' || a.startsWith('--trainer='));
  if (i < 0) return 'linear';
  const value = argv[i].includes('=') ? argv[i].slice('--trainer='.length) : argv[i + 1];
  if (value !== 'linear' && value !== 'lightgbm')
    throw new Error(`--trainer must be linear or lightgbm, not ${JSON.stringify(value ?? '')}`);
  return value;
}

export async function benchLoop(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const trainer = trainerArg(argv);
  let python: string | undefined;
  if (trainer === 'lightgbm') {
    const venv = builtPythonVenv();
    if ('error' in venv) {
      console.error(`bench:loop --trainer lightgbm: ${venv.error}`);
      process.exitCode = 2;
      return;
    }
    python = venv.python;
  }
  installWorkerLogging();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-loop-'));
  const services = await startTestServices(path.join(dir, 'services'));
  try {
    const linear = await runLoop(services.temporalAddress, path.join(dir, 'linear'), 'linear');
    const runs = [linear];
    if (python)
      runs.push(await runLoop(services.temporalAddress, path.join(dir, 'lightgbm'), 'lightgbm', python));
    if (runs.length > 1) printSideBySide(linear, runs[1]);
    const out = path.resolve('bench', 'out');
    fs.mkdirSync(out, { recursive: true });
    const colors = { linear: '#2874a6', lightgbm: '#27ae60' };
    fs.writeFileSync(
      path.join(out, 'loop.html'),
      chartHtml(
        linear.weeks,
        linear.staticW,
        runs.map((r) => ({ name: `loop ${r.trainer}`, color: colors[r.trainer], weeks: r.loopW })),
        linear.offline.precision,
      ),
    );
    console.log(`loop: chart written to ${path.join(out, 'loop.html')}`);
  } finally {
    stopTestServices(path.join(dir, 'services'));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The static model and both loops, week by week (the same static model: same scenario, same seed). */
function printSideBySide(linear: LoopRun, lgbm: LoopRun): void {
  console.log('loop: static vs the loop with the linear trainer vs the loop with LightGBM (Python worker)');
  console.log('week | static P  static R | linear P  linear R | lightgbm P  lightgbm R | lightgbm model');
  for (let i = 0; i < linear.weeks.length; i++) {
    const s = linear.staticW[i];
    const l = linear.loopW[i];
    const g = lgbm.loopW[i];
    console.log(
      `${String(linear.weeks[i]).padStart(4)} | ${s.precision.toFixed(3)}     ${s.recall.toFixed(3)}   | ${l.precision.toFixed(3)}     ${l.recall.toFixed(3)}    | ${g.precision.toFixed(3)}       ${g.recall.toFixed(3)}      | ${g.version}`,
    );
  }
  const mean = (ws: WeekFigures[], k: 'precision' | 'recall') =>
    (ws.reduce((a, w) => a + w[k], 0) / ws.length).toFixed(3);
  console.log(
    `loop: mean over ${linear.weeks.length} weeks — static P ${mean(linear.staticW, 'precision')} R ${mean(linear.staticW, 'recall')}; linear loop P ${mean(linear.loopW, 'precision')} R ${mean(linear.loopW, 'recall')}; lightgbm loop P ${mean(lgbm.loopW, 'precision')} R ${mean(lgbm.loopW, 'recall')}`,
  );
}

/**
 * One loop run in its own store and task queue on the shared dev server: the built-in trainer, or
 * LightGBM through the Python worker (a child process polling its own task queue).
 */
async function runLoop(
  temporalAddress: string,
  dir: string,
  trainer: BenchTrainer,
  python?: string,
): Promise<LoopRun> {
  const store = new FileBlobStore({
    root: path.join(dir, 'store'),
    uri: `file://${path.join(dir, 'store')}`,
  });
  const taskQueue = `bench-loop-${trainer}`;
  const pythonQueue = `bench-loop-python`;
  const config = loadConfig({
    TEMPORAL_ADDRESS: temporalAddress,
    LOOPKEEPER_STORE: store.uri,
    LOOPKEEPER_TASK_QUEUE: taskQueue,
  });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createLoopkeeperWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    deps: { store, config, client },
  });
  const running = worker.run();
  let pythonWorker: PythonWorker | undefined;
  try {
    if (trainer === 'lightgbm')
      pythonWorker = await startPythonWorker(python!, {
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_NAMESPACE: 'default',
        LOOPKEEPER_STORE: store.uri,
        LOOPKEEPER_PYTHON_TASK_QUEUE: pythonQueue,
      });
    const policy =
      trainer === 'lightgbm'
        ? {
            ...LOOP_POLICY,
            trainer: { kind: 'external', algorithm: 'lightgbm', taskQueue: pythonQueue, params: { seed: 1 } },
          }
        : LOOP_POLICY;
    // The static model: trained once on four weeks of pre-launch history (the essay's offline model),
    // the way `loopkeeper train` does it, so it is also the loop's first champion with readable
    // training data (drift has a reference profile from week 1). The loop's policy is plain config in
    // the store (what an engineer would set for weekly drift).
    const v0 = await bootstrapLoopChampion(store, { modelId: 'churn', scenario, policy });
    const trained = { artifact: v0.artifact, metrics: v0.metrics };
    const offline = { precision: trained.metrics.precision, recall: trained.metrics.recall };
    const registry = new ModelRegistry(store);
    const staticModel = asScorer(v0.version, trained.artifact);

    const weeks: number[] = [];
    const staticW: WeekFigures[] = [];
    const loopW: WeekFigures[] = [];
    const offlineOfServing: number[] = [];
    // A served model's offline precision: measured on the fresh 7-day test set when it was blessed.
    const offlineByVersion = new Map<string, number>([[v0.version, trained.metrics.precision]]);
    const cycles: CycleStatus[] = [];
    for (let w = 0; w < WEEKS; w++) {
      const champion = (await registry.getAliases('churn')).aliases.champion;
      const serving = servedScorer(champion, await loadScorer(registry, 'churn', champion));
      offlineOfServing.push(
        offlineByVersion.get(champion) ?? (await registry.getManifest('churn', champion)).metrics.precision,
      );
      const loopDays = [];
      const staticDays = [];
      for (let d = w * 7; d < w * 7 + 7; d++) {
        const day = generateDay(scenario, d, serving, { modelId: 'churn' });
        await writeDay(store, day);
        loopDays.push(day);
        staticDays.push(generateDay(scenario, d, staticModel, { modelId: 'churn' }));
      }
      weeks.push(w + 1);
      staticW.push(production(staticDays, v0.version));
      loopW.push(production(loopDays, champion));
      // End of week w: the weekly cycle over the window that just ended.
      const from = addDays(scenario.start!, w * 7);
      const to = addDays(from, 7);
      const st = (await client.workflow.execute('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churn-${from}_${to}`,
        args: [{ modelId: 'churn', window: { from, to } }],
      })) as CycleStatus;
      cycles.push(st);
      if (st.retrain?.registeredAs === 'champion')
        offlineByVersion.set(st.retrain.train.version, st.retrain.evaluation.candidate.precision);
    }

    console.log(`loop [${trainer}]: scenario ${JSON.stringify(scenario)}`);
    console.log(`loop: policy config/churn/policy.json ${JSON.stringify(policy)} (everything else default)`);
    console.log(`loop: drift ${JSON.stringify(driftParameters(scenario)).slice(0, 400)}…`);
    console.log(
      `loop: static model offline precision ${offline.precision.toFixed(3)}, recall ${offline.recall.toFixed(3)} (held-out history)`,
    );
    console.log(
      'week | static P  static R | loop P  loop R | loop serving model (offline P) | cycle outcome',
    );
    let firstRetrainWeek = -1;
    let held = true;
    for (let i = 0; i < weeks.length; i++) {
      const c = cycles[i];
      const outcome = c.retrain
        ? c.retrain.registeredAs
          ? `retrained → ${c.retrain.registeredAs}`
          : `not blessed: ${c.retrain.evaluation.reasons.join('; ').slice(0, 80)}`
        : `no retrain: ${c.stages.caps.detail ?? c.stages['mine-route'].detail ?? ''}`.slice(0, 100);
      if (firstRetrainWeek < 0 && c.retrain?.registeredAs) firstRetrainWeek = i + 1;
      const afterFirst = firstRetrainWeek >= 0 && i >= firstRetrainWeek;
      const gap = offlineOfServing[i] - loopW[i].precision;
      if (afterFirst && gap > 0.05) held = false;
      console.log(
        `${String(weeks[i]).padStart(4)} | ${staticW[i].precision.toFixed(3)}     ${staticW[i].recall.toFixed(3)}   | ${loopW[i].precision.toFixed(3)}   ${loopW[i].recall.toFixed(3)} | ${loopW[i].version} (${offlineOfServing[i].toFixed(3)}) | ${outcome}`,
      );
    }
    // Why a candidate won or lost: what it trained on and both models' figures on the gate's test set.
    console.log(
      'week | train rows (base + feedback kept/offered, history?) | gate test rows | f1 P R thr: candidate vs champion',
    );
    for (let i = 0; i < weeks.length; i++) {
      const r = cycles[i].retrain;
      if (!r) continue;
      const t = r.train;
      const e = r.evaluation;
      const fig = (m: Record<string, number> | null, thr: number | undefined): string =>
        m
          ? `${m.f1.toFixed(3)} ${m.precision.toFixed(3)} ${m.recall.toFixed(3)} ${thr?.toFixed(3) ?? '-'}`
          : '-';
      const cand = (await registry.getManifest('churn', t.version)).threshold;
      const champ = e.championVersion
        ? (await registry.getManifest('churn', e.championVersion)).threshold
        : undefined;
      console.log(
        `${String(weeks[i]).padStart(4)} | ${t.trainingRows} (${t.baseRows} + ${t.feedback.kept}/${t.feedback.offered}${t.usedHistory ? ', history' : ''}) | ${e.testRows} | ${fig(e.candidate, cand)} vs ${fig(e.champion, champ)}`,
      );
    }
    // Issue 17 §4: the first promotion after the switch day within 2 weeks, production precision within 3
    // points of the serving model's offline precision and recall at the policy's target from then on.
    const switchDay = 14;
    const target = LOOP_POLICY.retrain.threshold.target;
    const corrective = cycles.findIndex(
      (c, i) => 7 * (i + 1) > switchDay && c.retrain?.registeredAs === 'champion',
    );
    const correctiveDay = corrective < 0 ? null : 7 * (corrective + 1);
    console.log(
      `loop: first promotion after the switch (day ${switchDay}): ${correctiveDay === null ? 'none' : `day ${correctiveDay}, ${correctiveDay - switchDay} days after`} (budget ≤ 14: ${correctiveDay !== null && correctiveDay - switchDay <= 14 ? 'met' : 'NOT met'})`,
    );
    const served = loopW.map((w, i) => ({ w, i })).filter(({ i }) => corrective >= 0 && i > corrective);
    const within3 = served.every(({ w, i }) => offlineOfServing[i] - w.precision <= 0.03);
    const recallHeld = served.every(({ w }) => w.recall >= target - 0.03);
    console.log(
      `loop: after it, production precision within 3 points of offline every week: ${within3 ? 'met' : 'NOT met'}; recall ≥ ${target} − 0.03 every week: ${recallHeld ? 'met' : 'NOT met'} (${served.map(({ w }) => w.recall.toFixed(3)).join(', ')})`,
    );
    const lost = 1 - staticW[staticW.length - 1].precision / staticW[0].precision;
    console.log(
      `loop: static model lost ${(100 * lost).toFixed(0)}% of its week-1 precision by week ${WEEKS} (scenario must make it lose ≥ 33%: ${lost >= 1 / 3 ? 'yes' : 'NO'})`,
    );
    console.log(
      `loop: with the loop, production precision within 5 points of the serving model's offline precision every week after the first retrain (week ${firstRetrainWeek}): ${held ? 'met' : 'NOT met'}`,
    );
    if (trainer === 'linear' && process.env.LOOPKEEPER_BENCH_SKIP_BIG !== '1')
      await bigWeek(client, taskQueue, store);
    return { trainer, weeks, staticW, loopW, offline, v0: v0.version };
  } finally {
    await pythonWorker?.stop();
    // Entity workflows (review-churn...) outlive a cycle; the next run's cycles, on the same server and
    // model id, would signal them on this run's queue, which nobody polls any more.
    for await (const wf of client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    }))
      await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('bench run finished')
        .catch(() => undefined);
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    await native.close();
  }
}

if (require.main === module)
  benchLoop().catch((err: unknown) => {
    console.error(`bench:loop: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
