import type { Command } from 'commander';
import { addDays, dayOf } from '../../schemas/window';
import { writeSimulatedLogs } from '../../simulate/write-logs';
import { layout } from '../../storage/layout';
import { installationsOnServer } from '../../config/installation';
import { connectWorker } from '../../workers/connect';
import { createLoopkeeperWorker, installWorkerRuntime } from '../../workers/worker';
import { parseMetricsPort } from './metrics-option';
import type { CliContext } from '../context';
import { CliError, unreachable } from '../context';
import { startDevTemporal } from '../dev-services';
import { formatStatus } from '../format-status';
import { cycleStatus, startCycle } from './cycle';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Seeds four weeks of simulated concept-drift traffic ending yesterday when the model has no logs,
 * so a fresh clone has something to learn from.
 */
async function seedIfEmpty(c: CliContext, modelId: string, today: string): Promise<void> {
  const page = await c.store.listPage(layout.logsRoot(modelId), { limit: 1 });
  if (page.items.length > 0) return;
  const days = 28;
  console.log(
    `• store ${c.store.uri} has no logs for "${modelId}": simulating ${days} days of concept-drift traffic …`,
  );
  const r = await writeSimulatedLogs(c.store, {
    modelId,
    config: { name: 'concept-drift', seed: 7, start: addDays(today, -days), days, rowsPerDay: 2000 },
  });
  console.log(
    `  ${r.predictions.rows} predictions, ${r.outcomes.rows} outcomes, ${r.history?.rows ?? 0} history rows`,
  );
}

/** `loopkeeper dev`: the embedded default — dev server, worker, seeded traffic, one cycle, then serve. */
export function registerDev(program: Command, ctx: () => CliContext): void {
  program
    .command('dev')
    .description('start the Temporal dev server and a worker, seed simulated traffic if empty, run a cycle')
    .option('--model <id>', 'model id', 'churn')
    .option('--once', 'run one cycle, print its summary and exit')
    .option('--metrics-port <port>', "serve the worker's Prometheus metrics on this port (off by default)")
    .action(async (opts: { model: string; once?: boolean; metricsPort?: string }) => {
      const c = ctx();
      const { metricsUrl } = installWorkerRuntime({ metricsPort: parseMetricsPort(opts.metricsPort) });
      // The store first (created when missing: `dev` is for a fresh clone): a bad LOOPKEEPER_STORE
      // fails before any server starts.
      const installation = await c.installation();
      const store = c.store;
      const temporal = c.config.temporal.external ? null : startDevTemporal(c.config);
      try {
        const client = await c.client();
        const { address, namespace } = c.config.temporal;
        if (temporal?.foreign) {
          const others = (await installationsOnServer(client)).filter((i) => i.id !== installation.id);
          console.log(
            `• a Temporal server already answers on ${address}, not started from ${temporal.dir}; reusing it. ` +
              `${others.length ? `Other loopkeeper installations there: ${others.map((o) => `${o.namespace} (store ${o.store})`).join(', ')}. ` : ''}` +
              `This store's work stays in its own namespace ${namespace}. Set TEMPORAL_ADDRESS to use another server.`,
          );
        }
        console.log(
          `• Temporal at ${address}, namespace ${namespace}${temporal?.uiUrl ? ` (UI ${temporal.uiUrl})` : ''}; store ${store.uri} (installation ${installation.id})`,
        );
        if (metricsUrl) console.log(`• worker metrics at ${metricsUrl}`);
        const connection = await connectWorker(c.config.temporal).catch((err: unknown) => {
          throw unreachable(address, err);
        });
        const worker = await createLoopkeeperWorker({
          connection,
          namespace,
          taskQueue: c.config.temporal.taskQueue,
          deps: { store, config: c.config, client },
        });
        const running = worker.run();
        let stopping = false;
        const shutdown = (): void => {
          if (stopping) return;
          stopping = true;
          worker.shutdown();
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
        try {
          const today = dayOf(Date.now());
          await seedIfEmpty(c, opts.model, today);
          const workflowId = await startCycle(c, { modelId: opts.model, asOf: today });
          console.log(`• cycle ${workflowId} started`);
          if (temporal?.uiUrl)
            console.log(
              `  ${temporal.uiUrl}/namespaces/${c.config.temporal.namespace}/workflows/${workflowId}`,
            );
          console.log(`  loopkeeper cycle status ${workflowId}`);
          let last = '';
          for (;;) {
            const st = await cycleStatus(c, workflowId);
            const line = `  … ${st.stage} (${st.state})`;
            if (line !== last) console.log(line);
            last = line;
            if (st.state !== 'running') {
              console.log(formatStatus(st));
              if (st.state === 'failed' && opts.once) throw new CliError(`cycle ${workflowId} failed`, 2);
              break;
            }
            await sleep(500);
          }
          if (!opts.once) {
            console.log('• worker running; Ctrl-C to stop');
            await running;
          }
        } finally {
          shutdown();
          await running.catch(() => undefined);
          await connection.close();
        }
      } finally {
        // Stop the dev server this command started, whatever happened.
        temporal?.stop();
      }
    });
}
