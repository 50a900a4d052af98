import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { installationNamespace } from '../../src/config/installation';
import { runCli } from '../support/cli';
import { tempFileStore, testTemporalAddress } from '../support/temporal';

/**
 * `loopkeeper cycle run` refuses a second cycle of the same model while one runs (any window), and
 * names the running workflow. No worker polls the queue, so the first cycle stays running.
 */
test('a second cycle of the same model is refused with a clear message', async () => {
  const { store } = tempFileStore();
  const model = `m${randomUUID().slice(0, 8)}`;
  const env = {
    TEMPORAL_ADDRESS: testTemporalAddress(),
    LOOPKEEPER_TASK_QUEUE: `idle-${randomUUID()}`,
    LOOPKEEPER_STORE: store.uri,
  };
  const first = await runCli(
    env,
    // An empty store: created on purpose.
    '--init',
    'cycle',
    'run',
    '--model',
    model,
    '--window',
    '2026-06-01..2026-06-08',
    '--json',
  );
  expect(first.code).toBe(0);
  const { workflowId } = JSON.parse(first.out) as { workflowId: string };
  expect(workflowId).toBe(`cycle-${model}-2026-06-01_2026-06-08`);

  const installation = JSON.parse((await store.get('installation.json')).toString()) as { id: string };
  const connection = await Connection.connect({ address: testTemporalAddress() });
  // The cycle runs in the store's own namespace.
  const client = new Client({ connection, namespace: installationNamespace(installation) });
  try {
    // Visibility catches up within moments; wait until the running cycle is listed.
    for (let i = 0; i < 100; i++) {
      const listed = [];
      for await (const wf of client.workflow.list({
        query: `WorkflowType = 'continuousLearningCycle' AND ExecutionStatus = 'Running'`,
      }))
        listed.push(wf.workflowId);
      if (listed.includes(workflowId)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const other = await runCli(env, 'cycle', 'run', '--model', model, '--window', '2026-06-08..2026-06-15');
    expect(other.code).toBe(1);
    expect(other.err).toContain(`a cycle for model "${model}" is already running (workflow ${workflowId})`);

    const same = await runCli(env, 'cycle', 'run', '--model', model, '--window', '2026-06-01..2026-06-08');
    expect(same.code).toBe(1);
    expect(same.err).toMatch(/already running/);

    const bad = await runCli(env, 'cycle', 'run', '--model', model, '--window', '2026-06-08..2026-06-01');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--window "2026-06-08..2026-06-01"/);

    const missing = await runCli(env, 'cycle', 'status', 'cycle-nope-2026-01-01_2026-01-08');
    expect(missing.code).toBe(66);
    expect(missing.err).toMatch(/no cycle with workflow id/);
  } finally {
    await client.workflow.getHandle(workflowId).terminate('test done');
    await connection.close();
  }
});
