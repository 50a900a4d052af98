import type { Client } from '@temporalio/client';
import { WorkerProcess } from '../support/processes';
import {
  awaitCycles,
  chaosSeed,
  connectClient,
  pendingActivities,
  recoveryMs,
  registryProblems,
  s3Server,
  scenarioEnv,
  seededRng,
  simulate,
  sleep,
  startCycle,
  strayObjects,
  temporalServer,
} from './harness';
import type { ScenarioEnv } from './harness';
import { cleanUp, cycleProblems } from './checks';
import { newTally } from './tally';

const WINDOW = { from: '2026-06-08', to: '2026-06-15' };

/** Waits until one of the cycle's activities runs (or `maxMs` passes), then a seeded delay more. */
async function waitMidCycle(client: Client, id: string, delayMs: number, maxMs = 30_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    const acts = await pendingActivities(client, [id]).catch(() => []);
    if (acts.length) break;
    await sleep(100);
  }
  await sleep(delayMs);
}

/**
 * One cycle on the S3 store with `fault` injected mid-cycle; the cycle must complete within
 * `recoveryMs` after the fault, with a consistent registry and no stray object.
 */
async function cycleUnderFault(opts: {
  name: string;
  recoveryMs: number;
  fault: (ctx: {
    client: Client;
    worker: WorkerProcess;
    s: ScenarioEnv;
    count: (kind: string) => void;
  }) => Promise<void>;
}): Promise<void> {
  const tally = newTally(opts.name);
  const s = scenarioEnv(opts.name);
  let client: Client = await connectClient();
  const worker = new WorkerProcess(opts.name, s.env);
  try {
    await simulate(s);
    await worker.start();
    const id = await startCycle(client, s, WINDOW);
    tally.cyclesStarted++;
    await waitMidCycle(client, id, seededRng(chaosSeed() + opts.name.length).between(0, 2000));
    await opts.fault({ client, worker, s, count: (k) => tally.fault(k) });
    // A fresh connection after server restarts, as a new CLI call would make.
    await client.connection.close().catch(() => undefined);
    client = await connectClient();
    const ends = await awaitCycles(client, [id], opts.recoveryMs);
    const problems = cycleProblems(ends, tally, { allowFailures: false });
    const reg = await registryProblems(s.store, s.modelId);
    problems.push(...reg.problems);
    tally.duplicates = reg.duplicates;
    const stray = await strayObjects(s.store);
    tally.strayObjects = stray.length;
    if (stray.length) problems.push(`stray partial objects: ${stray.slice(0, 5).join(', ')}`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.failed(err);
    throw err;
  } finally {
    tally.record();
    await cleanUp(client, s.taskQueue);
    await worker.kill9();
    await client.connection.close().catch(() => undefined);
  }
}

test('the Temporal server restarts on its persisted database mid-cycle', async () => {
  await cycleUnderFault({
    name: 'temporal-restart',
    recoveryMs: recoveryMs(),
    fault: async ({ count }) => {
      await temporalServer.stop();
      count('temporal-restart');
      await sleep(2000);
      temporalServer.start();
    },
  });
});

test('the S3 server is stopped for 30 s mid-cycle', async () => {
  await cycleUnderFault({
    name: 's3-outage',
    recoveryMs: recoveryMs(),
    fault: async ({ count }) => {
      await s3Server.stop();
      count('s3-outage-30s');
      try {
        await sleep(30_000);
      } finally {
        s3Server.start();
      }
    },
  });
});

/**
 * Two workers on one task queue, three models' cycles at once, and one of the workers killed mid-way:
 * the other carries on, every cycle completes once.
 */
test('two workers on one task queue, one killed mid-cycle', async () => {
  const tally = newTally('two-workers');
  const s = scenarioEnv('two-workers');
  const client = await connectClient();
  const a = new WorkerProcess('two-workers-a', s.env);
  const b = new WorkerProcess('two-workers-b', s.env);
  const models = ['x', 'y'].map((m) => `${s.modelId}${m}`);
  try {
    await Promise.all(models.map((m, i) => simulate(s, { model: m, seed: 11 + i })));
    await Promise.all([a.start(), b.start()]);
    const ids = await Promise.all(models.map((m) => startCycle(client, s, WINDOW, m)));
    tally.cyclesStarted += ids.length;
    await waitMidCycle(client, ids[0], seededRng(chaosSeed() + 3).between(0, 2000));
    await a.kill9();
    tally.fault('worker-kill');
    const ends = await awaitCycles(client, ids, recoveryMs());
    const problems = cycleProblems(ends, tally, { allowFailures: false });
    for (const m of models) {
      const reg = await registryProblems(s.store, m);
      problems.push(...reg.problems.map((p) => `${m}: ${p}`));
      tally.duplicates += reg.duplicates;
    }
    const stray = await strayObjects(s.store);
    tally.strayObjects = stray.length;
    if (stray.length) problems.push(`stray partial objects: ${stray.slice(0, 5).join(', ')}`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.failed(err);
    throw err;
  } finally {
    tally.record();
    await cleanUp(client, s.taskQueue);
    await a.kill9();
    await b.kill9();
    await client.connection.close();
  }
});
