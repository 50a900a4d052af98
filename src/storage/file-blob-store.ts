import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobInfo, BlobPage, BlobStore } from './blob-store';
import { BlobConflictError, BlobNotFoundError, assertValidKey, listAllPages } from './blob-store';

const LOCK_SUFFIX = '.lock';
const TEMP_SUFFIX = '.lk-tmp';
/** A lock this old belongs to a crashed writer: putIfMatch holds its lock for milliseconds. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;
/**
 * A temp file untouched this long belongs to a writer that was killed: a live writer's temp file is
 * written to continuously (mtime moves), and the writes that leave one behind are small.
 */
export const STALE_TEMP_MS = 15 * 60_000;
/**
 * Temp files are named `.{target}.{host}~{pid}~{random}.lk-tmp`, so a writer on the same host can tell
 * at once that the process which left one behind is gone (kill -9) and remove it; a temp file of another
 * host (a shared file system) is removed only once it is STALE_TEMP_MS old.
 */
const HOST_TAG =
  os
    .hostname()
    .replace(/[^A-Za-z0-9.-]/g, '_')
    .slice(0, 64) || 'host';
/** A directory is swept by plain writes at most this often per process (putIfMatch always sweeps). */
const SWEEP_EVERY_MS = 60_000;
const DEFAULT_LIMIT = 1000;
/** Bounds the etag cache; past this it is simply dropped and rebuilt on demand. */
const READ_CHUNK_BYTES = 1 << 18;
const ETAG_CACHE_MAX = 10_000;

/**
 * A BlobStore on a local directory. Every write lands in a temp file next to its target and is renamed
 * into place, so readers see the old or the new object, never a partial one. putIfMatch serialises
 * writers on one machine with a `<key>.lock` file, which is why keys ending in `.lock` are refused here.
 * A key cannot be both an object and a "directory" of other keys (`a` and `a/b`), unlike on S3.
 */
export class FileBlobStore implements BlobStore {
  readonly root: string;
  readonly uri: string;
  /** sha256 by file identity, so head/list do not re-hash unchanged (possibly large) files. */
  private readonly etags = new Map<string, { id: string; etag: string }>();
  /** When each directory was last swept of dead writers' temp files by a plain write. */
  private readonly swept = new Map<string, number>();

  constructor(opts: { root: string; uri: string }) {
    this.root = path.resolve(opts.root);
    this.uri = opts.uri;
  }

  async put(key: string, body: Buffer | string): Promise<BlobInfo> {
    const file = this.pathOf(key);
    return this.writeAtomically(key, file, [typeof body === 'string' ? Buffer.from(body) : body]);
  }

  async putStream(key: string, body: Readable): Promise<BlobInfo> {
    const file = this.pathOf(key);
    return this.writeAtomically(key, file, body);
  }

  async get(key: string): Promise<Buffer> {
    const found = await this.getVersioned(key);
    if (!found) throw new BlobNotFoundError(this.uri, key);
    return found.body;
  }

  async getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    const handle = await this.openFile(key);
    if (!handle) return undefined;
    try {
      // One open handle: body and etag describe the same version even if a rename lands meanwhile.
      const body = await handle.readFile();
      return { body, etag: sha256(body) };
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<Readable> {
    const handle = await this.openFile(key);
    if (!handle) throw new BlobNotFoundError(this.uri, key);
    // 1 MiB reads: with the 64 KiB default, reading costs ingest about three times the CPU.
    return handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    const file = this.pathOf(key);
    const handle = await this.openFile(key);
    if (!handle) return undefined;
    try {
      return await this.infoOf(key, file, handle);
    } finally {
      await handle.close();
    }
  }

  async putIfMatch(key: string, body: Buffer | string, expectedEtag: string | null): Promise<BlobInfo> {
    const file = this.pathOf(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const release = await acquireLock(file + LOCK_SUFFIX);
    try {
      // Mutable objects (aliases, audit records, manifests) are written here: clear what killed writers
      // left beside them, so a crash mid-promotion leaves no temp file for good.
      await sweepStaleTemps(path.dirname(file));
      const current = await this.head(key);
      if ((current?.etag ?? null) !== expectedEtag) throw new BlobConflictError(key, expectedEtag);
      return await this.put(key, body);
    } finally {
      await release();
    }
  }

  async listPage(prefix: string, opts: { cursor?: string; limit?: number } = {}): Promise<BlobPage> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`listPage limit must be a positive integer, got ${limit}`);
    const items: BlobInfo[] = [];
    for await (const key of this.walk('', prefix, opts.cursor)) {
      // One key past the limit tells us whether another page exists.
      if (items.length === limit) return { items, nextCursor: items[items.length - 1].key };
      const info = await this.head(key);
      if (info) items.push(info); // deleted between readdir and open: just skip it
    }
    return { items };
  }

  async *listSizes(prefix: string): AsyncIterable<{ key: string; size: number }> {
    for await (const key of this.walk('', prefix, undefined)) {
      try {
        const st = await fs.promises.stat(this.pathOf(key));
        yield { key, size: st.size };
      } catch (err) {
        // Deleted between readdir and stat: just skip it, as listPage does.
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  }

  list(prefix: string): AsyncIterable<BlobInfo> {
    return listAllPages((pre, opts) => this.listPage(pre, opts), prefix);
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {
    this.etags.clear();
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (name.endsWith(LOCK_SUFFIX) || name.endsWith(TEMP_SUFFIX)) {
      throw new Error(
        `invalid blob key "${key}": names ending in ${LOCK_SUFFIX} or ${TEMP_SUFFIX} are reserved on file://`,
      );
    }
    return path.join(this.root, ...key.split('/'));
  }

  /** Opens a regular file for reading; undefined when absent or when the key is only a "directory". */
  private async openFile(key: string): Promise<fs.promises.FileHandle | undefined> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.pathOf(key), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
      throw err;
    }
    if ((await handle.stat()).isFile()) return handle;
    await handle.close();
    return undefined;
  }

  private async infoOf(key: string, file: string, handle: fs.promises.FileHandle): Promise<BlobInfo> {
    const st = await handle.stat({ bigint: true });
    // Writes always rename a fresh inode into place, so inode + size + mtime identify a version.
    const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
    const cached = this.etags.get(file);
    if (cached?.id === id) return { key, size: Number(st.size), etag: cached.etag };
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ start: 0, autoClose: false }))
      hash.update(chunk as Buffer);
    const etag = hash.digest('hex');
    this.remember(file, id, etag);
    return { key, size: Number(st.size), etag };
  }

  private remember(file: string, id: string, etag: string): void {
    if (this.etags.size >= ETAG_CACHE_MAX) this.etags.clear();
    this.etags.set(file, { id, etag });
  }

  private async writeAtomically(
    key: string,
    file: string,
    chunks: Iterable<Buffer> | AsyncIterable<Buffer | string>,
  ): Promise<BlobInfo> {
    const dir = path.dirname(file);
    await fs.promises.mkdir(dir, { recursive: true });
    // A retried write after a crash lands in the same directory: clear what the killed writer left.
    const last = this.swept.get(dir);
    if (last === undefined || Date.now() - last >= SWEEP_EVERY_MS) {
      if (this.swept.size >= ETAG_CACHE_MAX) this.swept.clear();
      this.swept.set(dir, Date.now());
      await sweepStaleTemps(dir);
    }
    const temp = path.join(
      dir,
      `.${path.basename(file)}.${HOST_TAG}~${process.pid}~${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
    );
    const handle = await fs.promises.open(temp, 'wx');
    const hash = createHash('sha256');
    let size = 0;
    try {
      try {
        for await (const chunk of chunks) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          hash.update(buf);
          size += buf.length;
          await handle.write(buf);
        }
        // Without fsync a crash right after rename can leave an empty file under the final name.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(temp, file);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    const etag = hash.digest('hex');
    const st = await fs.promises.stat(file, { bigint: true }).catch(() => undefined);
    if (st) this.remember(file, `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`, etag);
    return { key, size, etag };
  }

  /**
   * Yields keys under `prefix` that sort after `cursor`, in byte order of the key. Directories sort as
   * `name/` so "a/b" comes after "a-c", as it does on S3; subtrees outside the prefix or wholly before
   * the cursor are never read.
   */
  private async *walk(dirKey: string, prefix: string, cursor: string | undefined): AsyncGenerator<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(path.join(this.root, ...dirKey.split('/').filter(Boolean)), {
        withFileTypes: true,
      });
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    const named = entries
      .filter((e) => e.isDirectory() || (e.isFile() && !isInternalFile(e.name)))
      .map((e) => ({ key: dirKey + e.name + (e.isDirectory() ? '/' : ''), dir: e.isDirectory() }))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const { key, dir } of named) {
      if (dir) {
        const overlapsPrefix = key.startsWith(prefix) || prefix.startsWith(key);
        const pastCursor = cursor === undefined || cursor.startsWith(key) || compareKeys(key, cursor) > 0;
        if (overlapsPrefix && pastCursor) yield* this.walk(key, prefix, cursor);
      } else if (key.startsWith(prefix) && (cursor === undefined || compareKeys(key, cursor) > 0)) {
        yield key;
      }
    }
  }
}

/** S3 orders keys by their UTF-8 bytes, which differs from JS string order outside the BMP. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isInternalFile(name: string): boolean {
  return name.endsWith(LOCK_SUFFIX) || name.endsWith(TEMP_SUFFIX);
}

/** Whether a temp file was left by a process of this host that no longer runs. */
function writerIsGone(name: string): boolean {
  const m = /~(\d+)~[0-9a-f]+\.lk-tmp$/.exec(name);
  if (!m || !name.endsWith(`.${HOST_TAG}${m[0]}`)) return false;
  const pid = Number(m[1]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return isErrno(err, 'ESRCH');
  }
}

/**
 * Removes temp files in `dir` left by dead writers of this host, or older than STALE_TEMP_MS (any
 * host); racing removals are fine.
 */
async function sweepStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
    throw err;
  }
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const name of names) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    const temp = path.join(dir, name);
    const st = await fs.promises.stat(temp).catch(() => undefined);
    if (writerIsGone(name) || (st && st.mtimeMs < cutoff)) await fs.promises.rm(temp, { force: true });
  }
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Duck-typed: errors from Node internals fail `instanceof Error` across realms (e.g. under jest). */
function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && codes.includes(code);
}

/**
 * Takes `lockFile` with an exclusive create, which is atomic across processes on one machine. Waits
 * with jittered backoff; a lock left by a crashed writer is broken once it is older than STALE_LOCK_MS.
 */
async function acquireLock(lockFile: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let delay = 2;
  for (;;) {
    try {
      const handle = await fs.promises.open(lockFile, 'wx');
      await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
      await handle.close();
      return () => fs.promises.rm(lockFile, { force: true });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    if (await breakIfStale(lockFile)) continue;
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${LOCK_WAIT_MS} ms waiting for lock ${lockFile}; remove it if no writer is running`,
      );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
}

async function breakIfStale(lockFile: string): Promise<boolean> {
  const first = await fs.promises.stat(lockFile).catch(() => undefined);
  if (!first) return true; // released meanwhile: retry at once
  if (Date.now() - first.mtimeMs < STALE_LOCK_MS) return false;
  // Re-check just before removing, so a lock another waiter broke and re-took is left alone.
  const again = await fs.promises.stat(lockFile).catch(() => undefined);
  if (again && again.ino === first.ino && again.mtimeMs === first.mtimeMs)
    await fs.promises.rm(lockFile, { force: true });
  return true;
}
