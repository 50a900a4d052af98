import * as os from 'node:os';
import * as path from 'node:path';
import { defaults } from '../config/defaults';
import { LabeledReferenceJob, PredictionReferenceJob, WindowJob } from '../monitoring/line-jobs';
import type { LineBatch } from '../monitoring/line-jobs';
import type { ReferenceProfile } from '../monitoring/profile';
import type { BlobStore } from '../storage/blob-store';
import { readLineRuns } from '../storage/ndjson';
import { activityCancelled, HEARTBEAT_EVERY_MS, keepAlive } from './heartbeat';
import { isDamagedLog } from './ingest-feed';
import { runThread } from './run-thread';
import type { ThreadRun } from './run-thread';

/** Which job to run over the lines (plain data: it is handed to threads). */
export type LineJobSpec =
  | { kind: 'window'; profile: ReferenceProfile }
  | { kind: 'labeled-reference' }
  | { kind: 'prediction-reference' };

/** A job as both the calling thread and parse threads run it. */
export interface LineJob {
  add(batch: LineBatch): void;
  damaged?(): void;
  result(): unknown;
}

/** What the reader sends a line thread. */
export type LineThreadMessage =
  | { kind: 'batch'; key: string; firstLineNo: number; bytes: Uint8Array }
  | { kind: 'damaged'; key: string }
  | { kind: 'end' };

/** The job for a spec (on whichever thread runs it). */
export function createLineJob(spec: LineJobSpec): LineJob {
  if (spec.kind === 'window') return new WindowJob(spec.profile);
  if (spec.kind === 'labeled-reference') return new LabeledReferenceJob();
  return new PredictionReferenceJob();
}

/** Batches sent to a thread are about this size: big enough that messaging is noise, small enough to bound memory. */
const BATCH_BYTES = 1024 * 1024;
/** Batches a thread may have received but not handled yet. */
const IN_FLIGHT = 3;

/**
 * How many threads to parse `bytes` of logs with: `configured` when set (config ingest.threads), else
 * one per core (at most defaults.ingestMaxThreads) once there is enough to parse.
 */
export function chooseLineThreads(configured: number, bytes: number): number {
  if (configured > 0) return configured;
  if (bytes < defaults.ingestThreadMinBytes) return 1;
  return Math.max(1, Math.min(os.availableParallelism(), defaults.ingestMaxThreads));
}

/** Counts '\n' bytes (the lines a run of whole lines holds is this + 1). */
function newlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n += 1;
  return n;
}

/**
 * Reads `keys` once, in order, and runs the job over their lines on `threads` threads (1: on this
 * thread), handing out batches of whole lines to whichever thread has room. Returns each thread's
 * partial result, in thread order; the caller merges them (exactly: see monitoring/line-jobs.ts). A
 * damaged gzip ends its file: the job's `damaged` is told once, the lines before it count.
 */
export async function runLineJob<R>(opts: {
  store: BlobStore;
  keys: readonly string[];
  spec: LineJobSpec;
  threads: number;
  onFile?: (key: string) => void;
}): Promise<R[]> {
  const { store, keys, spec } = opts;
  const threads = Math.max(1, opts.threads);
  if (threads === 1) {
    const job = createLineJob(spec);
    await readBatches(
      store,
      keys,
      async (m) => {
        if (m.kind === 'batch')
          job.add({ key: m.key, firstLineNo: m.firstLineNo, text: Buffer.from(m.bytes).toString('utf8') });
        else if (m.kind === 'damaged') job.damaged?.();
      },
      opts.onFile,
    );
    return [job.result() as R];
  }

  const outstanding = new Array<number>(threads).fill(0);
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const runs: ThreadRun<R>[] = [];
  for (let t = 0; t < threads; t++) {
    runs.push(
      runThread<{ ack: true }, R>(
        path.join(__dirname, 'line-thread'),
        spec as unknown as Record<string, unknown>,
        () => {
          outstanding[t] -= 1;
          const w = wake;
          wake = undefined;
          w?.();
        },
        { youngGenerationMb: defaults.ingestThreadYoungGenerationMb },
      ),
    );
  }
  /** The thread with the fewest batches in flight, waiting while every thread is full. */
  const pick = async (): Promise<number> => {
    for (;;) {
      if (failure) throw failure;
      let best = 0;
      for (let t = 1; t < threads; t++) if (outstanding[t] < outstanding[best]) best = t;
      if (outstanding[best] < IN_FLIGHT) return best;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const alive = setInterval(keepAlive, HEARTBEAT_EVERY_MS);
  const results = Promise.all(runs.map((r) => r.result));
  results.catch((err: Error) => {
    failure = err;
    const w = wake;
    wake = undefined;
    w?.();
  });
  try {
    const read = readBatches(
      store,
      keys,
      async (m) => {
        if (m.kind === 'batch') {
          const t = await pick();
          outstanding[t] += 1;
          runs[t].send(m, [m.bytes.buffer as ArrayBuffer]);
        } else if (m.kind === 'damaged') runs[0].send(m);
      },
      opts.onFile,
    ).then(() => runs.forEach((r) => r.send({ kind: 'end' } satisfies LineThreadMessage)));
    const all = Promise.all([read, results]).then(([, r]) => r);
    const cancelled = activityCancelled();
    return await (cancelled ? Promise.race([all, cancelled]) : all);
  } finally {
    clearInterval(alive);
    failure ??= new Error('line threads stopped');
    await Promise.all(runs.map((r) => r.terminate()));
  }
}

/** Reads the files as batches of whole lines with their first line numbers (each batch its own buffer). */
async function readBatches(
  store: BlobStore,
  keys: readonly string[],
  emit: (m: LineThreadMessage) => Promise<void>,
  onFile?: (key: string) => void,
): Promise<void> {
  for (const key of keys) {
    let lineNo = 1;
    let parts: Buffer[] = [];
    let size = 0;
    let first = 1;
    const flush = async (): Promise<void> => {
      if (parts.length === 0) return;
      // One fresh buffer per batch (never a pooled one), so it can be moved to a thread.
      const bytes = new Uint8Array(size + parts.length - 1);
      let at = 0;
      for (let i = 0; i < parts.length; i++) {
        if (i > 0) bytes[at++] = 10;
        bytes.set(parts[i], at);
        at += parts[i].length;
      }
      parts = [];
      size = 0;
      await emit({ kind: 'batch', key, firstLineNo: first, bytes });
    };
    try {
      for await (const run of readLineRuns(store, key)) {
        if (parts.length === 0) first = lineNo;
        parts.push(run);
        size += run.length;
        lineNo += newlines(run) + 1;
        if (size >= BATCH_BYTES) await flush();
      }
      await flush();
    } catch (err) {
      if (!isDamagedLog(err)) throw err;
      await flush();
      await emit({ kind: 'damaged', key });
    }
    onFile?.(key);
  }
}
