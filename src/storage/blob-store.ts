import type { Readable } from 'node:stream';

/** Metadata of one stored object. */
export interface BlobInfo {
  key: string;
  size: number;
  /** Opaque version token: the S3 ETag, or a content hash on file://. */
  etag: string;
}

/** One page of a prefix listing. */
export interface BlobPage {
  items: BlobInfo[];
  /** Pass back to get the next page; undefined on the last page. */
  nextCursor?: string;
}

/** Options for an S3-compatible store. Credentials follow the standard AWS chain unless given. */
export interface S3StoreOptions {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * Where loopkeeper keeps all data: logs, datasets, models, reports. Keys are '/'-separated and never
 * start with '/'. The same behaviour holds on file:// and s3://, checked by one test suite.
 */
export interface BlobStore {
  /** The URI this store was opened with, e.g. file:///data/store or s3://bucket/prefix. */
  readonly uri: string;
  /** Writes a whole object (last writer wins). */
  put(key: string, body: Buffer | string): Promise<BlobInfo>;
  /** Streams an object in; nothing is visible under `key` until the stream ends without error. */
  putStream(key: string, body: Readable): Promise<BlobInfo>;
  /** Reads a whole object; throws BlobNotFoundError when absent. */
  get(key: string): Promise<Buffer>;
  /** Reads a whole object with its version token, or undefined when absent. */
  getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined>;
  /** Streams an object out; throws BlobNotFoundError when absent. */
  getStream(key: string): Promise<Readable>;
  /** Metadata, or undefined when absent. */
  head(key: string): Promise<BlobInfo | undefined>;
  /**
   * Compare-and-swap for small mutable objects (aliases, rollout config). `expectedEtag` null means
   * "only if absent". Throws BlobConflictError when the stored version differs.
   */
  putIfMatch(key: string, body: Buffer | string, expectedEtag: string | null): Promise<BlobInfo>;
  /** One page of keys under a prefix, in lexicographic key order. */
  listPage(prefix: string, opts?: { cursor?: string; limit?: number }): Promise<BlobPage>;
  /** Every key under a prefix, in lexicographic order, fetched page by page. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /**
   * Like list, but keys and sizes only: cheaper where a version token costs work (a file store
   * hashes a file it has not seen), for readers that only need to know what is there.
   */
  listSizes(prefix: string): AsyncIterable<{ key: string; size: number }>;
  /** Deletes an object; absent is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Deletes several objects (absent ones are fine), in as few requests as the backend allows (S3:
   * DeleteObjects, 1,000 keys each). Optional: `deleteKeys` falls back to `delete` one by one.
   */
  deleteMany?(keys: string[]): Promise<void>;
  /** Releases clients and handles. */
  close(): Promise<void>;
}

/** Deletes `keys` with the store's batch delete when it has one, else `concurrency` deletes at a time. */
export async function deleteKeys(
  store: BlobStore,
  keys: string[],
  concurrency = 32,
  onProgress: (done: number) => void = () => undefined,
): Promise<void> {
  const step = store.deleteMany ? 1000 : concurrency;
  for (let i = 0; i < keys.length; i += step) {
    const part = keys.slice(i, i + step);
    if (store.deleteMany) await store.deleteMany(part);
    else await Promise.all(part.map((k) => store.delete(k)));
    onProgress(i + part.length);
  }
}

/** Thrown when a key that must exist does not. */
export class BlobNotFoundError extends Error {
  constructor(
    readonly uri: string,
    readonly key: string,
  ) {
    super(`blob not found: ${key} (in ${uri})`);
    this.name = 'BlobNotFoundError';
  }
}

/** Thrown by putIfMatch when another writer changed the object first. */
export class BlobConflictError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string | null,
  ) {
    super(`conditional write lost: ${key} changed since version ${expected ?? '(absent)'}`);
    this.name = 'BlobConflictError';
  }
}

/** Rejects keys that would escape the store root or break listings. */
export function assertValidKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(
      `invalid blob key "${key}": keys are non-empty, relative, '/'-separated, without '.' or '..' parts`,
    );
  }
}

/** Every key under a prefix, page by page: the one `list` both backends share over their `listPage`. */
export async function* listAllPages(
  listPage: (prefix: string, opts?: { cursor?: string }) => Promise<BlobPage>,
  prefix: string,
): AsyncIterable<BlobInfo> {
  let cursor: string | undefined;
  do {
    const page = await listPage(prefix, { cursor });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}
