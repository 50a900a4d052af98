import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { rollbackModel } from '../../src/cli/admin-actions';
import { transform } from '../../src/ml/feature-pipeline';
import type { OnnxArtifact } from '../../src/scoring/artifact';
import type { ServingApp } from '../../src/serving/app';
import { createServingApp } from '../../src/serving/app';
import { generateDay } from '../../src/simulate/generate';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import type { Features } from '../../src/schemas/records';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeJson } from '../../src/storage/ndjson';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { pythonVenvPython, startPythonWorker } from '../support/python-worker';
import { tempFileStore, testTemporalAddress, withInstalledWorker } from '../support/temporal';

const MODEL = 'churnlgbm';
const scenario = { name: 'concept-drift' as const, seed: 3, start: '2026-06-01', days: 28, rowsPerDay: 600 };

/** Request ids must be unique per serving instance (a repeat is 409): waits count their attempts. */
let waits = 0;

interface Answer {
  role: string;
  modelVersion: string;
  scores: Record<string, number>;
}

async function predict(app: ServingApp, requestId: string, entityId: string | undefined, features: Features) {
  const res = await app.app.request('/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requestId, entityId, features }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

/** onnxruntime's own scores for one version's stored graph, one row per run, fed by its pipeline. */
async function offlineScores(
  registry: ModelRegistry,
  version: string,
  rows: readonly Features[],
): Promise<Array<Record<string, number>>> {
  const { artifact, onnx } = await registry.loadModelFiles(MODEL, version);
  const a = artifact as OnnxArtifact;
  const session = await InferenceSession.create(onnx!);
  try {
    const out: Array<Record<string, number>> = [];
    for (const f of rows) {
      const x = Float32Array.from(transform(a.pipeline, f));
      const r = await session.run({ [a.inputName]: new Tensor('float32', x, [1, x.length]) });
      const p = r[a.outputName].data as Float32Array;
      out.push(Object.fromEntries(a.classes.map((c, k) => [c, p[k]])));
    }
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Issue 17, "Done when": with the Python worker installed, a cycle retrains a LightGBM model through
 * the real Python process on the dev server, gates and blesses it, serving scores it exactly as
 * onnxruntime does offline; a second LightGBM version rolls out through shadow and canary on live
 * traffic, and a rollback (the registry's alias switch, what `loopkeeper models rollback` does) brings
 * the first back in serving.
 */
test('LightGBM through the Python worker: retrain, gate, serve like onnxruntime offline, roll out, roll back', async () => {
  const python = pythonVenvPython();
  const { store, dir } = tempFileStore();
  const pythonQueue = `test-python-${randomUUID()}`;
  await writeJson(store, `config/${MODEL}/policy.json`, {
    // A fixed threshold, as in cycle-rollout.test.ts: this test is about the path, not the flip-rate gate.
    retrain: { positiveClass: 'churn', threshold: { objective: 'fixed', value: 0.5 } },
    trainer: {
      kind: 'external',
      algorithm: 'lightgbm',
      taskQueue: pythonQueue,
      params: { seed: 1, maxRounds: 200 },
    },
    promotion: 'rollout',
    rollout: {
      shadow: { minDurationMs: 300, minRequests: 200 },
      steps: [50, 100],
      stepIntervalMs: 300,
      minSamplesPerStep: 100,
      analysisIntervalMs: 150,
      analysis: { minRequests: 100, investigateAt: 0.5, rollbackAt: 0.9, minLatencyDeltaMs: 1000 },
    },
  });
  await writeSimulatedLogs(store, { modelId: MODEL, config: scenario, historyDays: 28 });
  const traffic = generateDay(scenario, 20).predictions.map((p) => ({
    entityId: p.entityId,
    features: p.features,
  }));
  const probe = traffic.slice(0, 100);

  await withInstalledWorker(store, async ({ client, taskQueue }) => {
    // No TEMPORAL_NAMESPACE: the worker finds the installation's namespace in the store, as documented.
    const worker = await startPythonWorker(python, {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      LOOPKEEPER_STORE: `file://${dir}`,
      LOOPKEEPER_PYTHON_TASK_QUEUE: pythonQueue,
      LOOPKEEPER_TRAINER_THREADS: '1',
    });
    const registry = new ModelRegistry(store);
    const fleet: ServingApp[] = [];
    try {
      const c1 = (await client.workflow.execute('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-${MODEL}-2026-06-08_2026-06-15`,
        args: [{ modelId: MODEL, window: { from: '2026-06-08', to: '2026-06-15' } }],
      })) as CycleStatus;
      expect(c1.stages.retrain.state).toBe('done');
      expect(c1.retrain?.registeredAs).toBe('champion');
      const v1 = c1.retrain!.train.version;
      const m1 = await registry.getManifest(MODEL, v1);
      expect(m1).toMatchObject({ kind: 'onnx', trainer: 'external:lightgbm', positiveClass: 'churn' });
      expect(m1.blessing?.blessed).toBe(true);
      expect(m1.threshold).toBe(0.5);
      expect(m1.metrics.roc_auc).toBeGreaterThan(0.6);
      expect(m1.lineage.external).toMatchObject({ taskQueue: pythonQueue });
      const a1 = (await registry.loadModelFiles(MODEL, v1)).artifact as OnnxArtifact;
      // The Python worker trained it (LightGBM through onnxmltools), with early stopping on validation.
      expect(a1.producer.toLowerCase()).toMatch(/onnxmltools|lightgbm/);
      expect(a1.training.validationMaxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(worker.output()).not.toMatch(/Traceback/);

      for (const id of ['a', 'b'])
        fleet.push(
          await createServingApp({
            store,
            modelId: MODEL,
            aliasPollMs: 100,
            logFlushMs: 200,
            fleetReport: { instanceId: id, intervalMs: 200 },
          }),
        );
      // Served scores are onnxruntime's offline scores, to the bit.
      const offline1 = await offlineScores(
        registry,
        v1,
        probe.map((t) => t.features),
      );
      for (const [i, t] of probe.entries()) {
        const a = await predict(fleet[i % 2], `v1-${i}`, t.entityId, t.features);
        expect(a.modelVersion).toBe(v1);
        expect(a.scores).toEqual(offline1[i]);
      }

      // A second LightGBM version rolls out on live traffic: shadow, canary steps, champion.
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-${MODEL}-2026-06-15_2026-06-22`,
        args: [{ modelId: MODEL, window: { from: '2026-06-15', to: '2026-06-22' } }],
      });
      let settled = false;
      const result = handle.result().finally(() => (settled = true)) as Promise<CycleStatus>;
      const seen: Record<string, number> = {};
      const started = performance.now();
      for (let i = 0; !settled && performance.now() - started < 300_000; i += 10) {
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, k) => {
            const t = traffic[(i + k) % traffic.length];
            return predict(fleet[k % 2], `live-${i + k}`, t.entityId, t.features);
          }),
        );
        for (const a of answers)
          seen[`${a.role}:${a.modelVersion}`] = (seen[`${a.role}:${a.modelVersion}`] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 5));
      }
      const c2 = await result.catch((err: unknown) => {
        throw new Error(
          `second cycle failed: ${causes(err)}\n--- Python worker ---\n${worker.output().slice(-4000)}`,
        );
      });
      expect(c2.retrain?.registeredAs).toBe('challenger');
      const v2 = c2.retrain!.train.version;
      expect(v2).not.toBe(v1);
      expect((await registry.getManifest(MODEL, v2)).trainer).toBe('external:lightgbm');
      expect(c2.rollout?.outcome).toBe('promoted');
      expect(seen[`canary:${v2}`]).toBeGreaterThan(0);
      expect(seen[`champion:${v1}`]).toBeGreaterThan(0);
      let aliases = (await registry.getAliases(MODEL)).aliases;
      expect([aliases.champion, aliases.previous]).toEqual([v2, v1]);
      const offline2 = await offlineScores(
        registry,
        v2,
        probe.map((t) => t.features),
      );
      await eventually(
        async () =>
          (await predict(fleet[0], `v2-wait-${++waits}`, probe[0].entityId, probe[0].features))
            .modelVersion === v2,
      );
      for (const [i, t] of probe.entries()) {
        const a = await predict(fleet[i % 2], `v2-${i}`, t.entityId, t.features);
        expect(a.modelVersion).toBe(v2);
        expect(a.scores).toEqual(offline2[i]);
      }

      // Rollback: the alias switch; both serving instances answer from v1 again, with v1's scores.
      await rollbackModel(store, { modelId: MODEL, actor: 'test', reason: 'rollback drill' });
      aliases = (await registry.getAliases(MODEL)).aliases;
      expect(aliases.champion).toBe(v1);
      for (const s of fleet)
        await eventually(
          async () =>
            (await predict(s, `rb-wait-${++waits}`, probe[0].entityId, probe[0].features)).modelVersion ===
            v1,
        );
      for (const [i, t] of probe.entries()) {
        const a = await predict(fleet[i % 2], `rb-${i}`, t.entityId, t.features);
        expect(a).toMatchObject({ role: 'champion', modelVersion: v1 });
        expect(a.scores).toEqual(offline1[i]);
      }
    } finally {
      await Promise.all(fleet.map((s) => s.close()));
      await worker.stop();
    }
  });
}, 900_000);

/** An error's message and those of its causes, outermost first (Temporal nests the real reason). */
function causes(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    out.push(String(e.message));
  return out.join(' <- ');
}

/** Polls `check` until it holds (the serving apps poll aliases every 100 ms here). */
async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
