import { createIngestWindow } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import { registerChampion } from '../support/champion';
import { outcome, prediction, writeRawLines, writeRows } from '../support/fixtures';
import { rowsOf } from '../support/ingest-fixtures';
import { tempFileStore } from '../support/temporal';

const window = { from: '2026-06-08', to: '2026-06-15' };
const day = '2026-06-09';

/** 40 good rows and the hostile ones of the finding; every prediction gets an outcome. */
async function seed(store: BlobStore): Promise<string[]> {
  const good = Array.from({ length: 40 }, (_, i) => prediction(i, day));
  const nanString = prediction(100, day);
  nanString.features.tenure_days = 'NaN';
  const hugeNumeric = prediction(101, day);
  hugeNumeric.features.tenure_days = 'x'.repeat(10 * 1024 * 1024);
  const longCategory = prediction(102, day);
  longCategory.features.country = 'y'.repeat(20_000);
  const numberAsCategory = prediction(103, day);
  numberAsCategory.features.country = 7;
  const bad = [nanString, hugeNumeric, longCategory, numberAsCategory];
  await writeRawLines(
    store,
    `logs/churn/predictions/date=${day}/part-0000.ndjson`,
    [...good, ...bad].map((r) => JSON.stringify(r)),
  );
  await writeRows(
    store,
    'logs/churn/outcomes/date=2026-06-10/part-0000.ndjson',
    [...good, ...bad].map((p) => outcome(p, 'stay', 1)),
  );
  return bad.map((r) => r.requestId);
}

async function ingest(store: BlobStore, threads: number) {
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_MAX_BAD_ROW_RATE: '0.5' });
  return createIngestWindow({ store, config })({
    modelId: 'churn',
    cycleId: `c-${threads}`,
    window,
    threads,
  });
}

async function quarantined(
  store: BlobStore,
  keys: string[],
): Promise<Array<{ reason: string; raw: string }>> {
  return (await rowsOf(store, keys)) as Array<{ reason: string; raw: string }>;
}

test.each([1, 2])(
  'with a champion, wrong-typed and oversized feature values are quarantined with a reason (%i shard(s))',
  async (threads) => {
    const { store } = tempFileStore();
    const badIds = await seed(store);
    const champion = await registerChampion(store);
    const r = await ingest(store, threads);

    expect(r.badRows).toBe(4);
    expect(r.joinedRows).toBe(40);
    const joined = (await rowsOf(store, r.joinedKeys)) as Array<{ requestId: string }>;
    expect(joined.filter((j) => badIds.includes(j.requestId))).toEqual([]);
    const q = await quarantined(store, r.quarantineKeys);
    const reasons = q.map((x) => x.reason).sort();
    expect(reasons).toEqual([
      `features.country: categorical feature (champion ${champion}) got number`,
      `features.country: string of 20000 bytes exceeds the limit of 10240`,
      `features.tenure_days: numeric feature (champion ${champion}) got the string "NaN"`,
      expect.stringMatching(/^line of 1048\d{4} bytes exceeds the limit of 1048576/),
    ]);
    // A quarantined giant keeps only its head.
    expect(Math.max(...q.map((x) => x.raw.length))).toBeLessThanOrEqual(10_000);
  },
);

test('without a champion nothing is inferred about features: only the size limits apply', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const r = await ingest(store, 1);
  expect(r.badRows).toBe(2);
  expect(r.joinedRows).toBe(42);
  const reasons = (await quarantined(store, r.quarantineKeys)).map((x) => x.reason).sort();
  expect(reasons).toEqual([
    `features.country: string of 20000 bytes exceeds the limit of 10240`,
    expect.stringMatching(/^line of \d+ bytes exceeds the limit of 1048576/),
  ]);
});

test('the limits come from the policy ingest section; a bad section is a clear non-retryable error', async () => {
  const { store } = tempFileStore();
  await seed(store);
  await store.put(layout.policy('churn'), JSON.stringify({ ingest: { maxStringBytes: 64 } }));
  const r = await ingest(store, 1);
  // 64 bytes: the 20 kB country breaks this limit as it broke the default one.
  const reasons = (await quarantined(store, r.quarantineKeys)).map((x) => x.reason);
  expect(reasons.filter((x) => /exceeds the limit of 64$/.test(x)).length).toBeGreaterThanOrEqual(1);

  await store.put(layout.policy('churn'), JSON.stringify({ ingest: { maxLineBytes: 'big' } }));
  await expect(ingest(store, 1)).rejects.toMatchObject({
    type: 'InvalidPolicy',
    message: expect.stringContaining('config/churn/policy.json: invalid ingest section at maxLineBytes'),
  });
});
