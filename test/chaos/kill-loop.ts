import type { Client } from '@temporalio/client';
import type { WorkerProcess } from '../support/processes';
import { pendingActivities, seededRng, sleep } from './harness';

/** Where the kills of a kill loop landed, and how many there were. */
export interface KillLoopResult {
  kills: number;
  killPoints: Record<string, number>;
  lastKillAt: number;
}

/**
 * Kills `worker` with SIGKILL over and over while `workflowIds()` has open work, restarting it each
 * time. Each round waits (seeded delay) until an activity runs on the current process, or a random
 * deadline passes, then waits a random 0–1 s more and kills: so kills land inside activities (ingest,
 * training, evaluation, registry writes, label flushes) as well as between them (workflow tasks).
 * Records which activities were running on the killed process at that moment.
 */
export async function killLoop(opts: {
  client: Client;
  worker: WorkerProcess;
  workflowIds: () => string[];
  maxKills: number;
  seed: number;
  /** Stop killing after this long even when fewer kills were made. */
  budgetMs: number;
  /** Before the first kill. */
  warmupMs?: number;
  onKill?: (point: string) => void;
}): Promise<KillLoopResult> {
  const rng = seededRng(opts.seed);
  const killPoints: Record<string, number> = {};
  const started = Date.now();
  let kills = 0;
  let lastKillAt = 0;
  await sleep(opts.warmupMs ?? 0);
  while (kills < opts.maxKills && Date.now() - started < opts.budgetMs) {
    const ids = opts.workflowIds();
    if (!ids.length) break;
    const randomDeadline = Date.now() + rng.between(1000, 4000);
    const own = (): string | undefined => opts.worker.identityPrefix();
    // Wait for an activity on this process (or the random deadline), then a random delay more.
    while (Date.now() < randomDeadline) {
      const prefix = own();
      const acts = await pendingActivities(opts.client, opts.workflowIds()).catch(() => []);
      if (prefix && acts.some((a) => a.identity.startsWith(prefix) && isStarted(a.state))) break;
      await sleep(150);
    }
    await sleep(rng.between(0, 1000));
    const prefix = own();
    const running = (await pendingActivities(opts.client, opts.workflowIds()).catch(() => []))
      .filter((a) => prefix && a.identity.startsWith(prefix) && isStarted(a.state))
      .map((a) => a.name);
    const point = running.length ? [...new Set(running)].sort().join('+') : 'between-activities';
    await opts.worker.kill9();
    kills++;
    lastKillAt = Date.now();
    killPoints[point] = (killPoints[point] ?? 0) + 1;
    opts.onKill?.(point);
    await sleep(rng.between(100, 800));
    await opts.worker.start();
  }
  return { kills, killPoints, lastKillAt };
}

/** A pending activity the server considers running on a worker right now. */
function isStarted(state: string): boolean {
  return state === '2' || state === 'PENDING_ACTIVITY_STATE_STARTED' || state === 'STARTED';
}
