import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { BlobInfo, BlobStore, S3StoreOptions } from '../../src/storage/blob-store';
import { BlobConflictError, BlobNotFoundError, deleteKeys } from '../../src/storage/blob-store';
import { FileBlobStore } from '../../src/storage/file-blob-store';
import { readJson, readLines, writeJson, writeNdjson } from '../../src/storage/ndjson';
import { S3BlobStore } from '../../src/storage/s3-blob-store';

const MiB = 1024 * 1024;

/** How the shared suite gets a fresh, empty store for each test. */
interface StoreFixture {
  name: string;
  open(): Promise<BlobStore>;
  dispose(store: BlobStore): Promise<void>;
}

function s3Options(): S3StoreOptions & { bucket: string } {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value)
      throw new Error(`${name} is unset: the jest global setup (test/support) should start the S3 server`);
    return value;
  };
  return {
    endpoint: env('LOOPKEEPER_TEST_S3_ENDPOINT'),
    bucket: env('LOOPKEEPER_TEST_S3_BUCKET'),
    accessKeyId: env('LOOPKEEPER_TEST_S3_ACCESS_KEY_ID'),
    secretAccessKey: env('LOOPKEEPER_TEST_S3_SECRET_ACCESS_KEY'),
    region: 'us-east-1',
    forcePathStyle: true,
  };
}

/** One prefix per run so concurrent or repeated runs against the same bucket never see each other. */
const runPrefix = `blob-store-test/${Date.now()}-${randomUUID().slice(0, 8)}`;
let s3TestCount = 0;

const fileFixture: StoreFixture = {
  name: 'FileBlobStore',
  async open() {
    const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'loopkeeper-blob-'));
    return new FileBlobStore({ root, uri: `file://${root}` });
  },
  async dispose(store) {
    await store.close();
    await fs.promises.rm((store as FileBlobStore).root, { recursive: true, force: true });
  },
};

const s3Fixture: StoreFixture = {
  // versitygw >= 1.8.0: its conditional writes are atomic per key (1.7.0's were not; infra/README.md).
  name: 'S3BlobStore (versitygw)',
  async open() {
    const { bucket, ...options } = s3Options();
    const prefix = `${runPrefix}/${++s3TestCount}/`;
    return new S3BlobStore({ bucket, prefix, uri: `s3://${bucket}/${prefix}`, options });
  },
  async dispose(store) {
    for await (const { key } of store.list('')) await store.delete(key);
    await store.close();
  },
};

/** `size` bytes of random data in uneven chunks, hashed as they are produced. */
function generated(
  size: number,
  opts: { failAfter?: number } = {},
): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  async function* chunks(): AsyncGenerator<Buffer> {
    let sent = 0;
    while (sent < size) {
      if (opts.failAfter !== undefined && sent >= opts.failAfter) throw new Error('source failed on purpose');
      const chunk = randomBytes(Math.min(size - sent, 61_440 + (sent % 7919)));
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** getVersioned, reading again after a torn read (a body that does not match its version token). */
async function readWithRetry(store: BlobStore, key: string): Promise<{ body: Buffer; etag: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await store.getVersioned(key))!;
    } catch (err) {
      if ((err as Error).name !== 'TornReadError' || attempt >= 20) throw err;
    }
  }
}

const invalidKeys = ['', '/abs', 'a//b', 'a/./b', '../escape', 'a/..', 'trailing/'];

/** The behaviour every BlobStore must have; run once per backend. */
function blobStoreBehaviour(fixture: StoreFixture): void {
  let store: BlobStore;
  beforeEach(async () => {
    store = await fixture.open();
  });
  afterEach(async () => {
    await fixture.dispose(store);
  });

  test('put then get returns the same bytes, and overwriting changes the etag', async () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const first = await store.put('models/churn/v1/weights.bin', binary);
    expect(first).toEqual({ key: 'models/churn/v1/weights.bin', size: 256, etag: expect.any(String) });
    expect(first.etag).not.toMatch(/"/);
    expect(await store.get('models/churn/v1/weights.bin')).toEqual(binary);

    const second = await store.put('models/churn/v1/weights.bin', 'héllo');
    expect(second.size).toBe(Buffer.byteLength('héllo'));
    expect(second.etag).not.toBe(first.etag);
    expect((await store.get('models/churn/v1/weights.bin')).toString('utf8')).toBe('héllo');
    expect(await store.getVersioned('models/churn/v1/weights.bin')).toEqual({
      body: Buffer.from('héllo'),
      etag: second.etag,
    });
  });

  test('missing keys: get and getStream throw BlobNotFoundError, head and getVersioned give undefined', async () => {
    await expect(store.get('nope/missing.json')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.get('nope/missing.json')).rejects.toMatchObject({
      key: 'nope/missing.json',
      uri: store.uri,
    });
    await expect(store.getStream('nope/missing.json')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.head('nope/missing.json')).toBeUndefined();
    expect(await store.getVersioned('nope/missing.json')).toBeUndefined();
    // A "directory" of other keys is not itself an object.
    await store.put('dir/child.txt', 'x');
    expect(await store.head('dir')).toBeUndefined();
    await expect(store.get('dir')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  test('head reports size and the same etag as put', async () => {
    const info = await store.put('reports/a.html', '<p>hi</p>');
    expect(await store.head('reports/a.html')).toEqual({ key: 'reports/a.html', size: 9, etag: info.etag });
    const empty = await store.put('reports/empty', '');
    expect(await store.head('reports/empty')).toEqual({ key: 'reports/empty', size: 0, etag: empty.etag });
    expect(await store.get('reports/empty')).toEqual(Buffer.alloc(0));
  });

  test('putStream stores a 20 MiB stream (several 8 MiB parts) intact', async () => {
    const size = 20 * MiB + 12_345;
    const source = generated(size);
    const info = await store.putStream('datasets/big.bin', source.stream);
    const expected = source.sha256();
    expect(info).toMatchObject({ key: 'datasets/big.bin', size });
    expect(await store.head('datasets/big.bin')).toEqual(info);
    expect(await sha256Of(await store.getStream('datasets/big.bin'))).toEqual({ sha256: expected, size });
  });

  test('putStream of a small stream and of an empty stream', async () => {
    const info = await store.putStream('small.txt', Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    expect(info).toMatchObject({ key: 'small.txt', size: 4 });
    expect((await store.get('small.txt')).toString()).toBe('abcd');
    expect(await store.head('small.txt')).toEqual(info);
    const empty = await store.putStream('empty.txt', Readable.from([]));
    expect(empty.size).toBe(0);
    expect(await store.get('empty.txt')).toEqual(Buffer.alloc(0));
  });

  test('a putStream that fails midway keeps the previous version and creates nothing', async () => {
    await store.put('datasets/partial.bin', 'old');
    const source = generated(20 * MiB, { failAfter: 9 * MiB });
    await expect(store.putStream('datasets/partial.bin', source.stream)).rejects.toThrow(
      'source failed on purpose',
    );
    expect((await store.get('datasets/partial.bin')).toString()).toBe('old');
    await expect(
      store.putStream('datasets/fresh.bin', generated(MiB, { failAfter: 1 }).stream),
    ).rejects.toThrow();
    expect((await collect(store.list('datasets/'))).map((i) => i.key)).toEqual(['datasets/partial.bin']);
  });

  test('listPage pages through 25 keys 10 at a time, in order, with a prefix that cuts a segment', async () => {
    const keys = Array.from(
      { length: 25 },
      (_, i) => `logs/churn/predictions/2026-01-${String(i + 1).padStart(2, '0')}.ndjson`,
    );
    // Put out of order, plus decoys just outside the prefix on either side.
    for (const key of [...keys].reverse()) await store.put(key, key);
    for (const decoy of [
      'logs/churn/pre',
      'logs/churn/outcomes/x.ndjson',
      'logs/churnx/predictions/y',
      'logs/churn/q',
    ])
      await store.put(decoy, 'decoy');

    const pages: BlobInfo[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listPage('logs/churn/pred', { cursor, limit: 10 });
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat().map((i) => i.key)).toEqual(keys);
    const sample = pages[0][0];
    expect(sample).toEqual(await store.head(sample.key));
  });

  test('listing orders keys by bytes across directory boundaries, like S3', async () => {
    // On file:// 'a' is a directory here, yet 'a-c' must sort before everything in it ('-' < '/').
    for (const key of ['a0', 'a/b', 'a-c', 'a/b-c/d', 'ab']) await store.put(key, key);
    const keys = (await store.listPage('a')).items.map((i) => i.key);
    expect(keys).toEqual(['a-c', 'a/b', 'a/b-c/d', 'a0', 'ab']);
    const first = await store.listPage('a', { limit: 2 });
    const second = await store.listPage('a', { limit: 2, cursor: first.nextCursor });
    expect([...first.items, ...second.items].map((i) => i.key)).toEqual(['a-c', 'a/b', 'a/b-c/d', 'a0']);
  });

  test('list() walks every page of a prefix in order; an unknown prefix is empty', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `m/${String.fromCharCode(97 + i)}/file.json`);
    for (const key of keys) await store.put(key, '{}');
    await store.put('n/other.json', '{}');
    expect((await collect(store.list('m/'))).map((i) => i.key)).toEqual(keys);
    expect((await collect(store.list(''))).length).toBe(13);
    expect(await collect(store.list('zzz/'))).toEqual([]);
    expect(await store.listPage('zzz/')).toEqual({ items: [] });
  });

  test('listSizes gives the keys and sizes list gives, in the same order', async () => {
    await store.put('s/b/two.bin', Buffer.alloc(2));
    await store.put('s/a-c.bin', Buffer.alloc(7));
    await store.put('s/a/one.bin', '');
    await store.put('t/other.bin', 'x');
    const listed = (await collect(store.list('s/'))).map(({ key, size }) => ({ key, size }));
    expect(listed.map((i) => i.key)).toEqual(['s/a-c.bin', 's/a/one.bin', 's/b/two.bin']);
    expect(await collect(store.listSizes('s/'))).toEqual(listed);
    expect(await collect(store.listSizes('zzz/'))).toEqual([]);
  });

  test('putIfMatch: create-if-absent, conflicts, and replace with the current etag', async () => {
    const created = await store.putIfMatch('aliases/churn.json', '{"v":1}', null);
    expect(created).toEqual(await store.head('aliases/churn.json'));

    await expect(store.putIfMatch('aliases/churn.json', '{"v":0}', null)).rejects.toBeInstanceOf(
      BlobConflictError,
    );
    const replaced = await store.putIfMatch('aliases/churn.json', '{"v":2}', created.etag);
    expect(replaced.etag).not.toBe(created.etag);
    expect((await store.get('aliases/churn.json')).toString()).toBe('{"v":2}');

    const stale = store.putIfMatch('aliases/churn.json', '{"v":3}', created.etag);
    await expect(stale).rejects.toBeInstanceOf(BlobConflictError);
    await expect(stale).rejects.toMatchObject({ key: 'aliases/churn.json', expected: created.etag });
    expect((await store.getVersioned('aliases/churn.json'))?.etag).toBe(replaced.etag);

    await expect(store.putIfMatch('aliases/gone.json', 'x', created.etag)).rejects.toBeInstanceOf(
      BlobConflictError,
    );
    expect(await store.head('aliases/gone.json')).toBeUndefined();
  });

  test('putIfMatch under a real race: of 8 writers with the same expectation exactly one wins', async () => {
    const writers = 8;
    for (let round = 0; round < 6; round++) {
      const key = `rollout/config-${round}.json`;
      // Create-if-absent race, then a replace race on the version the winner wrote.
      for (const expected of [null, 'winner-of-create'] as const) {
        const etag = expected === null ? null : (await store.head(key))!.etag;
        const results = await Promise.allSettled(
          Array.from({ length: writers }, (_, w) => store.putIfMatch(key, `${expected}-${w}`, etag)),
        );
        const winners = results.flatMap((r, w) => (r.status === 'fulfilled' ? [{ w, info: r.value }] : []));
        const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(winners).toHaveLength(1);
        expect(losers.map((l) => (l.reason as Error).name)).toEqual(
          Array(writers - 1).fill('BlobConflictError'),
        );
        expect(await store.getVersioned(key)).toEqual({
          body: Buffer.from(`${expected}-${winners[0].w}`),
          etag: winners[0].info.etag,
        });
      }
    }
  });

  test('read-modify-CAS by 6 concurrent writers loses no update and hands out no value twice', async () => {
    const key = 'counter.json';
    await store.put(key, '0');
    const perWriter = 8;
    const claimed: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let done = 0; done < perWriter;) {
          const current = await readWithRetry(store, key);
          const next = Number(current.body.toString()) + 1;
          try {
            await store.putIfMatch(key, String(next), current.etag);
            claimed.push(next);
            done++;
          } catch (err) {
            if (!(err instanceof BlobConflictError)) throw err;
          }
        }
      }),
    );
    expect(claimed.sort((a, b) => a - b)).toEqual(Array.from({ length: 6 * perWriter }, (_, i) => i + 1));
    expect((await store.get(key)).toString()).toBe(String(6 * perWriter));
  });

  test('delete removes an object; deleting an absent key is fine', async () => {
    await store.put('tmp/x', 'x');
    await store.delete('tmp/x');
    expect(await store.head('tmp/x')).toBeUndefined();
    await expect(store.delete('tmp/x')).resolves.toBeUndefined();
    await expect(store.delete('never/was')).resolves.toBeUndefined();
  });

  test('deleteKeys removes 1,200 objects (in batches where the store has them); absent keys are fine', async () => {
    const keys = Array.from({ length: 1200 }, (_, i) => `many/k${String(i).padStart(4, '0')}.json`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, 'x')));
    await store.put('many/keep.json', 'x');
    await deleteKeys(store, [...keys, 'many/never-was.json']);
    const left: string[] = [];
    for await (const info of store.listSizes('many/')) left.push(info.key);
    expect(left).toEqual(['many/keep.json']);
  });

  test.each(invalidKeys)('invalid key %j is rejected by every operation', async (key) => {
    await expect(store.put(key, 'x')).rejects.toThrow(/invalid blob key/);
    await expect(store.putStream(key, Readable.from([Buffer.from('x')]))).rejects.toThrow(/invalid blob key/);
    await expect(store.get(key)).rejects.toThrow(/invalid blob key/);
    await expect(store.getVersioned(key)).rejects.toThrow(/invalid blob key/);
    await expect(store.getStream(key)).rejects.toThrow(/invalid blob key/);
    await expect(store.head(key)).rejects.toThrow(/invalid blob key/);
    await expect(store.putIfMatch(key, 'x', null)).rejects.toThrow(/invalid blob key/);
    await expect(store.delete(key)).rejects.toThrow(/invalid blob key/);
  });

  test.each(['logs/rows.ndjson', 'logs/rows.ndjson.gz'])('ndjson roundtrip through %s', async (key) => {
    async function* rows(): AsyncGenerator<{ i: number; text: string }> {
      for (let i = 0; i < 5000; i++) yield { i, text: `row ${i} ünïcödé\nnewline inside` };
    }
    const written = await writeNdjson(store, key, rows());
    expect(written.rows).toBe(5000);
    expect(await store.head(key)).toEqual(written.info);
    const raw = await store.get(key);
    expect(raw.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(key.endsWith('.gz'));

    const read = await collect(readLines(store, key));
    expect(read).toHaveLength(5000);
    expect(read[4999]).toEqual({
      lineNo: 5000,
      line: JSON.stringify({ i: 4999, text: 'row 4999 ünïcödé\nnewline inside' }),
    });
    expect(read.every((r, n) => (JSON.parse(r.line) as { i: number }).i === n && r.lineNo === n + 1)).toBe(
      true,
    );
  });

  test('readLines skips blank lines but keeps 1-based line numbers, and handles CRLF and no final newline', async () => {
    await store.put('logs/hand.ndjson', '{"a":1}\r\n\n  \n{"a":2}\n{"a":3}');
    expect(await collect(readLines(store, 'logs/hand.ndjson'))).toEqual([
      { line: '{"a":1}', lineNo: 1 },
      { line: '{"a":2}', lineNo: 4 },
      { line: '{"a":3}', lineNo: 5 },
    ]);
    expect((await writeNdjson(store, 'logs/none.ndjson', [])).rows).toBe(0);
    expect(await collect(readLines(store, 'logs/none.ndjson'))).toEqual([]);
  });

  test('a truncated or corrupt .gz fails with an error naming the key', async () => {
    const { info } = await writeNdjson(
      store,
      'logs/full.ndjson.gz',
      Array.from({ length: 2000 }, (_, i) => ({ i, pad: randomBytes(16).toString('hex') })),
    );
    const full = await store.get('logs/full.ndjson.gz');
    expect(full.length).toBe(info.size);
    await store.put('logs/cut.ndjson.gz', full.subarray(0, Math.floor(full.length / 2)));
    await expect(collect(readLines(store, 'logs/cut.ndjson.gz'))).rejects.toThrow(
      /logs\/cut\.ndjson\.gz.*truncated or corrupt gzip/,
    );
    await store.put('logs/plain.ndjson.gz', '{"not":"gzip"}\n');
    await expect(collect(readLines(store, 'logs/plain.ndjson.gz'))).rejects.toThrow(
      /logs\/plain\.ndjson\.gz.*truncated or corrupt gzip/,
    );
  });

  test('writeNdjson stores nothing when the rows source throws', async () => {
    async function* rows(): AsyncGenerator<unknown> {
      yield { ok: true };
      throw new Error('rows failed');
    }
    await expect(writeNdjson(store, 'logs/bad.ndjson.gz', rows())).rejects.toThrow('rows failed');
    expect(await store.head('logs/bad.ndjson.gz')).toBeUndefined();
  });

  test('readJson validates with zod and names the key and the failing path', async () => {
    const Schema = z.object({
      model: z.string(),
      thresholds: z.array(z.object({ label: z.string(), min: z.number() })),
    });
    const value = { model: 'churn', thresholds: [{ label: 'yes', min: 0.5 }] };
    await writeJson(store, 'config/policy.json', value);
    expect(await readJson(store, 'config/policy.json', Schema)).toEqual(value);
    await writeJson(store, 'config/policy.json.gz', value);
    expect(await readJson(store, 'config/policy.json.gz', Schema)).toEqual(value);

    await writeJson(store, 'config/bad.json', {
      model: 'churn',
      thresholds: [{ label: 'yes', min: 'high' }],
    });
    await expect(readJson(store, 'config/bad.json', Schema)).rejects.toThrow(
      /config\/bad\.json.*thresholds\.0\.min/,
    );
    await store.put('config/broken.json', '{"model":');
    await expect(readJson(store, 'config/broken.json', Schema)).rejects.toThrow(
      /config\/broken\.json.*not valid JSON/,
    );
  });
}

describe.each([fileFixture, s3Fixture])('BlobStore behaviour: $name', (fixture) =>
  blobStoreBehaviour(fixture),
);

describe('FileBlobStore specifics', () => {
  let store: FileBlobStore;
  beforeEach(async () => {
    store = (await fileFixture.open()) as FileBlobStore;
  });
  afterEach(async () => {
    await fileFixture.dispose(store);
  });

  const filesUnder = async (dir: string): Promise<string[]> =>
    (await fs.promises.readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(store.root, path.join(e.parentPath, e.name)))
      .sort();

  test('a failed putStream leaves no temp file behind, and a lock is removed after putIfMatch', async () => {
    await expect(store.putStream('d/x.bin', generated(4 * MiB, { failAfter: MiB }).stream)).rejects.toThrow();
    await store.putIfMatch('d/alias.json', '1', null);
    expect(await filesUnder(store.root)).toEqual(['d/alias.json']);
  });

  test('a stale lock (older than 30 s) is broken; a live one is waited for', async () => {
    await fs.promises.mkdir(path.join(store.root, 'aliases'), { recursive: true });
    const lock = path.join(store.root, 'aliases', 'a.json.lock');
    await fs.promises.writeFile(lock, 'crashed writer');
    const old = new Date(Date.now() - 60_000);
    await fs.promises.utimes(lock, old, old);
    await expect(store.putIfMatch('aliases/a.json', '1', null)).resolves.toMatchObject({ size: 1 });

    await fs.promises.writeFile(lock, 'live writer');
    const started = Date.now();
    setTimeout(() => void fs.promises.rm(lock), 300);
    const current = await store.head('aliases/a.json');
    await store.putIfMatch('aliases/a.json', '2', current?.etag ?? null);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await store.get('aliases/a.json')).toString()).toBe('2');
  });

  test('temp files a killed writer left are removed by the next conditional write beside them', async () => {
    await store.putIfMatch('models/churn/aliases.json', '1', null);
    const dir = path.join(store.root, 'models', 'churn');
    const stale = path.join(dir, '.aliases.json.0123456789ab.lk-tmp');
    const live = path.join(dir, '.rollout.json.ba9876543210.lk-tmp');
    await fs.promises.writeFile(stale, 'half of a write');
    await fs.promises.writeFile(live, 'being written');
    const old = new Date(Date.now() - 16 * 60_000);
    await fs.promises.utimes(stale, old, old);
    const current = await store.head('models/churn/aliases.json');
    await store.putIfMatch('models/churn/aliases.json', '2', current!.etag);
    // The stale one is gone; one still being written (recent mtime) is left to its writer.
    expect(await filesUnder(store.root)).toEqual([
      'models/churn/.rollout.json.ba9876543210.lk-tmp',
      'models/churn/aliases.json',
    ]);
    expect((await store.listPage('models/')).items.map((i) => i.key)).toEqual(['models/churn/aliases.json']);
  });

  test('a plain write removes the temp file of a killed writer on this host at once, not a live one', async () => {
    await store.put('datasets/churn/joined/c1/part-a.ndjson', 'a');
    const dir = path.join(store.root, 'datasets', 'churn', 'joined', 'c1');
    const host =
      os
        .hostname()
        .replace(/[^A-Za-z0-9.-]/g, '_')
        .slice(0, 64) || 'host';
    // A process that has exited: its pid no longer runs (kill -9 mid-write leaves such a file).
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.on('exit', resolve));
    const dead = path.join(dir, `.part-b.ndjson.${host}~${child.pid}~0123456789ab.lk-tmp`);
    const alive = path.join(dir, `.part-c.ndjson.${host}~${process.ppid}~ba9876543210.lk-tmp`);
    await fs.promises.writeFile(dead, 'half of a part');
    await fs.promises.writeFile(alive, 'being written');
    const fresh = new FileBlobStore({ root: store.root, uri: store.uri });
    await fresh.put('datasets/churn/joined/c1/part-b.ndjson', 'b');
    const under = (name: string): string => `datasets/churn/joined/c1/${name}`;
    expect(await filesUnder(dir)).toEqual(
      [under(path.basename(alive)), under('part-a.ndjson'), under('part-b.ndjson')].sort(),
    );
  });

  test('lock and temp file names are reserved and never listed', async () => {
    await expect(store.put('x.lock', '1')).rejects.toThrow(/reserved/);
    await store.put('k', 'v');
    await fs.promises.writeFile(path.join(store.root, 'k.lock'), '');
    await fs.promises.writeFile(path.join(store.root, '.k.abc.lk-tmp'), '');
    expect((await store.listPage('')).items.map((i) => i.key)).toEqual(['k']);
    expect((await collect(store.listSizes(''))).map((i) => i.key)).toEqual(['k']);
  });
});

describe('S3BlobStore specifics', () => {
  test('a failed multipart putStream aborts its upload', async () => {
    const store = (await s3Fixture.open()) as S3BlobStore;
    const { bucket, ...options } = s3Options();
    const client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKeyId ?? '', secretAccessKey: options.secretAccessKey ?? '' },
    });
    try {
      await expect(
        store.putStream('big/fail.bin', generated(20 * MiB, { failAfter: 9 * MiB }).stream),
      ).rejects.toThrow();
      const uploads = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: store.prefix }),
      );
      const pending = uploads.Uploads ?? [];
      for (const u of pending) {
        await client.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
        );
      }
      expect(pending).toEqual([]);
    } finally {
      client.destroy();
      await s3Fixture.dispose(store);
    }
  });
});
