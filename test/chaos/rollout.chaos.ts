import type { Client } from '@temporalio/client';
import type { ServingApp } from '../../src/serving/app';
import { createServingApp } from '../../src/serving/app';
import { generateDay } from '../../src/simulate/generate';
import { writeJson } from '../../src/storage/ndjson';
import { rolloutWorkflowId } from '../../src/workflows/rollout-ids';
import { WorkerProcess } from '../support/processes';
import {
  awaitCycles,
  chaosSeed,
  connectClient,
  recoveryMs,
  registryProblems,
  scenarioEnv,
  seededRng,
  simulate,
  sleep,
  startCycle,
  strayObjects,
} from './harness';
import { cleanUp, cycleProblems } from './checks';
import { newTally } from './tally';

const SIM = { name: 'concept-drift' as const, seed: 7, start: '2026-06-01', days: 21, rowsPerDay: 300 };

/**
 * kill -9 of the worker during a rollout's shadow and canary steps (3 kills, seeded delays), with two
 * serving instances in this process answering live traffic and reporting to the fleet: the rollout ends
 * promoted, rolled back or aborted with its reason, the cycle completes, and the alias history stays
 * consistent.
 */
test('kill -9 the worker during rollout steps', async () => {
  const tally = newTally('rollout-kills');
  const s = scenarioEnv('rollout', 'file');
  const client: Client = await connectClient();
  const worker = new WorkerProcess('rollout', s.env);
  const rng = seededRng(chaosSeed() + 11);
  const fleet: ServingApp[] = [];
  let trafficOn = true;
  try {
    await writeJson(s.store, `config/${s.modelId}/policy.json`, {
      retrain: { positiveClass: 'churn' },
      promotion: 'rollout',
      rollout: {
        shadow: { minDurationMs: 2000, minRequests: 200 },
        steps: [25, 50, 100],
        stepIntervalMs: 2000,
        minSamplesPerStep: 100,
        analysisIntervalMs: 500,
        analysis: { minRequests: 100, investigateAt: 0.5, rollbackAt: 0.9, latencyFloorMs: 1000 },
      },
    });
    await simulate(s);
    await worker.start();
    const c1 = await startCycle(client, s, { from: '2026-06-08', to: '2026-06-15' });
    tally.cyclesStarted++;
    const [first] = await awaitCycles(client, [c1], 120_000);
    const problems = cycleProblems([first], tally, { allowFailures: false });
    if (problems.length) throw new Error(`first cycle: ${problems.join('; ')}`);

    for (const id of ['a', 'b'])
      fleet.push(
        await createServingApp({
          store: s.store,
          modelId: s.modelId,
          aliasPollMs: 200,
          logFlushMs: 500,
          fleetReport: { instanceId: id, intervalMs: 300 },
        }),
      );
    const traffic = generateDay(SIM, 18).predictions.map((p) => ({
      entityId: p.entityId,
      features: p.features,
    }));
    const load = (async () => {
      for (let i = 0; trafficOn; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, k) => {
            const t = traffic[(i + k) % traffic.length];
            return fleet[k % 2].app.request('/predict', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                requestId: `live-${i + k}`,
                entityId: t.entityId,
                features: t.features,
              }),
            });
          }),
        );
        await sleep(5);
      }
    })();

    const c2 = await startCycle(client, s, { from: '2026-06-15', to: '2026-06-22' });
    tally.cyclesStarted++;
    const rolloutId = rolloutWorkflowId(s.modelId);
    // Wait for the rollout to start, then kill at seeded moments of its steps.
    const until = Date.now() + 90_000;
    let running = false;
    while (Date.now() < until && !running) {
      const d = await client.workflow
        .getHandle(rolloutId)
        .describe()
        .catch(() => undefined);
      running = d?.status.name === 'RUNNING';
      if (!running) await sleep(300);
    }
    if (!running)
      throw new Error(
        `no rollout started within 90 s: ${JSON.stringify(await awaitCycles(client, [c2], 1))}`,
      );
    for (let k = 0; k < 3; k++) {
      await sleep(rng.between(500, 3000));
      await worker.kill9();
      tally.fault('worker-kill');
      await sleep(rng.between(200, 1500));
      await worker.start();
    }
    const [second] = await awaitCycles(client, [c2], recoveryMs());
    trafficOn = false;
    await load;
    // Serving instances write their fleet reports until closed; close them before looking for strays.
    await Promise.all(fleet.splice(0).map((f) => f.close()));
    problems.push(...cycleProblems([second], tally, { allowFailures: false }));
    if (second.outcome === 'completed' && !second.status.rollout?.reason)
      problems.push(
        `cycle ${c2} completed without a rollout outcome: ${second.status.stages.rollout.detail}`,
      );
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
    trafficOn = false;
    await Promise.all(fleet.map((f) => f.close()));
    tally.record();
    await cleanUp(client, s.taskQueue);
    await worker.kill9();
    await client.connection.close();
  }
});
