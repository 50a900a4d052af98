import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeJson } from '../../src/storage/ndjson';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { reviewStats } from '../../src/workflows/messages';
import { driftGroupWorkflowId } from '../../src/workflows/drift-fan-out';
import { maybeRecordHistory } from '../support/histories';
import { tempFileStore, withWorker } from '../support/temporal';

/**
 * Several cycles over simulated weeks of the concept-drift scenario on the real server: the first
 * cycle trains and promotes a first model from history + traffic, later cycles route
 * misclassifications both ways, refresh the test set, and retrain within the caps; a re-run of the same
 * window is refused by the cooldown cap with its reason and the next allowed time.
 */
test('weekly cycles: route, refresh the test set, retrain and gate; caps skip with reasons', async () => {
  const { store } = tempFileStore();
  // A model id of its own: entity workflows (review-{model}) are per model on a shared test server.
  await writeJson(store, 'config/churnloop/policy.json', { retrain: { positiveClass: 'churn' } });
  await writeSimulatedLogs(store, {
    modelId: 'churnloop',
    config: { name: 'concept-drift', seed: 3, start: '2026-06-01', days: 28, rowsPerDay: 600 },
    historyDays: 28,
  });
  await withWorker(store, async ({ client, taskQueue }) => {
    const run = async (from: string, to: string, suffix = ''): Promise<CycleStatus> => {
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churnloop-${from}_${to}${suffix}`,
        args: [{ modelId: 'churnloop', window: { from, to } }],
      });
      const st = (await handle.result()) as CycleStatus;
      if (from === '2026-06-15' && !suffix) {
        await maybeRecordHistory(handle, 'cycle-full');
        await maybeRecordHistory(client.workflow.getHandle(`${handle.workflowId}-retrain`), 'retrain');
        await maybeRecordHistory(
          client.workflow.getHandle(driftGroupWorkflowId(handle.workflowId, 0)),
          'drift-partition-group',
        );
      }
      return st;
    };
    const c1 = await run('2026-06-08', '2026-06-15');
    expect(c1.state).toBe('completed');
    expect(c1.policySource).toBe('stored');
    expect(c1.stages.retrain.state).toBe('done');
    expect(c1.retrain?.registeredAs).toBe('champion');
    const m1 = await new ModelRegistry(store).getManifest('churnloop', c1.retrain!.train.version);
    expect(m1.positiveClass).toBe('churn');
    // The threshold stage ran (default: max F1 on the validation split) and the version carries it.
    expect(m1.lineage.threshold).toMatchObject({ objective: 'f1', source: 'validation', reached: true });
    expect(m1.threshold).toBe((m1.lineage.threshold as { threshold: number }).threshold);
    expect(m1.threshold).not.toBe(0.5);
    expect((await new ModelRegistry(store).loadArtifact('churnloop', m1.version)).threshold).toBe(
      m1.threshold,
    );
    expect(c1.routing?.routing.byRoute['auto-relabel']).toBeGreaterThan(0);
    expect(c1.routing?.routing.byRoute['human-review']).toBeGreaterThan(0);
    expect(Object.keys(c1.routing?.routing.byReason ?? {}).length).toBeGreaterThan(1);
    expect(c1.testSet?.refreshed).toBe(true);
    const registry = new ModelRegistry(store);
    const champion1 = (await registry.getAliases('churnloop')).aliases.champion;
    expect(champion1).toBe(c1.retrain?.train.version);

    // Human tasks reached the review queue through signal-with-start.
    const stats = await client.workflow.getHandle('review-churnloop').query(reviewStats);
    expect(stats.pending).toBe(c1.routing?.reviewTasks);

    const c2 = await run('2026-06-15', '2026-06-22');
    expect(c2.state).toBe('completed');
    expect(c2.caps?.allowed).toBe(true);
    expect(c2.retrain?.evaluation.championVersion).toBe(champion1);
    expect(c2.retrain?.evaluation.testRows).toBeGreaterThanOrEqual(200);
    expect(c2.retrain?.train.feedback.share).toBeLessThanOrEqual(0.3 + 1e-9);
    // The blessing is recorded in the candidate's manifest either way, with reasons.
    const manifest = await registry.getManifest('churnloop', c2.retrain!.train.version);
    expect(manifest.blessing?.blessed).toBe(c2.retrain?.evaluation.blessed);
    expect(manifest.blessing?.reasons.length).toBeGreaterThan(0);
    // Challenge sets (rare slices, hard cases) are mined and the perturbation check is part of the blessing.
    expect(c2.stages['challenge-set'].state).toBe('done');
    expect(c2.challengeSet?.byReason['high-loss']).toBeGreaterThan(0);
    expect(manifest.blessing?.checks.map((c) => c.name)).toContain('perturbation-flip-rate');
    expect(c2.retrain?.evaluation.perturbationFlipRate).toEqual(expect.any(Number));

    // The same window again, at the same cycle time: the cooldown since the last retrain fires.
    const again = await run('2026-06-15', '2026-06-22', '-again');
    expect(again.caps?.allowed).toBe(false);
    expect(again.caps?.firedCaps.map((c) => c.cap)).toContain('cooldown');
    expect(again.caps?.nextAllowedAt).toBe('2026-06-23T00:00:00.000Z');
    expect(again.stages.retrain.state).toBe('skipped');
    expect(again.stages.caps.detail).toMatch(/retrain skipped \(cooldown/);
  });
}, 600_000);
