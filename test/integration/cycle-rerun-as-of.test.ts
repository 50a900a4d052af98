import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { writeJson } from '../../src/storage/ndjson';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { tempFileStore, withWorker } from '../support/temporal';

/**
 * Temporal validation: a cycle sees only data that existed at its window's end. Re-running an older
 * window after a later cycle (whose auto-labels, test set, challenge set and retrain now exist) must
 * train on exactly what the original run trained on, and so register the same version.
 */
test('re-running W1 after W2 reproduces W1: same training rows, same feedback, same version id', async () => {
  const { store } = tempFileStore();
  await writeJson(store, 'config/churnasof/policy.json', { retrain: { positiveClass: 'churn' } });
  await writeSimulatedLogs(store, {
    modelId: 'churnasof',
    config: { name: 'concept-drift', seed: 5, start: '2026-06-01', days: 21, rowsPerDay: 500 },
    historyDays: 28,
  });
  await withWorker(store, async ({ client, taskQueue }) => {
    const run = async (from: string, to: string): Promise<CycleStatus> =>
      (await client.workflow.execute('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churnasof-${from}_${to}`,
        args: [{ modelId: 'churnasof', window: { from, to } }],
      })) as CycleStatus;
    const w1 = await run('2026-06-08', '2026-06-15');
    const w2 = await run('2026-06-15', '2026-06-22');
    expect(w1.retrain?.train.version).toBeDefined();
    expect(w2.routing?.routing.byRoute['auto-relabel']).toBeGreaterThan(0);
    const again = await run('2026-06-08', '2026-06-15');
    expect(again.state).toBe('completed');
    expect(again.caps?.allowed).toBe(true);
    expect(again.retrain?.train.trainingRows).toBe(w1.retrain?.train.trainingRows);
    expect(again.retrain?.train.feedback).toEqual(w1.retrain?.train.feedback);
    expect(again.testSet?.rows).toBe(w1.testSet?.rows);
    expect(again.retrain?.train.version).toBe(w1.retrain?.train.version);
  });
}, 600_000);
