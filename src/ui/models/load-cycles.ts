import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { CycleStatus } from '../../workflows/cycle-status';
import { isCycleOf } from '../../workflows/cycle-ids';
import { status as statusQuery } from '../../workflows/messages';
import { cycleOutcome } from './cycle-outcome';
import { errorLine, withDeadline } from './loaded';
import type { CycleEntry } from './model-data';

/** Cycles looked at in visibility (all models' cycles, newest first) before giving up on finding more. */
const MAX_SCANNED = 2000;

/** The deepest message of a failure chain (WorkflowFailedError → ActivityFailure → ApplicationFailure). */
function failureText(err: unknown): string {
  let e = err as { cause?: unknown; message?: string; type?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return `${e?.type ? `${e.type}: ` : ''}${e?.message ?? String(err)}`;
}

/**
 * The model's newest cycles (at most `limit`), newest first, from Temporal's visibility. Visibility
 * holds every model's cycles under one workflow type, so ids are matched here (`isCycleOf`).
 */
export async function listCycles(
  client: Client,
  modelId: string,
  limit: number,
): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  let scanned = 0;
  await withDeadline(client, async () => {
    for await (const wf of client.workflow.list({ query: `WorkflowType = 'continuousLearningCycle'` })) {
      if (isCycleOf(wf.workflowId, modelId)) found.push(wf);
      if (found.length >= limit || ++scanned >= MAX_SCANNED) break;
    }
  });
  return found.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
}

/**
 * One cycle's status: a completed cycle's result is read from its history (no worker needed); a
 * running or failed one is asked through the `status` query (a worker answers; without one the entry
 * says so and keeps what visibility knows).
 */
export async function loadCycle(client: Client, wf: WorkflowExecutionInfo): Promise<CycleEntry> {
  const execution = wf.status.name;
  const base = {
    workflowId: wf.workflowId,
    execution,
    startTime: wf.startTime.toISOString(),
    closeTime: wf.closeTime?.toISOString() ?? null,
  };
  const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
  let status: CycleStatus | null = null;
  let problem = '';
  try {
    status =
      execution === 'COMPLETED'
        ? ((await withDeadline(client, () => handle.result())) as CycleStatus)
        : await withDeadline(client, () => handle.query(statusQuery));
  } catch (err) {
    problem = errorLine(err);
  }
  if (status) return { ...base, status, verdict: cycleOutcome(status) };
  if (execution === 'RUNNING')
    return { ...base, status, verdict: { outcome: 'running', detail: `status not answered: ${problem}` } };
  const failure =
    execution === 'FAILED'
      ? await withDeadline(client, () => handle.result()).then(
          () => '',
          (err: unknown) => failureText(err),
        )
      : execution.toLowerCase();
  return { ...base, status, verdict: { outcome: 'failed', detail: failure || problem } };
}

/** The model's newest cycles with their statuses, newest first. */
export async function loadCycles(client: Client, modelId: string, limit: number): Promise<CycleEntry[]> {
  const infos = await listCycles(client, modelId, limit);
  return Promise.all(infos.map((wf) => loadCycle(client, wf)));
}
