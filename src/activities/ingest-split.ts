import type { BlobStore } from '../storage/blob-store';
import { readLineRuns } from '../storage/ndjson';
import { isDamagedLog } from './ingest-feed';
import { BatchBuilder, RunIndexer } from './ingest-lines';
import type { BatchBuffer, BatchPool } from './ingest-lines';

/** What the splitter sends a shard thread, per log file in order: its batches, then the file's end. */
export type FeedMessage =
  | { kind: 'batch'; key: string; buffer: ArrayBuffer; lineSlots: number; count: number; bytes: number }
  | { kind: 'end'; key: string; unreadable?: { message: string; lineNo: number } };

/** One log file to split, and which shards take part (those that have not stored it already). */
export interface SplitFile {
  key: string;
  lookback: boolean;
  shards: number[];
}

/**
 * Bounds how many batches each shard has received but not yet handled, so a slow shard slows the
 * reading instead of filling memory. Aborting wakes every waiter with the error.
 */
export class BatchCredits {
  private readonly outstanding: number[];
  private readonly waiters: Array<(() => void) | undefined>;
  private failure: Error | undefined;

  constructor(
    shards: number,
    private readonly limit: number,
  ) {
    this.outstanding = new Array<number>(shards).fill(0);
    this.waiters = new Array<(() => void) | undefined>(shards);
  }

  /** Waits until `shard` may receive another batch, and counts it. */
  async take(shard: number): Promise<void> {
    while (this.outstanding[shard] >= this.limit) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiters[shard] = resolve));
    }
    if (this.failure) throw this.failure;
    this.outstanding[shard]++;
  }

  /** `shard` has handled a batch. */
  give(shard: number): void {
    this.outstanding[shard]--;
    const wake = this.waiters[shard];
    this.waiters[shard] = undefined;
    wake?.();
  }

  /** Stops the splitter: pending and later takes throw `err`. */
  abort(err: Error): void {
    this.failure ??= err;
    for (let s = 0; s < this.waiters.length; s++) {
      const wake = this.waiters[s];
      this.waiters[s] = undefined;
      wake?.();
    }
  }
}

/**
 * Reads each log file once and hands every shard the lines it owns (see RunIndexer), in file order, as
 * batches moved (not copied) to the shard's thread. So N shards share the parsing while the bytes are
 * read and scanned once. A damaged gzip ends the file for every shard with the line it stopped at.
 */
export async function splitLogs(opts: {
  store: BlobStore;
  files: SplitFile[];
  shards: number;
  credits: BatchCredits;
  /** Where batch buffers come from; shards give them back through the caller. */
  pool: BatchPool;
  /** A shard's batch is sent once it holds this many bytes (or its file ends). */
  flushBytes: number;
  send: (shard: number, message: FeedMessage, transfer: ArrayBuffer[]) => void;
  onProgress: (key: string, lineNo: number) => void;
}): Promise<void> {
  const { store, files, shards, credits, send } = opts;
  const indexer = new RunIndexer();
  const builders = Array.from({ length: shards }, () => new BatchBuilder(opts.pool, opts.flushBytes));
  const sendBatch = async (
    shard: number,
    key: string,
    b: { batch: BatchBuffer; count: number; bytes: number },
  ): Promise<void> => {
    await credits.take(shard);
    const { buffer, lineSlots } = b.batch;
    send(shard, { kind: 'batch', key, buffer, lineSlots, count: b.count, bytes: b.bytes }, [buffer]);
  };
  for (const file of files) {
    if (file.shards.length === 0) continue;
    let lineNo = 0;
    let unreadable: { message: string; lineNo: number } | undefined;
    try {
      for await (const run of readLineRuns(store, file.key)) {
        const indexed = indexer.index(run, lineNo, shards, file.lookback);
        lineNo = indexed.lastLineNo;
        for (const shard of file.shards) {
          const builder = builders[shard];
          for (const full of builder.add(run, indexed, shard)) await sendBatch(shard, file.key, full);
          const ready = builder.full ? builder.flush() : undefined;
          if (ready) await sendBatch(shard, file.key, ready);
        }
        opts.onProgress(file.key, lineNo);
      }
    } catch (err) {
      if (!isDamagedLog(err)) throw err;
      unreadable = { message: (err as Error).message, lineNo };
    }
    for (const shard of file.shards) {
      const rest = builders[shard].flush();
      if (rest) await sendBatch(shard, file.key, rest);
      send(shard, { kind: 'end', key: file.key, unreadable }, []);
    }
  }
}
