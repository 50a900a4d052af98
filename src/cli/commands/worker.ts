import type { Command } from 'commander';
import type { CliContext } from '../context';
import { unreachable } from '../context';
import { connectWorker } from '../../workers/connect';
import { createLoopkeeperWorker, installWorkerRuntime } from '../../workers/worker';
import { parseMetricsPort } from './metrics-option';

/**
 * `loopkeeper worker`: one worker process for this store's installation (its namespace, the configured
 * task queue), until Ctrl-C. The store must exist (`--init` creates it); work started for another
 * store is refused (`ForeignStore`).
 */
export function registerWorker(program: Command, ctx: () => CliContext): void {
  program
    .command('worker')
    .description("run a worker (workflows + activities) for this store's installation until Ctrl-C")
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics (SDK and loopkeeper counters) on this port; off by default',
    )
    .option('--metrics-host <host>', 'interface of the metrics endpoint', '127.0.0.1')
    .action(async (opts: { metricsPort?: string; metricsHost: string }) => {
      const c = ctx();
      const { metricsUrl } = installWorkerRuntime({
        metricsPort: parseMetricsPort(opts.metricsPort),
        metricsHost: opts.metricsHost,
      });
      const installation = await c.installation();
      // The client first: it reaches the server and claims the namespace for this store.
      const client = await c.client();
      const { temporal } = c.config;
      const connection = await connectWorker(temporal).catch((err: unknown) => {
        throw unreachable(temporal.address, err);
      });
      const worker = await createLoopkeeperWorker({
        connection,
        namespace: temporal.namespace,
        taskQueue: temporal.taskQueue,
        deps: { store: c.store, config: c.config, client },
      });
      console.log(
        `worker on task queue "${temporal.taskQueue}" in namespace ${temporal.namespace} at ${temporal.address}, store ${c.store.uri} (installation ${installation.id})` +
          (metricsUrl ? `; metrics at ${metricsUrl}` : ''),
      );
      await worker.run();
      await connection.close();
    });
}
