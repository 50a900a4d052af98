import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { BlobInfo, BlobStore } from './blob-store';

/** Rows are handed to the store in chunks of about this many bytes (fewer, larger writes). */
const FLUSH_BYTES = 1 << 16;
const NEWLINE = Buffer.from('\n');

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
   * Queues one row given as pieces of a single line of JSON: strings and UTF-8 bytes, written in
   * order (no newline). Lets a row be copied from the bytes it was read from without decoding.
   */
  writeLinePieces(pieces: Array<string | Buffer>): Promise<void> | undefined;
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
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const push = (b: Buffer): void => {
    pending.push(b);
    pendingBytes += b.length;
  };
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (!input.write(chunk)) await new Promise<void>((resolve) => input.once('drain', resolve));
  };
  const rowDone = (): Promise<void> | undefined => {
    push(NEWLINE);
    rows++;
    return pendingBytes >= FLUSH_BYTES ? flush() : undefined;
  };
  return {
    write(row) {
      return this.writeJsonLine(JSON.stringify(row));
    },
    writeJsonLine(json) {
      push(Buffer.from(json));
      return rowDone();
    },
    writeLinePieces(pieces) {
      for (const p of pieces) push(typeof p === 'string' ? Buffer.from(p) : p);
      return rowDone();
    },
    async end() {
      await flush();
      input.end();
      return { info: await stored, rows };
    },
    async abort(err) {
      input.destroy(err);
      await stored.catch(() => undefined);
    },
  };
}
