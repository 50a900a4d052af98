import type { Client } from '@temporalio/client';
import type { CycleEnd } from './harness';
import type { ScenarioTally } from './tally';

/**
 * Turns how cycles ended into problems and tally counts. A cycle still open at its deadline is always a
 * problem (it neither completed nor failed with a reason); a failure is one unless `allowFailures`
 * (then it must name its reason). A completed cycle must say every stage's state.
 */
export function cycleProblems(
  ends: CycleEnd[],
  tally: ScenarioTally,
  opts: { allowFailures: boolean },
): string[] {
  const problems: string[] = [];
  for (const e of ends) {
    if (e.outcome === 'completed') {
      tally.cyclesCompleted++;
      const unfinished = Object.entries(e.status.stages).filter(
        ([, s]) => s.state === 'running' || s.state === 'pending',
      );
      if (unfinished.length)
        problems.push(
          `${e.workflowId} completed with stages ${unfinished.map(([n]) => n).join(', ')} unfinished`,
        );
    } else if (e.outcome === 'failed') {
      if (opts.allowFailures && e.reason.trim().length > 10) tally.cyclesFailedClearly++;
      else problems.push(`${e.workflowId} failed: ${e.reason}`);
    } else {
      problems.push(`${e.workflowId} ${e.reason}`);
    }
  }
  return problems;
}

/** Terminates whatever a scenario left running on its task queue (review queues, stuck cycles). */
export async function cleanUp(client: Client, taskQueue: string): Promise<void> {
  try {
    for await (const wf of client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    })) {
      await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('chaos scenario finished')
        .catch(() => undefined);
    }
  } catch {
    // Visibility unavailable (e.g. the server is down after a failed restart): nothing more to do.
  }
}
