import type { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { EXIT } from '../exit-codes';
import { parseModelId, quoteInput } from '../user-input';
import { LoopkeeperKind, LoopkeeperModel, LoopkeeperOutcome } from '../../workflows/search-attributes';

const KINDS = ['cycle', 'retrain', 'review', 'drift', 'rollout'];
const KEYWORD = /^[a-z][a-z-]{0,39}$/;

/** One listed workflow: what the Temporal UI's list shows, plus loopkeeper's attributes and summary. */
export interface ListedWorkflow {
  workflowId: string;
  runId: string;
  kind: string | null;
  outcome: string | null;
  status: string;
  startTime: string;
  closeTime: string | null;
  summary: string | null;
}

/** The visibility query for a model, kind and outcome (each a Keyword, validated before it is quoted). */
export function listQuery(modelId: string, kind?: string, outcome?: string): string {
  const parts = [`${LoopkeeperModel.name} = '${modelId}'`];
  if (kind) parts.push(`${LoopkeeperKind.name} = '${kind}'`);
  if (outcome) parts.push(`${LoopkeeperOutcome.name} = '${outcome}'`);
  return parts.join(' AND ');
}

/**
 * `loopkeeper workflows list --model churn [--kind rollout] [--outcome rolled-back]`: a model's
 * workflows newest first by their search attributes, each with its one-line summary (the memo), the
 * same list the Temporal UI shows for `LoopkeeperModel='churn'`.
 */
export function registerWorkflows(program: Command, ctx: () => CliContext): void {
  const wf = program.command('workflows').description("list a model's workflows by kind and outcome");
  wf.command('list')
    .description('newest first, with outcome and one-line summary')
    .requiredOption('--model <id>', 'model id')
    .option('--kind <kind>', `one of ${KINDS.join(', ')}`)
    .option('--outcome <outcome>', 'e.g. refused, rolled-back, skipped-by-caps, paused, promoted, failed')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; kind?: string; outcome?: string; limit: string; json?: boolean }) => {
      const modelId = parseModelId(o.model);
      if (o.kind && !KINDS.includes(o.kind))
        throw new CliError(`--kind ${quoteInput(o.kind)}: expected one of ${KINDS.join(', ')}`, EXIT.usage);
      if (o.outcome && !KEYWORD.test(o.outcome))
        throw new CliError(
          `--outcome ${quoteInput(o.outcome)}: expected a word like rolled-back`,
          EXIT.usage,
        );
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new CliError(`--limit ${quoteInput(o.limit)}: expected 1-1000`, EXIT.usage);
      const client = await ctx().client();
      const rows: ListedWorkflow[] = [];
      for await (const w of client.workflow.list({
        query: listQuery(modelId, o.kind, o.outcome),
        pageSize: limit,
      })) {
        const sa = w.typedSearchAttributes;
        const summary = w.memo?.summary;
        rows.push({
          workflowId: w.workflowId,
          runId: w.runId,
          kind: sa.get(LoopkeeperKind) ?? null,
          outcome: sa.get(LoopkeeperOutcome) ?? null,
          status: w.status.name,
          startTime: w.startTime.toISOString(),
          closeTime: w.closeTime?.toISOString() ?? null,
          summary: typeof summary === 'string' ? summary : null,
        });
        if (rows.length >= limit) break;
      }
      output(o.json, rows, () =>
        rows.length === 0
          ? `no workflows of ${modelId} match ${listQuery(modelId, o.kind, o.outcome)}`
          : rows
              .map(
                (r) =>
                  `${r.startTime.slice(0, 16).replace('T', ' ')}  ${(r.kind ?? '?').padEnd(7)} ${(r.outcome ?? r.status.toLowerCase()).padEnd(15)} ${r.workflowId}` +
                  (r.summary ? `\n    ${r.summary}` : ''),
              )
              .join('\n'),
      );
    });
}
