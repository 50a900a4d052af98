import { Readable, pipeline } from 'node:stream';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import type { z } from 'zod';
import type { BlobInfo, BlobStore } from './blob-store';
import { gunzipChunks } from './gunzip-chunks';

/** Rows are batched into chunks of about this size before they reach the store. */
const WRITE_CHUNK_BYTES = 64 * 1024;

const isGzip = (key: string): boolean => key.endsWith('.gz');

/**
 * Streams the lines of an NDJSON object (gunzipped when the key ends in `.gz`). Blank lines are
 * skipped, but `lineNo` still counts them (1-based), so it matches what an editor shows.
 *
 * @throws Error mentioning the key and "truncated or corrupt gzip" when the gzip stream is damaged.
 */
export async function* readLines(
  store: BlobStore,
  key: string,
): AsyncIterable<{ line: string; lineNo: number }> {
  for await (const batch of readLineBatches(store, key)) yield* batch;
}

/**
 * Like readLines, but yields the lines of each read chunk together, so a hot loop pays one await per
 * chunk rather than one per line. Same line numbering, same gzip error.
 */
export async function* readLineBatches(
  store: BlobStore,
  key: string,
): AsyncIterable<Array<{ line: string; lineNo: number }>> {
  let lineNo = 0;
  for await (const run of readLineRuns(store, key)) {
    const batch: Array<{ line: string; lineNo: number }> = [];
    for (const line of run.toString('utf8').split('\n')) {
      lineNo++;
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (text.trim() !== '') batch.push({ line: text, lineNo });
    }
    if (batch.length) yield batch;
  }
}

/**
 * The raw lines of an NDJSON object (gunzipped when the key ends in `.gz`), as runs of whole lines:
 * UTF-8 bytes cut at '\n' bytes (which never occur inside a multi-byte sequence), without the final
 * newline. A run holds n+1 lines for n newlines in it. Callers that only need some lines (ingest
 * shards) find and decode just those.
 *
 * @throws Error mentioning the key and "truncated or corrupt gzip" when the gzip stream is damaged.
 */
export async function* readLineRuns(store: BlobStore, key: string): AsyncIterable<Buffer> {
  const raw = await store.getStream(key);
  const input: AsyncIterable<unknown> = isGzip(key) ? gunzipChunks(raw) : raw;
  let carry: Buffer[] = [];
  try {
    for await (const chunk of input) {
      const bytes = chunk as Buffer;
      const last = bytes.lastIndexOf(10);
      if (last < 0) {
        carry.push(bytes);
        continue;
      }
      let from = 0;
      if (carry.length) {
        // Only the line cut by the previous chunk is copied together; the rest is yielded in place.
        const first = bytes.indexOf(10);
        yield Buffer.concat([...carry, bytes.subarray(0, first)]);
        from = first + 1;
      }
      if (from <= last) yield bytes.subarray(from, last);
      carry = last + 1 < bytes.length ? [bytes.subarray(last + 1)] : [];
    }
    if (carry.length) yield Buffer.concat(carry);
  } catch (err) {
    if (isZlibError(err)) {
      throw new Error(`${key} in ${store.uri}: truncated or corrupt gzip (${(err as Error).message})`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    raw.destroy();
  }
}

/**
 * Writes rows as NDJSON (gzipped when the key ends in `.gz`) through `putStream`, so only a small
 * buffer is held in memory whatever the row count. Nothing becomes visible if `rows` throws.
 *
 * @returns the stored object's info and how many rows were written.
 */
export async function writeNdjson(
  store: BlobStore,
  key: string,
  rows: AsyncIterable<unknown> | Iterable<unknown>,
): Promise<{ info: BlobInfo; rows: number }> {
  let count = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    let batch: string[] = [];
    let batchBytes = 0;
    for await (const row of rows) {
      const json = JSON.stringify(row);
      if (json === undefined)
        throw new Error(`${key}: row ${count + 1} is not JSON-serialisable (${typeof row})`);
      batch.push(json, '\n');
      batchBytes += json.length + 1;
      count++;
      if (batchBytes >= WRITE_CHUNK_BYTES) {
        yield Buffer.from(batch.join(''));
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) yield Buffer.from(batch.join(''));
  }
  const source = Readable.from(chunks());
  const body: Readable = isGzip(key) ? pipeline(source, createGzip(), () => undefined) : source;
  const info = await store.putStream(key, body);
  return { info, rows: count };
}

/**
 * Reads a JSON object (gunzipped when the key ends in `.gz`) and validates it.
 *
 * @throws Error naming the key and the path of the first zod issue when the content does not match.
 */
export async function readJson<T>(store: BlobStore, key: string, schema: z.ZodType<T>): Promise<T> {
  let raw = await store.get(key);
  if (isGzip(key)) {
    try {
      raw = gunzipSync(raw);
    } catch (err) {
      throw new Error(`${key} in ${store.uri}: truncated or corrupt gzip (${(err as Error).message})`, {
        cause: err,
      });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new Error(`${key} in ${store.uri}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new Error(`${key} in ${store.uri}: invalid at ${where}: ${issue.message}`, { cause: parsed.error });
}

/** Writes a value as pretty-printed JSON (gzipped when the key ends in `.gz`), last writer wins. */
export async function writeJson(store: BlobStore, key: string, value: unknown): Promise<BlobInfo> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error(`${key}: value is not JSON-serialisable (${typeof value})`);
  const body = Buffer.from(`${text}\n`);
  return store.put(key, isGzip(key) ? gzipSync(body) : body);
}

/** zlib errors carry Z_* codes (Z_BUF_ERROR for a cut-off stream, Z_DATA_ERROR for garbage). */
function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
