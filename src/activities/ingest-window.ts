import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defaults } from '../config/defaults';
import { emptySummary, mergeSummaries, WindowSummarySchema } from '../monitoring/window-summary';
import type { WindowSummary } from '../monitoring/window-summary';
import { addDays, daysOf, WindowSchema, DatasetManifestSchema } from '../schemas';
import { IngestLimitsSchema, LineRulesSchema } from '../schemas/line-rules';
import type { FeatureKind, LineRules } from '../schemas/line-rules';
import { isLogPartName, layout, partitionDay } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { readJson, writeJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { activityCancelled, heartbeat, HEARTBEAT_EVERY_MS, keepAlive, lastHeartbeat } from './heartbeat';
import { ingestShard, PartResultSchema } from './ingest-shard';
import { BatchPool } from './ingest-lines';
import { BatchCredits, splitLogs } from './ingest-split';
import type { SplitFile } from './ingest-split';
import type { ShardEvents, ShardResult, ShardTask } from './ingest-shard';
import type { IngestThreadData, IngestThreadEvent } from './ingest-thread';
import { runThread } from './run-thread';
import type { ThreadRun } from './run-thread';

export const IngestInputSchema = z.object({
  modelId: z.string(),
  cycleId: z.string(),
  window: WindowSchema,
  /** Days before window.from whose predictions may receive outcomes maturing in the window. */
  lookbackDays: z.number().int().min(0).optional(),
  maxBadRowRate: z.number().min(0).max(1).optional(),
  /** Rows per columnar partition of the window (default: config ingest.partitionRows). */
  partitionRows: z.number().int().min(1).optional(),
  /** Shards (threads) to parse with; overrides LOOPKEEPER_INGEST_THREADS. 1 = on the calling thread. */
  threads: z.number().int().min(1).max(64).optional(),
});
export type IngestInput = z.infer<typeof IngestInputSchema>;

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

const IngestProgressSchema = z.object({ shards: z.number().int().min(1), parts: z.array(PartResultSchema) });
type IngestProgress = z.infer<typeof IngestProgressSchema>;

/**
 * The log parts under the day prefixes, and their bytes. Only files directly under a day's prefix are
 * parts: a folder named like one (`part-x.ndjson/`) or anything nested is left out with a warning, or
 * its rows would be counted twice (a copy in a folder) or read from a place nobody writes logs to.
 */
async function listKeys(
  deps: ActivityDeps,
  prefixes: string[],
  warnings: string[],
): Promise<{ keys: string[]; bytes: number }> {
  const keys: string[] = [];
  let bytes = 0;
  for (const prefix of prefixes) {
    for await (const info of deps.store.listSizes(prefix)) {
      const name = info.key.slice(prefix.length);
      if (!/\.ndjson(\.gz)?(\/|$)/.test(name)) continue;
      if (!isLogPartName(name)) {
        warnings.push(
          `ignored ${info.key}: not a log part (parts are .ndjson or .ndjson.gz files directly under ${prefix})`,
        );
        continue;
      }
      keys.push(info.key);
      bytes += info.size;
    }
  }
  return { keys: keys.sort(), bytes };
}

/**
 * The rules every line is checked by: the size limits of the policy's `ingest` section (defaults when
 * absent), and the feature kinds of the champion's fitted pipeline. Without a champion nothing is known
 * of the features, so nothing is inferred: only the limits apply.
 */
async function lineRules(deps: ActivityDeps, modelId: string): Promise<LineRules> {
  const key = layout.policy(modelId);
  let limits = IngestLimitsSchema.parse({});
  if (await deps.store.head(key)) {
    const raw = await readJson(deps.store, key, z.object({ ingest: z.unknown() }).partial());
    const parsed = IngestLimitsSchema.safeParse(raw.ingest ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw ApplicationFailure.nonRetryable(
        `${key}: invalid ingest section at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        'InvalidPolicy',
      );
    }
    limits = parsed.data;
  }
  const registry = new ModelRegistry(deps.store);
  const champion = (await registry.getAliases(modelId)).aliases.champion;
  if (!champion) return LineRulesSchema.parse(limits);
  const artifact = await registry.loadArtifact(modelId, champion);
  const featureKinds: Record<string, FeatureKind> = {};
  for (const f of artifact.pipeline.features) featureKinds[f.name] = f.kind;
  return LineRulesSchema.parse({ ...limits, featureKinds, featureSource: `champion ${champion}` });
}

/** How many shards to parse with: as configured, else one per core once the logs are big enough. */
function chooseShards(configured: number, bytes: number): number {
  if (configured > 0) return configured;
  if (bytes < defaults.ingestThreadMinBytes) return 1;
  return Math.max(1, Math.min(os.availableParallelism(), defaults.ingestMaxThreads));
}

/**
 * Runs each shard on its own thread, fed by one splitter on this thread that reads every file once;
 * one failing shard (or a failed read) stops the others and fails the step.
 */
async function runShardThreads(
  deps: ActivityDeps,
  tasks: ShardTask[],
  events: ShardEvents,
): Promise<ShardResult[]> {
  const credits = new BatchCredits(tasks.length, defaults.ingestBatchesInFlight);
  const pool = new BatchPool(defaults.ingestBatchBytes, defaults.ingestBatchBytes / 128);
  const runs: ThreadRun<ShardResult>[] = tasks.map((task) => {
    const data: IngestThreadData = {
      storeUri: deps.store.uri,
      s3: deps.config.store.s3,
      outageMinutes: deps.config.store.outageMinutes,
      task,
    };
    return runThread<IngestThreadEvent, ShardResult>(
      path.join(__dirname, 'ingest-thread'),
      data,
      (e) => {
        if (e.kind === 'ack') {
          pool.give(e.buffer);
          credits.give(task.shard);
        } else if (e.kind === 'part') events.part(e.part);
      },
      { youngGenerationMb: defaults.ingestThreadYoungGenerationMb },
    );
  });
  const { outcomeKeys, predictionKeys, windowDays } = tasks[0];
  const inWindow = new Set(windowDays);
  const all = tasks.map((t) => t.shard);
  const files: SplitFile[] = [
    ...outcomeKeys.map((key) => ({ key, lookback: false, shards: all })),
    ...predictionKeys.map((key) => ({
      key,
      lookback: !inWindow.has(partitionDay(key) ?? ''),
      shards: tasks.filter((t) => !t.done.some((p) => p.key === key)).map((t) => t.shard),
    })),
  ];
  let phase: 'outcomes' | 'predictions' = 'outcomes';
  const split = splitLogs({
    store: deps.store,
    files,
    shards: tasks.length,
    credits,
    pool,
    flushBytes: defaults.ingestBatchBytes / 2,
    send: (shard, message, transfer) => runs[shard].send(message, transfer),
    onProgress: (key, lineNo) => {
      if (phase === 'outcomes' && !outcomeKeys.includes(key)) phase = 'predictions';
      events.line({ phase, key, lineNo });
    },
  });
  // Threads cannot heartbeat; while they wait out a store outage this thread says the worker is alive.
  const alive = setInterval(keepAlive, HEARTBEAT_EVERY_MS);
  try {
    const finished = Promise.all([split, ...runs.map((r) => r.result)]);
    // A failed shard must also stop the splitter, which may be waiting for that shard's credit.
    finished.catch((err: Error) => credits.abort(err));
    const cancelled = activityCancelled();
    const [, ...results] = await (cancelled ? Promise.race([finished, cancelled]) : finished);
    return results as ShardResult[];
  } finally {
    clearInterval(alive);
    credits.abort(new Error('ingest threads stopped'));
    await split.catch(() => undefined);
    await Promise.all(runs.map((r) => r.terminate()));
  }
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
    const warnings: string[] = [];
    const outcomes = await listKeys(
      deps,
      windowDays.map((d) => layout.outcomeDay(modelId, d)),
      warnings,
    );
    const predictions = await listKeys(
      deps,
      daysOf(addDays(window.from, -lookbackDays), window.to).map((d) => layout.predictionDay(modelId, d)),
      warnings,
    );
    const outcomeKeys = outcomes.keys;
    const predictionKeys = predictions.keys;
    const bytes = outcomes.bytes + predictions.bytes;
    if (!predictionKeys.some((k) => inWindow.has(partitionDay(k) ?? ''))) {
      warnings.push(`no prediction logs for ${window.from}..${addDays(window.to, -1)}: the window is empty`);
    }
    if (outcomeKeys.length === 0)
      warnings.push(
        `no outcome logs matured in ${window.from}..${addDays(window.to, -1)}: nothing to learn from`,
      );

    const rules = await lineRules(deps, modelId);
    const shards = chooseShards(input.threads ?? deps.config.ingest.threads, bytes);
    // Heartbeat details come back from the server: validate them like any other input. Parts are
    // per shard, so progress recorded under another shard count is not reused.
    const resumed = IngestProgressSchema.safeParse(lastHeartbeat());
    const progress: IngestProgress =
      resumed.success && resumed.data.shards === shards ? resumed.data : { shards, parts: [] };
    // A part counts as done only if what it wrote is there (a crash may come between write and sync).
    const stored = await Promise.all(
      progress.parts.map(
        async (p) =>
          (!p.joinedKey || (await deps.store.head(p.joinedKey)) !== undefined) &&
          (!p.windowKey || (await deps.store.head(p.windowKey)) !== undefined) &&
          (await Promise.all(p.columnKeys.map((k) => deps.store.head(k)))).every((h) => h !== undefined),
      ),
    );
    progress.parts = progress.parts.filter((_, i) => stored[i]);
    const tasks: ShardTask[] = Array.from({ length: shards }, (_, shard) => ({
      modelId,
      cycleId,
      shard,
      shards,
      outcomeKeys,
      predictionKeys,
      windowDays,
      partitionRows: input.partitionRows ?? deps.config.ingest.partitionRows,
      done: progress.parts.filter((p) => p.shard === shard),
      rules,
    }));
    const events: ShardEvents = {
      line: (current) => heartbeat({ ...progress, current }),
      part: (part) => {
        progress.parts = [
          ...progress.parts.filter((p) => !(p.key === part.key && p.shard === part.shard)),
          part,
        ];
        heartbeat({ ...progress });
      },
    };
    const results =
      shards === 1
        ? [await ingestShard(deps.store, tasks[0], events)]
        : await runShardThreads(deps, tasks, events);

    const partOrder = new Map(predictionKeys.map((k, i) => [k, i]));
    const parts = results
      .flatMap((r) => r.parts)
      .sort((a, b) => (partOrder.get(a.key) ?? 0) - (partOrder.get(b.key) ?? 0) || a.shard - b.shard);
    const reasons = results.flatMap((r) => r.outcomeReasons);
    const quarantineKeys = results.flatMap((r) => r.outcomeQuarantineKeys);
    const outcomeLines = results.reduce((n, r) => n + r.outcomeLines, 0);
    const outcomeBad = results.reduce((n, r) => n + r.outcomeBad, 0);
    const duplicateOutcomes = results.reduce((n, r) => n + r.duplicateOutcomes, 0);
    const maturedIds = results.reduce((n, r) => n + r.maturedIds, 0);
    const summary = parts.reduce((acc, p) => mergeSummaries(acc, p.summary), emptySummary());
    const joinedRows = parts.reduce((n, p) => n + p.joined, 0);
    const lines = outcomeLines + parts.reduce((n, p) => n + p.lines, 0);
    const badRows = outcomeBad + parts.reduce((n, p) => n + p.bad, 0);
    for (const p of parts) {
      reasons.push(...p.firstReasons);
      if (p.quarantineKey) quarantineKeys.push(p.quarantineKey);
    }
    const orphanOutcomes = Math.max(0, maturedIds - joinedRows);
    const joinedKeys = parts.flatMap((p) => (p.joinedKey ? [p.joinedKey] : []));
    const windowKeys = parts.flatMap((p) => (p.windowKey ? [p.windowKey] : []));
    const windowColumnKeys = parts.flatMap((p) => p.columnKeys);
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
        /** The window's accepted prediction lines: what drift and skew read (never the raw logs). */
        windowKeys,
        /** The same rows as columnar partitions (Arrow IPC): what drift reads when they are there. */
        windowColumnKeys,
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
