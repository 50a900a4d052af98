import { Runtime, Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { defaults } from '../config/defaults';
import type { ActivityDeps } from '../activities';
import { ensureSearchAttributes } from '../config/search-attributes';
import { EventLogger, formatFor, logLevelOf } from '../logging/event-logger';
import { modelLogAttributes } from './log-attributes';

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
  // Workflows upsert loopkeeper's search attributes: a namespace without them would stall every run.
  await ensureSearchAttributes(opts.connection, opts.namespace);
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(opts.deps),
    interceptors: { activity: [modelLogAttributes] },
    maxConcurrentActivityTaskExecutions: 4,
    // Not in WorkerOptions' type but honoured by the SDK (it overrides the 5 s default): see defaults.
    ...({ isolateExecutionTimeout: defaults.workflowActivationTimeoutMs } as object),
  });
}

let runtimeInstalled = false;

/** How the worker process reports: log level and format, and the optional Prometheus endpoint. */
export interface WorkerRuntimeOptions {
  /** LOOPKEEPER_LOG_LEVEL, default WARN. */
  level?: string;
  /** `json` or `pretty`; default JSON unless stderr is a terminal (LOOPKEEPER_LOG_FORMAT). */
  format?: string;
  /** Serve Prometheus metrics (SDK runtime metrics and loopkeeper's counters) on this port. Off when unset. */
  metricsPort?: number;
  /** Interface of the metrics endpoint (default 127.0.0.1; `0.0.0.0` for a scraper on another host). */
  metricsHost?: string;
}

/**
 * Installs the worker process's Temporal Runtime once: an event logger (one JSON line per event, or
 * readable lines on a terminal) for SDK, workflow and activity logs, and, with `metricsPort`, the SDK's
 * Prometheus exporter, which also serves loopkeeper's own counters and gauges (emitted through the
 * SDK's workflow and activity metric meters). Returns the metrics URL when serving one.
 */
export function installWorkerRuntime(opts: WorkerRuntimeOptions = {}): { metricsUrl: string | null } {
  const host = opts.metricsHost ?? '127.0.0.1';
  const metricsUrl = opts.metricsPort ? `http://${host}:${opts.metricsPort}/metrics` : null;
  if (runtimeInstalled) return { metricsUrl };
  runtimeInstalled = true;
  const level = logLevelOf(opts.level ?? process.env.LOOPKEEPER_LOG_LEVEL);
  const logger = new EventLogger(
    level,
    formatFor(process.stderr, opts.format ?? process.env.LOOPKEEPER_LOG_FORMAT),
  );
  try {
    Runtime.install({
      logger,
      ...(opts.metricsPort
        ? {
            telemetryOptions: {
              metrics: {
                prometheus: {
                  bindAddress: `${host}:${opts.metricsPort}`,
                  // loopkeeper's names carry their own `_total` and units; SDK metrics keep the SDK's names.
                  countersTotalSuffix: false,
                  unitSuffix: false,
                  useSecondsForDurations: true,
                },
              },
            },
          }
        : {}),
    });
  } catch (err) {
    // Installed already by the embedding process (tests, a host app): its logger and exporter stay.
    if ((err as Error).name !== 'IllegalStateError') throw err;
  }
  return { metricsUrl };
}

/** The runtime with logging only (LOOPKEEPER_LOG_LEVEL, default WARN): see installWorkerRuntime. */
export function installWorkerLogging(level?: string): void {
  installWorkerRuntime({ level });
}
