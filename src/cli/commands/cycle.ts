import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { WindowSchema, DaySchema } from '../../schemas';
import type { CycleStatus } from '../../workflows/cycle-status';
import { status as statusQuery } from '../../workflows/messages';
import { resolveWindow } from '../../workflows/cycle';
import type { CycleInput } from '../../workflows/cycle';
import { cycleWorkflowId, isCycleOf } from '../../workflows/cycle-ids';
import { workflowPollers } from '../../workers/connect';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { EXIT } from '../exit-codes';
import { formatStatus } from '../format-status';
import { parseModelId, quoteInput } from '../user-input';
import { startSearchAttributes } from '../../workflows/search-attributes';
import { windowLabel } from '../../workflows/summaries';

export { cycleWorkflowId } from '../../workflows/cycle-ids';

/** How long `cycle run --wait` waits before saying that no worker polls the task queue. */
const NO_WORKER_NOTICE_MS = 3000;

/** Looks (250 ms apart) at a queue's pollers before `cycle status` says that no worker polls it. */
const POLLER_LOOKS = 8;

function parseWindow(text: string): { from: string; to: string } {
  const [from, to] = text.split('..');
  const parsed = WindowSchema.safeParse({ from, to });
  if (!parsed.success)
    throw new CliError(
      `--window ${quoteInput(text)}: expected FROM..TO as YYYY-MM-DD..YYYY-MM-DD with FROM before TO`,
    );
  return parsed.data;
}

/**
 * The workflow id of a running cycle of this model, if visibility shows one. Visibility lags by a moment,
 * so this guards people and scripts; the per-window workflow id and the schedule's overlap policy are
 * the hard guarantees.
 */
async function runningCycleOf(client: Client, modelId: string): Promise<string | undefined> {
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'continuousLearningCycle' AND ExecutionStatus = 'Running'`,
  })) {
    if (isCycleOf(wf.workflowId, modelId)) return wf.workflowId;
  }
  return undefined;
}

/**
 * Starts a cycle (refusing a duplicate for the same model and window) and returns its workflow id. The
 * input carries this store's identity: a worker on another store refuses it.
 */
export async function startCycle(ctx: CliContext, input: CycleInput): Promise<string> {
  const client = await ctx.client();
  input = { ...input, store: await ctx.storeIdentity() };
  const window = resolveWindow({ ...input, windowDays: input.windowDays ?? ctx.config.ingest.windowDays });
  const workflowId = cycleWorkflowId(input.modelId, window.from, window.to);
  const running = await runningCycleOf(client, input.modelId);
  if (running && running !== workflowId) {
    throw new CliError(
      `a cycle for model "${input.modelId}" is already running (workflow ${running}); two cycles of one model never run at once. ` +
        `Wait for it (\`loopkeeper cycle status ${running}\`) or cancel it.`,
    );
  }
  try {
    await client.workflow.start('continuousLearningCycle', {
      taskQueue: ctx.config.temporal.taskQueue,
      workflowId,
      args: [{ ...input, window }],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: startSearchAttributes(input.modelId, 'cycle'),
      staticSummary: `${input.modelId} ${windowLabel(window)}: continuous-learning cycle${input.driftTriggered ? ' (drift-triggered)' : ''}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `a cycle for model "${input.modelId}" and window ${window.from}..${window.to} is already running (workflow ${workflowId}); see \`loopkeeper cycle status ${workflowId}\``,
      );
    }
    throw err;
  }
  return workflowId;
}

/** The one-line advice when no worker polls a queue. */
function noWorkerMessage(ctx: CliContext, taskQueue: string): string {
  const { namespace, address } = ctx.config.temporal;
  return (
    `no worker polls task queue "${taskQueue}" (namespace ${namespace} at ${address}); ` +
    `start one for this store with \`loopkeeper worker\` (LOOPKEEPER_STORE=${ctx.store.uri})`
  );
}

/**
 * Reads a cycle's status through its query (works while running and after completion). Queries are
 * answered by a worker: with none polling, this says so instead of waiting for the query to time out.
 */
export async function cycleStatus(ctx: CliContext, workflowId: string): Promise<CycleStatus> {
  const client = await ctx.client();
  const handle = client.workflow.getHandle(workflowId);
  let taskQueue: string;
  try {
    taskQueue = (await handle.describe()).taskQueue;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CliError(`no cycle with workflow id "${workflowId}" in this store's namespace`, EXIT.noInput);
    throw err;
  }
  // A worker that has just started may not have polled yet: look again for a moment before saying so.
  for (let look = 0; ; look++) {
    if ((await workflowPollers(client, ctx.config.temporal.namespace, taskQueue)) > 0) break;
    if (look >= POLLER_LOOKS) throw new CliError(noWorkerMessage(ctx, taskQueue), EXIT.unavailable);
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await handle.query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CliError(`no cycle with workflow id "${workflowId}" in this store's namespace`, EXIT.noInput);
    // A worker listed as polling may have stopped since (the server remembers pollers for a while).
    throw new CliError(
      `the status query of ${workflowId} was not answered (${(err as Error).message.split('\n')[0]}); ` +
        `is a worker for this store running? (\`loopkeeper worker\` with LOOPKEEPER_STORE=${ctx.store.uri})`,
      EXIT.unavailable,
    );
  }
}

/**
 * Waits for a cycle to close. After a few seconds with no worker polling its task queue, says so once
 * (on stderr) and keeps waiting: a worker started later picks the cycle up.
 */
async function waitForCycle(ctx: CliContext, workflowId: string): Promise<void> {
  const client = await ctx.client();
  const result = client.workflow.getHandle(workflowId).result();
  let closed = false;
  const done = result.then(
    () => undefined,
    // The status read afterwards says which stage failed and why.
    () => undefined,
  );
  void done.then(() => (closed = true));
  const taskQueue = ctx.config.temporal.taskQueue;
  for (let warned = false; !closed;) {
    await Promise.race([done, new Promise((r) => setTimeout(r, NO_WORKER_NOTICE_MS).unref())]);
    if (closed || warned) continue;
    if ((await workflowPollers(client, ctx.config.temporal.namespace, taskQueue)) === 0) {
      console.warn(`loopkeeper: ${noWorkerMessage(ctx, taskQueue)}. Still waiting for ${workflowId} …`);
      warned = true;
    }
  }
}

/** `loopkeeper cycle run|status`. */
export function registerCycle(program: Command, ctx: () => CliContext): void {
  const cycle = program.command('cycle').description('run and inspect continuous-learning cycles');
  cycle
    .command('run')
    .description('start one cycle for a model')
    .requiredOption('--model <id>', 'model id')
    .option('--window <from..to>', 'explicit window of days, e.g. 2026-06-01..2026-06-08')
    .option('--as-of <day>', 'the window is the N days before this day (default: today)')
    .option('--wait', 'wait for the cycle to finish and print its summary')
    .option('--json', 'print JSON')
    .action(
      async (opts: { model: string; window?: string; asOf?: string; wait?: boolean; json?: boolean }) => {
        const c = ctx();
        const modelId = parseModelId(opts.model);
        if (opts.asOf && !DaySchema.safeParse(opts.asOf).success)
          throw new CliError(`--as-of ${quoteInput(opts.asOf)}: expected YYYY-MM-DD`, EXIT.usage);
        const input: CycleInput = {
          modelId: modelId,
          window: opts.window ? parseWindow(opts.window) : undefined,
          asOf: opts.asOf,
        };
        const workflowId = await startCycle(c, input);
        if (!opts.wait) {
          output(
            opts.json,
            { workflowId },
            () => `started cycle ${workflowId}\n  loopkeeper cycle status ${workflowId}`,
          );
          return;
        }
        await waitForCycle(c, workflowId);
        const st = await cycleStatus(c, workflowId);
        output(opts.json, st, () => formatStatus(st));
        if (st.state === 'failed') throw new CliError(`cycle ${workflowId} failed`, 2);
      },
    );
  cycle
    .command('status <workflowId>')
    .description("show a cycle's stage, counters and blob keys")
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const st = await cycleStatus(ctx(), workflowId);
      output(opts.json, st, () => formatStatus(st));
    });
}
