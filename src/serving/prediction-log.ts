/**
 * The serving side of the feedback loop: every prediction (served and shadow) becomes a PredictionRow
 * under logs/{model}/predictions/date=YYYY-MM-DD/, where the cycle's ingest picks it up. Rows are
 * buffered and written in parts (every `flushRows` rows or `flushMs`), because one object per request
 * would swamp S3 with tiny PUTs.
 *
 * Part names: part-{processStart compact}-{pid}-{seq}.ndjson. processStart + pid identify the process
 * and seq is process-wide, so any number of serving processes (and apps in one process) never collide,
 * and within one process key order is write order.
 */
import { Readable } from 'node:stream';
import type { PredictionRow } from '../schemas/records';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { ChunkPool, RowChunks } from './row-chunks';

/** When this module was loaded: the process's serving start, for part names. */
const PROCESS_START = new Date().toISOString().replace(/[-:.]/g, '');
/** Process-wide part counter (shared by every logger in the process, see the file comment). */
let partSeq = 0;

/** Options of {@link PredictionLog}. */
export interface PredictionLogOptions {
  store: BlobStore;
  modelId: string;
  /** Write a part once this many rows are buffered (default 5000). */
  flushRows?: number;
  /** Write whatever is buffered at least this often (default 2000 ms). */
  flushMs?: number;
  /** Beyond this many unwritten rows (store down), the oldest are dropped and counted (default 500k). */
  maxBufferedRows?: number;
}

/** Counters for /status and /metrics. */
export interface PredictionLogStats {
  bufferedRows: number;
  rowsWritten: number;
  partsWritten: number;
  writeFailures: number;
  droppedRows: number;
  lastError: string | null;
  lastPartKey: string | null;
}

/** Unwritten rows by day (`YYYY-MM-DD`). */
type DayBuffer = Map<string, RowChunks>;

/** Buffered, partitioned writer of the prediction log. */
export class PredictionLog {
  private readonly flushRows: number;
  private readonly maxBufferedRows: number;
  private buffer: DayBuffer = new Map();
  private buffered = 0;
  private writing: Promise<void> = Promise.resolve();
  /** A flush that is queued but has not started taking rows yet. */
  private queued: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Chunks of written parts, reused by the next rows (see ChunkPool: no off-heap churn). */
  private readonly pool = new ChunkPool();
  private readonly stats: Omit<PredictionLogStats, 'bufferedRows'> = {
    rowsWritten: 0,
    partsWritten: 0,
    writeFailures: 0,
    droppedRows: 0,
    lastError: null,
    lastPartKey: null,
  };

  constructor(private readonly opts: PredictionLogOptions) {
    this.flushRows = opts.flushRows ?? 5000;
    this.maxBufferedRows = opts.maxBufferedRows ?? 500_000;
    if (!Number.isInteger(this.flushRows) || this.flushRows < 1) {
      throw new Error(`logFlushRows must be a positive integer, got ${this.flushRows}`);
    }
    const flushMs = opts.flushMs ?? 2000;
    if (!(flushMs > 0)) throw new Error(`logFlushMs must be positive, got ${flushMs}`);
    this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
    // The log must not keep a process alive on its own; close() is what flushes at shutdown.
    this.timer.unref();
  }

  /** Buffers one row; triggers a flush when `flushRows` are waiting. */
  append(row: PredictionRow): void {
    this.appendLine(row.timestamp.slice(0, 10), JSON.stringify(row));
  }

  /**
   * Buffers one row serialised by the caller (serving builds it by hand, src/serving/encode.ts), under
   * its day (`YYYY-MM-DD`, the first ten characters of the row's timestamp).
   */
  appendLine(day: string, line: string): void {
    if (this.closed) throw new Error('prediction log is closed');
    let rows = this.buffer.get(day);
    if (!rows) this.buffer.set(day, (rows = new RowChunks(this.pool)));
    rows.append(line);
    this.buffered++;
    if (this.buffered >= this.flushRows) void this.flush().catch(() => undefined);
  }

  /**
   * Writes everything buffered so far as new parts (one per day present). Writes are serialised, so
   * parts land in order; rows appended meanwhile go to the next part. Rejects if the write failed
   * (the rows are kept and retried by the next flush).
   */
  flush(): Promise<void> {
    // A flush already waiting will take every row buffered by the time it runs: share it rather than
    // queueing one more per request while a slow write is in flight.
    if (this.queued) return this.queued;
    const next = this.writing.then(() => {
      this.queued = undefined;
      return this.writeBuffered();
    });
    this.queued = next;
    // Later flushes queue behind this one whether it succeeds or not.
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Stops the timer and writes everything, retrying a failing store a few times before giving up. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
    }
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.flush();
        if (this.buffered === 0) return;
      } catch (err) {
        lastErr = err;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
    if (this.buffered > 0) {
      throw new Error(
        `prediction log: ${this.buffered} rows could not be written to ${this.opts.store.uri} (${(lastErr as Error | undefined)?.message ?? 'unknown error'})`,
      );
    }
  }

  /** Current counters. */
  snapshot(): PredictionLogStats {
    return { bufferedRows: this.buffered, ...this.stats };
  }

  private async writeBuffered(): Promise<void> {
    if (this.buffered === 0) return;
    const pending = this.buffer;
    this.buffer = new Map();
    this.buffered = 0;
    const days = [...pending.keys()].sort();
    for (let i = 0; i < days.length; i++) {
      const day = days[i];
      const rows = pending.get(day)!;
      const key = layout.predictionPart(
        this.opts.modelId,
        day,
        `part-${PROCESS_START}-${process.pid}-${String(++partSeq).padStart(6, '0')}`,
      );
      try {
        // A stream of the 64 KiB chunks: the store hashes and writes one at a time, awaiting in
        // between, so requests keep being answered while a 3 MB part is written.
        await this.opts.store.putStream(key, Readable.from(rows.chunks(), { highWaterMark: 1 }));
      } catch (err) {
        this.stats.writeFailures++;
        this.stats.lastError = `${key}: ${(err as Error).message}`;
        // Put this day and the unwritten ones back in front of anything appended meanwhile.
        this.requeue(days.slice(i).map((d) => [d, pending.get(d)!] as const));
        throw err;
      }
      this.stats.rowsWritten += rows.rows;
      this.stats.partsWritten++;
      this.stats.lastPartKey = key;
      // The store has read every chunk by now (putStream resolves once the part is written).
      rows.release();
    }
  }

  private requeue(entries: ReadonlyArray<readonly [string, RowChunks]>): void {
    for (const [day, older] of entries) {
      let rows = this.buffer.get(day);
      if (!rows) this.buffer.set(day, (rows = new RowChunks(this.pool)));
      rows.prepend(older);
    }
    let total = 0;
    for (const rows of this.buffer.values()) total += rows.rows;
    // Bounded memory while the store is down: drop the oldest days' oldest rows first.
    let excess = total - this.maxBufferedRows;
    for (const day of [...this.buffer.keys()].sort()) {
      if (excess <= 0) break;
      const rows = this.buffer.get(day)!;
      const dropped = rows.dropOldest(excess);
      excess -= dropped;
      this.stats.droppedRows += dropped;
      total -= dropped;
      if (rows.rows === 0) this.buffer.delete(day);
    }
    this.buffered = total;
  }
}
