import { MockActivityEnvironment } from '@temporalio/testing';
import { createIngestWindow } from '../../src/activities/ingest-window';
import type { IngestResult } from '../../src/activities/ingest-window';
import { loadConfig } from '../../src/config';
import { JoinedRowSchema, QuarantinedRowSchema } from '../../src/schemas';
import { requestIdOfLine, shardOfRequestId } from '../../src/schemas/line-request-id';
import { mulberry32 } from '../../src/policy/rng';
import { rowsOf, seedShardedIngest as seed } from '../support/ingest-fixtures';
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
  expect(one.badRows).toBe(2 * 3 + 2 + 1);
  expect(
    one.firstReasons.join('\n') +
      (await rowsOf(store, one.quarantineKeys)).map((q) => JSON.stringify(q)).join('\n'),
  ).toMatch(/unreadable from here on/);
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
