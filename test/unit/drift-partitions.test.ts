import { gzipSync } from 'node:zlib';
import { createBuildReferenceProfile } from '../../src/activities/build-reference-profile';
import { createComputeDrift } from '../../src/activities/compute-drift';
import {
  createDriftPartition,
  createPrepareDrift,
  createReduceDrift,
} from '../../src/activities/drift-partitions';
import { createIngestWindow } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import { prediction, writeRows } from '../support/fixtures';
import { tempFileStore } from '../support/temporal';

/**
 * Drift and skew must not depend on how the window's lines are cut into partitions: each thread's
 * counts (and each thread's share of the reference) merge exactly. A store with mixed trouble (shadow
 * rows, invalid lines, NaN features, unseen values, a new feature, a damaged .gz) is measured with 1,
 * 3 and 8 partitions, and the stored drift.json and profile must be byte-identical.
 */

const window = { from: '2026-06-08', to: '2026-06-10' };
const reference = { kind: 'window' as const, from: '2026-06-01', to: '2026-06-03' };

async function seed(store: BlobStore): Promise<void> {
  // Many small parts, so the lines really are spread over the partitions (one batch per part).
  for (const day of ['2026-06-01', '2026-06-02'])
    for (let part = 0; part < 6; part++)
      await writeRows(
        store,
        layout.predictionPart('churn', day, `part-${part}`),
        Array.from({ length: 40 }, (_, i) => prediction(part * 40 + i, day)),
      );
  for (const day of ['2026-06-08', '2026-06-09'])
    for (let part = 0; part < 6; part++) {
      const rows = Array.from({ length: 40 }, (_, i) => {
        const n = part * 40 + i;
        const p = prediction(n, day, n % 17 === 0 ? { role: 'shadow' } : {});
        p.features.tenure_days = n % 5 === 0 ? 5_000 + n : (p.features.tenure_days as number);
        if (n % 7 === 0) p.features.country = `X${n % 40}`;
        if (n % 11 === 0) p.features.promo = 'spring';
        if (n % 13 === 0) delete p.features.discount_used;
        return JSON.stringify(p);
      });
      rows.push('{"not":"a prediction"}', 'garbage');
      rows.push(JSON.stringify(prediction(999, day)).replace('"tenure_days":1009', '"tenure_days":NaN'));
      await store.put(layout.predictionPart('churn', day, `part-${part}`), rows.join('\n') + '\n');
    }
  const gz = gzipSync(
    Buffer.from(
      Array.from({ length: 300 }, (_, i) => JSON.stringify(prediction(i, '2026-06-09'))).join('\n'),
    ),
  );
  await store.put('logs/churn/predictions/date=2026-06-09/part-9.ndjson.gz', gz.subarray(0, gz.length - 200));
}

async function measure(threads: number): Promise<{ drift: string; profile: string }> {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_INGEST_THREADS: String(threads) });
  const summary = await createComputeDrift({ store, config })({
    modelId: 'churn',
    runId: 'r',
    window,
    reference,
  });
  return {
    drift: (await store.get(summary.jsonKey)).toString('utf8'),
    profile: (await store.get(summary.referenceKey)).toString('utf8'),
  };
}

test('1, 3 and 8 partitions give byte-identical drift and skew reports and reference profiles', async () => {
  const one = await measure(1);
  const doc = JSON.parse(one.drift) as {
    badRows: number;
    drift: { rows: number };
    skew: { findings: unknown[] };
  };
  // The store really has each kind of trouble, so the comparison covers them.
  expect(doc.drift.rows).toBeGreaterThan(400);
  expect(doc.badRows).toBe(2 * 6 * 2 + 1);
  expect(doc.skew.findings.length).toBeGreaterThan(0);
  for (const threads of [3, 8]) {
    const other = await measure(threads);
    expect(other.profile).toBe(one.profile);
    expect(other.drift).toBe(one.drift);
  }
}, 120_000);

/** The drift report without the list of inputs it read (which names the partitions). */
function withoutInputs(json: string): string {
  const doc = JSON.parse(json) as Record<string, unknown>;
  delete doc.partitions;
  return JSON.stringify(doc);
}

async function measureCycle(
  threads: number,
  partitionRows: number,
): Promise<{ drift: string; fromLines: string; columnKeys: number }> {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({
    LOOPKEEPER_STORE: store.uri,
    LOOPKEEPER_INGEST_THREADS: String(threads),
    LOOPKEEPER_MAX_BAD_ROW_RATE: '0.9',
  });
  {
    const ingest = await createIngestWindow({ store, config })({
      modelId: 'churn',
      cycleId: 'c',
      window,
      partitionRows,
    });
    const manifest = JSON.parse((await store.get(ingest.manifestKey)).toString('utf8')) as {
      lineage: { windowColumnKeys: string[] };
    };
    const drift = async (): Promise<string> => {
      const summary = await createComputeDrift({ store, config })({
        modelId: 'churn',
        runId: 'c',
        window,
        reference,
        acceptedManifestKey: ingest.manifestKey,
        quarantinedRows: ingest.badRows,
      });
      return (await store.get(summary.jsonKey)).toString('utf8');
    };
    const fromColumns = await drift();
    // A manifest without columns (as an older ingest wrote) is read from its NDJSON lines instead.
    const { windowColumnKeys, ...lineage } = manifest.lineage as Record<string, unknown>;
    await store.put(ingest.manifestKey, JSON.stringify({ ...manifest, lineage }));
    return {
      drift: fromColumns,
      fromLines: await drift(),
      columnKeys: (windowColumnKeys as string[]).length,
    };
  }
}

test("a cycle's drift reads ingest's columnar partitions: 1, 3 and 8 of them per part give identical reports", async () => {
  const runs = [await measureCycle(1, 1_000), await measureCycle(3, 1_000), await measureCycle(1, 7)];
  // One partition per window part (13 with the damaged .gz); one per (part, shard) with 3 shards;
  // 6 or more per part at 7 rows each.
  expect(runs[0].columnKeys).toBe(13);
  expect(runs[1].columnKeys).toBeGreaterThan(13);
  expect(runs[2].columnKeys).toBeGreaterThanOrEqual(12 * 6);
  for (const r of runs.slice(1)) expect(withoutInputs(r.drift)).toBe(withoutInputs(runs[0].drift));
  // And the columns give exactly what the same accepted lines give when parsed from NDJSON.
  for (const r of runs) expect(withoutInputs(r.fromLines)).toBe(withoutInputs(r.drift));
}, 180_000);

test('the fan-out activities (prepare, one per partition, reduce) give the report computeDrift gives', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_MAX_BAD_ROW_RATE: '0.9' });
  const deps = { store, config };
  const ingest = await createIngestWindow(deps)({ modelId: 'churn', cycleId: 'c', window, partitionRows: 9 });
  const input = {
    modelId: 'churn',
    runId: 'c',
    window,
    reference,
    acceptedManifestKey: ingest.manifestKey,
    quarantinedRows: ingest.badRows,
  };
  const whole = await createComputeDrift(deps)(input);
  const wholeDoc = (await store.get(whole.jsonKey)).toString('utf8');

  const plan = await createPrepareDrift(deps)(input);
  expect(plan.columnKeys?.length).toBeGreaterThan(40);
  const partition = createDriftPartition(deps);
  // Partitions may finish in any order on any worker; the reduce merges them in partition order.
  const keys = plan.columnKeys ?? [];
  const parts = await Promise.all(
    [...keys.keys()].reverse().map((index) =>
      partition({
        modelId: 'churn',
        runId: 'c',
        profileKey: plan.profileKey,
        columnKey: keys[index],
        index,
      }),
    ),
  );
  const partKeys = parts.reverse().map((p) => p.partKey);
  const reduced = await createReduceDrift(deps)({ ...input, ...plan, partKeys });
  expect(reduced).toEqual(whole);
  expect((await store.get(reduced.jsonKey)).toString('utf8')).toBe(wholeDoc);
}, 120_000);

test('a bad line in the bootstrap history fails the reference naming file and line, on any number of threads', async () => {
  for (const threads of [1, 3]) {
    const { store } = tempFileStore();
    const dataKey = layout.dataset('churn', 'history', '1');
    const rows = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        requestId: `h-${i}`,
        timestamp: '2026-05-20T12:00:00.000Z',
        features: { tenure_days: i },
        label: 'stay',
        labelSource: 'historical',
      }),
    );
    rows[6] = '{"requestId":"h-6","features":{}}';
    await store.put(dataKey, rows.join('\n') + '\n');
    await store.put(
      layout.datasetManifest('churn', 'history', '1'),
      JSON.stringify({
        kind: 'train',
        modelId: 'churn',
        version: '1',
        dataKey,
        rows: 30,
        classCounts: {},
        createdAt: '2026-06-01T00:00:00.000Z',
      }),
    );
    const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_INGEST_THREADS: String(threads) });
    await expect(createBuildReferenceProfile({ store, config })({ modelId: 'churn' })).rejects.toThrow(
      `${dataKey}:7: timestamp`,
    );
  }
}, 60_000);
