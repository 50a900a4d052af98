import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobInfo, BlobPage, BlobStore, S3StoreOptions } from './blob-store';
import { BlobConflictError, BlobNotFoundError, assertValidKey, listAllPages } from './blob-store';

/** Part size for streamed uploads: above S3's 5 MiB minimum, and bounds memory to one part. */
export const S3_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_LIMIT = 1000;

/**
 * A BlobStore on an S3-compatible bucket. Keys live under `prefix` in the bucket and are returned
 * without it, so a store can share a bucket with others.
 */
export class S3BlobStore implements BlobStore {
  readonly uri: string;
  readonly bucket: string;
  /** Empty, or ends with '/'. */
  readonly prefix: string;
  private readonly client: S3Client;

  constructor(opts: { bucket: string; prefix: string; uri: string; options: S3StoreOptions }) {
    const { endpoint, region, forcePathStyle, accessKeyId, secretAccessKey } = opts.options;
    this.uri = opts.uri;
    this.bucket = opts.bucket;
    this.prefix = opts.prefix === '' || opts.prefix.endsWith('/') ? opts.prefix : `${opts.prefix}/`;
    this.client = new S3Client({
      endpoint,
      region,
      forcePathStyle,
      // The SDK's own response check fails a torn read from inside a stream, where it escapes as an
      // uncaught exception (or a read that never settles); getVersioned checks the body itself instead.
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK's own quick retries absorb a blip; longer outages are waited out by the caller
      // (storage/outage-tolerant-store.ts). A server that accepts no connection fails fast instead of
      // hanging the call.
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 5_000 },
      // Half a credential pair is a config mistake, not a reason to ignore the default chain.
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    });
  }

  async put(key: string, body: Buffer | string): Promise<BlobInfo> {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const out = await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: buf }),
    );
    return { key, size: buf.length, etag: unquote(out.ETag) };
  }

  async putStream(key: string, body: Readable): Promise<BlobInfo> {
    const Key = this.fullKey(key);
    const parts = readParts(body, S3_PART_SIZE);
    const first = await parts.next();
    const firstPart = first.done ? Buffer.alloc(0) : first.value;
    if (firstPart.length < S3_PART_SIZE) return this.put(key, firstPart); // whole stream fits in one part

    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }),
    );
    if (!UploadId) throw new Error(`S3 returned no UploadId for ${key} in ${this.uri}`);
    const completed: CompletedPart[] = [];
    let size = 0;
    try {
      for (let part: Buffer | undefined = firstPart; part;) {
        const PartNumber = completed.length + 1;
        const out = await this.client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body: part }),
        );
        completed.push({ PartNumber, ETag: out.ETag });
        size += part.length;
        const next = await parts.next();
        part = next.done ? undefined : next.value;
      }
      const out = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: completed },
        }),
      );
      return { key, size, etag: unquote(out.ETag) };
    } catch (err) {
      body.destroy();
      // Best effort: an abandoned upload only costs storage, and the original error matters more.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    const found = await this.getVersioned(key);
    if (!found) throw new BlobNotFoundError(this.uri, key);
    return found.body;
  }

  async getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const etag = unquote(out.ETag);
    // A server that publishes a new version while serving a read can send one version's body with
    // another's ETag (measured on versitygw 1.8.0). A CAS decided on that body would be checked against
    // the wrong version, so such a read is torn: the caller reads again.
    if (isPlainMd5Etag(etag, out) && createHash('md5').update(body).digest('hex') !== etag) {
      throw new TornReadError(this.uri, key, etag);
    }
    return { body, etag };
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      // In Node the SDK's body is an http.IncomingMessage, i.e. a Readable.
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(this.uri, key);
      throw err;
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      return { key, size: out.ContentLength ?? 0, etag: unquote(out.ETag) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async putIfMatch(key: string, body: Buffer | string, expectedEtag: string | null): Promise<BlobInfo> {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const condition = expectedEtag === null ? { IfNoneMatch: '*' } : { IfMatch: `"${expectedEtag}"` };
    try {
      const out = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: buf, ...condition }),
      );
      return { key, size: buf.length, etag: unquote(out.ETag) };
    } catch (err) {
      // IfMatch on an object that is gone is a lost race too, which S3 reports as 404.
      if (isConflict(err) || (expectedEtag !== null && isNotFound(err)))
        throw new BlobConflictError(key, expectedEtag);
      throw err;
    }
  }

  async listPage(prefix: string, opts: { cursor?: string; limit?: number } = {}): Promise<BlobPage> {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`listPage limit must be a positive integer, got ${limit}`);
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        ContinuationToken: opts.cursor,
        MaxKeys: limit,
      }),
    );
    const items = (out.Contents ?? []).map((o) => ({
      key: (o.Key ?? '').slice(this.prefix.length),
      size: o.Size ?? 0,
      etag: unquote(o.ETag),
    }));
    return { items, nextCursor: out.IsTruncated ? out.NextContinuationToken : undefined };
  }

  async *listSizes(prefix: string): AsyncIterable<{ key: string; size: number }> {
    for await (const { key, size } of this.list(prefix)) yield { key, size };
  }

  list(prefix: string): AsyncIterable<BlobInfo> {
    return listAllPages((pre, opts) => this.listPage(pre, opts), prefix);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const part = keys.slice(i, i + 1000);
      if (part.length === 0) continue;
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: part.map((k) => ({ Key: this.fullKey(k) })), Quiet: true },
        }),
      );
      // A key the server did not delete (other than absent) is an error, like a failed single delete.
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0)
        throw new Error(
          `deleting ${failed.length} of ${part.length} objects failed, e.g. ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`,
        );
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }
}

/** Re-chunks a stream into buffers of exactly `size` bytes (the last may be shorter, never empty). */
async function* readParts(body: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    pending.push(buf);
    pendingBytes += buf.length;
    while (pendingBytes >= size) {
      const all = Buffer.concat(pending, pendingBytes);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      pendingBytes -= size;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** A read whose body does not match the version token sent with it; reading again can succeed. */
export class TornReadError extends Error {
  override readonly name = 'TornReadError';
  constructor(
    readonly uri: string,
    readonly key: string,
    readonly etag: string,
  ) {
    super(`${key} in ${uri}: torn read (the body does not match its ETag ${etag}: checksum mismatch)`);
  }
}

/**
 * S3's ETag is the MD5 of the body for a single-part upload without SSE-KMS or SSE-C (multipart ETags
 * carry a "-N" suffix); only then can a body be checked against it.
 */
function isPlainMd5Etag(
  etag: string,
  out: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string },
): boolean {
  if (!/^[0-9a-f]{32}$/.test(etag)) return false;
  if (out.SSECustomerAlgorithm) return false;
  return !(out.ServerSideEncryption ?? '').startsWith('aws:kms');
}

/** S3 wraps ETags in double quotes (RFC 7232); the store's version tokens are the bare value. */
function unquote(etag: string | undefined): string {
  if (!etag) return '';
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

/** A missing bucket is also a 404, but it is a config error that must not read as "no such object". */
function isNotFound(err: unknown): boolean {
  const name = nameOf(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(err) === 404 && name !== 'NoSuchBucket');
}

/** 412: the precondition failed; 409: a concurrent conditional write to the same key won first. */
function isConflict(err: unknown): boolean {
  const name = nameOf(err);
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || statusOf(err) === 412;
}
