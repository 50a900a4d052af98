import { bootstrapLoopChampion } from '../../bench/loop-bootstrap';
import { createBuildReferenceProfile } from '../../src/activities/build-reference-profile';
import { loadConfig } from '../../src/config';
import { ModelRegistry } from '../../src/storage/model-registry';
import { tempFileStore } from '../support/temporal';

/**
 * The loop bench's bootstrap champion used to list `trainingData: ['history']` (no such object), so
 * every cycle's drift stage failed with NoReferenceData and skipped drift. Registered the way
 * `loopkeeper train` does it, it lists its history dataset and gets a reference profile like any champion.
 */
test('the bench bootstrap champion gets a reference profile from its own training data', async () => {
  const { store } = tempFileStore();
  const policy = { retrain: { threshold: { objective: 'recall', target: 0.6 } } };
  const boot = await bootstrapLoopChampion(store, {
    modelId: 'churnboot',
    scenario: { name: 'concept-drift', seed: 5, rowsPerDay: 300 },
    policy,
    historyDays: 14,
  });
  const registry = new ModelRegistry(store);
  expect((await registry.getAliases('churnboot')).aliases.champion).toBe(boot.version);
  const manifest = await registry.getManifest('churnboot', boot.version);
  expect(manifest.trainingData).toEqual([boot.dataKey]);
  // The first model follows the stored policy's threshold objective too.
  expect(manifest.lineage.threshold).toMatchObject({ objective: 'recall', target: 0.6, reached: true });
  expect(boot.artifact.threshold).toBe(manifest.threshold);

  const build = createBuildReferenceProfile({ store, config: loadConfig({ LOOPKEEPER_STORE: store.uri }) });
  const ref = await build({ modelId: 'churnboot' });
  expect(ref).toMatchObject({ source: `version ${boot.version}`, created: true });
  expect(ref.rows).toBe(
    manifest.metrics.train_rows +
      (manifest.lineage.split as { validationRows: number; testRows: number }).validationRows +
      (manifest.lineage.split as { testRows: number }).testRows,
  );
});
