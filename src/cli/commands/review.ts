import * as fs from 'node:fs';
import type { Command } from 'commander';
import { sendReviewTasks } from '../../activities/enqueue-review-tasks';
import { TaskStatusSchema } from '../../schemas/review';
import type { TaskStatus } from '../../schemas/review';
import { reviewQueueWorkflowId } from '../../workflows/review-ids';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import {
  claimNextTask,
  formatClaimedTask,
  formatRejection,
  formatReviewStats,
  formatSendResult,
  formatTaskList,
  listReviewTasks,
  parseReviewTasksNdjson,
  REJECTED_EXIT_CODE,
  renewReviewLease,
  reviewQueueStats,
  reviewTask,
  signalAndCheck,
  submitReviewLabel,
} from '../review-client';
import { printable as p } from '../printable';
import { parseModelId, quoteInput } from '../user-input';

const modelOf = (text: string): string => parseModelId(text);
/** How long `review add` waits for the queue to answer for a segment before it settles for "stored". */
const ADD_ANNOUNCE_DEADLINE_MS = 10_000;

function positiveInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${flag} ${quoteInput(text)}: expected a positive whole number`);
  return n;
}

function statusesOf(text: string | undefined): TaskStatus[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => {
    const r = TaskStatusSchema.safeParse(s.trim());
    if (!r.success)
      throw new CliError(`--status ${quoteInput(s)}: expected one of ${TaskStatusSchema.options.join(', ')}`);
    return r.data;
  });
}

interface TaskOpts {
  model: string;
  task: string;
  annotator: string;
  json?: boolean;
}

/**
 * `loopkeeper review next|submit|skip|release|renew|show|list|stats|add`: work a model's human review
 * queue (workflow `review-{model}`). Rejected answers exit with code 2.
 */
export function registerReview(program: Command, ctx: () => CliContext): void {
  const review = program.command('review').description("work a model's human review queue");

  review
    .command('next')
    .description('claim the oldest pending task (under a lease) and show it')
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--annotator <name>', 'who is labelling')
    .option('--lease <seconds>', 'lease length (default: the queue setting, 1 h)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; annotator: string; lease?: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      const client = await ctx().client();
      const r = await claimNextTask(client, modelId, {
        annotator: opts.annotator,
        leaseSeconds: positiveInt('--lease', opts.lease),
      });
      output(opts.json, r, () =>
        r.task ? formatClaimedTask(r.task, modelId) : `no task for ${p(opts.annotator)}: ${p(r.detail, 300)}`,
      );
      if (!r.task && r.reason !== 'no-task') throw new CliError(p(r.detail, 300), REJECTED_EXIT_CODE);
    });

  review
    .command('submit')
    .description('label a task; prints accepted or rejected with the reason')
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--task <id>', 'task id')
    .requiredOption('--label <label>', "one of the task's classes")
    .requiredOption('--annotator <name>', 'who is labelling')
    .option('--note <text>', 'free-text note kept with the label')
    .option('--json', 'print JSON')
    .action(async (opts: TaskOpts & { label: string; note?: string }) => {
      const modelId = modelOf(opts.model);
      const client = await ctx().client();
      const r = await submitReviewLabel(
        client,
        modelId,
        {
          taskId: opts.task,
          label: opts.label,
          annotator: opts.annotator,
          ...(opts.note !== undefined ? { note: opts.note } : {}),
        },
        { store: ctx().store },
      );
      output(opts.json, r, () =>
        !r.applied
          ? `stored: ${p(r.detail, 300)} (${p(r.key)})`
          : r.accepted
            ? `accepted${r.reason === 'duplicate' ? ' (duplicate: already counted)' : ''}: task ${p(opts.task)} is ${r.status}`
            : `rejected (${r.reason}): ${p(r.detail ?? '', 300)}`,
      );
      if (!r.applied) return;
      if (!r.accepted) throw new CliError(`label for task ${p(opts.task)} rejected`, REJECTED_EXIT_CODE);
    });

  for (const kind of ['skip', 'release'] as const) {
    const cmd = review
      .command(kind)
      .description(
        kind === 'skip'
          ? 'pass on a task: it goes to someone else and is not offered to you again'
          : 'give a claimed task back before its lease ends',
      )
      .requiredOption('--model <id>', 'model id')
      .requiredOption('--task <id>', 'task id')
      .requiredOption('--annotator <name>', 'who holds or skips the task');
    if (kind === 'skip') cmd.option('--reason <text>', 'why (kept for the record)');
    cmd.option('--json', 'print JSON').action(async (opts: TaskOpts & { reason?: string }) => {
      const modelId = modelOf(opts.model);
      const client = await ctx().client();
      const r = await signalAndCheck(client, modelId, kind === 'skip' ? 'skipTask' : 'releaseTask', {
        taskId: opts.task,
        annotator: opts.annotator,
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
      });
      output(opts.json, r, () =>
        r.rejection
          ? `rejected: ${formatRejection(r.rejection)}`
          : `${kind === 'skip' ? 'skipped' : 'released'}: task ${p(opts.task)} is ${r.view?.status ?? 'unknown'}`,
      );
      if (r.rejection) throw new CliError(`${kind} of task ${p(opts.task)} rejected`, REJECTED_EXIT_CODE);
    });
  }

  review
    .command('renew')
    .description('extend your lease on a claimed task')
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--task <id>', 'task id')
    .requiredOption('--annotator <name>', 'the lease holder')
    .option('--json', 'print JSON')
    .action(async (opts: TaskOpts) => {
      const modelId = modelOf(opts.model);
      const client = await ctx().client();
      const r = await renewReviewLease(client, modelId, { taskId: opts.task, annotator: opts.annotator });
      output(opts.json, r, () =>
        r.accepted
          ? `lease renewed until ${r.leaseExpiresAt}`
          : `rejected (${r.reason}): ${p(r.detail ?? '', 300)}`,
      );
      if (!r.accepted) throw new CliError(`renewal of task ${p(opts.task)} rejected`, REJECTED_EXIT_CODE);
    });

  review
    .command('show')
    .description('one task with its status, lease and labels')
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--task <id>', 'task id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; task: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      const view = await reviewTask(await ctx().client(), modelId, opts.task);
      if (!view)
        throw new CliError(`no task ${quoteInput(opts.task)} in the review queue of model "${modelId}"`);
      output(opts.json, view, () => JSON.stringify(view, null, 2));
    });

  review
    .command('list')
    .description('tasks still in the queue, oldest first')
    .requiredOption('--model <id>', 'model id')
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--status <list>', 'comma-separated statuses (default pending,claimed,escalated)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; limit?: string; status?: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      const views = await listReviewTasks(await ctx().client(), modelId, {
        limit: positiveInt('--limit', opts.limit),
        statuses: statusesOf(opts.status),
      });
      output(opts.json, views, () => formatTaskList(views));
    });

  review
    .command('stats')
    .description('queue counters, annotators, oldest pending age, last rejections')
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      const s = await reviewQueueStats(await ctx().client(), modelId);
      output(opts.json, s, () => formatReviewStats(s, reviewQueueWorkflowId(modelId)));
    });

  review
    .command('add')
    .description('add tasks from an NDJSON file (starts the queue if needed; for manual use)')
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--file <path>', 'NDJSON file, one review task per line')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; file: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      let text: string;
      try {
        text = fs.readFileSync(opts.file, 'utf8');
      } catch (err) {
        throw new CliError(`--file ${quoteInput(opts.file)}: ${p((err as Error).message, 300)}`);
      }
      const { tasks, errors } = parseReviewTasksNdjson(text, modelId);
      if (errors.length > 0) {
        throw new CliError(
          `${opts.file}: ${errors.length} invalid line(s), nothing sent:\n  ${errors.slice(0, 10).join('\n  ')}`,
        );
      }
      if (tasks.length === 0) throw new CliError(`${opts.file}: no tasks`);
      const c = ctx();
      const r = await sendReviewTasks(await c.client(), c.store, {
        taskQueue: c.config.temporal.taskQueue,
        modelId,
        tasks,
        // With no worker running the queue, the tasks are stored (durable) and found by the queue later.
        announceDeadlineMs: ADD_ANNOUNCE_DEADLINE_MS,
      });
      output(opts.json, r, () => formatSendResult(r, modelId));
    });
}
