import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { ModelIdSchema, WindowSchema, DaySchema } from '../../schemas';
import type { CycleStatus } from '../../workflows/cycle-status';
import { status as statusQuery } from '../../workflows/messages';
import { resolveWindow } from '../../workflows/cycle';
import type { CycleInput } from '../../workflows/cycle';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { formatStatus } from '../format-status';

/** Workflow id of a cycle: one per model and window, so the same window never runs twice at once. */
export function cycleWorkflowId(modelId: string, from: string, to: string): string {
  return `cycle-${modelId}-${from}_${to}`;
}

function parseWindow(text: string): { from: string; to: string } {
  const [from, to] = text.split('..');
  const parsed = WindowSchema.safeParse({ from, to });
  if (!parsed.success)
    throw new CliError(`--window "${text}": expected FROM..TO as YYYY-MM-DD..YYYY-MM-DD with FROM before TO`);
  return parsed.data;
}

/**
 * The workflow id of a running cycle of this model, if visibility shows one. Visibility lags by a moment,
 * so this guards people and scripts; the per-window workflow id and the schedule's overlap policy are
 * the hard guarantees.
 */
async function runningCycleOf(client: Client, modelId: string): Promise<string | undefined> {
  const own = new RegExp(`^cycle-${modelId}-(\\d{4}-\\d{2}-\\d{2}_|scheduled)`);
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'continuousLearningCycle' AND ExecutionStatus = 'Running'`,
  })) {
    if (own.test(wf.workflowId)) return wf.workflowId;
  }
  return undefined;
}

/** Starts a cycle (refusing a duplicate for the same model and window) and returns its workflow id. */
export async function startCycle(ctx: CliContext, input: CycleInput): Promise<string> {
  const client = await ctx.client();
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

/** Reads a cycle's status through its query (works while running and after completion). */
export async function cycleStatus(ctx: CliContext, workflowId: string): Promise<CycleStatus> {
  const client = await ctx.client();
  try {
    return await client.workflow.getHandle(workflowId).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no cycle with workflow id "${workflowId}"`);
    throw err;
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
        const modelId = ModelIdSchema.safeParse(opts.model);
        if (!modelId.success)
          throw new CliError(`--model "${opts.model}": ${modelId.error.issues[0].message}`);
        if (opts.asOf && !DaySchema.safeParse(opts.asOf).success)
          throw new CliError(`--as-of "${opts.asOf}": expected YYYY-MM-DD`);
        const input: CycleInput = {
          modelId: modelId.data,
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
        const client = await c.client();
        try {
          await client.workflow.getHandle(workflowId).result();
        } catch {
          // The status below says which stage failed and why.
        }
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
