import { MockActivityEnvironment } from '@temporalio/testing';
import { createIngestWindow } from '../../src/activities/ingest-window';
import type { IngestResult } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import { JoinedRowSchema, QuarantinedRowSchema } from '../../src/schemas';
import { requestIdOfLine, shardOfRequestId } from '../../src/schemas/line-request-id';
import type { BlobStore } from '../../src/storage/blob-store';
import { readLines } from '../../src/storage/ndjson';
import { mulberry32 } from '../../src/policy/rng';
import { outcome, prediction, writeRawLines, writeRows } from '../support/fixtures';
import { tempFileStore } from '../support/temporal';

describe('requestIdOfLine', () => {
  const cases: Array<[string, string | undefined]> = [
    ['{"requestId":"a1","x":1}', 'a1'],
    ['{"x":1,"requestId":"a2"}', 'a2'],
    // A slice tag named requestId is not the row's request id.
    ['{"slices":{"requestId":"nested"},"requestId":"top"}', 'top'],
    ['{"requestId": "spaced","slices":{"requestId":"nested"}}', undefined],
    ['{"note":"say \\"requestId\\":\\"fake\\"","requestId":"real"}', 'real'],
    ['{"note":"{\\"requestId\\":\\"fake\\"}"}', undefined],
    ['{"requestId":"esc\\"aped"}', undefined],
    ['{"requestId":"first","requestId":"last"}', 'last'],
    ['{"a":[{"requestId":"in-array"}],"requestId":"top"}', 'top'],
    ['{"requestId":1}', undefined],
    ['not json "requestId":"x"', undefined],
    ['', undefined],
  ];
  test.each(cases)('%s → %s', (line, expected) => {
    expect(requestIdOfLine(line)).toBe(expected);
  });

  test('never disagrees with JSON.parse on generated lines', () => {
    const rnd = mulberry32(5);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const parts = [
      () => `"requestId":"${pick(['a', 'b', 'c"d', 'e\\\\f', 'g h'])}"`.replace('c"d', 'c\\"d'),
      () => `"requestId": "${pick(['s1', 's2'])}"`,
      () => `"slices":{"requestId":"${pick(['n1', 'n2'])}"}`,
      () =>
        `"s":"${pick(['{', '}', '[', '"requestId":"', 'x\\\\'])}"`.replace(
          '"requestId":"',
          '\\"requestId\\":\\"',
        ),
      () => `"arr":[1,{"requestId":"z"},"]"]`,
      () => `"n":${pick(['1', 'null', 'true'])}`,
    ];
    let decided = 0;
    for (let i = 0; i < 3000; i++) {
      const n = 1 + Math.floor(rnd() * 4);
      const line = `{${Array.from({ length: n }, () => pick(parts)()).join(',')}}`;
      const parsed = JSON.parse(line) as { requestId?: unknown };
      const got = requestIdOfLine(line);
      if (got !== undefined) {
        decided++;
        expect([line, got]).toEqual([line, parsed.requestId]);
      }
    }
    // The generator must exercise the decided path, not only the cautious one.
    expect(decided).toBeGreaterThan(300);
  });

  test('shardOfRequestId spreads ids and is stable', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOfRequestId(`r-${i}`, 3)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(shardOfRequestId('r-1', 3)).toBe(shardOfRequestId('r-1', 3));
    expect(shardOfRequestId('anything', 1)).toBe(0);
  });
});

/** Window 2026-06-08..15 with a 7-day lookback, and every kind of row ingest must treat carefully. */
async function seed(store: BlobStore): Promise<void> {
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

async function rowsOf(store: BlobStore, keys: string[]): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const key of keys) for await (const { line } of readLines(store, key)) rows.push(JSON.parse(line));
  return rows;
}

const input = {
  modelId: 'churn',
  cycleId: 'c1',
  window: { from: '2026-06-08', to: '2026-06-15' },
  lookbackDays: 7,
};

test('ingest on 3 threads counts, joins and quarantines exactly what ingest on the calling thread does', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const ingest = createIngestWindow({ store, config, now: () => new Date('2026-06-15T00:00:00Z') });

  const one: IngestResult = await ingest({ ...input, cycleId: 'one', threads: 1 });
  const three: IngestResult = await ingest({ ...input, cycleId: 'three', threads: 3 });

  // The window's own bad lines are quarantined; lookback lines are not validated again.
  expect(one.badRows).toBe(2 * 3 + 2);
  expect(one.joinedRows).toBeGreaterThan(100);
  expect(one.duplicateOutcomes).toBe(5);
  for (const field of [
    'lines',
    'badRows',
    'joinedRows',
    'orphanOutcomes',
    'duplicateOutcomes',
    'summary',
  ] as const) {
    expect([field, three[field]]).toEqual([field, one[field]]);
  }
  expect(three.joinedKeys.some((k) => k.includes('-s2of3'))).toBe(true);

  const byId = (a: unknown, b: unknown): number =>
    JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
  const joinedOne = (await rowsOf(store, one.joinedKeys)).map((r) => JoinedRowSchema.parse(r));
  const joinedThree = (await rowsOf(store, three.joinedKeys)).map((r) => JoinedRowSchema.parse(r));
  expect(joinedThree.sort(byId)).toEqual(joinedOne.sort(byId));
  expect(new Set(joinedOne.map((r) => r.requestId)).size).toBe(joinedOne.length);
  expect(joinedOne.map((r) => r.requestId)).toEqual(
    expect.arrayContaining(['esc"2026-06-09', 'spaced-2026-06-09', 'ünï-€-2026-06-03', 'ünï-€-2026-06-09']),
  );

  const quarantined = async (r: IngestResult): Promise<unknown[]> =>
    (await rowsOf(store, r.quarantineKeys)).map((q) => QuarantinedRowSchema.parse(q)).sort(byId);
  expect(await quarantined(three)).toEqual(await quarantined(one));
});

test('a retried threaded ingest resumes from the parts its shards finished and returns the same result', async () => {
  const { store } = tempFileStore();
  await seed(store);
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const now = (): Date => new Date('2026-06-15T00:00:00Z');
  const first = new MockActivityEnvironment();
  const beats: unknown[] = [];
  first.on('heartbeat', (d: unknown) => beats.push(d));
  const full: IngestResult = await first.run(createIngestWindow({ store, config, now }), {
    ...input,
    threads: 2,
  });
  const partial = beats.find((d) => (d as { parts?: unknown[] }).parts?.length === 3);
  expect(partial).toMatchObject({ shards: 2 });

  const retry = new MockActivityEnvironment({ heartbeatDetails: partial, attempt: 2 });
  const resumed: IngestResult = await retry.run(createIngestWindow({ store, config, now }), {
    ...input,
    threads: 2,
  });
  expect(resumed).toEqual(full);
});
