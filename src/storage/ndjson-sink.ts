import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { BlobInfo, BlobStore } from './blob-store';

/** Rows are handed to the store in chunks of about this many bytes (fewer, larger writes). */
const FLUSH_BYTES = 1 << 16;
/** Room for a flushable chunk plus a large row, so a row rarely needs a flush of its own. */
const CHUNK_BYTES = FLUSH_BYTES + (1 << 16);
const NEWLINE = 10;

/** A push-style NDJSON writer over BlobStore.putStream, for code that produces rows as it reads. */
export interface NdjsonSink {
  /**
   * Queues one row. Returns a promise only when the caller must wait (a chunk went to the store and it
   * pushed back), so hot loops pay for an await only once per chunk: `const w = sink.write(r); if (w) await w`.
   */
  write(row: unknown): Promise<void> | undefined;
  /** Queues one row already serialised as a single line of JSON (no newline); returns as `write`. */
  writeJsonLine(json: string): Promise<void> | undefined;
  /**
   * Queues one row given as a line of JSON in two pieces: `head`, then the UTF-8 bytes
   * [start, end) of `bytes` (no newline). Lets a row be copied from the bytes it was read from
   * without decoding.
   */
  writeLineSplice(head: string, bytes: Buffer, start: number, end: number): Promise<void> | undefined;
  /** Ends the object and waits until it is stored. */
  end(): Promise<{ info: BlobInfo; rows: number }>;
  /** Abandons the object: nothing becomes visible under its key. */
  abort(err: Error): Promise<void>;
}

/**
 * Opens a streaming NDJSON object (gzip when the key ends in .gz). Nothing is visible under `key`
 * until `end()` resolves, so a crash mid-write leaves no partial object behind.
 */
export function openNdjsonSink(store: BlobStore, key: string): NdjsonSink {
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const body = key.endsWith('.gz') ? input.pipe(createGzip()) : input;
  const stored = store.putStream(key, body);
  // Attach a handler now so an early failure is not an unhandled rejection before end() awaits it.
  stored.catch(() => undefined);
  let rows = 0;
  // Rows are copied into one chunk buffer: no allocation per row, one stream write per chunk.
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  /** Hands the chunk to the stream; returns a promise only when the stream pushes back. */
  const flush = (): Promise<void> | undefined => {
    if (used === 0) return undefined;
    const full = chunk.subarray(0, used);
    chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    used = 0;
    return input.write(full) ? undefined : new Promise<void>((resolve) => input.once('drain', resolve));
  };
  const writePieces = (
    head: string,
    bytes: Buffer | undefined,
    start: number,
    end: number,
  ): Promise<void> | undefined => {
    // An upper bound is enough to know the row fits: a UTF-16 unit is at most 3 UTF-8 bytes.
    const bound = 1 + 3 * head.length + end - start;
    let waiting: Promise<void> | undefined;
    if (used + bound > chunk.length) {
      waiting = flush();
      if (bound > chunk.length) chunk = Buffer.allocUnsafe(bound);
    }
    used += chunk.write(head, used);
    if (bytes) used += bytes.copy(chunk, used, start, end);
    chunk[used++] = NEWLINE;
    rows++;
    // Writes are queued in order, so waiting for the latest drain covers any earlier one.
    if (used >= FLUSH_BYTES) waiting = flush() ?? waiting;
    return waiting;
  };
  return {
    write(row) {
      return this.writeJsonLine(JSON.stringify(row));
    },
    writeJsonLine(json) {
      return writePieces(json, undefined, 0, 0);
    },
    writeLineSplice(head, bytes, start, end) {
      return writePieces(head, bytes, start, end);
    },
    async end() {
      await flush();
      input.end();
      return { info: await stored, rows };
    },
    async abort(err) {
      // The store may not be reading the stream yet; the error reaches it through `stored`.
      input.on('error', () => undefined);
      input.destroy(err);
      await stored.catch(() => undefined);
    },
  };
}
