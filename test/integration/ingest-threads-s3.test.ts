import { createIngestWindow } from '../../src/activities/ingest-window';
import type { IngestResult } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import { JoinedRowSchema } from '../../src/schemas';
import { openBlobStore } from '../../src/storage/open-store';
import { rowsOf, seedShardedIngest } from '../support/ingest-fixtures';

/**
 * Ingest threads open their own store client from the store URI and the S3 settings of the config:
 * on the real S3 server (versitygw) the sharded result must equal the single-threaded one.
 */
test('threaded ingest on S3 reads and writes through each thread’s own client, same rows as one thread', async () => {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is unset: the jest global setup should start the S3 server`);
    return value;
  };
  const uri = `s3://${env('LOOPKEEPER_TEST_S3_BUCKET')}/ingest-threads/${Date.now()}`;
  const config = loadConfig({
    LOOPKEEPER_STORE: uri,
    LOOPKEEPER_S3_ENDPOINT: env('LOOPKEEPER_TEST_S3_ENDPOINT'),
    LOOPKEEPER_S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: env('LOOPKEEPER_TEST_S3_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: env('LOOPKEEPER_TEST_S3_SECRET_ACCESS_KEY'),
  });
  const store = openBlobStore(config.store.uri, config.store.s3);
  try {
    await seedShardedIngest(store);
    const ingest = createIngestWindow({ store, config, now: () => new Date('2026-06-15T00:00:00Z') });
    const input = { modelId: 'churn', window: { from: '2026-06-08', to: '2026-06-15' }, lookbackDays: 7 };
    const one: IngestResult = await ingest({ ...input, cycleId: 'one', threads: 1 });
    const two: IngestResult = await ingest({ ...input, cycleId: 'two', threads: 2 });
    expect(two.joinedKeys.every((k) => /-s[01]of2\.ndjson$/.test(k))).toBe(true);
    expect({ ...two, manifestKey: '', joinedKeys: [], quarantineKeys: [], firstReasons: [] }).toEqual({
      ...one,
      manifestKey: '',
      joinedKeys: [],
      quarantineKeys: [],
      firstReasons: [],
    });
    const ids = async (r: IngestResult): Promise<string[]> =>
      (await rowsOf(store, r.joinedKeys)).map((row) => JoinedRowSchema.parse(row).requestId).sort();
    expect(await ids(two)).toEqual(await ids(one));
    expect(one.joinedRows).toBeGreaterThan(100);
  } finally {
    await store.close();
  }
});
