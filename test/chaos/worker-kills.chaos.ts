import type { Client } from '@temporalio/client';
import { readLines } from '../../src/storage/ndjson';
import { layout } from '../../src/storage/layout';
import { WorkerProcess } from '../support/processes';
import {
  awaitCycles,
  chaosSeed,
  connectClient,
  recoveryMs,
  registryProblems,
  scenarioEnv,
  simulate,
  startCycle,
  strayObjects,
} from './harness';
import type { CycleEnd, ScenarioEnv } from './harness';
import { killLoop } from './kill-loop';
import { cleanUp, cycleProblems } from './checks';
import { newTally } from './tally';

const WINDOWS = [
  { from: '2026-06-08', to: '2026-06-15' },
  { from: '2026-06-15', to: '2026-06-22' },
];
/**
 * Kills in this scenario; with the kills of the label, signal, two-worker and rollout scenarios (8) the
 * suite kills the worker at least 24 times.
 */
const MIN_KILLS = 16;
/** After the last kill, every cycle must close within this (heartbeat timeouts decide the wait). */
const RECOVERY_MS = recoveryMs();

/**
 * kill -9 of the worker at seeded random points of continuous-learning cycles, 16-18 times, on a
 * file store (so interrupted writes would leave `.lk-tmp` files): three models, two weekly windows each,
 * one worker process that is killed and restarted. Every cycle must complete (a crash is not bad
 * input), with one version per cycle, a consistent alias history, no duplicate auto label and no stray
 * partial object.
 */
test('kill -9 the worker at random points of cycles, 16+ times', async () => {
  const tally = newTally('worker-kill-9');
  const base = scenarioEnv('kills', 'file');
  const models = ['a', 'b', 'c'].map((x) => `${base.modelId}${x}`);
  const client: Client = await connectClient();
  const worker = new WorkerProcess('kills', base.env);
  try {
    await Promise.all(models.map((m, i) => simulate(base, { model: m, seed: 7 + i })));
    await worker.start();
    const open = new Set<string>();
    const ends: CycleEnd[] = [];
    let killsDone = false;
    let lastKillAt = Date.now();
    // Each model runs its windows one after the other (a cycle of one model at a time, as in production).
    const drivers = models.map(async (m) => {
      for (const w of WINDOWS) {
        const id = await startCycle(client, base, w, m);
        tally.cyclesStarted++;
        open.add(id);
        // Wait while kills go on, then at most RECOVERY_MS after the last kill.
        let end: CycleEnd;
        for (;;) {
          const final = killsDone;
          const remaining = final ? Math.max(0, lastKillAt + RECOVERY_MS - Date.now()) : 5_000;
          [end] = await awaitCycles(client, [id], remaining);
          if (end.outcome !== 'stuck' || final) break;
        }
        open.delete(id);
        ends.push(end);
        if (end.outcome !== 'completed') break;
      }
    });
    const loop = await killLoop({
      client,
      worker,
      workflowIds: () => [...open],
      maxKills: MIN_KILLS + 2,
      seed: chaosSeed(),
      budgetMs: 200_000,
      warmupMs: 1_000,
      onKill: () => tally.fault('worker-kill'),
    });
    lastKillAt = loop.lastKillAt || Date.now();
    killsDone = true;
    tally.killPoints = loop.killPoints;
    await Promise.all(drivers);

    const problems = cycleProblems(ends, tally, { allowFailures: false });
    if (loop.kills < MIN_KILLS)
      problems.push(
        `only ${loop.kills} kills within the kill budget while cycles ran (want ${MIN_KILLS}): each restart waited for the worker to poll again`,
      );
    for (const m of models) {
      const reg = await registryProblems(base.store, m);
      problems.push(...reg.problems.map((p) => `${m}: ${p}`));
      tally.duplicates += reg.duplicates + (await duplicateAutoLabels(base, m, problems));
    }
    const stray = await strayObjects(base.store);
    tally.strayObjects = stray.length;
    if (stray.length) problems.push(`stray partial objects: ${stray.slice(0, 5).join(', ')}`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.failed(err);
    throw err;
  } finally {
    tally.record();
    await cleanUp(client, base.taskQueue);
    await worker.kill9();
    await client.connection.close();
  }
});

/** Auto labels of one model with a request id written twice (a retried write must replace, not add). */
async function duplicateAutoLabels(s: ScenarioEnv, modelId: string, problems: string[]): Promise<number> {
  const seen = new Set<string>();
  let dup = 0;
  for await (const info of s.store.list(layout.labelsPrefix(modelId, 'auto'))) {
    for await (const { line } of readLines(s.store, info.key)) {
      if (!line.trim()) continue;
      const id = (JSON.parse(line) as { requestId: string }).requestId;
      if (seen.has(id)) dup++;
      seen.add(id);
    }
  }
  if (dup) problems.push(`${modelId}: ${dup} auto labels stored twice`);
  return dup;
}
