import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type { LoopkeeperConfig } from '../../src/config';
import { bindInstallation, claimNamespace, openInstallation } from '../../src/config/installation';
import type { Installation } from '../../src/config/installation';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import type { BlobStore } from '../../src/storage/blob-store';
import { createLoopkeeperWorker } from '../../src/workers/worker';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { runCli } from '../support/cli';
import { tempFileStore, testConfig, testTemporalAddress, workflowBundle } from '../support/temporal';

interface Installed {
  store: BlobStore;
  installation: Installation;
  config: LoopkeeperConfig;
  client: Client;
  worker: Worker;
  close: () => Promise<void>;
}

/** A store with its installation and a worker bound to it, as `loopkeeper worker` runs one. */
async function install(rowsPerDay: number): Promise<Installed> {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'iso',
    config: { name: 'stable', seed: 9, start: '2026-06-01', days: 3, rowsPerDay },
    historyDays: 0,
  });
  const installation = await openInstallation(store, { create: true });
  // The same (default) task queue name for both installations: the namespace keeps them apart.
  const config = bindInstallation(testConfig(store.uri), installation);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  await claimNamespace(client, config.temporal.namespace, installation, store);
  const native = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createLoopkeeperWorker({
    connection: native,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: { store, config, client },
    workflowBundle: await workflowBundle(),
  });
  return {
    store,
    installation,
    config,
    client,
    worker,
    close: async () => {
      await connection.close();
      await native.close();
    },
  };
}

/**
 * Two installations (two stores) on one Temporal server: the same model, window, workflow id and task
 * queue name, yet each cycle runs on its own store's worker; work started for another store is
 * refused (ForeignStore) and so is another installation's namespace. Before, the second installation's
 * cycle ran against the first one's store.
 */
test('two stores on one Temporal server never mix their work', async () => {
  const a = await install(50);
  const b = await install(80);
  expect(a.config.temporal.taskQueue).toBe(b.config.temporal.taskQueue);
  expect(a.config.temporal.namespace).not.toBe(b.config.temporal.namespace);
  const runWorkers = Promise.all([a.worker.run(), b.worker.run()]);
  try {
    const cycle = async (x: Installed): Promise<CycleStatus> => {
      const r = await runCli(
        { LOOPKEEPER_STORE: x.store.uri, TEMPORAL_ADDRESS: testTemporalAddress() },
        'cycle',
        'run',
        '--model',
        'iso',
        '--window',
        '2026-06-01..2026-06-04',
        '--wait',
        '--json',
      );
      // (The workers of this process log to the captured stderr too: the exit code is what counts.)
      expect(r.code).toBe(0);
      return JSON.parse(r.out) as CycleStatus;
    };
    // One after the other: runCli captures the console of this process.
    const sa = await cycle(a);
    const sb = await cycle(b);
    expect(sa.cycleId).toBe('cycle-iso-2026-06-01_2026-06-04');
    expect(sb.cycleId).toBe(sa.cycleId);
    // Each cycle read its own store: 3 days × its own rows per day.
    expect(sa.summary?.rows).toBe(150);
    expect(sb.summary?.rows).toBe(240);
    for (const x of [a, b])
      expect(
        (await x.store.listPage(`datasets/iso/joined/${sa.cycleId}/manifest.json`, { limit: 1 })).items,
      ).toHaveLength(1);

    // A cycle for store B started on A's namespace and queue: A's worker refuses it, for good.
    const foreign = await a.client.workflow.start('continuousLearningCycle', {
      taskQueue: a.config.temporal.taskQueue,
      workflowId: `cycle-iso-foreign-${Date.now()}`,
      args: [
        {
          modelId: 'iso',
          window: { from: '2026-06-01', to: '2026-06-04' },
          store: { installationId: b.installation.id, uri: b.store.uri },
        },
      ],
    });
    const err = await foreign.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(cause.type).toBe('ForeignStore');
    expect(cause.message).toContain(`started for store ${b.store.uri} (installation ${b.installation.id})`);
    expect(cause.message).toContain(
      `this worker serves store ${a.store.uri} (installation ${a.installation.id})`,
    );

    // B's CLI pointed at A's namespace is refused, naming both stores.
    const r = await runCli(
      {
        LOOPKEEPER_STORE: b.store.uri,
        TEMPORAL_ADDRESS: testTemporalAddress(),
        TEMPORAL_NAMESPACE: a.config.temporal.namespace,
      },
      'cycle',
      'run',
      '--model',
      'iso',
      '--window',
      '2026-06-01..2026-06-04',
    );
    expect(r.code).toBe(77);
    expect(r.err).toContain(`belongs to loopkeeper installation ${a.installation.id} (store ${a.store.uri})`);
    expect(r.err).toContain(`not to this store ${b.store.uri}`);
  } finally {
    a.worker.shutdown();
    b.worker.shutdown();
    await runWorkers;
    await a.close();
    await b.close();
  }
});

test('two callers claiming a new namespace at once can both start work in it at once', async () => {
  const { store } = tempFileStore();
  const installation = await openInstallation(store, { create: true });
  const namespace = bindInstallation(testConfig(store.uri), installation).temporal.namespace;
  const connections = await Promise.all(
    [0, 1].map(() => Connection.connect({ address: testTemporalAddress() })),
  );
  try {
    const clients = connections.map((connection) => new Client({ connection, namespace }));
    // Both register-or-claim at once (two `loopkeeper cycle run` on a new store); the loser of the
    // registration must not return before the server serves the namespace.
    await Promise.all(clients.map((c) => claimNamespace(c, namespace, installation, store)));
    const handles = await Promise.all(
      clients.map((c, i) =>
        c.workflow.start('noSuchWorkflow', {
          taskQueue: 'nobody-polls',
          workflowId: `claim-race-${i}`,
          args: [],
        }),
      ),
    );
    await Promise.all(handles.map((h) => h.terminate('test done')));
  } finally {
    await Promise.all(connections.map((c) => c.close()));
  }
});
