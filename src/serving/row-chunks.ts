/**
 * Unwritten NDJSON rows of one day, kept as UTF-8 bytes in off-heap chunks rather than as strings.
 * Strings kept until the next flush (up to a second of traffic) survived V8's young-generation
 * collections, which copy every survivor: each scavenge then took 3-10 ms, a stall that every request
 * arriving meanwhile waited out. Encoded at append, a row's string dies young and costs the collector
 * nothing; the chunks are also what the store writes, so a flush neither joins nor encodes.
 */

/** Chunk size: small enough to hash and write between requests, large enough to be few per part. */
const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Written chunks kept for reuse. Allocating fresh 64 KiB buffers at the rate rows arrive (3 MB/s at 5k
 * predictions a second) and dropping them after each part made V8 run a full mark-compact every 2-3 s,
 * because off-heap memory counts toward its collection limits: 5-20 ms of marking and compaction on
 * the event loop each time, which every request arriving meanwhile waited out (the serving bench's
 * p99). Reused chunks allocate nothing in the steady state.
 */
export class ChunkPool {
  private readonly free: Buffer[] = [];

  /** `maxChunks` caps what an idle log keeps (default 96 chunks: 6 MiB, about two parts at 5k/s). */
  constructor(private readonly maxChunks = 96) {}

  /** Chunks waiting for reuse. */
  get size(): number {
    return this.free.length;
  }

  /** A chunk of at least `bytes` (a pooled one when it fits, else a new one). */
  take(bytes: number): Buffer {
    if (bytes <= CHUNK_BYTES) {
      const reused = this.free.pop();
      if (reused) return reused;
    }
    return Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes));
  }

  /**
   * Takes back chunks nobody will read again (their part is written). Only whole standard-size
   * allocations are kept; a chunk sealed short is a view of one, so the whole allocation comes back.
   */
  recycle(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) {
      if (this.free.length >= this.maxChunks) return;
      if (chunk.buffer.byteLength === CHUNK_BYTES) this.free.push(Buffer.from(chunk.buffer, 0, CHUNK_BYTES));
    }
  }
}

/** One day's unwritten rows, oldest first. */
export class RowChunks {
  /** Rows held. */
  rows = 0;
  private readonly sealed: Buffer[] = [];
  /** Rows in each sealed chunk. */
  private readonly sealedRows: number[] = [];
  private open: Buffer | undefined;
  private openBytes = 0;
  private openRows = 0;

  /** `pool` supplies the chunks and takes them back on `release()` (default: no reuse). */
  constructor(private readonly pool: ChunkPool = new ChunkPool(0)) {}

  /** Appends one row (a JSON text without newlines, as JSON.stringify makes them) and its newline. */
  append(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const worst = line.length * 3 + 1;
    if (this.open === undefined || this.openBytes + worst > this.open.length) {
      this.seal();
      this.open = this.pool.take(worst);
    }
    this.openBytes += this.open.write(line, this.openBytes);
    this.open[this.openBytes++] = NEWLINE;
    this.openRows++;
    this.rows++;
  }

  /** Every row, as NDJSON chunks in order (what a part's body is). */
  chunks(): Buffer[] {
    this.seal();
    return [...this.sealed];
  }

  /**
   * Hands every chunk to the pool and empties this instance: call it once the chunks' bytes have been
   * written and nothing reads them any more.
   */
  release(): void {
    this.seal();
    this.pool.recycle(this.sealed);
    this.sealed.length = 0;
    this.sealedRows.length = 0;
    this.rows = 0;
  }

  /** Puts older rows (a failed write's) in front of these. */
  prepend(older: RowChunks): void {
    older.seal();
    this.sealed.unshift(...older.sealed);
    this.sealedRows.unshift(...older.sealedRows);
    this.rows += older.rows;
  }

  /** Drops the oldest `n` rows (at most all of them); returns how many were dropped. */
  dropOldest(n: number): number {
    this.seal();
    let dropped = 0;
    while (dropped < n && this.sealed.length > 0) {
      const want = n - dropped;
      if (this.sealedRows[0] <= want) {
        dropped += this.sealedRows.shift()!;
        this.sealed.shift();
        continue;
      }
      // Rows end at newlines (JSON text has none inside), so the cut is after the want-th newline.
      const chunk = this.sealed[0];
      let at = -1;
      for (let k = 0; k < want; k++) at = chunk.indexOf(NEWLINE, at + 1);
      this.sealed[0] = chunk.subarray(at + 1);
      this.sealedRows[0] -= want;
      dropped += want;
    }
    this.rows -= dropped;
    return dropped;
  }

  private seal(): void {
    if (this.open !== undefined && this.openRows > 0) {
      this.sealed.push(this.open.subarray(0, this.openBytes));
      this.sealedRows.push(this.openRows);
    }
    this.open = undefined;
    this.openBytes = 0;
    this.openRows = 0;
  }
}
