import type { Command } from 'commander';
import type { CliContext } from '../context';
import { connectWorker } from '../../workers/connect';
import { createLoopkeeperWorker, installWorkerLogging } from '../../workers/worker';

/** `loopkeeper worker`: one worker process on the configured task queue, until Ctrl-C. */
export function registerWorker(program: Command, ctx: () => CliContext): void {
  program
    .command('worker')
    .description('run a worker (workflows + activities) on the configured task queue until Ctrl-C')
    .action(async () => {
      const c = ctx();
      installWorkerLogging();
      const connection = await connectWorker(c.config.temporal);
      const worker = await createLoopkeeperWorker({
        connection,
        namespace: c.config.temporal.namespace,
        taskQueue: c.config.temporal.taskQueue,
        deps: { store: c.store, config: c.config, client: await c.client() },
      });
      console.log(
        `worker on task queue "${c.config.temporal.taskQueue}" at ${c.config.temporal.address}, store ${c.store.uri}`,
      );
      await worker.run();
      await connection.close();
    });
}
