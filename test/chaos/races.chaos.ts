import type { Client } from '@temporalio/client';
import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import { ModelRegistry } from '../../src/storage/model-registry';
import { runCliProcess, WorkerProcess } from '../support/processes';
import {
  awaitCycles,
  chaosSeed,
  connectClient,
  cycleId,
  installed,
  recoveryMs,
  registryProblems,
  scenarioEnv,
  seededRng,
  simulate,
  sleep,
  strayObjects,
} from './harness';
import { cleanUp, cycleProblems } from './checks';
import { enqueueTasks, makeTasks, queueStats, storedLabels, submitLabels } from './review-path';
import { newTally } from './tally';

/**
 * Duplicate, late and out-of-order review signals (and a worker kill between them): every label is
 * accepted, counted as a duplicate or rejected with a reason; what is stored is exactly what was
 * accepted, once.
 */
test('duplicate, late and out-of-order signals', async () => {
  const tally = newTally('signals');
  const s = scenarioEnv('signals');
  const client: Client = await connectClient();
  const worker = new WorkerProcess('signals', s.env);
  const problems: string[] = [];
  const label = (i: number, annotator = 'alice', l = 'churn') => ({ taskId: `s-${i}`, label: l, annotator });
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);
  try {
    await worker.start();
    await enqueueTasks(client, s, makeTasks(s.modelId, 's', 0, 50));
    // The same task batch again (a retried enqueue): known ids are ignored.
    await enqueueTasks(client, s, makeTasks(s.modelId, 's', 0, 50));
    let sent = 0;
    // Out of order: labels for tasks that arrive only afterwards.
    sent += await submitLabels(
      client,
      s,
      range(50, 70).map((i) => label(i)),
    );
    await enqueueTasks(client, s, makeTasks(s.modelId, 's', 50, 70));
    sent += await submitLabels(
      client,
      s,
      range(0, 40).map((i) => label(i)),
    );
    await worker.kill9();
    tally.fault('worker-kill');
    // Duplicates (same annotator, same label) and late conflicting labels, sent while the worker is down.
    sent += await submitLabels(
      client,
      s,
      range(0, 20).map((i) => label(i)),
    );
    sent += await submitLabels(
      client,
      s,
      range(0, 10).map((i) => label(i, 'bob', 'stay')),
    );
    await sleep(seededRng(chaosSeed() + 5).between(200, 1500));
    await worker.start();
    sent += await submitLabels(
      client,
      s,
      range(40, 50).map((i) => label(i)),
    );
    tally.labelsSent = sent;
    let stats = await queueStats(client, s);
    const until = Date.now() + 60_000;
    while (Date.now() < until && (stats.outbox > 0 || (await storedLabels(s)).distinct.size < stats.done)) {
      await sleep(500);
      stats = await queueStats(client, s);
    }
    const stored = await storedLabels(s);
    tally.labelsStored = stored.distinct.size;
    tally.duplicates = stored.duplicates;
    const accounted = stats.labelsAccepted + stats.duplicateLabels + stats.rejected;
    tally.labelsLost =
      Math.max(0, sent - accounted) + Math.max(0, stats.labelsAccepted - stored.distinct.size);
    if (accounted !== sent)
      problems.push(
        `${sent} labels sent, but ${stats.labelsAccepted} accepted + ${stats.duplicateLabels} duplicate + ${stats.rejected} rejected`,
      );
    if (stored.distinct.size !== stats.labelsAccepted)
      problems.push(`${stats.labelsAccepted} labels accepted, ${stored.distinct.size} stored`);
    if (stored.duplicates) problems.push(`${stored.duplicates} labels stored twice`);
    if (stats.duplicateTasks < 50)
      problems.push(`re-sent task batch counted ${stats.duplicateTasks} duplicates, want 50`);
    if (stats.duplicateLabels < 20)
      problems.push(`duplicate labels counted ${stats.duplicateLabels}, want ≥ 20`);
    const reasons = new Set(stats.rejections.map((r) => r.code));
    if (stats.rejected && !stats.rejections.every((r) => r.detail))
      problems.push('a rejection without detail');
    if (!reasons.has('task-finished'))
      problems.push(`late labels not rejected as task-finished (${[...reasons]})`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.failed(err);
    throw err;
  } finally {
    tally.faults['worker-kill'] = worker.kills;
    tally.record();
    await cleanUp(client, s.taskQueue);
    await worker.kill9();
    await client.connection.close();
  }
});

/** Two `loopkeeper cycle run` for the same model and window at once: one runs, the other is refused. */
test('two `cycle run` for the same window at once', async () => {
  const tally = newTally('two-cycle-runs');
  // `cycle run` works in the store's own namespace: so do the worker and the suite's client here.
  const s = await installed(scenarioEnv('two-runs'));
  const client = await connectClient(s.namespace);
  const worker = new WorkerProcess('two-runs', s.env);
  const problems: string[] = [];
  try {
    await simulate(s);
    await worker.start();
    const args = ['cycle', 'run', '--model', s.modelId, '--window', '2026-06-08..2026-06-15', '--json'];
    const runs = await Promise.all([runCliProcess(s.env, args), runCliProcess(s.env, args)]);
    tally.fault('concurrent-cycle-run');
    tally.cyclesStarted = runs.filter((r) => r.code === 0).length;
    const refused = runs.filter((r) => r.code !== 0);
    if (tally.cyclesStarted !== 1)
      problems.push(`${tally.cyclesStarted} of 2 concurrent runs started a cycle`);
    for (const r of refused)
      if (!/already running/.test(r.err) || /\n\s+at /.test(r.err))
        problems.push(`refused run did not say why in one line: ${r.err.slice(0, 300)}`);
    tally.cyclesFailedClearly = refused.length;
    const id = cycleId(s.modelId, '2026-06-08', '2026-06-15');
    const ends = await awaitCycles(client, [id], recoveryMs());
    problems.push(...cycleProblems(ends, tally, { allowFailures: false }));
    const reg = await registryProblems(s.store, s.modelId);
    problems.push(...reg.problems);
    tally.duplicates = reg.duplicates;
    if (reg.versions !== 1) problems.push(`${reg.versions} versions registered for one window`);
    tally.problems.push(...problems);
    expect(problems).toEqual([]);
  } catch (err) {
    tally.failed(err);
    throw err;
  } finally {
    tally.record();
    await cleanUp(client, s.taskQueue);
    await worker.kill9();
    await client.connection.close();
  }
});

/**
 * Concurrent `models promote` and `models rollback` from separate processes on the S3 store: each call
 * succeeds or fails with a one-line reason, every success is its own revision, and the alias table and
 * its audit log stay readable and consistent.
 */
test('concurrent promote and rollback', async () => {
  const tally = newTally('promote-rollback');
  const s = scenarioEnv('promote');
  const problems: string[] = [];
  try {
    const registry = new ModelRegistry(s.store);
    const versions: string[] = [];
    for (let seed = 1; seed <= 3; seed++) {
      const rng = createRng(seed);
      const rows = Array.from({ length: 200 }, () => {
        const x = rng.normal();
        return { features: { x, plan: rng.next() < 0.5 ? 'a' : 'b' }, label: x < 0 ? 'churn' : 'stay' };
      });
      const { version } = await registry.registerVersion({
        modelId: s.modelId,
        artifact: trainArtifact({ rows, positiveClass: 'churn', options: { seed, maxEpochs: 3 } }),
        manifest: {
          createdAt: new Date().toISOString(),
          trainer: 'logistic-adam',
          trainingData: [`chaos/${seed}`],
          metrics: { f1: 0.5 },
          codeVersion: 'chaos',
        },
      });
      versions.push(version);
    }
    const first = await runCliProcess(s.env, [
      'models',
      'promote',
      '--model',
      s.modelId,
      '--version',
      versions[0],
      '--force',
      '--reason',
      'chaos seed',
    ]);
    if (first.code !== 0) throw new Error(`first promote failed: ${first.err}`);
    const rng = seededRng(chaosSeed() + 7);
    let ok = 1;
    const ROUNDS = 5;
    const CALLERS = 4;
    for (let round = 0; round < ROUNDS; round++) {
      const calls = Array.from({ length: CALLERS }, (_, c) => {
        const rollback = rng.next() < 0.4;
        const args = rollback
          ? [
              'models',
              'rollback',
              '--model',
              s.modelId,
              '--reason',
              `chaos r${round} c${c}`,
              '--actor',
              `c${c}`,
              '--json',
            ]
          : [
              'models',
              'promote',
              '--model',
              s.modelId,
              '--version',
              versions[Math.floor(rng.between(0, 3))],
              '--force',
              '--reason',
              `chaos r${round} c${c}`,
              '--actor',
              `c${c}`,
              '--json',
            ];
        return runCliProcess(s.env, args);
      });
      const results = await Promise.all(calls);
      tally.fault('concurrent-alias-writes');
      for (const r of results) {
        // A call that changed nothing (promoting the champion again) writes no revision.
        if (r.code === 0) ok += changed(r.out) ? 1 : 0;
        else if (/\n\s+at /.test(r.err) || !r.err.startsWith('loopkeeper: '))
          problems.push(`a failed call printed no one-line reason: ${r.err.slice(0, 300)}`);
      }
    }
    const reg = await registryProblems(s.store, s.modelId);
    problems.push(...reg.problems);
    tally.duplicates = reg.duplicates;
    try {
      const table = await registry.getAliases(s.modelId);
      // Each successful change is its own revision: fewer revisions means two callers got the same one.
      if (table.revision !== ok)
        problems.push(`aliases.json at revision ${table.revision} after ${ok} successful alias changes`);
    } catch (err) {
      problems.push(`aliases unreadable: ${(err as Error).message}`);
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
  }
});

/** Whether a successful `models promote|rollback --json` call reports alias changes. */
function changed(stdout: string): boolean {
  try {
    const r = JSON.parse(stdout) as { changes?: unknown[] };
    return (r.changes?.length ?? 1) > 0;
  } catch {
    return true;
  }
}
