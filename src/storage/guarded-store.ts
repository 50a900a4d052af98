import type { Readable } from 'node:stream';
import type { BlobInfo, BlobPage, BlobStore } from './blob-store';
import { deleteKeys } from './blob-store';

/**
 * A store that runs a check once before its first use (e.g. "this store exists"), so every caller,
 * including ones that never ask, gets the check's error instead of, say, an empty listing of a
 * mistyped store.
 */
export class GuardedBlobStore implements BlobStore {
  private ready?: Promise<void>;

  constructor(
    private readonly inner: BlobStore,
    private readonly check: () => Promise<void>,
  ) {}

  get uri(): string {
    return this.inner.uri;
  }

  private guard(): Promise<void> {
    this.ready ??= this.check();
    return this.ready;
  }

  async put(key: string, body: Buffer | string): Promise<BlobInfo> {
    await this.guard();
    return this.inner.put(key, body);
  }
  async putStream(key: string, body: Readable): Promise<BlobInfo> {
    await this.guard();
    return this.inner.putStream(key, body);
  }
  async get(key: string): Promise<Buffer> {
    await this.guard();
    return this.inner.get(key);
  }
  async getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    await this.guard();
    return this.inner.getVersioned(key);
  }
  async getStream(key: string): Promise<Readable> {
    await this.guard();
    return this.inner.getStream(key);
  }
  async head(key: string): Promise<BlobInfo | undefined> {
    await this.guard();
    return this.inner.head(key);
  }
  async putIfMatch(key: string, body: Buffer | string, expectedEtag: string | null): Promise<BlobInfo> {
    await this.guard();
    return this.inner.putIfMatch(key, body, expectedEtag);
  }
  async listPage(prefix: string, opts?: { cursor?: string; limit?: number }): Promise<BlobPage> {
    await this.guard();
    return this.inner.listPage(prefix, opts);
  }
  async *list(prefix: string): AsyncIterable<BlobInfo> {
    await this.guard();
    yield* this.inner.list(prefix);
  }
  async *listSizes(prefix: string): AsyncIterable<{ key: string; size: number }> {
    await this.guard();
    yield* this.inner.listSizes(prefix);
  }
  async delete(key: string): Promise<void> {
    await this.guard();
    return this.inner.delete(key);
  }
  async deleteMany(keys: string[]): Promise<void> {
    await this.guard();
    return deleteKeys(this.inner, keys);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
