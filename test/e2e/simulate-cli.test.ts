import { trainArtifact } from '../../src/ml/model';
import { generateHistory } from '../../src/simulate/generate';
import { readLines } from '../../src/storage/ndjson';
import { ModelRegistry } from '../../src/storage/model-registry';
import { PredictionRowSchema } from '../../src/schemas';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

/**
 * `loopkeeper simulate` writes traffic scored by the reference stand-in until a champion exists, and by
 * the champion (through the shared scoring library, as serving does) once it does.
 */
test('simulate scores with the champion once one is registered', async () => {
  const { store } = tempFileStore();
  const env = { LOOPKEEPER_STORE: store.uri };
  const args = [
    'simulate',
    '--model',
    'churn',
    '--scenario',
    'stable',
    '--days',
    '1',
    '--rows-per-day',
    '40',
    '--history-days',
    '0',
    '--json',
  ];
  const first = await runCli(env, ...args);
  expect(first.code).toBe(0);
  expect(JSON.parse(first.out).modelVersion).toBe('reference-v0');

  const rows = generateHistory({ name: 'stable', seed: 2 }, { days: 7 });
  const registry = new ModelRegistry(store);
  const { version } = await registry.registerVersion({
    modelId: 'churn',
    artifact: trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1 } }),
    manifest: {
      createdAt: new Date().toISOString(),
      trainer: 'logistic',
      trainingData: [],
      metrics: {},
      codeVersion: 'test',
      lineage: {},
    },
  });
  await registry.promote({
    modelId: 'churn',
    version,
    actor: 'test',
    reason: 'first model',
    force: { reason: 'test setup' },
  });

  const second = await runCli(env, ...args, '--seed', '8', '--start', '2026-07-01');
  expect(second.code).toBe(0);
  expect(JSON.parse(second.out).modelVersion).toBe(version);
  const key = JSON.parse(second.out).predictions.keys[0] as string;
  for await (const { line } of readLines(store, key))
    expect(PredictionRowSchema.parse(JSON.parse(line)).modelVersion).toBe(version);

  const bad = await runCli(env, 'simulate', '--score-with', 'oracle');
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/--score-with "oracle"/);
});
