import type { BlobStore } from '../storage/blob-store';
import { readLineRuns } from '../storage/ndjson';
import { batchOf, RunIndexer } from './ingest-lines';
import type { LineBatch } from './ingest-lines';
import type { FeedMessage } from './ingest-split';

/**
 * Where a shard gets the lines it owns of one log file, a batch at a time, in file order. `lookback`
 * files (searched only for joins) yield only lines whose request id the bytes say plainly. Throws
 * {@link UnreadableLogError} where a damaged gzip stops the file; other read errors pass through.
 */
export type LineFeed = (key: string, lookback: boolean) => AsyncIterable<LineBatch>;

/** A log file that cannot be read past `lineNo` (a truncated or corrupt gzip): a data problem. */
export class UnreadableLogError extends Error {
  constructor(
    message: string,
    readonly lineNo: number,
  ) {
    super(message);
    this.name = 'UnreadableLogError';
  }
}

/** Whether a read error means the file itself is damaged (kept and reported, not retried). */
export const isDamagedLog = (err: unknown): boolean =>
  /truncated or corrupt gzip/.test((err as Error | undefined)?.message ?? '');

/** A single shard's feed: reads each file from the store itself and owns every line. */
export function storeFeed(store: BlobStore): LineFeed {
  return async function* feed(key, lookback) {
    const indexer = new RunIndexer();
    let lineNo = 0;
    const runs = readLineRuns(store, key)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await runs.next();
        } catch (err) {
          if (isDamagedLog(err)) throw new UnreadableLogError((err as Error).message, lineNo);
          throw err;
        }
        if (next.done) return;
        const indexed = indexer.index(next.value, lineNo, 1, lookback);
        lineNo = indexed.lastLineNo;
        yield { bytes: next.value, lines: indexed.lines, count: indexed.count };
      }
    } finally {
      // A consumer that stops early must not leave the file open.
      await runs.return?.();
    }
  };
}

/**
 * A shard thread's feed: the batches the splitter (ingest-split.ts) sends it, in file order. Each
 * batch is acknowledged once handled, which lets the splitter send another. The splitter already left
 * out the lookback lines no shard looks at, so the `lookback` argument is not needed here.
 */
export class PortFeed {
  private readonly queue: FeedMessage[] = [];
  private wake: (() => void) | undefined;
  /** The feed for ingestShard. */
  readonly feed: LineFeed;

  constructor(ack: (buffer: ArrayBuffer) => void) {
    const next = (): Promise<FeedMessage> => this.next();
    this.feed = async function* feed(key) {
      for (;;) {
        const m = await next();
        if (m.key !== key) throw new Error(`ingest feed out of order: expected ${key}, received ${m.key}`);
        if (m.kind === 'end') {
          if (m.unreadable) throw new UnreadableLogError(m.unreadable.message, m.unreadable.lineNo);
          return;
        }
        yield batchOf(m, m.count, m.bytes);
        ack(m.buffer);
      }
    };
  }

  /** Called with each message the splitter sends. */
  receive(message: FeedMessage): void {
    this.queue.push(message);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async next(): Promise<FeedMessage> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.queue.shift()!;
  }
}
