import { MockActivityEnvironment } from '@temporalio/testing';
import { createIngestWindow } from '../../src/activities/ingest-window';
import type { IngestResult } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import { outcome, prediction, writeRows } from '../support/fixtures';
import { tempFileStore } from '../support/temporal';

/** Counts reads per key, to see which log parts a resumed attempt reads again. */
function countingStore(store: BlobStore): { store: BlobStore; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const wrapped = Object.create(store) as BlobStore;
  wrapped.getStream = async (key: string) => {
    reads.set(key, (reads.get(key) ?? 0) + 1);
    return store.getStream(key);
  };
  return { store: wrapped, reads };
}

async function seed(store: BlobStore): Promise<void> {
  for (const day of ['2026-06-01', '2026-06-02', '2026-06-03']) {
    const rows = Array.from({ length: 20 }, (_, i) => prediction(i, day));
    await writeRows(store, `logs/churn/predictions/date=${day}/part-0000.ndjson`, rows);
    await writeRows(
      store,
      `logs/churn/outcomes/date=2026-06-09/part-from-${day}.ndjson`,
      rows.map((p, i) => outcome(p, i % 3 ? 'stay' : 'churn')),
    );
  }
}

const input = {
  modelId: 'churn',
  cycleId: 'c1',
  window: { from: '2026-06-08', to: '2026-06-15' },
  lookbackDays: 10,
};

test('a retried ingest resumes from its heartbeat: finished parts are not read again, the result is the same', async () => {
  const { store: base } = tempFileStore();
  await seed(base);
  const config = loadConfig({ LOOPKEEPER_STORE: base.uri });

  // First attempt: record heartbeats; pretend the worker died after the first prediction part.
  const first = new MockActivityEnvironment();
  const beats: unknown[] = [];
  first.on('heartbeat', (d: unknown) => beats.push(d));
  const full: IngestResult = await first.run(createIngestWindow({ store: base, config }), input);
  const afterFirstPart = beats.find((d) => (d as { parts?: unknown[] }).parts?.length === 1);
  expect(afterFirstPart).toBeDefined();

  const { store, reads } = countingStore(base);
  const retry = new MockActivityEnvironment({ heartbeatDetails: afterFirstPart, attempt: 2 });
  const resumed: IngestResult = await retry.run(createIngestWindow({ store, config }), input);

  expect(reads.get('logs/churn/predictions/date=2026-06-01/part-0000.ndjson')).toBeUndefined();
  expect(reads.get('logs/churn/predictions/date=2026-06-02/part-0000.ndjson')).toBe(1);
  expect(resumed).toEqual(full);
  expect(resumed.joinedRows).toBe(60);
});

test('heartbeat details that fail validation are ignored (full re-run), not trusted', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const env = new MockActivityEnvironment({ heartbeatDetails: { parts: [{ key: 'bogus' }] }, attempt: 2 });
  const r: IngestResult = await env.run(createIngestWindow({ store, config }), input);
  expect(r.joinedRows).toBe(60);
});
