import { WorkflowFailedError } from '@temporalio/client';
import { readLines } from '../../src/storage/ndjson';
import { layout } from '../../src/storage/layout';
import { status } from '../../src/workflows/messages';
import { outcome, prediction, writeRawLines, writeRows } from '../support/fixtures';
import { maybeRecordHistory } from '../support/histories';
import { tempFileStore, withWorker } from '../support/temporal';

/**
 * The first durable cycle on the real Temporal dev server: ingest joins outcomes that matured in the
 * window to predictions from earlier days, quarantines bad rows with reasons, and reports a summary.
 */
describe('continuousLearningCycle (ingest + summary) on the real server', () => {
  test('joins matured outcomes, quarantines bad rows, and reports the window', async () => {
    const { store } = tempFileStore();
    // Predictions on 06-01 (before the window) whose outcomes mature on 06-08 (inside it),
    // and predictions inside the window whose outcomes have not matured yet.
    const early = Array.from({ length: 40 }, (_, i) => prediction(i, '2026-06-01'));
    const inside = Array.from({ length: 30 }, (_, i) => prediction(i, '2026-06-09'));
    // A shadow candidate's answer shares the request id with the served one: it must not join or count.
    const shadow = {
      ...early[0],
      modelVersion: 'v2-shadow',
      role: 'shadow' as const,
      predictedLabel: 'churn',
    };
    await writeRows(store, 'logs/churn/predictions/date=2026-06-01/part-0000.ndjson', [...early, shadow]);
    await writeRawLines(store, 'logs/churn/predictions/date=2026-06-09/part-0000.ndjson', [
      ...inside.map((r) => JSON.stringify(r)),
      '{"requestId": "broken", ',
      JSON.stringify({ ...prediction(99, '2026-06-09'), features: { tenure_days: 3, plan: ['pro'] } }),
    ]);
    const outcomes = early.map((p, i) => outcome(p, i % 4 === 0 ? 'churn' : 'stay'));
    await writeRows(store, 'logs/churn/outcomes/date=2026-06-08/part-0000.ndjson', outcomes);

    await withWorker(store, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churn-test-${Date.now()}`,
        args: [{ modelId: 'churn', window: { from: '2026-06-08', to: '2026-06-15' } }],
      });
      const result = await handle.result();
      const queried = await handle.query(status);
      expect(queried).toEqual(result);
      await maybeRecordHistory(handle, 'cycle-ingest-summary');
      expect(result.state).toBe('completed');
      expect(result.ingest?.joinedRows).toBe(40);
      expect(result.ingest?.badRows).toBe(2);
      expect(result.ingest?.orphanOutcomes).toBe(0);
      expect(result.summary?.rows).toBe(30); // only predictions inside the window count as traffic
      expect(result.summary?.labelled).toBe(40);
      expect(result.summary?.classBalance).toEqual({ churn: 10, stay: 30 });
      // fixture: churn score ≥ 0.5 for i%10 ≥ 5; label churn for i%4 === 0.
      const expectedWrong = early.filter(
        (p, i) => p.predictedLabel !== (i % 4 === 0 ? 'churn' : 'stay'),
      ).length;
      expect(result.summary?.misclassified).toBe(expectedWrong);

      const qKey = layout.quarantine('churn', handle.workflowId, 'predictions-2026-06-09-part-0000');
      expect(result.ingest?.quarantineKeys).toEqual([qKey]);
      const quarantined = [];
      for await (const { line } of readLines(store, qKey)) quarantined.push(JSON.parse(line));
      expect(quarantined).toHaveLength(2);
      expect(quarantined[0].reason).toMatch(/malformed JSON/);
      expect(quarantined[1].reason).toBe(
        'features.plan: must be a finite number, a string, a boolean or null',
      );
      expect(quarantined[1].line).toBe(32);
    });
  });

  test('an unknown model fails fast with a clear, non-retryable error', async () => {
    const { store } = tempFileStore();
    await writeRows(store, 'logs/fraud/predictions/date=2026-06-01/part-0000.ndjson', [
      prediction(1, '2026-06-01', { modelId: 'fraud' }),
    ]);
    await withWorker(store, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-nosuch-${Date.now()}`,
        args: [{ modelId: 'nosuch', window: { from: '2026-06-08', to: '2026-06-15' } }],
      });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const st = await handle.query(status);
      expect(st.state).toBe('failed');
      expect(st.stages.ingest.detail).toMatch(/unknown model "nosuch"/);
    });
  });

  test('too many bad rows fail the step naming the counts, after quarantining them all', async () => {
    const { store } = tempFileStore();
    const good = Array.from({ length: 5 }, (_, i) => JSON.stringify(prediction(i, '2026-06-09')));
    await writeRawLines(store, 'logs/churn/predictions/date=2026-06-09/part-0000.ndjson', [
      ...good,
      'nope',
      '{}',
      '[]',
      '42',
    ]);
    await withWorker(store, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churn-bad-${Date.now()}`,
        args: [{ modelId: 'churn', window: { from: '2026-06-08', to: '2026-06-15' } }],
      });
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      await maybeRecordHistory(handle, 'cycle-too-many-bad-rows');
      const st = await handle.query(status);
      expect(st.stages.ingest.detail).toMatch(/too many bad log rows: 4 of 9/);
      const q = await store.get(
        layout.quarantine('churn', handle.workflowId, 'predictions-2026-06-09-part-0000'),
      );
      expect(q.toString().trim().split('\n')).toHaveLength(4);
    });
  });

  test('an empty window completes as skipped with a message', async () => {
    const { store } = tempFileStore();
    await writeRows(store, 'logs/churn/predictions/date=2026-01-01/part-0000.ndjson', [
      prediction(1, '2026-01-01'),
    ]);
    await withWorker(store, async ({ client, taskQueue }) => {
      const st = await client.workflow.execute('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churn-empty-${Date.now()}`,
        args: [{ modelId: 'churn', window: { from: '2026-06-08', to: '2026-06-15' } }],
      });
      expect(st.state).toBe('skipped');
      expect(st.messages.join(' ')).toMatch(/no prediction logs for 2026-06-08\.\.2026-06-14/);
    });
  });
});
