import { InferenceSession, Tensor } from 'onnxruntime-node';
import { transform } from '../../src/ml/feature-pipeline';
import type { OnnxArtifact } from '../../src/scoring/artifact';
import { createServingApp } from '../../src/serving/app';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { LabeledRowSchema } from '../../src/schemas/records';
import { layout } from '../../src/storage/layout';
import { ModelRegistry } from '../../src/storage/model-registry';
import { readJson, writeJson } from '../../src/storage/ndjson';
import { readAllRows } from '../../src/activities/read-rows';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { withTestExternalTrainer } from '../support/external-trainer';
import { tempFileStore, withWorker } from '../support/temporal';
import { z } from 'zod';

/**
 * The external-trainer contract end to end on the real server, without Python: a cycle whose policy
 * names `trainer.kind: external` writes the Arrow training matrix, the test trainer (a TypeScript
 * worker on its own task queue) answers with an ONNX graph, the Node side verifies, gates and
 * registers an `onnx` version, it becomes champion, and the serving app scores it exactly as
 * onnxruntime does offline on the same rows.
 */
test('external trainer: a cycle registers an onnx champion that serving scores like onnxruntime offline', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churnext',
    config: { name: 'concept-drift', seed: 5, start: '2026-06-01', days: 14, rowsPerDay: 400 },
    historyDays: 28,
  });
  await withWorker(store, async ({ client, taskQueue, config }) => {
    await withTestExternalTrainer(store, config.temporal.namespace, async (externalQueue, calls) => {
      await writeJson(store, 'config/churnext/policy.json', {
        retrain: { positiveClass: 'churn' },
        trainer: { kind: 'external', taskQueue: externalQueue, algorithm: 'logistic', params: { seed: 1 } },
      });
      const handle = await client.workflow.start('continuousLearningCycle', {
        taskQueue,
        workflowId: `cycle-churnext-${Date.now()}`,
        args: [{ modelId: 'churnext', window: { from: '2026-06-08', to: '2026-06-15' } }],
      });
      const st = (await handle.result()) as CycleStatus;
      expect(st.state).toBe('completed');
      expect(st.stages.retrain.state).toBe('done');
      expect(st.retrain?.registeredAs).toBe('champion');
      expect(calls.trained).toBe(1);

      const registry = new ModelRegistry(store);
      const version = st.retrain!.train.version;
      const manifest = await registry.getManifest('churnext', version);
      expect(manifest.kind).toBe('onnx');
      expect(manifest.trainer).toBe('external:logistic');
      expect(manifest.positiveClass).toBe('churn');
      expect(manifest.blessing?.blessed).toBe(true);
      expect(manifest.metrics.roc_auc).toBeGreaterThan(0.6);
      expect((await registry.getAliases('churnext')).aliases.champion).toBe(version);
      const { artifact, onnx } = await registry.loadModelFiles('churnext', version);
      expect(artifact).toMatchObject({ kind: 'onnx', inputName: 'input', outputName: 'probabilities' });
      expect(await store.head(layout.modelOnnx('churnext', version))).toBeTruthy();

      // The matrix the worker read is where the contract says, named by its sha256.
      const lineage = manifest.lineage.external as { matrixKey: string };
      expect(lineage.matrixKey).toMatch(/^training\/churnext\/[0-9a-f]{64}\/matrix\.arrow$/);

      // Serving loads the onnx champion at start (warmed) and answers like onnxruntime offline.
      const serving = await createServingApp({
        store,
        modelId: 'churnext',
        aliasPollMs: 100,
        logFlushMs: 60_000,
      });
      try {
        expect(serving.health().models.champion).toMatchObject({ version, kind: 'onnx' });
        const testSetKey = (
          await readJson(
            store,
            'datasets/churnext/test/current.json',
            z.object({ dataKey: z.string() }),
          ).catch(() => null)
        )?.dataKey;
        const rows = testSetKey ? await readAllRows(store, [testSetKey], LabeledRowSchema) : [];
        const features = rows.slice(0, 200).map((r) => r.features);
        expect(features.length).toBeGreaterThan(50);
        const res = await serving.app.request('/predict', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            instances: features.map((f, i) => ({ requestId: `ext-${i}`, features: f })),
          }),
        });
        expect(res.status).toBe(200);
        const answers = (
          (await res.json()) as {
            predictions: Array<{ scores: Record<string, number>; modelVersion: string }>;
          }
        ).predictions;

        // Offline: the public onnxruntime API on the stored graph, fed by the artifact's own pipeline.
        const onnxArtifact = artifact as OnnxArtifact;
        const session = await InferenceSession.create(onnx!);
        for (const [i, f] of features.entries()) {
          const x = Float32Array.from(transform(onnxArtifact.pipeline, f));
          const out = await session.run({ input: new Tensor('float32', x, [1, x.length]) });
          const p = out.probabilities.data as Float32Array;
          expect(answers[i].modelVersion).toBe(version);
          onnxArtifact.classes.forEach((c, k) => expect(answers[i].scores[c]).toBe(p[k]));
        }
        await session.release();
      } finally {
        await serving.close();
      }
    });
  });
}, 600_000);
