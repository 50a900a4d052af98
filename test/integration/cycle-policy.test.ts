import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { ActivityFailure } from '@temporalio/common';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { layout } from '../../src/storage/layout';
import { status } from '../../src/workflows/messages';
import { tempFileStore, withWorker } from '../support/temporal';

/**
 * A bad policy is found when the cycle starts, before any data is read: the cycle fails at its own
 * `policy` stage, once (not retried), with the problem named. A misspelt `promotoin` used to be
 * ignored, and the candidate was promoted to champion.
 */
test('a misspelt policy key fails the cycle at its policy stage, before ingest, without retries', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'badpolicy',
    config: { name: 'stable', seed: 4, start: '2026-06-01', days: 3, rowsPerDay: 60 },
    historyDays: 0,
  });
  await store.put(layout.policy('badpolicy'), JSON.stringify({ promotoin: 'challenger-only' }));

  await withWorker(store, async ({ client, taskQueue }) => {
    const handle = await client.workflow.start('continuousLearningCycle', {
      taskQueue,
      workflowId: `cycle-badpolicy-${Date.now()}`,
      args: [{ modelId: 'badpolicy', window: { from: '2026-06-01', to: '2026-06-04' } }],
    });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (err as WorkflowFailedError).cause as ActivityFailure;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const cause = activityFailure.cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidPolicy');
    expect(cause.message).toContain('promotoin: unknown key "promotoin" (did you mean "promotion"?)');

    const st = await handle.query(status);
    expect(st.state).toBe('failed');
    expect(st.stages.policy).toEqual({ state: 'failed', detail: expect.stringContaining('promotoin') });
    expect(st.stages.ingest.state).toBe('pending');
    expect(st.stages.summary.state).toBe('pending');
    expect(st.ingest).toBeUndefined();

    // One attempt: a person's mistake is not retried.
    const history = await handle.fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(started).toHaveLength(1);
    expect(started[0].activityTaskStartedEventAttributes?.attempt).toBe(1);
    // Nothing was ingested.
    const joined = await store.listPage(`datasets/badpolicy/joined/`, { limit: 1 });
    expect(joined.items).toHaveLength(0);
  });
});
