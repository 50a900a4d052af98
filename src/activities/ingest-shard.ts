import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import {
  countJoined,
  countPrediction,
  emptySummary,
  WindowSummarySchema,
} from '../monitoring/window-summary';
import {
  isPlainValidOutcome,
  isPlainValidPrediction,
  OutcomeRowSchema,
  parseLine,
  PredictionRowSchema,
} from '../schemas';
import type { JoinedRow, LineResult, OutcomeRow, PredictionRow, QuarantinedRow } from '../schemas';
import { requestIdOfLine } from '../schemas/line-request-id';
import {
  FeatureKindBytes,
  lineTooLong,
  LineRulesSchema,
  MAX_DAYS_AFTER_PARTITION,
  MAX_DAYS_BEFORE_PARTITION,
  ruleProblem,
  timestampProblem,
} from '../schemas/line-rules';
import type { DayRange, LineRules } from '../schemas/line-rules';
import { addDays } from '../schemas/window';
import { readOutcomeLine } from '../schemas/outcome-line';
import { readPredictionLine } from '../schemas/prediction-line';
import type { PredictionFacts } from '../schemas/prediction-line';
import { defaults } from '../config/defaults';
import { PartitionBuilder } from '../monitoring/columns';
import type { BlobStore } from '../storage/blob-store';
import { encodePartition } from '../storage/columnar';
import { layout, partitionDay, partName } from '../storage/layout';
import { readLineBatches } from '../storage/ndjson';
import { openNdjsonSink } from '../storage/ndjson-sink';
import type { NdjsonSink } from '../storage/ndjson-sink';
import { storeFeed, UnreadableLogError } from './ingest-feed';
import type { LineFeed } from './ingest-feed';
import { LINE_INTS } from './ingest-lines';
import type { LineBatch } from './ingest-lines';

/** What one shard wrote and counted for one prediction log part. */
export const PartResultSchema = z.object({
  key: z.string(),
  shard: z.number().int().min(0),
  lines: z.number().int(),
  bad: z.number().int(),
  joined: z.number().int(),
  joinedKey: z.string().nullable(),
  /** The part's accepted in-window prediction lines (see layout.windowPart); null for lookback parts. */
  windowKey: z.string().nullable().default(null),
  /** The same lines as columnar partitions (layout.windowColumns), in order; empty for lookback parts. */
  columnKeys: z.array(z.string()).default([]),
  quarantineKey: z.string().nullable(),
  summary: WindowSummarySchema,
  firstReasons: z.array(z.string()),
});
export type PartResult = z.infer<typeof PartResultSchema>;

/** One shard's share of an ingest: the request ids that hash to `shard` of `shards`. */
export const ShardTaskSchema = z.object({
  modelId: z.string(),
  cycleId: z.string(),
  shard: z.number().int().min(0),
  shards: z.number().int().min(1),
  outcomeKeys: z.array(z.string()),
  predictionKeys: z.array(z.string()),
  /** Days of the window; prediction parts of other days are lookback, searched only for joins. */
  windowDays: z.array(z.string()),
  /** Rows per columnar partition of the window (default defaults.columnarPartitionRows). */
  partitionRows: z.number().int().min(1).optional(),
  /** Parts this shard finished in an earlier attempt (from the heartbeat), not redone. */
  done: z.array(PartResultSchema),
  /** Size limits and the champion's feature kinds, checked on every line. */
  rules: LineRulesSchema.prefault({}),
});
export type ShardTask = z.infer<typeof ShardTaskSchema>;

export const ShardResultSchema = z.object({
  shard: z.number().int(),
  outcomeLines: z.number().int(),
  outcomeBad: z.number().int(),
  outcomeReasons: z.array(z.string()),
  outcomeQuarantineKeys: z.array(z.string()),
  duplicateOutcomes: z.number().int(),
  /** Distinct request ids with matured outcomes that this shard owns. */
  maturedIds: z.number().int(),
  parts: z.array(PartResultSchema),
});
export type ShardResult = z.infer<typeof ShardResultSchema>;

/** Progress callbacks: `line` after each read chunk, `part` when a prediction part is stored. */
export interface ShardEvents {
  line(p: { phase: 'outcomes' | 'predictions'; key: string; lineNo: number }): void;
  part(p: PartResult): void;
}

type MaturedOutcome = JoinedRow['outcomes'][number];

/** A request's matured outcomes, and whether a prediction was already joined to them (once only). */
interface Matured {
  /** Most requests have one outcome; an array for each would cost ~150 bytes more per request. */
  first: MaturedOutcome;
  rest: MaturedOutcome[] | undefined;
  joined: boolean;
}

interface StreamCounts {
  lines: number;
  bad: number;
  firstReasons: string[];
  quarantined: boolean;
}

/**
 * Handles the lines of one log file that the feed gives this shard: each is validated, good rows go to
 * `onRow`, bad ones are quarantined with their reasons. `want` may pass over a line before it is read
 * (lookback lines no outcome needs).
 */
async function streamShardLines<T extends { requestId: string }>(
  store: BlobStore,
  lines: AsyncIterable<LineBatch>,
  key: string,
  quarantineKey: string,
  shardIndex: number,
  want: ((bytes: Buffer, idStart: number, idEnd: number) => boolean) | undefined,
  parse: (bytes: Buffer, start: number, end: number) => LineResult<T>,
  /** A good row, with its line's bytes [start, end) in `bytes`. */
  onRow: (row: T, bytes: Buffer, start: number, end: number) => Promise<void> | undefined,
  onBatch: (lineNo: number) => void,
): Promise<StreamCounts> {
  let sink: NdjsonSink | undefined;
  const counts: StreamCounts = { lines: 0, bad: 0, firstReasons: [], quarantined: false };
  const quarantine = async (q: QuarantinedRow): Promise<void> => {
    sink ??= openNdjsonSink(store, quarantineKey);
    counts.bad++;
    if (counts.firstReasons.length < 5) counts.firstReasons.push(`${q.source}:${q.line}: ${q.reason}`);
    await sink.write(q);
  };
  try {
    for await (const { bytes, lines: index, count } of lines) {
      // One check of the whole batch; only a batch with bad bytes is checked line by line.
      const text = count === 0 || isUtf8(bytes.subarray(index[0], index[(count - 1) * LINE_INTS + 1]));
      for (let k = 0; k < count; k++) {
        const at = k * LINE_INTS;
        const start = index[at];
        const end = index[at + 1];
        if (want && !want(bytes, index[at + 3], index[at + 4])) continue;
        counts.lines++;
        const parsed: LineResult<T> =
          text || isUtf8(bytes.subarray(start, end))
            ? parse(bytes, start, end)
            : { ok: false, reason: 'not valid UTF-8 text' };
        if (parsed.ok) {
          // Rows are handled synchronously; only a backpressured write hands back a promise to await.
          const pending = onRow(parsed.row, bytes, start, end);
          if (pending) await pending;
        } else {
          // Only the head of a huge line is kept: enough to see what it was.
          const raw = bytes.toString('utf8', start, Math.min(end, start + 40_000)).slice(0, 10_000);
          await quarantine({ source: key, line: index[at + 2], reason: parsed.reason, raw });
        }
      }
      if (count > 0) onBatch(index[(count - 1) * LINE_INTS + 2]);
    }
  } catch (err) {
    // Only a damaged file is a data problem (kept and reported); a failed read is retried by Temporal.
    if (!(err instanceof UnreadableLogError)) throw err;
    if (shardIndex === 0) {
      await quarantine({
        source: key,
        line: err.lineNo + 1,
        reason: `unreadable from here on: ${err.message}`,
        raw: '',
      });
    }
  }
  if (sink) {
    await sink.end();
    counts.quarantined = true;
  }
  return counts;
}

/** A validated prediction line: its facts, and the parsed row when the byte reader had to defer. */
type ReadPrediction = PredictionFacts & { full?: PredictionRow };

/**
 * An outcome line's reader under the rules: over-long lines are refused before parsing; lines short
 * enough that no string in them can break the size limit go to the byte reader, the rest through
 * JSON.parse + zod and the rules, which name the reason.
 */
function outcomeReader(
  rules: LineRules,
  days: DayRange | undefined,
): (bytes: Buffer, start: number, end: number) => LineResult<OutcomeRow> {
  return (bytes, start, end) => {
    if (end - start > rules.maxLineBytes) return { ok: false, reason: lineTooLong(end - start, rules) };
    const fast = end - start <= rules.maxStringBytes ? readOutcomeLine(bytes, start, end) : undefined;
    const r: LineResult<OutcomeRow> = fast
      ? { ok: true, row: fast }
      : parseLine(bytes.toString('utf8', start, end), OutcomeRowSchema, isPlainValidOutcome);
    if (!r.ok) return r;
    const problem = timestampProblem(r.row.timestamp, days) ?? (fast ? undefined : ruleProblem(r.row, rules));
    return problem ? { ok: false, reason: problem } : r;
  };
}

/** The days a line of the log part `key` may be stamped with (undefined when the key has no day). */
function dayRangeOf(key: string): DayRange | undefined {
  const day = partitionDay(key);
  if (!day) return undefined;
  return { day, from: addDays(day, -MAX_DAYS_BEFORE_PARTITION), to: addDays(day, MAX_DAYS_AFTER_PARTITION) };
}

/**
 * A prediction line's reader under the rules: from its bytes when they are plain (and short enough that
 * no string can break the limit), else through JSON.parse + zod + the rules (feature kinds, sizes, the
 * timestamp's day against the partition's).
 */
function predictionReader(
  rules: LineRules,
  days: DayRange | undefined,
  kinds: FeatureKindBytes | undefined,
): (bytes: Buffer, start: number, end: number) => LineResult<ReadPrediction> {
  const dayBytes = days && { from: Buffer.from(days.from), to: Buffer.from(days.to) };
  return (bytes, start, end) => {
    if (end - start > rules.maxLineBytes) return { ok: false, reason: lineTooLong(end - start, rules) };
    const facts =
      end - start <= rules.maxStringBytes
        ? readPredictionLine(bytes, start, end, kinds, dayBytes)
        : undefined;
    if (facts) return { ok: true, row: facts };
    const r = parseLine(bytes.toString('utf8', start, end), PredictionRowSchema, isPlainValidPrediction);
    if (!r.ok) return r;
    const problem = timestampProblem(r.row.timestamp, days) ?? ruleProblem(r.row, rules);
    if (problem) return { ok: false, reason: problem };
    const { requestId, modelVersion, predictedLabel, role } = r.row;
    return { ok: true, row: { requestId, modelVersion, predictedLabel, role, full: r.row } };
  };
}

/**
 * Writes a part's accepted window rows as columnar partitions of at most
 * `limit` rows each (defaults.columnarPartitionRows), so a reader's memory is bounded by the partition, not the part.
 */
class ColumnWriter {
  readonly keys: string[] = [];
  private builder = new PartitionBuilder(4096);
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: BlobStore,
    private readonly keyOf: (index: number) => string,
    private readonly limit: number,
  ) {}

  /** Adds a row; returns the write when this row filled a partition. */
  add(features: Record<string, unknown>, scores: Record<string, unknown>): Promise<unknown> | undefined {
    this.builder.add(features, scores);
    return this.builder.rows >= this.limit ? this.flush() : undefined;
  }

  private flush(): Promise<unknown> {
    if (this.builder.rows === 0) return this.writes;
    const key = this.keyOf(this.keys.length);
    this.keys.push(key);
    const bytes = encodePartition(this.builder.finish());
    this.builder = new PartitionBuilder(4096);
    this.writes = Promise.all([
      this.writes,
      this.store.put(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)),
    ]);
    return this.writes;
  }

  /** Writes what is left; resolves once every partition is stored. */
  end(): Promise<unknown> {
    return this.flush();
  }
}

/** Marks the requests of a stored joined part as joined, so a resumed shard does not join them twice. */
async function markJoined(store: BlobStore, key: string, matured: Map<string, Matured>): Promise<void> {
  for await (const batch of readLineBatches(store, key)) {
    for (const { line } of batch) {
      const id = requestIdOfLine(line) ?? (JSON.parse(line) as { requestId?: unknown }).requestId;
      const entry = typeof id === 'string' ? matured.get(id) : undefined;
      if (entry) entry.joined = true;
    }
  }
}

/**
 * One shard of the ingest step. Reads every outcome part of the window and every prediction part of
 * window + lookback, but parses only the lines whose request id it owns, so N shards on N threads share
 * the parsing (the cost of ingest) while each holds only its share of the matured outcomes in memory.
 * Writes one joined part and at most one quarantine part per (log part, shard); names carry the shard
 * only when there is more than one, so single-threaded ingest keeps its keys.
 */
export async function ingestShard(
  store: BlobStore,
  task: ShardTask,
  events: ShardEvents,
  feed: LineFeed = storeFeed(store),
): Promise<ShardResult> {
  const { modelId, cycleId, shard: index, shards: count } = task;
  const suffix = count > 1 ? `-s${index}of${count}` : '';

  const kinds = Object.keys(task.rules.featureKinds).length
    ? new FeatureKindBytes(task.rules.featureKinds)
    : undefined;

  // Phase 1: outcomes that matured in the window, keyed by request id. Cheap to redo on a retry.
  const matured = new Map<string, Matured>();
  const result: ShardResult = {
    shard: index,
    outcomeLines: 0,
    outcomeBad: 0,
    outcomeReasons: [],
    outcomeQuarantineKeys: [],
    duplicateOutcomes: 0,
    maturedIds: 0,
    parts: [],
  };
  for (const key of task.outcomeKeys) {
    const qKey = layout.quarantine(modelId, cycleId, partName(key) + suffix);
    const r = await streamShardLines<OutcomeRow>(
      store,
      feed(key, false),
      key,
      qKey,
      index,
      undefined,
      outcomeReader(task.rules, dayRangeOf(key)),
      (o) => {
        const outcome: MaturedOutcome = {
          observedLabel: o.observedLabel,
          source: o.source,
          confidence: o.confidence,
          timestamp: o.timestamp,
        };
        const entry = matured.get(o.requestId);
        if (!entry) {
          matured.set(o.requestId, { first: outcome, rest: undefined, joined: false });
          return undefined;
        }
        const same = (x: MaturedOutcome): boolean =>
          x.source === o.source && x.observedLabel === o.observedLabel && x.timestamp === o.timestamp;
        if (same(entry.first) || entry.rest?.some(same)) result.duplicateOutcomes++;
        else (entry.rest ??= []).push(outcome);
        return undefined;
      },
      (lineNo) => events.line({ phase: 'outcomes', key, lineNo }),
    );
    result.outcomeLines += r.lines;
    result.outcomeBad += r.bad;
    result.outcomeReasons.push(...r.firstReasons);
    if (r.quarantined) result.outcomeQuarantineKeys.push(qKey);
  }
  result.maturedIds = matured.size;

  // Phase 2: predictions, one joined part per log part; parts finished before a crash are kept.
  const inWindow = new Set(task.windowDays);
  const done = new Map(task.done.filter((p) => p.shard === index).map((p) => [p.key, p]));
  // The entry routing found for the line being handled, so the row need not look it up again.
  let routed: { id: string; entry: Matured } | undefined;
  let reported: Promise<unknown> = Promise.resolve();
  const wantLookback = (bytes: Buffer, idStart: number, idEnd: number): boolean => {
    // Lookback rows were validated by the cycle whose window held them: only joins are looked for.
    const id = bytes.toString('utf8', idStart, idEnd);
    const entry = matured.get(id);
    if (!entry || entry.joined) return false;
    routed = { id, entry };
    return true;
  };
  for (const key of task.predictionKeys) {
    // Parts stored before a crash (the activity checked they are there) are kept, not redone.
    const prior = done.get(key);
    if (prior) {
      if (prior.joinedKey) await markJoined(store, prior.joinedKey, matured);
      result.parts.push(prior);
      continue;
    }
    const name = partName(key) + suffix;
    const joinedKey = layout.joinedPart(modelId, cycleId, name);
    const qKey = layout.quarantine(modelId, cycleId, name);
    const countsForWindow = inWindow.has(partitionDay(key) ?? '');
    const summary = emptySummary();
    let sink: NdjsonSink | undefined;
    let windowSink: NdjsonSink | undefined;
    const windowKey = layout.windowPart(modelId, cycleId, name);
    const columns = new ColumnWriter(
      store,
      (k) => layout.windowColumns(modelId, cycleId, `${name}-c${k}`),
      task.partitionRows ?? defaults.columnarPartitionRows,
    );
    let joined = 0;
    const r = await streamShardLines<ReadPrediction>(
      store,
      feed(key, !countsForWindow),
      key,
      qKey,
      index,
      countsForWindow ? undefined : wantLookback,
      predictionReader(task.rules, dayRangeOf(key), kinds),
      (p, bytes, start, end) => {
        // Shadow answers were never served: they are compared by the rollout, not learned from.
        if (p.role === 'shadow') return;
        let copied: Promise<void> | undefined;
        if (countsForWindow) {
          countPrediction(summary, p.predictedLabel, p.modelVersion);
          // Later stages read the window from what ingest accepted, never from the raw logs.
          windowSink ??= openNdjsonSink(store, windowKey);
          copied = windowSink.writeLineSplice('{', bytes, start + 1, end);
          // And as columns: the one place production lines are parsed into values for later stages.
          const row = p.full ?? (JSON.parse(bytes.toString('utf8', start, end)) as PredictionRow);
          const flushed = columns.add(row.features, row.scores);
          if (flushed) copied = Promise.all([copied, flushed]).then(() => undefined);
        }
        const entry = routed?.id === p.requestId ? routed.entry : matured.get(p.requestId);
        routed = undefined;
        if (!entry || entry.joined) return copied;
        if (copied) return copied.then(() => joinRow(entry, p, bytes, start, end));
        return joinRow(entry, p, bytes, start, end);
      },
      (lineNo) => events.line({ phase: 'predictions', key, lineNo }),
    );
    function joinRow(
      entry: Matured,
      p: ReadPrediction,
      bytes: Buffer,
      start: number,
      end: number,
    ): Promise<void> | undefined {
      entry.joined = true;
      const sorted = entry.rest
        ? [entry.first, ...entry.rest].sort((a, b) => a.timestamp.localeCompare(b.timestamp))
        : [entry.first];
      countJoined(summary, { predictedLabel: p.predictedLabel, outcomes: sorted });
      sink ??= openNdjsonSink(store, joinedKey);
      joined++;
      // The joined row is the prediction line plus its outcomes: splice them in rather than
      // re-serialising the whole row (the hot path of ingest). Readers parse it with JoinedRowSchema.
      // Lines the byte reader accepted are a plain object of the schema's keys; others are checked.
      const full = p.full;
      if (!full || (bytes[start] === 123 && !bytes.subarray(start, end).includes('"outcomes"'))) {
        return sink.writeLineSplice(`{"outcomes":${JSON.stringify(sorted)},`, bytes, start + 1, end);
      } else {
        const row: JoinedRow = {
          requestId: full.requestId,
          timestamp: full.timestamp,
          modelVersion: full.modelVersion,
          entityId: full.entityId,
          features: full.features,
          predictedLabel: full.predictedLabel,
          scores: full.scores,
          slices: full.slices,
          outcomes: sorted,
        };
        return sink.write(row);
      }
    }
    const part: PartResult = {
      key,
      shard: index,
      lines: r.lines,
      bad: r.bad,
      joined,
      joinedKey: sink ? joinedKey : null,
      windowKey: windowSink ? windowKey : null,
      columnKeys: columns.keys,
      quarantineKey: r.quarantined ? qKey : null,
      summary,
      firstReasons: r.firstReasons,
    };
    // The next part is read while this one is flushed and synced. Parts are reported in order, and
    // only once stored, so a resumed attempt skips exactly the parts that are there.
    const stored = Promise.all([reported, sink?.end(), windowSink?.end(), columns.end()]).then(() => {
      result.parts.push(part);
      events.part(part);
    });
    stored.catch(() => undefined);
    reported = stored;
  }
  await reported;
  return result;
}
