import { EventLogger } from '../../src/logging/event-logger';
import { trainArtifact } from '../../src/ml/model';
import { createServingApp } from '../../src/serving/app';
import { ModelRegistry } from '../../src/storage/model-registry';
import { tempFileStore } from '../support/temporal';

const rows = Array.from({ length: 200 }, (_, i) => ({
  features: { usage: (i % 20) / 5 - 2 },
  label: i % 20 < 8 ? 'churn' : 'stay',
}));

test("serve reports each model load and load failure as one JSON event with the model's identity", async () => {
  const { store } = tempFileStore();
  const registry = new ModelRegistry(store);
  const artifact = trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1 } });
  const blessing = {
    blessed: true,
    reasons: ['test'],
    comparedTo: null,
    testSetKey: null,
    decidedAt: '2026-06-01T00:00:00.000Z',
    checks: [],
  };
  await registry.registerVersion({
    modelId: 'churn',
    version: 'v1',
    artifact,
    manifest: {
      createdAt: '2026-06-01T00:00:00.000Z',
      trainer: 'logistic-adam',
      trainingData: [],
      codeVersion: 'test',
      blessing,
    },
  });
  await registry.promote({ modelId: 'churn', version: 'v1', actor: 'test', reason: 'setup' });
  const serveOnce = async (): Promise<Array<Record<string, unknown>>> => {
    const lines: string[] = [];
    const log = new EventLogger('INFO', 'json', (l) => lines.push(l)).child({
      component: 'serve',
      model: 'churn',
    });
    const app = await createServingApp({ store, modelId: 'churn', log, loadRetryMs: 60_000 });
    await app.close();
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  const good = await serveOnce();
  expect(good).toEqual([
    expect.objectContaining({
      level: 'INFO',
      msg: 'model version loaded',
      component: 'serve',
      model: 'churn',
      role: 'champion',
      version: 'v1',
      ts: expect.any(String),
    }),
  ]);
  // A bad upload of the champion's artifact: the next process says so, with the version and the reason.
  await store.put('models/churn/versions/v1/model.json', '{"not": "a model"');
  const bad = await serveOnce();
  expect(bad).toEqual([
    expect.objectContaining({
      level: 'WARN',
      msg: 'model version failed to load',
      component: 'serve',
      model: 'churn',
      role: 'champion',
      version: 'v1',
      error: expect.any(String),
    }),
  ]);
});
