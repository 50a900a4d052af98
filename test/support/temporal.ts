import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { claimNamespace, installationNamespace, openInstallation } from '../../src/config/installation';
import type { LoopkeeperConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import { FileBlobStore } from '../../src/storage/file-blob-store';
import { createLoopkeeperWorker } from '../../src/workers/worker';

// Worker lifecycle chatter would bury test output; warnings and errors still show.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed by an earlier test file in this process.
}

let bundle: Promise<{ code: string }> | undefined;

/** Bundles the workflow code once per test file (webpack is the slow part of starting a worker). */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: quietLogger,
  });
  return bundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

/** The test server's address, set by the jest global setup that started it. */
export function testTemporalAddress(): string {
  const addr = process.env.LOOPKEEPER_TEST_TEMPORAL_ADDRESS;
  if (!addr)
    throw new Error(
      'LOOPKEEPER_TEST_TEMPORAL_ADDRESS unset: run through jest (global setup starts the server)',
    );
  return addr;
}

/** A fresh file:// store in a temp dir. */
export function tempFileStore(): { store: BlobStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-test-'));
  return { store: new FileBlobStore({ root: dir, uri: `file://${dir}` }), dir };
}

/** A config pointing at the test server and the given store. */
export function testConfig(storeUri: string, extra: Record<string, string> = {}): LoopkeeperConfig {
  return loadConfig({ TEMPORAL_ADDRESS: testTemporalAddress(), LOOPKEEPER_STORE: storeUri, ...extra });
}

export interface TestStack {
  client: Client;
  taskQueue: string;
  config: LoopkeeperConfig;
  worker: Worker;
}

/**
 * Runs `fn` with a real worker (unique task queue) and client against the real dev server. The worker
 * is shut down afterwards even when `fn` throws.
 */
export async function withWorker<T>(
  store: BlobStore,
  fn: (stack: TestStack) => Promise<T>,
  extraEnv: Record<string, string> = {},
): Promise<T> {
  const taskQueue = `test-${randomUUID()}`;
  const config = testConfig(store.uri, { LOOPKEEPER_TASK_QUEUE: taskQueue, ...extraEnv });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const worker = await createLoopkeeperWorker({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    deps: { store, config, client },
    workflowBundle: await workflowBundle(),
  });
  try {
    return await worker.runUntil(fn({ client, taskQueue, config, worker }));
  } finally {
    await terminateRunning(client, taskQueue);
    await connection.close();
    await nativeConnection.close();
  }
}

/**
 * Terminates what a test left running on its task queue (entity workflows such as `review-{model}` live
 * on), so a later test reusing the same workflow id does not signal a queue that no worker polls.
 */
async function terminateRunning(client: Client, taskQueue: string): Promise<void> {
  for await (const wf of client.workflow.list({
    query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
  })) {
    await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .terminate('test finished')
      .catch(() => undefined);
  }
}

/**
 * Like `withWorker`, but in the store's own installation namespace (the store is created when new), as
 * `loopkeeper worker` runs: the CLI, given only LOOPKEEPER_STORE, then talks to this worker.
 */
export async function withInstalledWorker<T>(
  store: BlobStore,
  fn: (stack: TestStack) => Promise<T>,
  extraEnv: Record<string, string> = {},
): Promise<T> {
  const installation = await openInstallation(store, { create: true });
  const namespace = installationNamespace(installation);
  const connection = await Connection.connect({ address: testTemporalAddress() });
  try {
    await claimNamespace(new Client({ connection, namespace }), namespace, installation, store);
  } finally {
    await connection.close();
  }
  return withWorker(store, fn, { TEMPORAL_NAMESPACE: namespace, ...extraEnv });
}
