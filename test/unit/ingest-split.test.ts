import { gzipSync } from 'node:zlib';
import { PortFeed, UnreadableLogError } from '../../src/activities/ingest-feed';
import { BatchPool, LINE_INTS, RunIndexer } from '../../src/activities/ingest-lines';
import { BatchCredits, splitLogs } from '../../src/activities/ingest-split';
import type { SplitFile } from '../../src/activities/ingest-split';
import { shardOfRequestId } from '../../src/schemas/line-request-id';
import { readLineRuns } from '../../src/storage/ndjson';
import { mulberry32 } from '../../src/policy/rng';
import { tempFileStore } from '../support/temporal';

/** The lines of a file as ingest numbers them: 1-based, blank ones counted but not handed over. */
function numbered(text: string): Array<{ line: string; lineNo: number }> {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .map((line, i) => ({ line, lineNo: i + 1 }))
    .filter(({ line }) => line.trim() !== '');
}

function ownerOf(line: string, shards: number): number {
  try {
    const id = (JSON.parse(line) as { requestId?: unknown }).requestId;
    return typeof id === 'string' ? shardOfRequestId(id, shards) : 0;
  } catch {
    return 0;
  }
}

describe('RunIndexer', () => {
  const run = Buffer.from(
    [
      '{"requestId":"a","x":1}',
      '',
      '   ',
      '{"requestId":"b"}\r',
      '{"requestId": "spaced"}',
      'not json',
      '\u00a0',
      '{"requestId":"ünï"}',
    ].join('\n'),
  );

  test('finds every non-blank line with its number, id bytes and owner', () => {
    const indexed = new RunIndexer().index(run, 10, 3, false);
    const lines = Array.from({ length: indexed.count }, (_, k) => {
      const at = k * LINE_INTS;
      const [start, end, lineNo, idStart, idEnd] = indexed.lines.subarray(at, at + LINE_INTS);
      return {
        text: run.toString('utf8', start, end),
        lineNo,
        id: idStart < 0 ? undefined : run.toString('utf8', idStart, idEnd),
        owner: indexed.owners[k],
      };
    });
    expect(lines.map((l) => [l.lineNo, l.text, l.id])).toEqual([
      [11, '{"requestId":"a","x":1}', 'a'],
      [14, '{"requestId":"b"}', 'b'],
      [15, '{"requestId": "spaced"}', undefined],
      [16, 'not json', undefined],
      [18, '{"requestId":"ünï"}', 'ünï'],
    ]);
    expect(indexed.lastLineNo).toBe(18);
    for (const l of lines) expect([l.text, l.owner]).toEqual([l.text, ownerOf(l.text, 3)]);
  });

  test('lookback runs keep only lines whose id the bytes say; one shard keeps every line', () => {
    const lookback = new RunIndexer().index(run, 0, 3, true);
    expect(lookback.count).toBe(3);
    const single = new RunIndexer().index(run, 0, 1, false);
    expect(single.count).toBe(5);
    expect([...single.owners.subarray(0, 5)]).toEqual([0, 0, 0, 0, 0]);
  });
});

test('readLineRuns cuts runs only at newlines, whatever the chunking', async () => {
  const rnd = mulberry32(3);
  const text = Array.from({ length: 200 }, (_, i) => 'x'.repeat(Math.floor(rnd() * 40)) + `é${i}`).join('\n');
  const { store } = tempFileStore();
  await store.put('a.ndjson', text);
  for (const chunk of [1, 7, 64, 1 << 20]) {
    const chunked = Object.create(store) as typeof store;
    chunked.getStream = async (key) => {
      const { Readable } = await import('node:stream');
      const all = await store.get(key);
      const parts: Buffer[] = [];
      for (let i = 0; i < all.length; i += chunk) parts.push(all.subarray(i, i + chunk));
      return Readable.from(parts);
    };
    const runs: string[] = [];
    for await (const r of readLineRuns(chunked, 'a.ndjson')) runs.push(r.toString('utf8'));
    expect([chunk, runs.join('\n')]).toEqual([chunk, text]);
  }
});

test('a damaged gzip yields the same lines before the damage however it arrives and is consumed', async () => {
  const rnd = mulberry32(4);
  const text = Array.from({ length: 3000 }, (_, i) => `{"requestId":"r-${i}","v":${rnd()}}`).join('\n');
  const gz = gzipSync(Buffer.from(text));
  const { store } = tempFileStore();
  await store.put('t.ndjson.gz', gz.subarray(0, gz.length - 500));
  const { Readable } = await import('node:stream');
  const reads: string[] = [];
  for (const [chunk, slow] of [
    [1 << 20, false],
    [333, true],
    [4096, false],
    [97, true],
  ] as const) {
    const chunked = Object.create(store) as typeof store;
    chunked.getStream = async (key) => {
      const all = await store.get(key);
      const parts: Buffer[] = [];
      for (let i = 0; i < all.length; i += chunk) parts.push(all.subarray(i, i + chunk));
      return Readable.from(parts);
    };
    const runs: string[] = [];
    await expect(
      (async () => {
        for await (const r of readLineRuns(chunked, 't.ndjson.gz')) {
          runs.push(r.toString('utf8'));
          if (slow) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })(),
    ).rejects.toThrow(/truncated or corrupt gzip/);
    reads.push(runs.join('\n'));
  }
  expect(reads[0].length).toBeGreaterThan(text.length / 2);
  expect(text.startsWith(reads[0])).toBe(true);
  for (const r of reads) expect(r).toBe(reads[0]);
});

test('BatchCredits bounds the batches in flight per shard and wakes waiters on abort', async () => {
  const credits = new BatchCredits(2, 2);
  await credits.take(0);
  await credits.take(0);
  await credits.take(1);
  let third = false;
  const waiting = credits.take(0).then(() => (third = true));
  await new Promise((r) => setImmediate(r));
  expect(third).toBe(false);
  credits.give(0);
  await waiting;
  expect(third).toBe(true);
  const blocked = credits.take(0);
  credits.abort(new Error('shard 1 failed'));
  await expect(blocked).rejects.toThrow('shard 1 failed');
  await expect(credits.take(1)).rejects.toThrow('shard 1 failed');
});

test('splitLogs hands each shard exactly its lines, in order, through small reused batches', async () => {
  const rnd = mulberry32(9);
  const { store } = tempFileStore();
  const line = (i: number): string => {
    const r = rnd();
    if (r < 0.05) return '';
    if (r < 0.08) return `{"requestId": "spaced-${i}"}`;
    if (r < 0.1) return 'broken {';
    // Some lines are longer than a whole batch buffer.
    return JSON.stringify({ requestId: `r-${i}`, pad: 'p'.repeat(r < 0.12 ? 5000 : Math.floor(r * 300)) });
  };
  const texts: Record<string, string> = {
    'a.ndjson': Array.from({ length: 700 }, (_, i) => line(i)).join('\n'),
    'b.ndjson': Array.from({ length: 300 }, (_, i) => line(1000 + i)).join('\r\n'),
  };
  for (const [key, text] of Object.entries(texts)) await store.put(key, text);
  const full = gzipSync(Buffer.from(Array.from({ length: 400 }, (_, i) => line(2000 + i)).join('\n')));
  await store.put('c.ndjson.gz', full.subarray(0, full.length - 200));

  const shards = 3;
  const files: SplitFile[] = [
    { key: 'a.ndjson', lookback: false, shards: [0, 1, 2] },
    { key: 'b.ndjson', lookback: false, shards: [0, 2] },
    { key: 'c.ndjson.gz', lookback: false, shards: [0, 1, 2] },
  ];
  const credits = new BatchCredits(shards, 2);
  const pool = new BatchPool(4096, 32);
  const feeds = Array.from(
    { length: shards },
    (_, s) =>
      new PortFeed((buffer) => {
        pool.give(buffer);
        credits.give(s);
      }),
  );
  const got = feeds.map(async (feed, s) => {
    const seen: Record<string, Array<{ line: string; lineNo: number }>> = {};
    const unreadable: Record<string, number> = {};
    for (const f of files.filter((x) => x.shards.includes(s))) {
      seen[f.key] = [];
      try {
        for await (const batch of feed.feed(f.key, false)) {
          for (let k = 0; k < batch.count; k++) {
            const [start, end, lineNo] = batch.lines.subarray(k * LINE_INTS, k * LINE_INTS + 3);
            seen[f.key].push({ line: batch.bytes.toString('utf8', start, end), lineNo });
          }
          // Handling takes a while: the splitter must wait for credits, not run ahead.
          await new Promise((r) => setImmediate(r));
        }
      } catch (err) {
        expect(err).toBeInstanceOf(UnreadableLogError);
        unreadable[f.key] = (err as UnreadableLogError).lineNo;
      }
    }
    return { seen, unreadable };
  });
  let sent = 0;
  await splitLogs({
    store,
    files,
    shards,
    credits,
    pool,
    flushBytes: 2048,
    send: (shard, message) => {
      if (message.kind === 'batch') sent++;
      feeds[shard].receive(message);
    },
    onProgress: () => undefined,
  });
  const results = await Promise.all(got);
  expect(sent).toBeGreaterThan(20);

  for (const key of ['a.ndjson', 'b.ndjson']) {
    const wanted = files.find((f) => f.key === key)!.shards;
    for (let s = 0; s < shards; s++) {
      const expected = wanted.includes(s)
        ? numbered(texts[key]).filter((l) => ownerOf(l.line, shards) === s)
        : undefined;
      expect([key, s, results[s].seen[key]]).toEqual([key, s, expected]);
    }
  }
  // The damaged gzip: every shard learns where it stopped, and together they had every line before it.
  const stops = results.map((r) => r.unreadable['c.ndjson.gz']);
  expect(new Set(stops).size).toBe(1);
  const before = results.flatMap((r) => r.seen['c.ndjson.gz']).sort((a, b) => a.lineNo - b.lineNo);
  expect(before.length).toBeGreaterThan(100);
  expect(before.every((l) => l.lineNo <= stops[0])).toBe(true);
});
