import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { defaults } from '../config/defaults';
import type { ActivityDeps } from '../activities';

/** Options for one loopkeeper worker process. */
export interface LoopkeeperWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Override for tests that pre-bundle workflow code. */
  workflowBundle?: { code: string };
}

/**
 * Creates a worker that runs every loopkeeper workflow and activity on one task queue. Workers keep no
 * state between activities, so any number of them may serve the same queue on any machine.
 */
export async function createLoopkeeperWorker(opts: LoopkeeperWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: 4,
    // Not in WorkerOptions' type but honoured by the SDK (it overrides the 5 s default): see defaults.
    ...({ isolateExecutionTimeout: defaults.workflowActivationTimeoutMs } as object),
  });
}

let runtimeInstalled = false;

/**
 * Sets the worker runtime's log level once per process (LOOPKEEPER_LOG_LEVEL, default WARN), so a
 * CLI user sees loopkeeper's own progress rather than worker lifecycle chatter.
 */
export function installWorkerLogging(
  level = (process.env.LOOPKEEPER_LOG_LEVEL ?? 'WARN').toUpperCase(),
): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const valid = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  try {
    Runtime.install({ logger: new DefaultLogger((valid.includes(level) ? level : 'WARN') as LogLevel) });
  } catch (err) {
    // Installed already by the embedding process (tests, a host app): its logger stays.
    if ((err as Error).name !== 'IllegalStateError') throw err;
  }
}
