import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ModelIdSchema } from '../../schemas/records';
import {
  abortRollout,
  approveRollout,
  pauseRollout,
  resumeRollout,
  rolloutStatus,
} from '../../workflows/messages';
import type { RolloutInput, RolloutStatus } from '../../workflows/rollout';
import { ROLLOUT_WORKFLOW_TYPE, rolloutWorkflowId } from '../../workflows/rollout-ids';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { defaultActor, EXIT_USAGE } from './models';

function modelIdOf(text: string): string {
  const parsed = ModelIdSchema.safeParse(text);
  if (!parsed.success) throw new CliError(`--model "${text}": ${parsed.error.issues[0].message}`, EXIT_USAGE);
  return parsed.data;
}

/** `10m`, `30s`, `2h`, `500ms` or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`duration "${text}": expected e.g. 500ms, 30s, 10m, 2h`, EXIT_USAGE);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function parseSteps(text: string): number[] {
  const steps = text.split(',').map((s) => Number(s.trim()));
  if (steps.some((s) => !Number.isFinite(s) || s <= 0 || s > 100))
    throw new CliError(`--steps "${text}": expected percentages such as 1,5,10,25,50,100`, EXIT_USAGE);
  return steps;
}

function formatRollout(st: RolloutStatus): string {
  const a = st.lastAnalysis;
  return [
    `rollout ${st.workflowId}: ${st.modelId} ${st.candidateVersion} (champion at start: ${st.championAtStart ?? '-'})`,
    `  phase:    ${st.phase}${st.paused ? ` (held by ${st.paused.actor}: ${st.paused.reason})` : ''}`,
    `  step:     ${st.stepIndex < 0 ? '-' : `${st.stepIndex + 1}/${st.steps.length}`} at ${st.weightPercent}% (steps ${st.steps.join('-')})`,
    ...(st.awaitingApproval
      ? [
          `  WAITING FOR APPROVAL since ${st.awaitingApproval.since} (aborts at ${st.awaitingApproval.deadline}): ${st.awaitingApproval.reason}`,
        ]
      : []),
    a
      ? `  analysis: ${a.verdict} (${a.phase}, control ${a.control.requests} req / ${a.control.errors} err, candidate ${a.candidate.requests} req / ${a.candidate.errors} err, metric ${a.metricSource})`
      : '  analysis: none yet',
    ...(st.outcome ? [`  outcome:  ${st.outcome}: ${st.reason}`] : []),
    '  decisions:',
    ...st.decisions.map(
      (d) =>
        `    ${d.at}  ${d.decision.padEnd(16)} ${String(d.weightPercent).padStart(3)}%  ${d.actor}: ${d.reason}`,
    ),
  ].join('\n');
}

/** `loopkeeper rollout start|status|approve|abort|pause|resume`. */
export function registerRollout(program: Command, ctx: () => CliContext): void {
  const rollout = program
    .command('rollout')
    .description('shadow → canary → promote a candidate, with automatic rollback (workflow rollout-{model})');

  rollout
    .command('start')
    .description('start rolling a registered version out')
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--version <v>', 'candidate version')
    .option('--steps <list>', 'canary weights in percent', '1,5,10,25,50,100')
    .option('--step-interval <duration>', 'how long each canary step is held', '10m')
    .option('--shadow-duration <duration>', 'shortest shadow phase', '10m')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        model: string;
        version: string;
        steps: string;
        stepInterval: string;
        shadowDuration: string;
        json?: boolean;
      }) => {
        const c = ctx();
        const modelId = modelIdOf(opts.model);
        const workflowId = rolloutWorkflowId(modelId);
        const input: RolloutInput = {
          modelId,
          candidateVersion: opts.version,
          config: {
            steps: parseSteps(opts.steps),
            stepIntervalMs: parseDuration(opts.stepInterval),
            shadow: { minDurationMs: parseDuration(opts.shadowDuration) },
          },
        };
        const client = await c.client();
        try {
          await client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
            taskQueue: c.config.temporal.taskQueue,
            workflowId,
            args: [input],
            workflowIdConflictPolicy: 'FAIL',
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            throw new CliError(
              `a rollout of model "${modelId}" is already running (workflow ${workflowId}); see \`loopkeeper rollout status --model ${modelId}\``,
            );
          throw err;
        }
        output(
          opts.json,
          { workflowId },
          () =>
            `started rollout ${workflowId} of ${opts.version}\n  loopkeeper rollout status --model ${modelId}`,
        );
      },
    );

  rollout
    .command('status')
    .description("a rollout's phase, step, last analysis and decisions")
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const client = await ctx().client();
      try {
        const st = await client.workflow.getHandle(rolloutWorkflowId(modelId)).query(rolloutStatus);
        output(opts.json, st, () => formatRollout(st));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new CliError(`no rollout of model "${modelId}"`);
        throw err;
      }
    });

  const signals = [
    ['approve', approveRollout, 'accept the degradation a paused step reported; the rollout proceeds'],
    ['abort', abortRollout, 'stop the rollout and roll the candidate back'],
    ['pause', pauseRollout, 'hold the rollout at its current step (automatic rollback stays armed)'],
    ['resume', resumeRollout, 'let a held rollout proceed'],
  ] as const;
  for (const [name, signal, description] of signals) {
    rollout
      .command(name)
      .description(description)
      .requiredOption('--model <id>', 'model id')
      .option('--reason <text>', 'why (recorded in the rollout decisions)', `${name} from the CLI`)
      .option('--actor <name>', 'who (default cli:<user>)')
      .action(async (opts: { model: string; reason: string; actor?: string }) => {
        const modelId = modelIdOf(opts.model);
        const workflowId = rolloutWorkflowId(modelId);
        const client = await ctx().client();
        try {
          await client.workflow
            .getHandle(workflowId)
            .signal(signal, { actor: opts.actor ?? defaultActor(), reason: opts.reason });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new CliError(`no running rollout of model "${modelId}"`);
          throw err;
        }
        console.log(`sent ${signal.name} to ${workflowId}`);
      });
  }
}
