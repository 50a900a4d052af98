/**
 * The rollout workflow on the real Temporal dev server against a simulated serving fleet: two serving
 * apps over one file store (what two replicas behind a load balancer would see), and a traffic driver
 * firing /predict at them while the workflow runs. The candidates differ from the champion only in
 * their decision threshold, so the measured metric (agreement with the champion on shared requests)
 * is exactly what the test crafted: identical (good), ~5 % different (borderline), ~70 % (broken).
 * The agreement's control is what the gate's test set says: the test set here holds requests on which
 * all three candidates agree with the champion (they differ only near and below the threshold), so
 * offline agreement is 1 and the live disagreement is what production adds (as skew would).
 */
import { performance } from 'node:perf_hooks';
import type { WorkflowHandle } from '@temporalio/client';
import type { ModelArtifact } from '../../src/ml/model';
import type { Blessing } from '../../src/schemas/manifests';
import { scoreFeatures, trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import type { Features } from '../../src/schemas/records';
import type { BlobStore } from '../../src/storage/blob-store';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeNdjson } from '../../src/storage/ndjson';
import type { ServingApp } from '../../src/serving/app';
import { createServingApp } from '../../src/serving/app';
import { readFleetReports } from '../../src/serving/fleet-report';
import { approveRollout, rolloutStatus } from '../../src/workflows/messages';
import type { RolloutInput, RolloutPlanInput, RolloutResult } from '../../src/workflows/rollout';
import { rolloutWorkflowId } from '../../src/workflows/rollout-ids';
import { maybeRecordHistory } from '../support/histories';
import { tempFileStore, withWorker } from '../support/temporal';

const POLL_MS = 100;
const PLANS = ['basic', 'pro', 'enterprise'];

const PLAN: RolloutPlanInput = {
  shadow: { minDurationMs: 300, minRequests: 300, sampleShare: 1 },
  steps: [10, 50, 100],
  stepIntervalMs: 300,
  minSamplesPerStep: 200,
  analysisIntervalMs: 150,
  maxStepWaitMs: 30_000,
  approvalTimeoutMs: 60_000,
  // Worker, fleet and driver share one process: a 1 s absolute floor keeps a GC pause from reading as
  // a latency regression (the default floor is 2 ms).
  analysis: { minRequests: 200, minLatencyDeltaMs: 1000 },
};

function churnRows(n: number, seed: number): Array<{ features: Features; label: string }> {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const usage = rng.normal();
    const tickets = rng.int(6);
    const plan = PLANS[rng.int(3)];
    const z = -1 - 1.5 * usage + 0.4 * tickets + (plan === 'basic' ? 0.8 : 0);
    return {
      features: { usage, tickets, plan, autopay: rng.next() < 0.6 },
      label: rng.next() < 1 / (1 + Math.exp(-z)) ? 'churn' : 'stay',
    };
  });
}

let v1: ModelArtifact;
/** Requests the driver cycles through, ordered so the borderline's disagreements are evenly spread. */
let pool: Features[];
let borderline: ModelArtifact;
let broken: ModelArtifact;
let borderlineDisagreement: number;
let brokenDisagreement: number;
/** Requests every candidate labels as the champion does (churn above the borderline threshold). */
let agreedOffline: Features[];
const TEST_SET = 'datasets/churn/test-set/test.ndjson';

const blessing = {
  blessed: true,
  reasons: ['test'],
  comparedTo: 'v1',
  testSetKey: TEST_SET,
  decidedAt: '2026-06-01T00:00:00.000Z',
  checks: [],
};

beforeAll(() => {
  v1 = trainArtifact({ rows: churnRows(3000, 1), positiveClass: 'churn', options: { seed: 1 } });
  const features = churnRows(2000, 7).map((r) => r.features);
  const p = features.map((f) => scoreFeatures(v1, f).scores.churn);
  // Borderline: raise the threshold so ~5.5 % of the pool flips from churn to stay.
  const positives = p.filter((x) => x >= 0.5).sort((a, b) => a - b);
  const flips = Math.round(features.length * 0.055);
  expect(positives.length).toBeGreaterThan(flips);
  const threshold = (positives[flips - 1] + positives[flips]) / 2;
  borderline = { ...v1, threshold };
  broken = { ...v1, threshold: 0 };
  // Spread the flipping requests evenly through the pool, so any stretch of traffic sees ~5.5 %.
  const flipping = features.filter((_, i) => p[i] >= 0.5 && p[i] < threshold);
  const rest = features.filter((_, i) => !(p[i] >= 0.5 && p[i] < threshold));
  pool = [];
  const every = features.length / flipping.length;
  for (let i = 0, f = 0, r = 0; i < features.length; i++) {
    if (f < flipping.length && i >= Math.round(f * every)) pool.push(flipping[f++]);
    else pool.push(rest[r++]);
  }
  const disagree = (m: ModelArtifact) =>
    pool.filter((f) => scoreFeatures(m, f).predictedLabel !== scoreFeatures(v1, f).predictedLabel).length /
    pool.length;
  agreedOffline = features.filter((_, i) => p[i] >= threshold);
  expect(agreedOffline.length).toBeGreaterThan(250);
  borderlineDisagreement = disagree(borderline);
  brokenDisagreement = disagree(broken);
  expect(borderlineDisagreement).toBeGreaterThan(0.045);
  expect(borderlineDisagreement).toBeLessThan(0.065);
  expect(brokenDisagreement).toBeGreaterThan(0.3);
});

async function registerModels(
  store: BlobStore,
  candidate: ModelArtifact,
  candidateBlessing: Partial<Omit<Blessing, 'testSetKey'>> & { testSetKey?: string | null } = blessing,
): Promise<ModelRegistry> {
  const registry = new ModelRegistry(store);
  await writeNdjson(
    store,
    TEST_SET,
    agreedOffline.map((features, i) => ({
      requestId: `t-${i}`,
      timestamp: '2026-05-30T00:00:00.000Z',
      features,
      label: 'churn',
      labelSource: 'observed',
    })),
  );
  for (const [version, artifact, day, decision] of [
    ['v1', v1, '01', blessing],
    ['v2', candidate, '02', { ...blessing, ...candidateBlessing }],
  ] as const) {
    await registry.registerVersion({
      modelId: 'churn',
      version,
      artifact,
      manifest: {
        createdAt: `2026-06-${day}T00:00:00.000Z`,
        trainer: 'logistic-adam',
        trainingData: [],
        codeVersion: 'test',
        blessing: decision,
      },
    });
  }
  await registry.promote({ modelId: 'churn', version: 'v1', actor: 'test', reason: 'setup' });
  return registry;
}

interface Answer {
  modelVersion: string;
  role: string;
}

async function predict(app: ServingApp, i: number): Promise<Answer> {
  const res = await app.app.request('/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      requestId: `r-${i}`,
      entityId: `user-${i % 5000}`,
      features: pool[i % pool.length],
    }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

/** Sends bounded traffic to the fleet until `done` settles (or the cap), counting who answered. */
async function drive(
  fleet: ServingApp[],
  done: Promise<unknown>,
  cap = { requests: 400_000, ms: 90_000 },
): Promise<{ sent: number; byRoleVersion: Record<string, number> }> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  const byRoleVersion: Record<string, number> = {};
  const started = performance.now();
  let sent = 0;
  while (!finished && sent < cap.requests && performance.now() - started < cap.ms) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, k) => predict(fleet[k % 2], sent + k)));
    sent += batch.length;
    for (const a of batch)
      byRoleVersion[`${a.role}:${a.modelVersion}`] = (byRoleVersion[`${a.role}:${a.modelVersion}`] ?? 0) + 1;
    // Leave the event loop to the worker and its activities (same process) half of the time.
    await new Promise((r) => setTimeout(r, 5));
  }
  return { sent, byRoleVersion };
}

async function fleetOf(store: BlobStore): Promise<ServingApp[]> {
  return Promise.all(
    ['serve-a', 'serve-b'].map((instanceId) =>
      createServingApp({
        store,
        modelId: 'churn',
        aliasPollMs: POLL_MS,
        logFlushMs: 250,
        fleetReport: { instanceId, intervalMs: 200 },
        loadRetryMs: 60_000,
      }),
    ),
  );
}

async function runRollout(
  store: BlobStore,
  history: string | null,
  during?: (handle: WorkflowHandle) => Promise<void>,
  extra: Partial<RolloutInput> = {},
): Promise<{ result: RolloutResult; traffic: { sent: number; byRoleVersion: Record<string, number> } }> {
  const fleet = await fleetOf(store);
  try {
    return await withWorker(store, async ({ client, taskQueue }) => {
      const input: RolloutInput = { modelId: 'churn', candidateVersion: 'v2', config: PLAN, ...extra };
      const handle = await client.workflow.start('rolloutModel', {
        taskQueue,
        workflowId: rolloutWorkflowId('churn'),
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
      });
      const resultP = handle.result() as Promise<RolloutResult>;
      const [traffic, result] = await Promise.all([
        drive(fleet, resultP),
        resultP,
        during ? during(handle) : Promise.resolve(),
      ]);
      if (history) await maybeRecordHistory(handle, history);
      return { result, traffic };
    });
  } finally {
    await Promise.all(fleet.map((s) => s.close()));
  }
}

/** Answers of a fresh fleet-wide sweep, after the apps had time to follow the registry. */
async function sweep(store: BlobStore, n: number): Promise<Answer[]> {
  const fleet = await fleetOf(store);
  try {
    await new Promise((r) => setTimeout(r, 2 * POLL_MS));
    return await Promise.all(Array.from({ length: n }, (_, i) => predict(fleet[i % 2], 1_000_000 + i)));
  } finally {
    await Promise.all(fleet.map((s) => s.close()));
  }
}

describe('rolloutModel (real server, simulated serving fleet)', () => {
  test('a candidate as good as the champion is promoted through shadow and every canary step', async () => {
    const { store } = tempFileStore();
    const registry = await registerModels(store, { ...v1 });
    const { result, traffic } = await runRollout(store, 'rollout-promoted');

    expect(result.outcome).toBe('promoted');
    const st = result.status;
    expect(st.decisions.filter((d) => d.decision === 'step').map((d) => d.weightPercent)).toEqual([
      10, 50, 100,
    ]);
    expect(st.decisions.some((d) => d.decision === 'pause')).toBe(false);
    expect(st.championAtStart).toBe('v1');
    expect(st.candidate).toMatchObject({ blessed: true, forced: null });
    expect(st.candidate?.offlineAgreement).toMatchObject({ rate: 1, n: agreedOffline.length });
    // At 100% the control is the champion over the 50% step's window, and the analysis says so.
    const last = st.lastAnalysis!;
    expect(last.weightPercent).toBe(100);
    expect(last.usedBaseline).toBe(true);
    expect(last.notes.join(' ')).toMatch(
      /control: the champion over the 50% step's window .* before the switch to 100%/,
    );
    const step50 = st.decisions.find((d) => d.decision === 'step' && d.weightPercent === 50)!;
    const step100 = st.decisions.find((d) => d.decision === 'step' && d.weightPercent === 100)!;
    expect(last.from >= step100.at).toBe(true);
    expect(last.notes.join(' ')).toMatch(new RegExp(`window (\\S+)\\.\\.`));
    const baselineFrom = /window (\S+)\.\./.exec(last.notes.join(' '))![1];
    expect(baselineFrom >= step50.at && baselineFrom < step100.at).toBe(true);
    // Every verdict line states its evidence.
    expect(last.measures.length).toBeGreaterThan(1);
    for (const m of last.measures) expect(m.detail).toMatch(/\(n \d+/);
    // The canary served real traffic and the shadow was compared before it did.
    expect(traffic.byRoleVersion['canary:v2']).toBeGreaterThan(200);
    expect(traffic.byRoleVersion['champion:v1']).toBeGreaterThan(200);
    const aliases = (await registry.getAliases('churn')).aliases;
    expect(aliases).toMatchObject({ champion: 'v2', previous: 'v1' });
    expect((await registry.getRollout('churn')).config).toEqual({});
    const promotion = (await registry.aliasHistory('churn')).filter(
      (e) => e.alias === 'champion' && e.to === 'v2',
    );
    expect(promotion[0].actor).toBe('rollout rollout-churn');

    // The fleet published its reports, including the shadow's agreement with the champion.
    const { reports } = await readFleetReports(store, 'churn');
    expect(reports.map((r) => r.instanceId).sort()).toEqual(['serve-a', 'serve-b']);
    const shadow = reports.flatMap((r) => r.shadow).filter((s) => s.version === 'v2');
    expect(shadow.length).toBeGreaterThan(0);
    expect(shadow.every((s) => s.agreementRate === 1)).toBe(true);

    const after = await sweep(store, 200);
    expect(after.every((a) => a.modelVersion === 'v2' && a.role === 'champion')).toBe(true);
  });

  test('a broken candidate is rolled back automatically at its first verdict, no human involved', async () => {
    const { store } = tempFileStore();
    const registry = await registerModels(store, broken);
    const { result } = await runRollout(store, 'rollout-rolled-back');

    expect(result.outcome).toBe('rolled-back');
    const st = result.status;
    expect(st.phase).toBe('rolled-back');
    // Never got past the shadow, and every analysis before the rollback was still waiting for traffic.
    expect(st.decisions.map((d) => d.decision)).toEqual(['start', 'shadow', 'rollback']);
    expect(st.lastAnalysis?.verdict).toBe('rollback');
    expect(st.lastAnalysis?.metricSource).toBe('agreement');
    expect(st.reason).toMatch(/agreement-with-champion/);

    const aliases = (await registry.getAliases('churn')).aliases;
    expect(aliases.champion).toBe('v1');
    expect(aliases['rolled-back']).toBe('v2');
    const rollout = await registry.getRollout('churn');
    expect(rollout.config).toEqual({});
    expect(rollout.doc?.reason).toMatch(/shadow analysis rollback/);
    const entry = (await registry.aliasHistory('churn')).find((e) => e.alias === 'rolled-back');
    expect(entry).toMatchObject({ actor: 'rollout rollout-churn', to: 'v2' });
    expect(entry?.reason).toMatch(/agreement-with-champion/);

    const after = await sweep(store, 200);
    expect(after.every((a) => a.modelVersion === 'v1' && a.role === 'champion')).toBe(true);
  });

  test('a candidate the fleet cannot load keeps the champion serving and is rolled back from the fleet report', async () => {
    const { store } = tempFileStore();
    const registry = await registerModels(store, { ...v1, threshold: 0.4 });
    // Corrupt the candidate's artifact after registration, as a bad upload or a partial copy would.
    await store.put('models/churn/versions/v2/model.json', '{"not": "a model"');
    const { result, traffic } = await runRollout(store, 'rollout-load-failure');

    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/load/i);
    // Nothing was ever answered by the candidate: every served answer came from the champion.
    expect(
      Object.keys(traffic.byRoleVersion).filter((k) => k.endsWith(':v2') && !k.startsWith('shadow')),
    ).toEqual([]);
    expect((await registry.getAliases('churn')).aliases.champion).toBe('v1');
    const after = await sweep(store, 100);
    expect(after.every((a) => a.modelVersion === 'v1' && a.role === 'champion')).toBe(true);
  });

  test('a borderline candidate (3-10 % worse) pauses for a human and resumes on approveRollout', async () => {
    const { store } = tempFileStore();
    const registry = await registerModels(store, borderline);
    let approvals = 0;
    let weightsWhileWaiting: number[] = [];
    const { result } = await runRollout(store, 'rollout-paused-approved', async (handle) => {
      for (let i = 0; i < 2000; i++) {
        const st = await handle.query(rolloutStatus).catch(() => undefined);
        if (st?.outcome) return;
        if (st?.awaitingApproval) {
          // Nothing moves while a human is asked.
          const rollout = await registry.getRollout('churn');
          weightsWhileWaiting.push(rollout.config.canary?.weightPercent ?? 0);
          expect(st.lastAnalysis?.verdict).toBe('pause');
          await handle.signal(approveRollout, {
            actor: 'alice',
            reason: `accepted ${st.awaitingApproval.reason}`,
          });
          approvals++;
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    });

    expect(result.outcome).toBe('promoted');
    expect(approvals).toBeGreaterThanOrEqual(1);
    const st = result.status;
    const paused = st.decisions.filter((d) => d.decision === 'pause');
    expect(paused.length).toBe(approvals);
    expect(paused[0].reason).toMatch(/agreement-with-champion .* worse/);
    expect(st.decisions.filter((d) => d.decision === 'approved').every((d) => d.actor === 'alice')).toBe(
      true,
    );
    expect(st.decisions.some((d) => d.decision === 'rollback')).toBe(false);
    weightsWhileWaiting = [...new Set(weightsWhileWaiting)];
    expect(weightsWhileWaiting.every((w) => [0, 10, 50].includes(w))).toBe(true);
    expect((await registry.getAliases('churn')).aliases).toMatchObject({ champion: 'v2', previous: 'v1' });
  });

  test('without an offline control, agreement below 1 is information, not a pause (issue 16)', async () => {
    // Seen before: "agreement 0.958 vs control 1" paused a step, the control being the champion's
    // agreement with itself. With no gate test set there is no control for agreement at all.
    const { store } = tempFileStore();
    await registerModels(store, borderline, { ...blessing, testSetKey: null });
    const { result } = await runRollout(store, null);

    expect(result.outcome).toBe('promoted');
    const st = result.status;
    expect(st.candidate?.offlineAgreement).toBeNull();
    expect(st.decisions.some((d) => d.decision === 'pause')).toBe(false);
    const shadowLine = st.decisions.find((d) => d.decision === 'continue' && d.phase === 'shadow')!;
    expect(shadowLine.reason).toMatch(
      /agreement-with-champion 0\.9\d+ \(n \d+ shared requests\): no control value to compare with, information only/,
    );
  });

  test('an unblessed candidate rolled out with forceUnblessed is promoted with the override in the audit log', async () => {
    const { store } = tempFileStore();
    const registry = await registerModels(
      store,
      { ...v1 },
      { blessed: false, reasons: ['f1 below the champion'] },
    );
    const { result } = await runRollout(store, null, undefined, {
      forceUnblessed: { actor: 'alice', reason: 'hotfix: the champion mislabels a new plan' },
    });

    expect(result.outcome).toBe('promoted');
    const st = result.status;
    expect(st.candidate).toMatchObject({
      blessed: false,
      gateReasons: ['f1 below the champion'],
      forced: { actor: 'alice', reason: 'hotfix: the champion mislabels a new plan' },
    });
    expect(st.decisions.find((d) => d.decision === 'force-unblessed')).toMatchObject({
      actor: 'alice',
      reason:
        'v2 is not blessed (gate: f1 below the champion); rolled out anyway: hotfix: the champion mislabels a new plan',
    });
    const promotion = (await registry.aliasHistory('churn')).find(
      (e) => e.alias === 'champion' && e.to === 'v2',
    )!;
    expect(promotion).toMatchObject({
      actor: 'rollout rollout-churn',
      forced: true,
      forceReason: 'hotfix: the champion mislabels a new plan (--force-unblessed by alice)',
    });
    expect(promotion.reason).toMatch(/\[unblessed, rolled out by alice with --force-unblessed: hotfix/);
    expect((await registry.getRollout('churn')).doc?.reason).toMatch(/\[unblessed, rolled out by alice/);
  });
});
