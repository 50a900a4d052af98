import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import type { DriftMonitorStatus } from '../../src/workflows/drift-monitor';
import { driftStatus, status } from '../../src/workflows/messages';
import { maybeRecordHistory } from '../support/histories';
import { tempFileStore, withWorker } from '../support/temporal';

/**
 * The daily drift monitor on the real server, on the day a country-encoding switch reaches the logs:
 * a skew alert naming 'country', a self-contained HTML report, and a drift-triggered cycle whose retrain
 * the skew alert blocks.
 */
test('driftMonitor: skew alert on the switch day triggers a drift-triggered cycle', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: {
      name: 'country-encoding',
      seed: 5,
      start: '2026-06-01',
      days: 12,
      rowsPerDay: 600,
      switchDay: 10,
    },
    historyDays: 28,
  });
  await withWorker(store, async ({ client, taskQueue }) => {
    const handle = await client.workflow.start('driftMonitor', {
      taskQueue,
      workflowId: `drift-churn-2026-06-11-${Date.now()}`,
      // asOf 06-12 with the default one-day window: the switch day 06-11 (day 10).
      // The cycle covers the same day: over a 7-day window one switched day is only a skew warning.
      args: [{ modelId: 'churn', asOf: '2026-06-12', triggerCycle: true, cycleWindowDays: 1 }],
    });
    const result = (await handle.result()) as DriftMonitorStatus;
    expect(await handle.query(driftStatus)).toEqual(result);
    expect(result.state).toBe('completed');
    expect(result.window).toEqual({ from: '2026-06-11', to: '2026-06-12' });
    expect(result.drift?.skewAlert).toBe(true);
    expect(result.drift?.blocksRetraining).toBe(true);
    expect(result.drift?.skewFindings[0]).toMatchObject({ feature: 'country', severity: 'alert' });
    expect(result.drift?.skewFindings[0].detail).toContain('United States');

    const html = (await store.get(result.drift!.htmlKey)).toString('utf8');
    expect(html).toContain('<svg');
    expect(html).not.toContain('<script');

    // The triggered cycle: driftTriggered, window ending the same day, skew blocks its retrain.
    expect(result.trigger?.reason).toMatch(/skew alert: country/);
    expect(result.trigger?.window).toEqual({ from: '2026-06-11', to: '2026-06-12' });
    const cycle = client.workflow.getHandle(result.trigger!.workflowId);
    const cycleResult = (await cycle.result()) as CycleStatus;
    const desc = await cycle.describe();
    expect(desc.parentExecution?.workflowId).toBe(handle.workflowId);
    const st = await cycle.query(status);
    expect(st).toEqual(cycleResult);
    expect(st.drift?.skewAlert).toBe(true);
    expect(st.messages[0]).toMatch(/^skew alert: .*'country'/);
    expect(st.stages.retrain.state).toBe('skipped');
    expect(st.stages.caps.detail).toMatch(/^skew alert: country unseen-categories/);

    await maybeRecordHistory(handle, 'drift-monitor');
    await maybeRecordHistory(cycle, 'cycle-drift-triggered');
  });
});
