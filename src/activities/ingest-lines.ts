import { RequestIdScanner, shardOfRequestId } from '../schemas/line-request-id';

/**
 * A shard's lines out of one run of a log file: the bytes that hold them, and per line
 * [start, end, lineNo, idStart, idEnd] in `lines` (idStart = -1 when the bytes do not say the request
 * id plainly). Blank lines are left out; lineNo still counts them, 1-based, as an editor does.
 */
export interface LineBatch {
  bytes: Buffer;
  lines: Int32Array;
  count: number;
}

/** Ints per line in {@link LineBatch.lines}. */
export const LINE_INTS = 5;

/** A run's lines with the shard that owns each. */
export interface IndexedRun {
  lines: Int32Array;
  owners: Int32Array;
  count: number;
  /** Line number of the run's last line (blank or not). */
  lastLineNo: number;
}

const NEWLINE = 10;
const CR = 13;
const OPEN_BRACE = 123;

/**
 * Finds the lines of a run (UTF-8 bytes cut at newlines, see readLineRuns) and the shard that owns
 * each: the one its request id hashes to. Every line goes to exactly one shard, so N shards count and
 * join what one would. When the bytes do not say the id plainly the line is parsed here to learn it
 * (unparsable lines go to shard 0, which quarantines them), except in lookback files, where only
 * lines whose id is plain are looked at for joins (they were validated by the cycle of their own day).
 *
 * One indexer per reader: its arrays are reused, so a result is valid until the next call.
 */
export class RunIndexer {
  private readonly scanner = new RequestIdScanner();
  private lines = new Int32Array(4096 * LINE_INTS);
  private owners = new Int32Array(4096);

  index(run: Buffer, lineNoBefore: number, shards: number, lookback: boolean): IndexedRun {
    const scanner = this.scanner;
    let { lines, owners } = this;
    let count = 0;
    let lineNo = lineNoBefore;
    scanner.reset(run);
    for (let start = 0; start <= run.length;) {
      let end = run.indexOf(NEWLINE, start);
      if (end < 0) end = run.length;
      const lineEnd = end > start && run[end - 1] === CR ? end - 1 : end;
      const from = start;
      start = end + 1;
      lineNo++;
      if (lineEnd === from) continue;
      // Not plainly an object: blank lines (any Unicode spaces) are skipped, as readLines does.
      if (run[from] !== OPEN_BRACE && run.toString('utf8', from, lineEnd).trim() === '') continue;
      // One shard reading its window needs no id; lookback lines are looked up by theirs.
      const span = shards > 1 || lookback ? scanner.span(from, lineEnd) : undefined;
      let owner = 0;
      if (span) owner = scanner.shardOf(span[0], span[1], shards);
      else if (lookback) continue;
      else if (shards > 1) owner = ownerOfUnplainLine(run.toString('utf8', from, lineEnd), shards);
      if (count === owners.length) {
        const grownLines = new Int32Array(lines.length * 2);
        grownLines.set(lines);
        lines = this.lines = grownLines;
        const grownOwners = new Int32Array(owners.length * 2);
        grownOwners.set(owners);
        owners = this.owners = grownOwners;
      }
      const at = count * LINE_INTS;
      lines[at] = from;
      lines[at + 1] = lineEnd;
      lines[at + 2] = lineNo;
      lines[at + 3] = span ? span[0] : -1;
      lines[at + 4] = span ? span[1] : -1;
      owners[count++] = owner;
    }
    return { lines, owners, count, lastLineNo: lineNo };
  }
}

/** The shard of a line whose id the bytes do not say plainly: by its parsed id, else shard 0. */
function ownerOfUnplainLine(text: string, shards: number): number {
  try {
    const id = (JSON.parse(text) as { requestId?: unknown } | null)?.requestId;
    return typeof id === 'string' ? shardOfRequestId(id, shards) : 0;
  } catch {
    return 0;
  }
}

/**
 * Where a batch's bytes and line index live when it travels between threads: one ArrayBuffer holding
 * `lineSlots` line entries (LINE_INTS ints each) and then the line bytes. One transferable per batch,
 * which the shard hands back for reuse, so steady-state splitting allocates nothing.
 */
export interface BatchBuffer {
  buffer: ArrayBuffer;
  lineSlots: number;
}

/**
 * Batch buffers for reuse: shards hand each one back once they have handled its lines. Standard
 * buffers hold `bytes` of lines; a line longer than that gets a buffer of its own, not kept.
 */
export class BatchPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    private readonly bytes: number,
    private readonly lineSlots: number,
  ) {}

  /** A buffer whose byte region holds at least `minBytes`. */
  take(minBytes: number): BatchBuffer {
    const size = Math.max(this.bytes, minBytes);
    const buffer = size === this.bytes ? this.free.pop() : undefined;
    return {
      buffer: buffer ?? new ArrayBuffer(this.lineSlots * LINE_INTS * 4 + size),
      lineSlots: this.lineSlots,
    };
  }

  /** Returns a buffer for reuse (ones of a non-standard size are dropped). */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.lineSlots * LINE_INTS * 4 + this.bytes) this.free.push(buffer);
  }
}

/** The batch a shard receives, viewed over its transferred buffer. */
export function batchOf(b: BatchBuffer, count: number, bytesUsed: number): LineBatch {
  const at = b.lineSlots * LINE_INTS * 4;
  return {
    lines: new Int32Array(b.buffer, 0, count * LINE_INTS),
    bytes: Buffer.from(b.buffer, at, bytesUsed),
    count,
  };
}

/**
 * Gathers one shard's lines, run after run, into a {@link BatchBuffer} until it holds `flushBytes`
 * (then `full` is true and the caller sends it). Offsets are rebased to the batch's own bytes; each
 * line is followed by a newline, so `bytes[end]` is never part of a line.
 */
export class BatchBuilder {
  private current: BatchBuffer | undefined;
  private lines = new Int32Array(0);
  private bytes = Buffer.alloc(0);
  private count = 0;
  private used = 0;

  constructor(
    private readonly pool: BatchPool,
    private readonly flushBytes: number,
  ) {}

  /** Lines gathered so far. */
  get size(): number {
    return this.count;
  }

  /** Whether the batch has reached its flush size. */
  get full(): boolean {
    return this.used >= this.flushBytes;
  }

  /**
   * Appends the shard's lines of an indexed run. Returns batches that filled up on the way (a run may
   * not fit in what is left of the current one); the caller sends them in order.
   */
  add(
    run: Buffer,
    indexed: IndexedRun,
    shard: number,
  ): Array<{ batch: BatchBuffer; count: number; bytes: number }> {
    const out: Array<{ batch: BatchBuffer; count: number; bytes: number }> = [];
    const { lines, owners } = indexed;
    for (let k = 0; k < indexed.count; k++) {
      if (owners[k] !== shard) continue;
      const at = k * LINE_INTS;
      const from = lines[at];
      const len = lines[at + 1] - from;
      if (
        this.current &&
        (this.count === this.current.lineSlots || this.used + len + 1 > this.bytes.length)
      ) {
        const sent = this.flush();
        if (sent) out.push(sent);
        else {
          // An empty batch too small for this (very long) line: swap it for a bigger one.
          this.pool.give(this.current.buffer);
          this.current = undefined;
        }
      }
      if (!this.current) this.open(len + 1);
      const shift = this.used - from;
      run.copy(this.bytes, this.used, from, from + len);
      const o = this.count * LINE_INTS;
      this.lines[o] = this.used;
      this.lines[o + 1] = this.used + len;
      this.lines[o + 2] = lines[at + 2];
      this.lines[o + 3] = lines[at + 3] < 0 ? -1 : lines[at + 3] + shift;
      this.lines[o + 4] = lines[at + 4] < 0 ? -1 : lines[at + 4] + shift;
      this.used += len;
      this.bytes[this.used++] = NEWLINE;
      this.count++;
    }
    return out;
  }

  /** Hands over the gathered batch (undefined when empty) and starts afresh. */
  flush(): { batch: BatchBuffer; count: number; bytes: number } | undefined {
    const batch = this.current;
    if (!batch || this.count === 0) return undefined;
    const sent = { batch, count: this.count, bytes: this.used };
    this.current = undefined;
    this.count = 0;
    this.used = 0;
    return sent;
  }

  private open(minBytes: number): void {
    const b = this.pool.take(minBytes);
    const at = b.lineSlots * LINE_INTS * 4;
    this.current = b;
    this.lines = new Int32Array(b.buffer, 0, b.lineSlots * LINE_INTS);
    this.bytes = Buffer.from(b.buffer, at, b.buffer.byteLength - at);
  }
}
