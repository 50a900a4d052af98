import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { DriftThresholdsSchema, computeDrift as driftReport } from '../monitoring/drift';
import type { DriftLevel, DriftReport, DriftThresholdsInput } from '../monitoring/drift';
import type { DriftAccumulator } from '../monitoring/histogram';
import { ReferenceProfileSchema } from '../monitoring/profile';
import type { ReferenceProfile } from '../monitoring/profile';
import { renderDriftHtml } from '../monitoring/report-html';
import { accumulateColumns, createAccumulator } from '../monitoring/histogram';
import { mergeWindowParts } from '../monitoring/line-jobs';
import type { WindowPart } from '../monitoring/line-jobs';
import { checkSkew, SkewConfigSchema } from '../monitoring/skew';
import type { SkewCheck, SkewConfigInput, SkewReport, SkewSeverity } from '../monitoring/skew';
import { DatasetManifestSchema } from '../schemas/manifests';
import { daysOf, WindowSchema } from '../schemas/window';
import type { BlobStore } from '../storage/blob-store';
import { decodePartition } from '../storage/columnar';
import { isLogPartName, layout } from '../storage/layout';
import { readJson, writeJson } from '../storage/ndjson';
import { createBuildReferenceProfile, ReferenceSpecSchema } from './build-reference-profile';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { chooseLineThreads, runLineJob } from './line-threads';
import { ndjsonKeysUnder, totalSize } from './read-rows';

export const ComputeDriftInputSchema = z.object({
  modelId: z.string().min(1),
  /** Reports go to reports/{model}/{runId}/drift.{json,html}: the cycle id or the monitor's workflow id. */
  runId: z.string().min(1),
  window: WindowSchema,
  /** Default: the champion's training data (the bootstrap history when there is no champion). */
  reference: ReferenceSpecSchema.optional(),
  /**
   * The cycle's ingest manifest: drift then reads the window's lines that ingest accepted (its
   * `lineage.windowKeys`), never the raw logs. Without it (the drift monitor) the raw logs are read, a
   * damaged file up to its damage, and bad lines are counted.
   */
  acceptedManifestKey: z.string().min(1).optional(),
  /**
   * Lines ingest quarantined in this window (with acceptedManifestKey): they are not in the accepted
   * lines, but they count towards the drift level's invalid-row share all the same.
   */
  quarantinedRows: z.number().int().min(0).optional(),
  /** Threads to parse the lines with (default: as ingest, config ingest.threads); the result is the same. */
  threads: z.number().int().min(1).max(64).optional(),
  /** Override the policy's `drift` section (features merged by name). */
  thresholds: z.unknown().optional(),
  /** Override the policy's `skew` section (features merged by name). */
  skew: z.unknown().optional(),
});
export type ComputeDriftInput = Omit<z.input<typeof ComputeDriftInputSchema>, 'thresholds' | 'skew'> & {
  thresholds?: DriftThresholdsInput;
  skew?: SkewConfigInput;
};

/** Small enough for workflow history and cycle status: the full reports live in the store. */
export interface DriftSummary {
  level: DriftLevel;
  skewAlert: boolean;
  blocksRetraining: boolean;
  /** Worst features first (≤ 5). */
  topFeatures: Array<{ feature: string; psi: number | null; level: DriftLevel }>;
  /** Alerts first (≤ 10). */
  skewFindings: Array<{ feature: string; check: SkewCheck; severity: SkewSeverity; detail: string }>;
  rows: number;
  /** Lines of the window's logs that failed validation (left out of the counts). */
  badRows: number;
  referenceKey: string;
  jsonKey: string;
  htmlKey: string;
}

/** The stored drift.json. */
export interface DriftReportDoc {
  modelId: string;
  runId: string;
  window: { from: string; to: string };
  reference: { key: string; source: string };
  partitions: string[];
  badRows: number;
  drift: DriftReport;
  skew: SkewReport;
}

/** Reads `config/{model}/policy.json`'s optional `drift` and `skew` sections (validated). */
async function policySections(
  deps: ActivityDeps,
  modelId: string,
): Promise<{ drift: DriftThresholdsInput; skew: SkewConfigInput }> {
  const key = layout.policy(modelId);
  if (!(await deps.store.head(key))) return { drift: {}, skew: {} };
  const raw = await readJson(deps.store, key, z.object({ drift: z.unknown(), skew: z.unknown() }).partial());
  const check = (section: 'drift' | 'skew', schema: z.ZodType): void => {
    if (raw[section] === undefined) return;
    const parsed = schema.safeParse(raw[section]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw ApplicationFailure.nonRetryable(
        `${key}: invalid ${section} section at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        'InvalidPolicy',
      );
    }
  };
  check('drift', DriftThresholdsSchema);
  check('skew', SkewConfigSchema);
  // The raw sections (not the parsed ones with defaults), so input overrides merge field by field.
  return {
    drift: (raw.drift ?? {}) as DriftThresholdsInput,
    skew: (raw.skew ?? {}) as SkewConfigInput,
  };
}

type WithFeatures = { features?: Record<string, unknown> };

function mergeConfig<T extends WithFeatures>(base: T, over: T | undefined): T {
  if (!over) return base;
  return { ...base, ...over, features: { ...(base.features ?? {}), ...(over.features ?? {}) } };
}

/**
 * What a window's drift reads: with the cycle's ingest manifest, the accepted lines and (when ingest
 * wrote them) their columnar partitions; without, the raw prediction logs of the window's days.
 */
export async function windowInputs(
  deps: ActivityDeps,
  input: z.infer<typeof ComputeDriftInputSchema>,
): Promise<{ keys: string[]; columnKeys?: string[] }> {
  const { modelId, window } = input;
  let keys: string[] = [];
  let columnKeys: string[] | undefined;
  if (input.acceptedManifestKey) {
    const manifest = await readJson(deps.store, input.acceptedManifestKey, DatasetManifestSchema);
    const listed = manifest.lineage.windowKeys;
    if (!Array.isArray(listed) || listed.some((k) => typeof k !== 'string'))
      throw ApplicationFailure.nonRetryable(
        `${input.acceptedManifestKey} lists no windowKeys: written by an older ingest, re-run the cycle's ingest`,
        'InvalidInput',
      );
    keys = listed as string[];
    const columns = manifest.lineage.windowColumnKeys;
    // Manifests written before ingest stored columns have none: their NDJSON lines are read instead.
    if (Array.isArray(columns) && columns.every((k) => typeof k === 'string'))
      columnKeys = columns as string[];
  } else {
    for (const day of daysOf(window.from, window.to)) {
      const prefix = layout.predictionDay(modelId, day);
      for (const key of await ndjsonKeysUnder(deps.store, prefix))
        if (isLogPartName(key.slice(prefix.length))) keys.push(key);
    }
  }
  return { keys, columnKeys };
}

/** Drift counts of one columnar partition (an Arrow IPC file ingest wrote). */
export async function accumulatePartition(
  store: BlobStore,
  profile: ReferenceProfile,
  key: string,
): Promise<WindowPart> {
  const part = decodePartition(await store.get(key));
  return { acc: accumulateColumns(createAccumulator(profile), part), badRows: 0 };
}

/**
 * Drift and skew of one window against the reference profile: streams the window's prediction
 * partitions one at a time into accumulators (heartbeating per partition) and merges them, then writes
 * drift.json (both reports) and the self-contained drift.html under reports/{model}/{runId}/ and returns
 * a small summary. Thresholds: the policy's `drift`/`skew` sections, overridden by the input's.
 */
export function createComputeDrift(deps: ActivityDeps) {
  const buildReferenceProfile = createBuildReferenceProfile(deps);
  return async function computeDrift(raw: ComputeDriftInput): Promise<DriftSummary> {
    const input = ComputeDriftInputSchema.parse(raw);
    const { modelId } = input;
    // The policy first: a bad drift/skew section fails before any data is read.
    await driftConfig(deps, raw);

    const ref = await buildReferenceProfile({ modelId, reference: input.reference });
    const profile = await readJson(deps.store, ref.profileKey, ReferenceProfileSchema);

    const { keys, columnKeys } = await windowInputs(deps, input);
    let merged: WindowPart;
    if (columnKeys) {
      // Ingest's columnar partitions, one at a time: memory is bounded by a partition, no line is parsed.
      const parts: WindowPart[] = [];
      for (const key of columnKeys) {
        parts.push(await accumulatePartition(deps.store, profile, key));
        heartbeat({ phase: 'drift', key });
      }
      merged = mergeWindowParts(profile, parts);
    } else {
      const bytes = await totalSize(deps.store, keys);
      // The lines are parsed on as many threads as ingest would use; each thread's counts merge exactly.
      const parts = await runLineJob<WindowPart>({
        store: deps.store,
        keys,
        spec: { kind: 'window', profile },
        threads: input.threads ?? chooseLineThreads(deps.config.ingest.threads, bytes),
        onFile: (key) => heartbeat({ phase: 'drift', key }),
      });
      merged = mergeWindowParts(profile, parts);
    }
    return finishDrift(deps, raw, ref, profile, merged, columnKeys ?? keys);
  };
}

/** The effective thresholds: the policy's `drift`/`skew` sections, overridden by the input's. */
async function driftConfig(
  deps: ActivityDeps,
  raw: ComputeDriftInput,
): Promise<{
  thresholds: ReturnType<typeof DriftThresholdsSchema.parse>;
  skewConfig: ReturnType<typeof SkewConfigSchema.parse>;
}> {
  const policy = await policySections(deps, raw.modelId);
  const thresholds = DriftThresholdsSchema.parse(
    mergeConfig(policy.drift as WithFeatures, raw.thresholds as WithFeatures | undefined),
  );
  const skewConfig = SkewConfigSchema.parse(
    mergeConfig(policy.skew as WithFeatures, raw.skew as WithFeatures | undefined),
  );
  return { thresholds, skewConfig };
}

/**
 * The reduce step: reports of the window's merged counts. Writes drift.json (both reports) and the
 * self-contained drift.html under reports/{model}/{runId}/ and returns the small summary.
 */
export async function finishDrift(
  deps: ActivityDeps,
  raw: ComputeDriftInput,
  ref: { profileKey: string; source: string },
  profile: ReferenceProfile,
  merged: WindowPart,
  partitions: string[],
): Promise<DriftSummary> {
  const input = ComputeDriftInputSchema.parse(raw);
  const { modelId, runId, window } = input;
  const { thresholds, skewConfig } = await driftConfig(deps, raw);
  const acc: DriftAccumulator = merged.acc;
  let badRows = merged.badRows;
  if (input.acceptedManifestKey) badRows += input.quarantinedRows ?? 0;
  const drift = driftReport(profile, acc, thresholds, { invalidRows: badRows });
  const skew = checkSkew(profile, acc, skewConfig);
  const jsonKey = layout.report(modelId, runId, 'drift.json');
  const htmlKey = layout.report(modelId, runId, 'drift.html');
  const doc: DriftReportDoc = {
    modelId,
    runId,
    window,
    reference: { key: ref.profileKey, source: ref.source },
    partitions,
    badRows,
    drift,
    skew,
  };
  await writeJson(deps.store, jsonKey, doc);
  await deps.store.put(htmlKey, Buffer.from(renderDriftHtml({ modelId, window, drift, skew })));

  const rank: Record<SkewSeverity, number> = { alert: 0, warn: 1, info: 2 };
  const findings = [...skew.findings].sort((a, b) => rank[a.severity] - rank[b.severity]);
  return {
    level: drift.level,
    skewAlert: skew.counts.alert > 0,
    blocksRetraining: skew.blocksRetraining,
    topFeatures: drift.features.slice(0, 5).map((f) => ({ feature: f.feature, psi: f.psi, level: f.level })),
    skewFindings: findings.slice(0, 10).map((f) => ({
      feature: f.feature,
      check: f.check,
      severity: f.severity,
      detail: f.detail,
    })),
    rows: acc.rows,
    badRows,
    referenceKey: ref.profileKey,
    jsonKey,
    htmlKey,
  };
}
