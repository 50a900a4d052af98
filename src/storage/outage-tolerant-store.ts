import type { Readable } from 'node:stream';
import type { BlobInfo, BlobPage, BlobStore } from './blob-store';

/** Options of {@link outageTolerant}. */
export interface OutageOptions {
  /** How long one call may keep waiting for the store to come back before its error is passed on. */
  budgetMs: number;
  /** Called while waiting (activities heartbeat here, so Temporal knows the worker is alive). */
  onWait?: (info: { op: string; key: string; waitedMs: number; error: string }) => void;
  /** Longest pause between tries. */
  maxDelayMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/**
 * Whether an error means the store could not be reached or answered "try later" (connection refused
 * or reset, timeouts, 5xx, throttling), as opposed to an answer about the data (not found, conflict,
 * access denied), which waiting does not change.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    const name = typeof e.name === 'string' ? e.name : '';
    if (['TimeoutError', 'RequestTimeout', 'SlowDown', 'ServiceUnavailable', 'InternalError'].includes(name))
      return true;
    const status = (e.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode;
    if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
    if (typeof e.message === 'string' && /socket hang up|ECONNREFUSED|ECONNRESET/.test(e.message))
      return true;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return false;
}

/**
 * Wraps a store so that each call waits out an outage (the store unreachable or answering 5xx) with
 * exponential backoff, up to `budgetMs`, instead of failing at the first refused connection: a storage
 * outage of minutes is routine. Streams already open are not resumed (their reader's retry does that);
 * listings resume after the last key they gave. Whole-object writes and compare-and-swap are retried
 * as they are idempotent or re-checked (a lost answer to a CAS write shows up as a conflict).
 */
export function outageTolerant(inner: BlobStore, opts: OutageOptions): BlobStore {
  const maxDelay = opts.maxDelayMs ?? 5_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  /** Waits before the next try, or throws `err` when it is not an outage or the budget is spent. */
  async function pause(
    op: string,
    key: string,
    err: unknown,
    started: number,
    attempt: number,
  ): Promise<void> {
    const waited = Date.now() - started;
    if (!isStoreUnavailable(err)) throw err;
    if (waited >= opts.budgetMs) {
      (err as Error).message =
        `store ${inner.uri} unreachable for ${Math.round(waited / 1000)} s (${op} ${key}): ${(err as Error).message}`;
      throw err;
    }
    opts.onWait?.({ op, key, waitedMs: waited, error: (err as Error).message });
    await sleep(Math.min(250 * 2 ** Math.min(attempt, 10), maxDelay, opts.budgetMs - waited));
  }
  async function retrying<T>(op: string, key: string, call: () => Promise<T>): Promise<T> {
    let since: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        since ??= Date.now();
        await pause(op, key, err, since, attempt);
      }
    }
  }
  async function* resumable<T extends { key: string }>(
    op: string,
    prefix: string,
    open: () => AsyncIterable<T>,
  ): AsyncIterable<T> {
    // Keys come in lexicographic order: a listing interrupted by an outage resumes after the last key.
    let last: string | undefined;
    let since: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const info of open()) {
          if (last !== undefined && info.key <= last) continue;
          last = info.key;
          since = undefined;
          yield info;
        }
        return;
      } catch (err) {
        since ??= Date.now();
        await pause(op, prefix, err, since, attempt);
      }
    }
  }
  return {
    uri: inner.uri,
    put: (key: string, body: Buffer | string): Promise<BlobInfo> =>
      retrying('put', key, () => inner.put(key, body)),
    // A stream can be consumed once: its failure goes to the caller (the activity retries the step).
    putStream: (key: string, body: Readable): Promise<BlobInfo> => inner.putStream(key, body),
    get: (key: string) => retrying('get', key, () => inner.get(key)),
    getVersioned: (key: string) => retrying('get', key, () => inner.getVersioned(key)),
    getStream: (key: string): Promise<Readable> => retrying('get', key, () => inner.getStream(key)),
    head: (key: string) => retrying('head', key, () => inner.head(key)),
    putIfMatch: (key: string, body: Buffer | string, expectedEtag: string | null) =>
      retrying('put', key, () => inner.putIfMatch(key, body, expectedEtag)),
    listPage: (prefix: string, o?: { cursor?: string; limit?: number }): Promise<BlobPage> =>
      retrying('list', prefix, () => inner.listPage(prefix, o)),
    list: (prefix: string) => resumable('list', prefix, () => inner.list(prefix)),
    listSizes: (prefix: string) => resumable('list', prefix, () => inner.listSizes(prefix)),
    delete: (key: string) => retrying('delete', key, () => inner.delete(key)),
    ...(inner.deleteMany
      ? { deleteMany: (keys: string[]) => retrying('delete', keys[0] ?? '', () => inner.deleteMany!(keys)) }
      : {}),
    close: () => inner.close(),
  };
}
