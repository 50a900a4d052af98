import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PredictionRow } from '../../src/schemas/records';
import { PredictionLog } from '../../src/serving/prediction-log';
import { ChunkPool, RowChunks } from '../../src/serving/row-chunks';
import { FileBlobStore } from '../../src/storage/file-blob-store';

function row(i: number, day: string): PredictionRow {
  return {
    requestId: `r-${i}`,
    timestamp: `${day}T12:00:00.000Z`,
    modelId: 'churn',
    modelVersion: 'v1',
    // Wide rows and non-ASCII text, so a part spans many chunks and chunk ends land mid-row-count.
    features: { note: `ü ${'x'.repeat(i % 700)}`, n: i },
    predictedLabel: 'stay',
    scores: { stay: 0.75, churn: 0.25 },
    role: 'champion',
  };
}

describe('PredictionLog', () => {
  let dir: string;
  let store: FileBlobStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-plog-'));
    store = new FileBlobStore({ root: dir, uri: `file://${dir}` });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a part holds its rows as NDJSON in append order, one part per day, however many chunks it takes', async () => {
    const log = new PredictionLog({ store, modelId: 'churn', flushRows: 10_000, flushMs: 60_000 });
    const rows = Array.from({ length: 1500 }, (_, i) => row(i, i % 3 === 0 ? '2026-06-02' : '2026-06-01'));
    rows.forEach((r, i) =>
      i % 2 === 0 ? log.append(r) : log.appendLine(r.timestamp.slice(0, 10), JSON.stringify(r)),
    );
    await log.close();

    const keys: string[] = [];
    for await (const info of store.list('logs/churn/predictions/')) keys.push(info.key);
    expect(keys.map((k) => k.split('/')[3])).toEqual(['date=2026-06-01', 'date=2026-06-02']);
    for (const [key, day] of keys.map((k, i) => [k, ['2026-06-01', '2026-06-02'][i]] as const)) {
      const expected = rows.filter((r) => r.timestamp.startsWith(day)).map((r) => JSON.stringify(r));
      expect((await store.get(key)).toString('utf8')).toBe(`${expected.join('\n')}\n`);
    }
    expect(Buffer.byteLength(rows.map((r) => JSON.stringify(r)).join('\n'))).toBeGreaterThan(4 * 64 * 1024);
    expect(log.snapshot()).toMatchObject({ rowsWritten: 1500, partsWritten: 2, bufferedRows: 0 });
  });

  test('chunks are reused only once their part is written: rows appended during a write never overwrite it', async () => {
    // The first part's write waits until the test has appended the second batch.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const putStream = store.putStream.bind(store);
    store.putStream = async (key, body) => {
      await gate;
      return putStream(key, body);
    };
    const log = new PredictionLog({ store, modelId: 'churn', flushRows: 1_000_000, flushMs: 60_000 });
    const first = Array.from({ length: 400 }, (_, i) => row(i, '2026-06-01'));
    first.forEach((r) => log.append(r));
    const writing = log.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const second = Array.from({ length: 400 }, (_, i) => row(1000 + i, '2026-06-01'));
    second.forEach((r) => log.append(r));
    open();
    await writing;
    // A third batch after the first part is written reuses its chunks.
    const third = Array.from({ length: 400 }, (_, i) => row(2000 + i, '2026-06-01'));
    third.forEach((r) => log.append(r));
    await log.close();
    const keys: string[] = [];
    for await (const info of store.list('logs/churn/predictions/')) keys.push(info.key);
    expect(keys).toHaveLength(2);
    const texts = await Promise.all(keys.map(async (k) => (await store.get(k)).toString('utf8')));
    const ndjson = (rows: PredictionRow[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    expect(texts).toEqual([ndjson(first), ndjson([...second, ...third])]);
  });

  test('a failed write keeps its rows ahead of newer ones; past maxBufferedRows the oldest are dropped and counted', async () => {
    let down = true;
    const putStream = store.putStream.bind(store);
    store.putStream = (key, body) => (down ? Promise.reject(new Error('store down')) : putStream(key, body));
    const log = new PredictionLog({
      store,
      modelId: 'churn',
      flushRows: 1_000_000,
      flushMs: 60_000,
      maxBufferedRows: 250,
    });
    for (let i = 0; i < 100; i++) log.append(row(i, '2026-06-01'));
    for (let i = 0; i < 50; i++) log.append(row(1000 + i, '2026-06-02'));
    await expect(log.flush()).rejects.toThrow('store down');
    expect(log.snapshot()).toMatchObject({
      bufferedRows: 150,
      writeFailures: 1,
      droppedRows: 0,
      rowsWritten: 0,
    });

    for (let i = 100; i < 250; i++) log.append(row(i, '2026-06-01'));
    await expect(log.flush()).rejects.toThrow('store down');
    // 300 rows against a bound of 250: the 50 oldest of the oldest day go.
    expect(log.snapshot()).toMatchObject({ bufferedRows: 250, writeFailures: 2, droppedRows: 50 });

    down = false;
    await log.close();
    expect(log.snapshot()).toMatchObject({ bufferedRows: 0, rowsWritten: 250, partsWritten: 2 });
    const byDay = new Map<string, string[]>();
    for await (const info of store.list('logs/churn/predictions/')) {
      const text = (await store.get(info.key)).toString('utf8');
      byDay.set(
        info.key.split('/')[3],
        text
          .trimEnd()
          .split('\n')
          .map((l) => (JSON.parse(l) as PredictionRow).requestId),
      );
    }
    expect(byDay.get('date=2026-06-01')).toEqual(Array.from({ length: 200 }, (_, i) => `r-${50 + i}`));
    expect(byDay.get('date=2026-06-02')).toEqual(Array.from({ length: 50 }, (_, i) => `r-${1000 + i}`));
  });
});

describe('RowChunks', () => {
  test('keeps rows in order across chunks (rows larger than a chunk too) and drops the oldest exactly', () => {
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ i, pad: (i % 7 === 3 ? 'é' : 'x').repeat(i === 20 ? 100_000 : 9_000) }),
    );
    const rows = new RowChunks();
    lines.forEach((l) => rows.append(l));
    const text = (r: RowChunks) => Buffer.concat(r.chunks()).toString('utf8');
    expect(rows.chunks().length).toBeGreaterThan(3);
    expect(text(rows)).toBe(`${lines.join('\n')}\n`);

    for (const [n, expectedLeft] of [
      [3, 37],
      [9, 28],
      [0, 28],
      [100, 0],
    ] as const) {
      const held = rows.rows;
      expect(rows.dropOldest(n)).toBe(Math.min(n, held));
      expect(rows.rows).toBe(expectedLeft);
      const left = lines.slice(lines.length - expectedLeft);
      expect(text(rows)).toBe(left.length > 0 ? `${left.join('\n')}\n` : '');
    }

    const newer = new RowChunks();
    newer.append(lines[0]);
    const older = new RowChunks();
    lines.slice(1, 4).forEach((l) => older.append(l));
    newer.prepend(older);
    expect(newer.rows).toBe(4);
    expect(text(newer)).toBe(`${[...lines.slice(1, 4), lines[0]].join('\n')}\n`);
  });

  test('released chunks are reused by later rows, which read back intact; odd sizes and the cap are respected', () => {
    const pool = new ChunkPool(3);
    const first = new RowChunks(pool);
    const lines = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i, pad: 'ü'.repeat(5000 + i) }));
    const a = lines('a', 40);
    a.forEach((l) => first.append(l));
    const firstBuffers = new Set(first.chunks().map((c) => c.buffer));
    expect(firstBuffers.size).toBeGreaterThan(3);
    first.release();
    expect(first.rows).toBe(0);
    expect(first.chunks()).toEqual([]);
    expect(pool.size).toBe(3);

    // The next rows are written into the released allocations, over the old bytes.
    const second = new RowChunks(pool);
    const b = lines('b', 30);
    b.forEach((l) => second.append(l));
    const reused = second.chunks().filter((c) => firstBuffers.has(c.buffer));
    expect(reused.length).toBe(3);
    expect(pool.size).toBe(0);
    expect(Buffer.concat(second.chunks()).toString('utf8')).toBe(`${b.join('\n')}\n`);

    // A row larger than a chunk gets an allocation of its own, which is never pooled.
    const big = new RowChunks(pool);
    big.append(JSON.stringify({ pad: 'x'.repeat(200_000) }));
    big.release();
    expect(pool.size).toBe(0);
  });
});
