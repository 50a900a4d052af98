import { gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createComputeDrift } from '../../src/activities/compute-drift';
import type { DriftSummary } from '../../src/activities/compute-drift';
import { createIngestWindow } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import { outcome, prediction, writeRows } from '../support/fixtures';
import { tempFileStore } from '../support/temporal';

const window = { from: '2026-06-08', to: '2026-06-15' };
const reference = { kind: 'window' as const, from: '2026-06-01', to: '2026-06-03' };
const truncatedKey = 'logs/churn/predictions/date=2026-06-10/part-0000.ndjson.gz';

async function seed(store: BlobStore): Promise<void> {
  for (const day of ['2026-06-01', '2026-06-02', '2026-06-09'])
    await writeRows(
      store,
      `logs/churn/predictions/date=${day}/part-0000.ndjson`,
      Array.from({ length: 30 }, (_, i) => prediction(i, day, i === 0 ? { role: 'shadow' } : {})),
    );
  const gz = gzipSync(
    Buffer.from(
      Array.from({ length: 400 }, (_, i) => JSON.stringify(prediction(i, '2026-06-10'))).join('\n'),
    ),
  );
  await store.put(truncatedKey, gz.subarray(0, gz.length - 300));
  await writeRows(
    store,
    'logs/churn/outcomes/date=2026-06-11/part-0000.ndjson',
    Array.from({ length: 30 }, (_, i) => outcome(prediction(i, '2026-06-09'), 'stay', 1)),
  );
}

test('drift of a cycle reads what ingest accepted: a truncated .gz quarantined by ingest does not fail drift', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_MAX_BAD_ROW_RATE: '0.5' });
  const ingest = await createIngestWindow({ store, config })({ modelId: 'churn', cycleId: 'c1', window });
  expect(ingest.firstReasons.join('\n')).toContain('unreadable from here on');
  const accepted = ingest.summary.predictions;
  expect(accepted).toBeGreaterThan(29);

  // The raw logs are not read again: even gone, the cycle's drift is measured on what ingest accepted.
  await store.delete(truncatedKey);
  await store.delete('logs/churn/predictions/date=2026-06-09/part-0000.ndjson');
  const env = new MockActivityEnvironment();
  const drift: DriftSummary = await env.run(createComputeDrift({ store, config }), {
    modelId: 'churn',
    runId: 'c1',
    window,
    reference,
    acceptedManifestKey: ingest.manifestKey,
  });
  expect(drift.rows).toBe(accepted);
  expect(drift.badRows).toBe(0);
});

test('the drift monitor (no ingest) reads the raw logs up to a damaged part, and counts the damage', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const env = new MockActivityEnvironment();
  const drift: DriftSummary = await env.run(createComputeDrift({ store, config }), {
    modelId: 'churn',
    runId: 'monitor',
    window,
    reference,
  });
  expect(drift.rows).toBeGreaterThan(29);
  expect(drift.badRows).toBe(1);
});
