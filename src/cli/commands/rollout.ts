import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { checkRolloutCandidate, RolloutRefusedError } from '../../activities/check-rollout-candidate';
import { rolloutStatus } from '../../workflows/messages';
import type { RolloutInput, RolloutStatus } from '../../workflows/rollout';
import { ROLLOUT_WORKFLOW_TYPE, rolloutWorkflowId } from '../../workflows/rollout-ids';
import { ROLLOUT_SIGNALS, signalRollout } from '../admin-actions';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { defaultActor, EXIT_REFUSED, EXIT_USAGE } from './models';
import { parseModelId, quoteInput } from '../user-input';
import { startSearchAttributes } from '../../workflows/search-attributes';

const modelIdOf = (text: string): string => parseModelId(text);

/** `10m`, `30s`, `2h`, `500ms` or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`duration ${quoteInput(text)}: expected e.g. 500ms, 30s, 10m, 2h`, EXIT_USAGE);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function parseSteps(text: string): number[] {
  const steps = text.split(',').map((s) => Number(s.trim()));
  if (steps.some((s) => !Number.isFinite(s) || s <= 0 || s > 100))
    throw new CliError(
      `--steps ${quoteInput(text)}: expected percentages such as 1,5,10,25,50,100`,
      EXIT_USAGE,
    );
  return steps;
}

/** The exact commands that answer a paused rollout, as the status prints them. */
export function nextCommands(st: RolloutStatus): string[] {
  const model = st.modelId;
  const abort = `loopkeeper rollout abort --model ${model} --reason "<why it must not ship>"`;
  if (st.awaitingApproval)
    return [
      `  to proceed:            loopkeeper rollout approve --model ${model} --reason "<why this is acceptable>"`,
      `  to stop and roll back: ${abort}`,
    ];
  if (st.paused && !st.outcome)
    return [
      `  to let it proceed:     loopkeeper rollout resume --model ${model} --reason "<why>"`,
      `  to stop and roll back: ${abort}`,
    ];
  return [];
}

/** The deepest message of a failure chain (WorkflowFailedError → ActivityFailure → ApplicationFailure). */
function failureText(err: unknown): string {
  let e = err as { cause?: unknown; message?: string; type?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return `${e?.type ? `${e.type}: ` : ''}${e?.message ?? String(err)}`;
}

/** Human-readable rollout status. */
export function formatRollout(st: RolloutStatus): string {
  const a = st.lastAnalysis;
  const c = st.candidate;
  return [
    `rollout ${st.workflowId}: ${st.modelId} ${st.candidateVersion} (champion at start: ${st.championAtStart ?? '-'})`,
    `  phase:    ${st.phase}${st.paused ? ` (held by ${st.paused.actor}: ${st.paused.reason})` : ''}`,
    ...(c
      ? [
          `  candidate: ${c.blessed ? 'blessed' : 'NOT BLESSED'} (gate: ${c.gateReasons.join('; ') || 'no reasons recorded'})${c.forced ? `; rolled out with --force-unblessed by ${c.forced.actor}: ${c.forced.reason}` : ''}`,
        ]
      : []),
    `  step:     ${st.stepIndex < 0 ? '-' : `${st.stepIndex + 1}/${st.steps.length}`} at ${st.weightPercent}% (steps ${st.steps.join('-')})`,
    ...(st.awaitingApproval
      ? [
          `  WAITING FOR APPROVAL since ${st.awaitingApproval.since} (aborts at ${st.awaitingApproval.deadline}): ${st.awaitingApproval.reason}`,
        ]
      : []),
    ...nextCommands(st),
    ...(a
      ? [
          `  analysis: ${a.verdict} (${a.phase === 'shadow' ? 'shadow' : `canary ${a.weightPercent}%`}, window ${a.from}..${a.to}; quality from ${a.metricSource})`,
          ...a.measures.map((m) => `    ${m.measure.padEnd(30)} ${m.detail}`),
          ...a.notes.map((n) => `    note: ${n}`),
        ]
      : ['  analysis: none yet for this step']),
    ...(st.outcome ? [`  outcome:  ${st.outcome}: ${st.reason}`] : []),
    ...(!st.outcome && st.reason ? [`  reason:   ${st.reason}`] : []),
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
    .option(
      '--force-unblessed',
      'roll out a registered version the promotion gate refused (needs --reason; recorded in the audit log)',
    )
    .option('--reason <text>', 'why the gate is overridden (with --force-unblessed)')
    .option('--actor <name>', 'who overrides the gate (default cli:<user>)')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        model: string;
        version: string;
        steps: string;
        stepInterval: string;
        shadowDuration: string;
        forceUnblessed?: boolean;
        reason?: string;
        actor?: string;
        json?: boolean;
      }) => {
        const c = ctx();
        const modelId = modelIdOf(opts.model);
        const workflowId = rolloutWorkflowId(modelId);
        if (opts.forceUnblessed && !opts.reason?.trim())
          throw new CliError('--force-unblessed needs --reason "<why the gate is overridden>"', EXIT_USAGE);
        if (opts.reason !== undefined && !opts.forceUnblessed)
          throw new CliError('--reason is only used with --force-unblessed', EXIT_USAGE);
        const forceUnblessed = opts.forceUnblessed
          ? { actor: opts.actor ?? defaultActor(), reason: opts.reason!.trim() }
          : undefined;
        // The workflow checks again (a plain Temporal client gets the same refusal); checking here first
        // gives the user the reason and a distinct exit code before anything is started.
        const check = await checkRolloutCandidate(
          c.store,
          { modelId, candidateVersion: opts.version, ...(forceUnblessed ? { forceUnblessed } : {}) },
          { offlineAgreement: false },
        ).catch((err: unknown) => {
          if (err instanceof RolloutRefusedError) throw new CliError(err.message, EXIT_REFUSED);
          throw err;
        });
        const input: RolloutInput = {
          modelId,
          candidateVersion: opts.version,
          config: {
            steps: parseSteps(opts.steps),
            stepIntervalMs: parseDuration(opts.stepInterval),
            shadow: { minDurationMs: parseDuration(opts.shadowDuration) },
          },
          ...(check.forced ? { forceUnblessed: check.forced } : {}),
        };
        const client = await c.client();
        try {
          await client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
            taskQueue: c.config.temporal.taskQueue,
            workflowId,
            args: [input],
            workflowIdConflictPolicy: 'FAIL',
            typedSearchAttributes: startSearchAttributes(modelId, 'rollout'),
            staticSummary: `${modelId} rollout of ${input.candidateVersion}${check.forced ? ' (forced, unblessed)' : ''}`,
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
          { workflowId, blessed: check.blessed, forced: check.forced, notes: check.notes },
          () =>
            [
              `started rollout ${workflowId} of ${opts.version} against champion ${check.champion}`,
              check.forced
                ? `  NOT BLESSED (gate: ${check.gateReasons.join('; ') || 'no blessing recorded'}); overridden by ${check.forced.actor}: ${check.forced.reason}`
                : `  blessed by the promotion gate`,
              ...check.notes.map((n) => `  note: ${n}`),
              `  loopkeeper rollout status --model ${modelId}`,
            ].join('\n'),
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
      const handle = client.workflow.getHandle(rolloutWorkflowId(modelId));
      const description = await handle.describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new CliError(`no rollout of model "${modelId}"`);
        throw err;
      });
      const execution = description.status.name;
      if (execution === 'RUNNING' || execution === 'COMPLETED') {
        const st = await handle.query(rolloutStatus);
        output(opts.json, { ...st, execution }, () => formatRollout(st));
        return;
      }
      // Failed, terminated, cancelled or timed out: the workflow's own failure is the status, whatever
      // phase its last query would report.
      const failure = await handle.result().then(
        () => null,
        (err: unknown) => failureText(err),
      );
      const summary = {
        workflowId: handle.workflowId,
        modelId,
        execution,
        phase: execution === 'FAILED' ? 'failed' : execution.toLowerCase(),
        failure,
        startTime: description.startTime.toISOString(),
        closeTime: description.closeTime?.toISOString() ?? null,
      };
      output(opts.json, summary, () =>
        [
          `rollout ${handle.workflowId}: ${modelId}`,
          `  phase:    ${summary.phase} (workflow ${execution} at ${summary.closeTime ?? '?'})`,
          `  reason:   ${failure ?? 'none recorded'}`,
        ].join('\n'),
      );
    });

  const signals = [
    ['approve', 'accept the degradation a paused step reported; the rollout proceeds'],
    ['abort', 'stop the rollout and roll the candidate back'],
    ['pause', 'hold the rollout at its current step (automatic rollback stays armed)'],
    ['resume', 'let a held rollout proceed'],
  ] as const;
  for (const [name, description] of signals) {
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
          // Shared with the web app: the workflow records the decision with this actor and reason.
          await signalRollout(client, modelId, name, {
            actor: opts.actor ?? defaultActor(),
            reason: opts.reason,
          });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new CliError(`no running rollout of model "${modelId}"`);
          throw err;
        }
        console.log(`sent ${ROLLOUT_SIGNALS[name].name} to ${workflowId}`);
      });
  }
}
