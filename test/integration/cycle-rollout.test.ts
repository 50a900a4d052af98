import { performance } from 'node:perf_hooks';
import type { ServingApp } from '../../src/serving/app';
import { createServingApp } from '../../src/serving/app';
import { generateDay } from '../../src/simulate/generate';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeJson } from '../../src/storage/ndjson';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { maybeRecordHistory } from '../support/histories';
import { tempFileStore, withWorker } from '../support/temporal';

const MODEL = 'churnroll';
const scenario = { name: 'concept-drift' as const, seed: 3, start: '2026-06-01', days: 28, rowsPerDay: 600 };

/**
 * The whole path on the real server with a simulated serving fleet: cycle → challenger → shadow →
 * canary steps → champion, with `policy.promotion = rollout` set in the store. Until outcomes mature
 * the rollout judges agreement with the old champion against what the two models agreed on the gate's
 * test set; this policy only investigates at 50% and rolls back at 90%, so the test is about the path,
 * not the thresholds (the rollout tests cover the 3%/10% triggers with crafted candidates).
 */
test('cycle → challenger → shadow → canary → champion, driven by live traffic', async () => {
  const { store } = tempFileStore();
  await writeJson(store, `config/${MODEL}/policy.json`, {
    // A fixed threshold: at 600 rows/day the validation split holds ~40 churners, and thresholds tuned on
    // it differ enough between versions to trip the flip-rate gate; this test is about the rollout path.
    retrain: { positiveClass: 'churn', threshold: { objective: 'fixed', value: 0.5 } },
    promotion: 'rollout',
    rollout: {
      shadow: { minDurationMs: 300, minRequests: 200 },
      steps: [50, 100],
      stepIntervalMs: 300,
      minSamplesPerStep: 100,
      analysisIntervalMs: 150,
      analysis: { minRequests: 100, investigateAt: 0.5, rollbackAt: 0.9, minLatencyDeltaMs: 1000 },
    },
  });
  await writeSimulatedLogs(store, { modelId: MODEL, config: scenario, historyDays: 28 });
  const traffic = generateDay(scenario, 20).predictions.map((p) => ({
    entityId: p.entityId,
    features: p.features,
  }));

  await withWorker(store, async ({ client, taskQueue }) => {
    const c1 = (await client.workflow.execute('continuousLearningCycle', {
      taskQueue,
      workflowId: `cycle-${MODEL}-2026-06-08_2026-06-15`,
      args: [{ modelId: MODEL, window: { from: '2026-06-08', to: '2026-06-15' } }],
    })) as CycleStatus;
    // The first model has no champion to be compared with in shadow or canary: it is promoted directly.
    expect(c1.retrain?.registeredAs).toBe('champion');
    const v1 = c1.retrain!.train.version;

    const fleet: ServingApp[] = await Promise.all(
      ['a', 'b'].map((id) =>
        createServingApp({
          store,
          modelId: MODEL,
          aliasPollMs: 100,
          logFlushMs: 200,
          fleetReport: { instanceId: id, intervalMs: 200 },
        }),
      ),
    );
    try {
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-${MODEL}-2026-06-15_2026-06-22`,
        args: [{ modelId: MODEL, window: { from: '2026-06-15', to: '2026-06-22' } }],
      });
      let settled = false;
      const result = handle.result().finally(() => (settled = true)) as Promise<CycleStatus>;
      const seen: Record<string, number> = {};
      const started = performance.now();
      for (let i = 0; !settled && i < 200_000 && performance.now() - started < 120_000; i += 10) {
        const answers = await Promise.all(
          Array.from({ length: 10 }, async (_, k) => {
            const t = traffic[(i + k) % traffic.length];
            const res = await fleet[k % 2].app.request('/predict', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                requestId: `live-${i + k}`,
                entityId: t.entityId,
                features: t.features,
              }),
            });
            return (await res.json()) as { role: string; modelVersion: string };
          }),
        );
        for (const a of answers)
          seen[`${a.role}:${a.modelVersion}`] = (seen[`${a.role}:${a.modelVersion}`] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 5));
      }
      const c2 = await result;
      await maybeRecordHistory(handle, 'cycle-with-rollout');
      expect(c2.retrain?.registeredAs).toBe('challenger');
      const v2 = c2.retrain!.train.version;
      expect(c2.stages.rollout.state).toBe('done');
      expect(c2.rollout?.outcome).toBe('promoted');
      const aliases = (await new ModelRegistry(store).getAliases(MODEL)).aliases;
      expect(aliases.champion).toBe(v2);
      expect(aliases.previous).toBe(v1);
      // Live traffic saw the candidate as canary before it became champion.
      expect(seen[`canary:${v2}`]).toBeGreaterThan(0);
      expect(seen[`champion:${v1}`]).toBeGreaterThan(0);
    } finally {
      await Promise.all(fleet.map((s) => s.close()));
    }
  });
}, 600_000);
