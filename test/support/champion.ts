import { trainArtifact } from '../../src/ml/model';
import type { BlobStore } from '../../src/storage/blob-store';
import { ModelRegistry } from '../../src/storage/model-registry';
import { prediction } from './fixtures';

/**
 * Registers a small blessed champion for model `churn`, trained on the fixture rows' features
 * (tenure_days numeric, country categorical, discount_used boolean), and returns its version.
 */
export async function registerChampion(store: BlobStore): Promise<string> {
  const rows = Array.from({ length: 80 }, (_, i) => {
    const p = prediction(i, '2026-05-01');
    return { features: p.features, label: i % 3 === 0 ? 'churn' : 'stay' };
  });
  const artifact = trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1, maxEpochs: 3 } });
  const registry = new ModelRegistry(store);
  const { version } = await registry.registerVersion({
    modelId: 'churn',
    artifact,
    manifest: {
      createdAt: '2026-05-02T00:00:00.000Z',
      trainer: 'logistic-adam',
      trainingData: [],
      metrics: { f1: 0.5 },
      codeVersion: 'loopkeeper@test',
      blessing: {
        blessed: true,
        reasons: ['test champion'],
        comparedTo: null,
        testSetKey: null,
        decidedAt: '2026-05-02T00:00:00.000Z',
        checks: [],
      },
    },
  });
  await registry.promote({ modelId: 'churn', version, actor: 'test', reason: 'test champion' });
  return version;
}
