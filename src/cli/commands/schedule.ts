import type { Command } from 'commander';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { ScheduleDescription, ScheduleSpec } from '@temporalio/client';
import { cycleScheduleId, scheduledCycleWorkflowId } from '../../workflows/cycle-ids';
import { setSchedulePaused } from '../admin-actions';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { EXIT } from '../exit-codes';
import { parseModelId, quoteInput } from '../user-input';
import { startSearchAttributes } from '../../workflows/search-attributes';

export { cycleScheduleId } from '../../workflows/cycle-ids';

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/**
 * A cron expression's shape: 5 to 7 fields of cron characters, or a macro. The server checks the
 * values; this catches what is plainly not a cron expression with a clear message first.
 */
function checkCron(expr: string): void {
  const text = expr.trim();
  if (CRON_MACROS.includes(text) || /^@every \S+$/.test(text)) return;
  const fields = text.split(/\s+/);
  if (fields.length < 5 || fields.length > 7 || fields.some((f) => !/^[0-9A-Za-z*?/,#LW-]+$/.test(f)))
    throw new CliError(
      `--cron ${quoteInput(expr)}: expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *", or a macro such as @daily`,
      EXIT.usage,
    );
}

function spec(opts: { every?: string; cron?: string }): ScheduleSpec {
  if (opts.every && opts.cron) throw new CliError('give --every or --cron, not both');
  if (opts.cron) {
    checkCron(opts.cron);
    return { cronExpressions: [opts.cron] };
  }
  const every = opts.every ?? '1d';
  if (!/^\d+(ms|s|m|h|d)$/.test(every))
    throw new CliError(`--every ${quoteInput(every)}: expected a duration such as 30m, 6h or 1d`);
  return { intervals: [{ every: every as `${number}d` }] };
}

function describe(d: ScheduleDescription): Record<string, unknown> {
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note,
    spec: d.spec,
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    nextActionTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentActions: d.info.recentActions
      .slice(-5)
      .map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
  };
}

/** `loopkeeper schedule create|pause|unpause|trigger|describe|delete`: scheduled retraining cycles. */
export function registerSchedule(program: Command, ctx: () => CliContext): void {
  const schedule = program
    .command('schedule')
    .description('scheduled continuous-learning cycles (Temporal Schedules)');
  const model = (m: string): string => parseModelId(m);
  const handle = async (m: string) => {
    // Check the id before connecting: a bad --model is a usage error even when Temporal is down.
    const scheduleId = cycleScheduleId(model(m));
    return (await ctx().client()).schedule.getHandle(scheduleId);
  };
  const notFound = (m: string) => (err: unknown) => {
    if (err instanceof ScheduleNotFoundError)
      throw new CliError(
        `no schedule for model "${m}" (create it with \`loopkeeper schedule create --model ${m}\`)`,
      );
    throw err;
  };

  schedule
    .command('create')
    .requiredOption('--model <id>', 'model id')
    .option('--every <duration>', 'interval, e.g. 1d, 6h (default 1d)')
    .option('--cron <expr>', 'cron expression instead of an interval')
    .option('--window-days <n>', 'days of traffic per cycle')
    .option('--json', 'print JSON')
    .action(
      async (o: { model: string; every?: string; cron?: string; windowDays?: string; json?: boolean }) => {
        const c = ctx();
        const modelId = model(o.model);
        const windowDays = o.windowDays ? Number(o.windowDays) : c.config.ingest.windowDays;
        if (!Number.isInteger(windowDays) || windowDays < 1)
          throw new CliError(
            `--window-days ${quoteInput(String(o.windowDays))}: expected a positive integer`,
            EXIT.usage,
          );
        const scheduleSpec = spec(o);
        const client = await c.client();
        const store = await c.storeIdentity();
        try {
          const h = await client.schedule.create({
            scheduleId: cycleScheduleId(modelId),
            spec: scheduleSpec,
            action: {
              type: 'startWorkflow',
              workflowType: 'continuousLearningCycle',
              // The window is computed from the workflow's start time, so each run covers the days before it.
              args: [{ modelId, windowDays, store }],
              taskQueue: c.config.temporal.taskQueue,
              workflowId: scheduledCycleWorkflowId(modelId),
              typedSearchAttributes: startSearchAttributes(modelId, 'cycle'),
              staticSummary: `${modelId} scheduled continuous-learning cycle (${windowDays} days)`,
            },
            // A cycle still running when the next is due is skipped: two cycles of one model never overlap.
            policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
            state: { note: `retraining cycles for ${modelId}, created by loopkeeper` },
          });
          const d = await h.describe();
          output(
            o.json,
            describe(d),
            () =>
              `created schedule ${d.scheduleId}; next runs: ${d.info.nextActionTimes
                .slice(0, 3)
                .map((t) => t.toISOString())
                .join(', ')}`,
          );
        } catch (err) {
          if (err instanceof ScheduleAlreadyRunning)
            throw new CliError(
              `a schedule for model "${modelId}" already exists (${cycleScheduleId(modelId)}); delete it first or use pause/unpause`,
            );
          // The server's verdict on a spec it refuses (e.g. a cron value out of range), as one line;
          // the client reports INVALID_ARGUMENT as a TypeError.
          if (err instanceof TypeError || (err as { code?: number }).code === 3 /* INVALID_ARGUMENT */)
            throw new CliError(`schedule refused: ${(err as Error).message.split('\n')[0]}`, EXIT.usage);
          throw err;
        }
      },
    );
  for (const [name, what] of [
    ['pause', 'pause the schedule'],
    ['unpause', 'resume the schedule'],
    ['trigger', 'start one cycle now'],
    ['delete', 'delete the schedule (running cycles continue)'],
  ] as const) {
    schedule
      .command(name)
      .description(what)
      .requiredOption('--model <id>', 'model id')
      .option('--note <text>', 'why (kept on the schedule)')
      .action(async (o: { model: string; note?: string }) => {
        const h = await handle(o.model);
        const note = o.note ?? `${name} via loopkeeper CLI`;
        // Pause and unpause are shared with the web app (the note is the schedule's audit record).
        const act =
          name === 'pause' || name === 'unpause'
            ? setSchedulePaused(await ctx().client(), parseModelId(o.model), name === 'pause', note)
            : name === 'trigger'
              ? h.trigger()
              : h.delete();
        await act.catch(notFound(o.model));
        console.log(`${name}: ${h.scheduleId}`);
      });
  }
  schedule
    .command('describe')
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; json?: boolean }) => {
      const d = await (await handle(o.model)).describe().catch(notFound(o.model));
      const v = describe(d);
      output(o.json, v, () => JSON.stringify(v, null, 2));
    });
}
