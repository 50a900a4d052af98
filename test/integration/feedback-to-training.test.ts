import { createIngestWindow } from '../../src/activities/ingest-window';
import { readAllRows } from '../../src/activities/read-rows';
import { createTrainCandidate } from '../../src/activities/train-candidate';
import { loadConfig } from '../../src/config';
import { JoinedRowSchema } from '../../src/schemas';
import type { LabeledRow } from '../../src/schemas';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeNdjson } from '../../src/storage/ndjson';
import { tempFileStore } from '../support/temporal';

/**
 * Labels that annotators submitted (flushed by the review queue to labels/{model}/human/) flow into the
 * next retraining: they override the outcome label of the same request, count as feedback-derived rows
 * under the share cap, and are named in the new version's training data lineage.
 */
test('human labels from the review queue reach the next training set', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: { name: 'concept-drift', seed: 3, start: '2026-06-01', days: 14, rowsPerDay: 300 },
    historyDays: 0,
  });
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const ingest = await createIngestWindow({ store, config })({
    modelId: 'churn',
    cycleId: 'c1',
    window: { from: '2026-06-08', to: '2026-06-15' },
  });
  const joined = await readAllRows(store, ingest.joinedKeys.slice(0, 1), JoinedRowSchema);

  const human: LabeledRow[] = joined.slice(0, 30).map((r) => ({
    requestId: r.requestId,
    timestamp: r.timestamp,
    features: r.features,
    label: r.predictedLabel,
    labelSource: 'human-review',
    lineage: { taskId: r.requestId, annotators: 'alice' },
  }));
  const humanKey = 'labels/churn/human/review-churn-000001.ndjson';
  await writeNdjson(store, humanKey, human);

  const trained = await createTrainCandidate({ store, config })({
    modelId: 'churn',
    cycleId: 'c1',
    asOf: '2026-06-15T00:00:00.000Z',
    retrain: { positiveClass: 'churn', minTrainingRows: 10 },
    seed: 1,
  });
  expect(trained.feedback.offered).toBe(30);
  expect(trained.feedback.kept).toBe(30);
  expect(trained.trainingRows).toBe(trained.baseRows + 30);
  const manifest = await new ModelRegistry(store).getManifest('churn', trained.version);
  expect(manifest.trainingData).toContain(humanKey);
  expect(manifest.lineage.feedback).toMatchObject({ feedbackOffered: 30, feedbackKept: 30 });
});
