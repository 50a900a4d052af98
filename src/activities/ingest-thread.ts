/**
 * Worker-thread entry of one ingest shard (started by ingest-window.ts through run-thread.ts). Its
 * lines arrive from the splitter on the activity's thread (ingest-split.ts); the thread opens its own
 * store client from the URI to write its parts: store clients hold sockets and file handles, which
 * cannot cross threads.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { StoreConfigSchema } from '../config/config';
import { openBlobStore } from '../storage/open-store';
import { outageTolerant } from '../storage/outage-tolerant-store';
import type { PartResult, ShardEvents, ShardResult } from './ingest-shard';
import { PortFeed } from './ingest-feed';
import { ingestShard, ShardTaskSchema } from './ingest-shard';
import type { FeedMessage } from './ingest-split';
import type { ThreadMessage } from './run-thread';

/** What the ingest activity hands each thread. */
export const IngestThreadDataSchema = z.object({
  storeUri: z.string(),
  s3: StoreConfigSchema.shape.s3,
  /** The worker's store-outage budget (config store.outageMinutes); this thread's writes wait as long. */
  outageMinutes: z.number().min(0).default(0),
  task: ShardTaskSchema,
});
export type IngestThreadData = z.infer<typeof IngestThreadDataSchema>;

/** Events a shard thread reports while it works. */
export type IngestThreadEvent =
  | { kind: 'part'; part: PartResult }
  /** A batch of lines was handled: the splitter may send another, reusing its buffer. */
  | { kind: 'ack'; buffer: ArrayBuffer };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const post = (m: ThreadMessage<IngestThreadEvent, ShardResult>, transfer: ArrayBuffer[] = []): void =>
    port.postMessage(m, transfer);
  // Listen before anything else: batches may already be waiting. Handled batches go back for reuse.
  const lines = new PortFeed((buffer) => post({ type: 'event', event: { kind: 'ack', buffer } }, [buffer]));
  port.on('message', (m: FeedMessage) => lines.receive(m));
  try {
    const data = IngestThreadDataSchema.parse(workerData);
    const opened = openBlobStore(data.storeUri, data.s3);
    const store =
      data.outageMinutes > 0 ? outageTolerant(opened, { budgetMs: data.outageMinutes * 60_000 }) : opened;
    const events: ShardEvents = {
      // Line progress is the splitter's to report: it reads the files.
      line: () => undefined,
      part: (part) => post({ type: 'event', event: { kind: 'part', part } }),
    };
    try {
      post({ type: 'result', result: await ingestShard(store, data.task, events, lines.feed) });
    } finally {
      await store.close();
    }
  } catch (err) {
    post({ type: 'error', message: (err as Error).message, stack: (err as Error).stack });
  } finally {
    // The port would keep the thread alive after its result.
    port.removeAllListeners('message');
  }
}

if (!isMainThread) void main();
