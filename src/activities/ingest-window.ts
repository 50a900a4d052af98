import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  countJoined,
  countPrediction,
  emptySummary,
  mergeSummaries,
  WindowSummarySchema,
} from '../monitoring/window-summary';
import type { WindowSummary } from '../monitoring/window-summary';
import {
  addDays,
  daysOf,
  isPlainValidOutcome,
  isPlainValidPrediction,
  OutcomeRowSchema,
  parseLine,
  PredictionRowSchema,
  WindowSchema,
  DatasetManifestSchema,
} from '../schemas';
import type { JoinedRow, OutcomeRow, QuarantinedRow } from '../schemas';
import { layout, partName, partitionDay } from '../storage/layout';
import { readLineBatches, writeJson } from '../storage/ndjson';
import { openNdjsonSink } from '../storage/ndjson-sink';
import type { NdjsonSink } from '../storage/ndjson-sink';
import type { ActivityDeps } from './deps';
import { heartbeat, lastHeartbeat } from './heartbeat';

export const IngestInputSchema = z.object({
  modelId: z.string(),
  cycleId: z.string(),
  window: WindowSchema,
  /** Days before window.from whose predictions may receive outcomes maturing in the window. */
  lookbackDays: z.number().int().min(0).optional(),
  maxBadRowRate: z.number().min(0).max(1).optional(),
});
export type IngestInput = z.infer<typeof IngestInputSchema>;

const PartResultSchema = z.object({
  key: z.string(),
  lines: z.number().int(),
  bad: z.number().int(),
  joined: z.number().int(),
  joinedKey: z.string().nullable(),
  quarantineKey: z.string().nullable(),
  summary: WindowSummarySchema,
  firstReasons: z.array(z.string()),
});
type PartResult = z.infer<typeof PartResultSchema>;

export const IngestResultSchema = z.object({
  manifestKey: z.string(),
  joinedKeys: z.array(z.string()),
  quarantineKeys: z.array(z.string()),
  predictionFiles: z.number().int(),
  outcomeFiles: z.number().int(),
  lines: z.number().int(),
  badRows: z.number().int(),
  joinedRows: z.number().int(),
  /** Outcomes in the window whose prediction was not found in the lookback (kept in the log, reported). */
  orphanOutcomes: z.number().int(),
  duplicateOutcomes: z.number().int(),
  summary: WindowSummarySchema,
  warnings: z.array(z.string()),
  firstReasons: z.array(z.string()),
});
export type IngestResult = z.infer<typeof IngestResultSchema>;

const IngestProgressSchema = z.object({ parts: z.array(PartResultSchema) });
type IngestProgress = z.infer<typeof IngestProgressSchema>;

type MaturedOutcome = JoinedRow['outcomes'][number];

async function listKeys(deps: ActivityDeps, prefixes: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of prefixes) {
    for await (const info of deps.store.list(prefix)) {
      if (/\.ndjson(\.gz)?$/.test(info.key)) keys.push(info.key);
    }
  }
  return keys.sort();
}

/**
 * The request id of a log line without parsing it, or undefined when it is not plainly there. Lookback
 * partitions (before the window) are only searched for requests whose outcomes matured now; their rows
 * were validated and quarantined by the cycle whose window held them, so they need not be parsed again.
 */
export function requestIdOfLine(line: string): string | undefined {
  const at = line.indexOf('"requestId":"');
  if (at < 0) return undefined;
  const start = at + 13;
  const end = line.indexOf('"', start);
  if (end < 0) return undefined;
  const id = line.slice(start, end);
  return id.includes('\\') ? undefined : id;
}

/** Streams one log file, validating each line; bad lines go to a quarantine part with their reasons. */
async function streamValidated<T>(
  deps: ActivityDeps,
  key: string,
  quarantineKey: string,
  parse: (line: string) => ReturnType<typeof parseLine<T>>,
  onRow: (row: T, line: string) => Promise<void> | void,
  onProgress: (lineNo: number) => void,
  /** When given, lines it rejects are skipped unparsed (counted, not validated, not quarantined). */
  wanted?: (line: string) => boolean,
): Promise<{ lines: number; bad: number; skipped: number; firstReasons: string[]; quarantined: boolean }> {
  let sink: NdjsonSink | undefined;
  let lines = 0;
  let bad = 0;
  let skipped = 0;
  const firstReasons: string[] = [];
  const quarantine = async (q: QuarantinedRow): Promise<void> => {
    sink ??= openNdjsonSink(deps.store, quarantineKey);
    bad++;
    if (firstReasons.length < 5) firstReasons.push(`${q.source}:${q.line}: ${q.reason}`);
    await sink.write(q);
  };
  const batches = readLineBatches(deps.store, key)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Array<{ line: string; lineNo: number }>>;
    try {
      next = await batches.next();
    } catch (err) {
      // Only a damaged file is a data problem (kept and reported); a failed read is retried by Temporal.
      if (!/truncated or corrupt gzip/.test((err as Error).message)) throw err;
      await quarantine({
        source: key,
        line: lines + 1,
        reason: `unreadable from here on: ${(err as Error).message}`,
        raw: '',
      });
      break;
    }
    if (next.done) break;
    for (const { line, lineNo } of next.value) {
      if (wanted && !wanted(line)) {
        skipped++;
        continue;
      }
      lines++;
      const parsed = parse(line);
      if (parsed.ok) await onRow(parsed.row, line);
      else await quarantine({ source: key, line: lineNo, reason: parsed.reason, raw: line.slice(0, 10_000) });
    }
    onProgress(lines);
  }
  if (sink) await sink.end();
  return { lines, bad, skipped, firstReasons, quarantined: sink !== undefined };
}

/**
 * Ingest step: streams the window's logs (never a whole file in memory), validates every row,
 * joins outcomes that matured in the window to their predictions (searched back `lookbackDays`),
 * writes joined parts + a manifest, and quarantines bad rows with their reasons. Resumes at part
 * granularity from its last heartbeat after a worker crash; parts are keyed by cycle, so a retry
 * rewrites the same objects.
 */
export function createIngestWindow(deps: ActivityDeps) {
  return async function ingestWindow(rawInput: IngestInput): Promise<IngestResult> {
    const input = IngestInputSchema.parse(rawInput);
    const { modelId, cycleId, window } = input;
    const lookbackDays = input.lookbackDays ?? deps.config.ingest.joinLookbackDays;
    const maxBadRowRate = input.maxBadRowRate ?? deps.config.ingest.maxBadRowRate;
    const now = deps.now ?? (() => new Date());

    const anyLog = await deps.store.listPage(layout.logsRoot(modelId), { limit: 1 });
    if (anyLog.items.length === 0) {
      throw ApplicationFailure.nonRetryable(
        `unknown model "${modelId}": the store ${deps.store.uri} has no logs under ${layout.logsRoot(modelId)}`,
        'UnknownModel',
      );
    }
    const windowDays = daysOf(window.from, window.to);
    const inWindow = new Set(windowDays);
    const outcomeKeys = await listKeys(
      deps,
      windowDays.map((d) => layout.outcomeDay(modelId, d)),
    );
    const predictionKeys = await listKeys(
      deps,
      daysOf(addDays(window.from, -lookbackDays), window.to).map((d) => layout.predictionDay(modelId, d)),
    );
    const warnings: string[] = [];
    if (!predictionKeys.some((k) => inWindow.has(partitionDay(k) ?? ''))) {
      warnings.push(`no prediction logs for ${window.from}..${addDays(window.to, -1)}: the window is empty`);
    }
    if (outcomeKeys.length === 0)
      warnings.push(
        `no outcome logs matured in ${window.from}..${addDays(window.to, -1)}: nothing to learn from`,
      );

    // Phase 1: outcomes that matured in the window, keyed by request id. Cheap to redo on a retry.
    const matured = new Map<string, MaturedOutcome[]>();
    let duplicateOutcomes = 0;
    let outcomeLines = 0;
    let outcomeBad = 0;
    const reasons: string[] = [];
    const quarantineKeys: string[] = [];
    for (const key of outcomeKeys) {
      const qKey = layout.quarantine(modelId, cycleId, partName(key));
      const r = await streamValidated<OutcomeRow>(
        deps,
        key,
        qKey,
        (line) => parseLine(line, OutcomeRowSchema, isPlainValidOutcome),
        (o) => {
          const list = matured.get(o.requestId) ?? [];
          if (
            list.some(
              (x) =>
                x.source === o.source && x.observedLabel === o.observedLabel && x.timestamp === o.timestamp,
            )
          ) {
            duplicateOutcomes++;
            return;
          }
          list.push({
            observedLabel: o.observedLabel,
            source: o.source,
            confidence: o.confidence,
            timestamp: o.timestamp,
          });
          matured.set(o.requestId, list);
        },
        (lineNo) => heartbeat({ phase: 'outcomes', key, lineNo }),
      );
      outcomeLines += r.lines;
      outcomeBad += r.bad;
      reasons.push(...r.firstReasons);
      if (r.quarantined) quarantineKeys.push(qKey);
    }

    // Phase 2: predictions, one joined part per log part; finished parts survive a crash.
    // Heartbeat details come back from the server: validate them like any other input.
    const resumed = IngestProgressSchema.safeParse(lastHeartbeat());
    const progress: IngestProgress = resumed.success ? resumed.data : { parts: [] };
    const done = new Map(progress.parts.map((p) => [p.key, p]));
    const joinedIds = new Set<string>();
    for (const key of predictionKeys) {
      const prior = done.get(key);
      if (prior && (!prior.joinedKey || (await deps.store.head(prior.joinedKey)))) {
        continue;
      }
      const name = partName(key);
      const joinedKey = layout.joinedPart(modelId, cycleId, name);
      const qKey = layout.quarantine(modelId, cycleId, name);
      const countsForWindow = inWindow.has(partitionDay(key) ?? '');
      const summary = emptySummary();
      let sink: NdjsonSink | undefined;
      let joined = 0;
      const r = await streamValidated(
        deps,
        key,
        qKey,
        (line) => parseLine(line, PredictionRowSchema, isPlainValidPrediction),
        async (p, line) => {
          // Shadow answers were never served: they are compared by the rollout, not learned from.
          if (p.role === 'shadow') return;
          if (countsForWindow) countPrediction(summary, p.predictedLabel, p.modelVersion);
          const outcomes = matured.get(p.requestId);
          if (!outcomes || joinedIds.has(p.requestId)) return;
          joinedIds.add(p.requestId);
          const row: JoinedRow = {
            requestId: p.requestId,
            timestamp: p.timestamp,
            modelVersion: p.modelVersion,
            entityId: p.entityId,
            features: p.features,
            predictedLabel: p.predictedLabel,
            scores: p.scores,
            slices: p.slices,
            outcomes: [...outcomes].sort((a, b) => a.timestamp.localeCompare(b.timestamp)),
          };
          countJoined(summary, row);
          sink ??= openNdjsonSink(deps.store, joinedKey);
          joined++;
          // The joined row is the prediction line plus its outcomes: splice them in rather than
          // re-serialising the whole row (the hot path of ingest). Readers parse it with JoinedRowSchema.
          const text = line.trimStart();
          if (text.startsWith('{') && !text.includes('"outcomes"')) {
            await sink.writeJsonLine(`{"outcomes":${JSON.stringify(row.outcomes)},${text.slice(1)}`);
          } else {
            await sink.write(row);
          }
        },
        (lineNo) => heartbeat({ ...progress, current: { key, lineNo } }),
        countsForWindow
          ? undefined
          : (line) => {
              const id = requestIdOfLine(line);
              return id !== undefined && matured.has(id);
            },
      );
      if (sink) await sink.end();
      const part: PartResult = {
        key,
        lines: r.lines,
        bad: r.bad,
        joined,
        joinedKey: sink ? joinedKey : null,
        quarantineKey: r.quarantined ? qKey : null,
        summary,
        firstReasons: r.firstReasons,
      };
      progress.parts = [...progress.parts.filter((p) => p.key !== key), part];
      done.set(key, part);
      heartbeat(progress);
    }
    const parts = predictionKeys.map((k) => done.get(k)).filter((p): p is PartResult => p !== undefined);

    const summary = parts.reduce((acc, p) => mergeSummaries(acc, p.summary), emptySummary());
    const joinedRows = parts.reduce((n, p) => n + p.joined, 0);
    const lines = outcomeLines + parts.reduce((n, p) => n + p.lines, 0);
    const badRows = outcomeBad + parts.reduce((n, p) => n + p.bad, 0);
    for (const p of parts) {
      reasons.push(...p.firstReasons);
      if (p.quarantineKey) quarantineKeys.push(p.quarantineKey);
    }
    const orphanOutcomes = Math.max(0, matured.size - joinedRows);
    const joinedKeys = parts.flatMap((p) => (p.joinedKey ? [p.joinedKey] : []));
    const manifestKey = layout.joinedManifest(modelId, cycleId);
    const manifest = DatasetManifestSchema.parse({
      kind: 'joined',
      modelId,
      version: cycleId,
      dataKey: layout.joinedManifest(modelId, cycleId).replace(/manifest\.json$/, ''),
      rows: joinedRows,
      classCounts: summary.observedClasses,
      window: { from: `${window.from}T00:00:00.000Z`, to: `${window.to}T00:00:00.000Z` },
      createdAt: now().toISOString(),
      lineage: {
        cycleId,
        predictionFiles: predictionKeys,
        outcomeFiles: outcomeKeys,
        joinedKeys,
        lookbackDays,
      },
    });
    await writeJson(deps.store, manifestKey, manifest);

    const result: IngestResult = {
      manifestKey,
      joinedKeys,
      quarantineKeys: [...new Set(quarantineKeys)].sort(),
      predictionFiles: predictionKeys.length,
      outcomeFiles: outcomeKeys.length,
      lines,
      badRows,
      joinedRows,
      orphanOutcomes,
      duplicateOutcomes,
      summary: summary satisfies WindowSummary,
      warnings,
      firstReasons: reasons.slice(0, 5),
    };
    if (lines > 0 && badRows / lines > maxBadRowRate) {
      throw ApplicationFailure.nonRetryable(
        `too many bad log rows: ${badRows} of ${lines} (${((100 * badRows) / lines).toFixed(1)}%) exceed the limit of ` +
          `${(100 * maxBadRowRate).toFixed(1)}% (LOOPKEEPER_MAX_BAD_ROW_RATE); all were quarantined under ` +
          `quarantine/${modelId}/${cycleId}/. First reasons: ${reasons.slice(0, 3).join(' | ')}`,
        'TooManyBadRows',
        { badRows, lines, quarantineKeys: result.quarantineKeys },
      );
    }
    return result;
  };
}
