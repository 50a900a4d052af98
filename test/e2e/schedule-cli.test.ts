import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { runCli } from '../support/cli';
import { installationNamespace, openInstallation } from '../../src/config/installation';
import { tempFileStore, testTemporalAddress, withWorker } from '../support/temporal';

/**
 * Scheduled retraining cycles through the CLI on the real server: create, describe, trigger (a cycle
 * runs on the worker), pause/unpause, delete; and the clear errors for a duplicate or a missing schedule.
 */
test('schedule create | describe | trigger | pause | unpause | delete', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'sched',
    config: { name: 'stable', seed: 5, start: '2026-11-01', days: 3, rowsPerDay: 50 },
    historyDays: 0,
  });
  // The CLI works in the store's own namespace (registered by its first call); the worker joins it.
  const first = await runCli(
    { TEMPORAL_ADDRESS: testTemporalAddress(), LOOPKEEPER_STORE: store.uri },
    'schedule',
    'describe',
    '--model',
    'sched',
  );
  expect(first.err).toMatch(/no schedule for model "sched"/);
  const installation = await openInstallation(store, { create: false });
  await withWorker(
    store,
    async ({ client, taskQueue, config }) => {
      const env = {
        TEMPORAL_ADDRESS: config.temporal.address,
        LOOPKEEPER_TASK_QUEUE: taskQueue,
        LOOPKEEPER_STORE: store.uri,
      };
      const created = await runCli(env, 'schedule', 'create', '--model', 'sched', '--every', '1d', '--json');
      expect(created.code).toBe(0);
      expect(JSON.parse(created.out)).toMatchObject({
        scheduleId: 'cycle-schedule-sched',
        paused: false,
        overlap: expect.anything(),
      });

      const dup = await runCli(env, 'schedule', 'create', '--model', 'sched');
      expect(dup.code).toBe(1);
      expect(dup.err).toMatch(/already exists/);

      expect((await runCli(env, 'schedule', 'trigger', '--model', 'sched')).code).toBe(0);
      // The triggered action starts a cycle; wait for it to appear in the schedule's recent actions.
      let workflowId: string | undefined;
      for (let i = 0; i < 50 && !workflowId; i++) {
        const d = JSON.parse((await runCli(env, 'schedule', 'describe', '--model', 'sched', '--json')).out);
        workflowId = d.recentActions[0]?.workflowId;
        if (!workflowId) await new Promise((r) => setTimeout(r, 200));
      }
      expect(workflowId).toMatch(/^cycle-sched-scheduled/);
      const result = await client.workflow.getHandle(workflowId!).result();
      expect(['completed', 'skipped']).toContain(result.state);

      expect((await runCli(env, 'schedule', 'pause', '--model', 'sched', '--note', 'maintenance')).code).toBe(
        0,
      );
      expect(
        JSON.parse((await runCli(env, 'schedule', 'describe', '--model', 'sched', '--json')).out),
      ).toMatchObject({ paused: true, note: 'maintenance' });
      expect((await runCli(env, 'schedule', 'unpause', '--model', 'sched')).code).toBe(0);
      expect((await runCli(env, 'schedule', 'delete', '--model', 'sched')).code).toBe(0);
      const gone = await runCli(env, 'schedule', 'describe', '--model', 'sched');
      expect(gone.code).toBe(1);
      expect(gone.err).toMatch(/no schedule for model "sched"/);
    },
    { TEMPORAL_NAMESPACE: installationNamespace(installation) },
  );
});
