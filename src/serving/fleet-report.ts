/**
 * Fleet reports: every serving process publishes its own health to
 * `models/{model}/fleet/{instanceId}.json` every few seconds, so a rollout (which runs elsewhere) can
 * see what each replica actually serves: the versions it loaded per role, the versions it failed to
 * load (with the error), per role+version counters since start (requests, errors, latency p99) and,
 * for a shadow, how often it agreed with the champion on the very same requests.
 *
 * Errors are also kept in one-second buckets for the last `bucketRetentionMs`, because errored
 * requests never reach the prediction log and an analysis needs them for its own time range.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { z } from 'zod';
import { ModelIdSchema, TimestampSchema } from '../schemas/records';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import type { ServingModels, WatcherStatus } from './model-watcher';

/** Where fleet reports live (one object per serving instance, overwritten in place). */
export const fleetLayout = {
  prefix: layout.fleetPrefix,
  report: layout.fleetReport,
} as const;

/** Roles a counter can belong to. */
export const FleetRoleSchema = z.enum(['champion', 'canary', 'shadow']);
export type FleetRole = z.infer<typeof FleetRoleSchema>;

/** Counters of one role+version since the instance started. */
export const FleetRoleCountersSchema = z.object({
  role: FleetRoleSchema,
  version: z.string().min(1),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  /** Upper bound of the histogram bucket holding the 99th percentile of model latency; null: no data. */
  latencyP99Ms: z.number().nonnegative().nullable(),
});
export type FleetRoleCounters = z.infer<typeof FleetRoleCountersSchema>;

/** Errors of one role+version in one second (epoch ms of the second's start). */
export const FleetErrorBucketSchema = z.object({
  second: z.number().int().nonnegative(),
  role: FleetRoleSchema,
  version: z.string().min(1),
  count: z.number().int().positive(),
});
export type FleetErrorBucket = z.infer<typeof FleetErrorBucketSchema>;

/** Shadow vs champion on the same requests, since start. */
export const FleetShadowSummarySchema = z.object({
  version: z.string().min(1),
  comparisons: z.number().int().nonnegative(),
  agreements: z.number().int().nonnegative(),
  /** agreements / comparisons, null before the first comparison. */
  agreementRate: z.number().min(0).max(1).nullable(),
  /** Mean total-variation distance between the two score vectors (0 = identical answers). */
  meanScoreShift: z.number().min(0).nullable(),
  /** Mean score per class: shadow vs champion over the compared requests. */
  meanScores: z.record(z.string(), z.object({ shadow: z.number(), champion: z.number() })),
});
export type FleetShadowSummary = z.infer<typeof FleetShadowSummarySchema>;

/** models/{model}/fleet/{instanceId}.json */
export const FleetReportSchema = z.object({
  modelId: ModelIdSchema,
  instanceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
  startedAt: TimestampSchema,
  reportedAt: TimestampSchema,
  /** How often this instance writes its report: a report much older than this is stale. */
  intervalMs: z.number().positive(),
  models: z.object({
    champion: z.object({ version: z.string() }).nullable(),
    canary: z.object({ version: z.string(), weightPercent: z.number() }).nullable(),
    shadow: z.object({ version: z.string(), sampleShare: z.number() }).nullable(),
  }),
  loadFailures: z.object({
    total: z.number().int().nonnegative(),
    /** Versions the registry names that this instance is not serving because they failed to load. */
    pending: z.array(z.object({ role: FleetRoleSchema, version: z.string() })),
    recent: z.array(
      z.object({ at: z.string(), role: FleetRoleSchema, version: z.string(), error: z.string() }),
    ),
  }),
  roles: z.array(FleetRoleCountersSchema),
  shadow: z.array(FleetShadowSummarySchema),
  errorBuckets: z.array(FleetErrorBucketSchema),
});
export type FleetReport = z.infer<typeof FleetReportSchema>;

/** Latency histogram bounds (ms): 10 µs … ~20 s, ×1.25 per bucket. */
const BOUNDS: number[] = (() => {
  const out: number[] = [];
  for (let b = 0.01; b < 20_000; b *= 1.25) out.push(Math.round(b * 10_000) / 10_000);
  return out;
})();

class RoleCounter {
  requests = 0;
  errors = 0;
  private readonly buckets = new Array<number>(BOUNDS.length + 1).fill(0);
  private observed = 0;

  observe(latencyMs: number): void {
    this.requests++;
    this.observed++;
    let i = 0;
    while (i < BOUNDS.length && latencyMs > BOUNDS[i]) i++;
    this.buckets[i]++;
  }

  p99(): number | null {
    if (this.observed === 0) return null;
    const rank = Math.ceil(this.observed * 0.99);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) return i < BOUNDS.length ? BOUNDS[i] : BOUNDS[BOUNDS.length - 1];
    }
    return BOUNDS[BOUNDS.length - 1];
  }
}

class ShadowCounter {
  comparisons = 0;
  agreements = 0;
  shiftSum = 0;
  readonly sums = new Map<string, { shadow: number; champion: number }>();
}

/** Options of {@link FleetReporter}. */
export interface FleetReporterOptions {
  store: BlobStore;
  modelId: string;
  /** Stable id of this serving instance (default: hostname-pid-random). */
  instanceId?: string;
  /** How often the report is written (default 5000 ms). */
  intervalMs?: number;
  /** How long per-second error buckets are kept (default 15 minutes). */
  bucketRetentionMs?: number;
  /** What the instance serves and its watcher status, read at each write. */
  state: () => { models: ServingModels; watcher: WatcherStatus };
  now: () => Date;
}

/** A default instance id: safe as a key segment, unique per process start. */
export function defaultInstanceId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_') || 'host';
  return `${host}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/** Collects per-role counters in memory and writes the instance's report periodically. */
export class FleetReporter {
  readonly instanceId: string;
  readonly key: string;
  private readonly startedAt: string;
  private readonly intervalMs: number;
  private readonly retentionMs: number;
  private readonly counters = new Map<string, RoleCounter>();
  private readonly shadows = new Map<string, ShadowCounter>();
  private readonly errorBuckets = new Map<string, FleetErrorBucket>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Failed writes (the next interval retries; serving never fails because of a report). */
  writeFailures = 0;
  lastError: string | null = null;

  constructor(private readonly opts: FleetReporterOptions) {
    this.instanceId = opts.instanceId ?? defaultInstanceId();
    this.key = fleetLayout.report(opts.modelId, this.instanceId);
    this.startedAt = opts.now().toISOString();
    this.intervalMs = opts.intervalMs ?? 5000;
    if (!(this.intervalMs > 0))
      throw new Error(`fleet report interval must be positive, got ${this.intervalMs}`);
    this.retentionMs = opts.bucketRetentionMs ?? 15 * 60_000;
  }

  /** Starts periodic writes (the first one immediately). */
  start(): void {
    void this.write();
    this.timer = setInterval(() => void this.write(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes a last report. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.write();
  }

  /** One answered (or shadow-scored) request. */
  observe(role: FleetRole, version: string, latencyMs: number): void {
    this.counter(role, version).observe(latencyMs);
  }

  /** One request whose scoring failed for this role+version. */
  error(role: FleetRole, version: string): void {
    this.counter(role, version).errors++;
    const second = Math.floor(this.opts.now().getTime() / 1000) * 1000;
    const key = `${second}|${role}|${version}`;
    const bucket = this.errorBuckets.get(key);
    if (bucket) bucket.count++;
    else this.errorBuckets.set(key, { second, role, version, count: 1 });
  }

  /** A shadow answer next to the champion's answer for the same request. */
  compare(
    shadowVersion: string,
    champion: { predictedLabel: string; scores: Record<string, number> },
    shadow: { predictedLabel: string; scores: Record<string, number> },
  ): void {
    let s = this.shadows.get(shadowVersion);
    if (!s) this.shadows.set(shadowVersion, (s = new ShadowCounter()));
    s.comparisons++;
    if (champion.predictedLabel === shadow.predictedLabel) s.agreements++;
    let l1 = 0;
    for (const cls of new Set([...Object.keys(champion.scores), ...Object.keys(shadow.scores)])) {
      const a = champion.scores[cls] ?? 0;
      const b = shadow.scores[cls] ?? 0;
      l1 += Math.abs(a - b);
      let sum = s.sums.get(cls);
      if (!sum) s.sums.set(cls, (sum = { shadow: 0, champion: 0 }));
      sum.shadow += b;
      sum.champion += a;
    }
    s.shiftSum += l1 / 2;
  }

  /** The report as it would be written now. */
  report(): FleetReport {
    const now = this.opts.now();
    const { models, watcher } = this.opts.state();
    const oldest = now.getTime() - this.retentionMs;
    for (const [key, b] of this.errorBuckets) if (b.second < oldest) this.errorBuckets.delete(key);
    return {
      modelId: this.opts.modelId,
      instanceId: this.instanceId,
      startedAt: this.startedAt,
      reportedAt: now.toISOString(),
      intervalMs: this.intervalMs,
      models: {
        champion: models.champion ? { version: models.champion.version } : null,
        canary: models.canary
          ? { version: models.canary.model.version, weightPercent: models.canary.weightPercent }
          : null,
        shadow: models.shadow
          ? { version: models.shadow.model.version, sampleShare: models.shadow.sampleShare }
          : null,
      },
      loadFailures: {
        total: watcher.loadFailuresTotal,
        pending: watcher.pendingVersions,
        recent: watcher.recentLoadFailures,
      },
      roles: [...this.counters.entries()].map(([key, c]) => {
        const [role, version] = splitKey(key);
        return { role, version, requests: c.requests, errors: c.errors, latencyP99Ms: c.p99() };
      }),
      shadow: [...this.shadows.entries()].map(([version, s]) => ({
        version,
        comparisons: s.comparisons,
        agreements: s.agreements,
        agreementRate: s.comparisons ? s.agreements / s.comparisons : null,
        meanScoreShift: s.comparisons ? s.shiftSum / s.comparisons : null,
        meanScores: Object.fromEntries(
          [...s.sums.entries()].map(([cls, v]) => [
            cls,
            { shadow: v.shadow / s.comparisons, champion: v.champion / s.comparisons },
          ]),
        ),
      })),
      errorBuckets: [...this.errorBuckets.values()].sort((a, b) => a.second - b.second),
    };
  }

  /** Writes the report now (writes are serialised; a failure is counted, never thrown). */
  write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      try {
        await this.opts.store.put(this.key, `${JSON.stringify(this.report())}\n`);
        this.lastError = null;
      } catch (err) {
        this.writeFailures++;
        this.lastError = (err as Error).message;
      }
    });
    return this.writing;
  }

  private counter(role: FleetRole, version: string): RoleCounter {
    const key = `${role}|${version}`;
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = new RoleCounter()));
    return c;
  }
}

function splitKey(key: string): [FleetRole, string] {
  const i = key.indexOf('|');
  return [key.slice(0, i) as FleetRole, key.slice(i + 1)];
}

/** Every parseable fleet report of a model (unparseable ones are returned as `invalid` keys). */
export async function readFleetReports(
  store: BlobStore,
  modelId: string,
): Promise<{ reports: FleetReport[]; invalid: string[] }> {
  const reports: FleetReport[] = [];
  const invalid: string[] = [];
  for await (const info of store.list(fleetLayout.prefix(modelId))) {
    if (!info.key.endsWith('.json')) continue;
    try {
      const parsed = FleetReportSchema.safeParse(JSON.parse((await store.get(info.key)).toString('utf8')));
      if (parsed.success) reports.push(parsed.data);
      else invalid.push(info.key);
    } catch {
      // Deleted between list and get, or half-written by a crashed writer: not a report.
      invalid.push(info.key);
    }
  }
  return { reports, invalid };
}
