import { gzipSync } from 'node:zlib';
import type { BlobStore } from '../../src/storage/blob-store';
import { readLines } from '../../src/storage/ndjson';
import { outcome, prediction, writeRawLines, writeRows } from './fixtures';

/** Window 2026-06-08..15 with a 7-day lookback, and every kind of row ingest must treat carefully. */
export async function seedShardedIngest(store: BlobStore): Promise<void> {
  for (const day of ['2026-06-03', '2026-06-05', '2026-06-09', '2026-06-11']) {
    const rows = Array.from({ length: 60 }, (_, i) =>
      prediction(
        i,
        day,
        i % 17 === 0 ? { role: 'shadow' } : i % 13 === 0 ? { slices: { requestId: 'x' } } : {},
      ),
    );
    const lines = rows.map((r) => JSON.stringify(r));
    // Rows whose request id the text does not say plainly: parsed by every shard, owned by one.
    lines.push(JSON.stringify(prediction(900, day, { requestId: `esc"${day}` })));
    lines.push(
      `{"requestId": "spaced-${day}", ${JSON.stringify(prediction(901, day))
        .slice(1)
        .replace(/"requestId":"[^"]*",/, '')}`,
    );
    // Non-ASCII ids: routed from their UTF-8 bytes, joined by their decoded text.
    lines.push(JSON.stringify(prediction(903, day, { requestId: `ünï-€-${day}` })));
    lines.push('{"requestId":"broken-' + day + '", "features": ');
    lines.push('not json at all');
    lines.push(JSON.stringify({ ...prediction(902, day), scores: { churn: 2 } }));
    await writeRawLines(store, `logs/churn/predictions/date=${day}/part-0000.ndjson`, lines);
  }
  // A damaged gzip part: its readable lines count, the rest is reported once (by shard 0).
  const gz = gzipSync(
    Buffer.from(
      Array.from({ length: 400 }, (_, i) => JSON.stringify(prediction(i, '2026-06-13'))).join('\n'),
    ),
  );
  await store.put(
    'logs/churn/predictions/date=2026-06-13/part-0000.ndjson.gz',
    gz.subarray(0, gz.length - 300),
  );
  // The same request id logged again on a later day: joined once only.
  await writeRows(store, 'logs/churn/predictions/date=2026-06-10/part-0000.ndjson', [
    prediction(5, '2026-06-03'),
    prediction(7, '2026-06-10'),
  ]);
  const matured = ['2026-06-03', '2026-06-05', '2026-06-09'].flatMap((day) =>
    Array.from({ length: 60 }, (_, i) => prediction(i, day)).filter((_, i) => i % 4 !== 3),
  );
  const outs = matured.map((p, i) => outcome(p, i % 3 ? 'stay' : 'churn', 2));
  await writeRows(store, 'logs/churn/outcomes/date=2026-06-11/part-0000.ndjson', [
    ...outs,
    ...outs.slice(0, 5), // duplicates
    outcome(prediction(3, '2026-06-03'), 'churn', 2, 'annotator'), // a second source for one request
    {
      requestId: 'orphan-1',
      observedLabel: 'stay',
      source: 'observed',
      confidence: 1,
      timestamp: '2026-06-11T00:00:00Z',
    },
  ]);
  await writeRawLines(store, 'logs/churn/outcomes/date=2026-06-12/part-0000.ndjson', [
    JSON.stringify(outcome(prediction(900, '2026-06-09', { requestId: 'esc"2026-06-09' }), 'churn', 2)),
    JSON.stringify({
      ...outcome(prediction(901, '2026-06-09', { requestId: 'spaced-2026-06-09' }), 'stay', 2),
    }),
    ...['2026-06-03', '2026-06-09'].map((day) =>
      JSON.stringify(outcome(prediction(903, day, { requestId: `ünï-€-${day}` }), 'churn', 2)),
    ),
    '{"requestId":"bad-outcome","source":"guess"}',
    '{{{',
  ]);
}

/** Every row of the given NDJSON parts, parsed. */
export async function rowsOf(store: BlobStore, keys: string[]): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const key of keys) for await (const { line } of readLines(store, key)) rows.push(JSON.parse(line));
  return rows;
}
