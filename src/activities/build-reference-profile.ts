import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { loadScorer, scoreRows } from '../scoring';
import { assertValidProfile, buildProfile, ReferenceProfileSchema } from '../monitoring/profile';
import type { ReferenceProfile } from '../monitoring/profile';
import { DatasetManifestSchema } from '../schemas/manifests';
import { parseLine } from '../schemas/parse-line';
import { isPlainValidPrediction } from '../schemas/fast-check';
import { JoinedRowSchema, LabeledRowSchema, PredictionRowSchema } from '../schemas/records';
import type { Features } from '../schemas/records';
import { daysOf, WindowSchema } from '../schemas/window';
import { findLatestHistory } from '../storage/history-dataset';
import { layout } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { readJson, readLineBatches, writeJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { ndjsonKeysUnder, readRows } from './read-rows';

/**
 * What to compare production windows with: a registered version's training data (default: the
 * champion's; the bootstrap history when there is no champion), or a pinned window of prediction logs
 * (e.g. the first week after launch).
 */
export const ReferenceSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('champion') }),
  z.object({ kind: z.literal('version'), version: z.string().min(1) }),
  z.object({ kind: z.literal('window'), from: z.iso.date(), to: z.iso.date() }),
]);
export type ReferenceSpec = z.infer<typeof ReferenceSpecSchema>;

export const BuildReferenceProfileInputSchema = z.object({
  modelId: z.string().min(1),
  /** Shorthand for `reference: { kind: 'version', version }`. */
  version: z.string().min(1).optional(),
  reference: ReferenceSpecSchema.optional(),
  /** Quantile bins per numeric feature. */
  bins: z.number().int().min(1).max(1000).optional(),
});
export type BuildReferenceProfileInput = z.input<typeof BuildReferenceProfileInputSchema>;

export interface BuildReferenceProfileResult {
  profileKey: string;
  /** Where the reference came from, e.g. "version v-abc", "history 7", "window 2026-06-01..2026-06-08". */
  source: string;
  rows: number;
  fingerprint: string;
  /** False when the profile already existed and was returned as is. */
  created: boolean;
}

/** Thrown (non-retryable) when there is nothing to build a reference from. */
export const NO_REFERENCE_DATA = 'NoReferenceData';

async function loadProfile(deps: ActivityDeps, key: string): Promise<ReferenceProfile> {
  return readJson(deps.store, key, ReferenceProfileSchema);
}

/** Features (and scores) of a window's prediction logs; shadow rows are left out (never served). */
async function windowRows(
  deps: ActivityDeps,
  modelId: string,
  from: string,
  to: string,
): Promise<{ features: Features[]; scores: Record<string, number>[] }> {
  const features: Features[] = [];
  const scores: Record<string, number>[] = [];
  for (const day of daysOf(from, to)) {
    for (const key of await ndjsonKeysUnder(deps.store, layout.predictionDay(modelId, day))) {
      for await (const batch of readLineBatches(deps.store, key)) {
        for (const { line } of batch) {
          const parsed = parseLine(line, PredictionRowSchema, isPlainValidPrediction);
          if (!parsed.ok || parsed.row.role === 'shadow') continue;
          features.push(parsed.row.features);
          scores.push(parsed.row.scores);
        }
      }
      heartbeat({ phase: 'reference', key });
    }
  }
  return { features, scores };
}

/** Features of the labelled rows behind a version's manifest.trainingData (joined parts, datasets, label batches). */
async function trainingRows(deps: ActivityDeps, trainingData: readonly string[]): Promise<Features[]> {
  const seen = new Set<string>();
  const out: Features[] = [];
  const add = (requestId: string, features: Features): void => {
    if (seen.has(requestId)) return;
    seen.add(requestId);
    out.push(features);
  };
  for (const key of trainingData) {
    if (key.endsWith('/manifest.json')) {
      if (!(await deps.store.head(key))) continue;
      const m = await readJson(deps.store, key, DatasetManifestSchema);
      const joinedKeys = Array.isArray(m.lineage.joinedKeys)
        ? m.lineage.joinedKeys.filter((k): k is string => typeof k === 'string')
        : [];
      if (joinedKeys.length > 0) {
        for await (const row of readRows(deps.store, joinedKeys, JoinedRowSchema))
          add(row.requestId, row.features);
      } else if (/\.ndjson(\.gz)?$/.test(m.dataKey) && (await deps.store.head(m.dataKey))) {
        for await (const row of readRows(deps.store, [m.dataKey], LabeledRowSchema))
          add(row.requestId, row.features);
      }
    } else if (/\.ndjson(\.gz)?$/.test(key) && (await deps.store.head(key))) {
      for await (const row of readRows(deps.store, [key], LabeledRowSchema)) add(row.requestId, row.features);
    }
    heartbeat({ phase: 'reference', key });
  }
  return out;
}

async function historyRows(
  deps: ActivityDeps,
  modelId: string,
): Promise<{ name: string; rows: Features[] } | null> {
  const history = await findLatestHistory(deps.store, modelId);
  if (!history) return null;
  const rows: Features[] = [];
  for await (const row of readRows(deps.store, [history.manifest.dataKey], LabeledRowSchema))
    rows.push(row.features);
  return { name: `history-${history.manifest.version}`, rows };
}

/**
 * Builds (once) and stores the reference profile drift and skew are measured against, and returns its
 * key. Idempotent: an existing profile object is returned as is, so every window of a version is
 * compared with the same bins.
 *
 * - a version (the champion by default): its training data (manifest.trainingData; the bootstrap history
 *   when that lists nothing readable), scored by the version itself → `models/{m}/versions/{v}/profile.json`
 * - no champion: the bootstrap history → `datasets/{m}/reference/history-{seed}/profile.json`
 * - a pinned window: that window's prediction logs with their scores → `datasets/{m}/reference/window-…/`
 */
export function createBuildReferenceProfile(deps: ActivityDeps) {
  return async function buildReferenceProfile(
    raw: BuildReferenceProfileInput,
  ): Promise<BuildReferenceProfileResult> {
    const input = BuildReferenceProfileInputSchema.parse(raw);
    const { modelId } = input;
    const bins = input.bins;
    const spec: ReferenceSpec =
      input.reference ?? (input.version ? { kind: 'version', version: input.version } : { kind: 'champion' });

    const existing = async (key: string, source: string): Promise<BuildReferenceProfileResult | null> => {
      if (!(await deps.store.head(key))) return null;
      let p: ReferenceProfile;
      try {
        p = await loadProfile(deps, key);
      } catch (err) {
        // A profile cached before profiles were checked on write (e.g. `mean: null` from an overflow)
        // fails its schema on every read: build it again rather than fail every later run.
        if ((err as Error).cause instanceof z.ZodError) return null;
        throw err;
      }
      return { profileKey: key, source, rows: p.rows, fingerprint: p.fingerprint, created: false };
    };
    const store = async (
      key: string,
      source: string,
      profile: ReferenceProfile,
    ): Promise<BuildReferenceProfileResult> => {
      await writeJson(deps.store, key, assertValidProfile(profile));
      return { profileKey: key, source, rows: profile.rows, fingerprint: profile.fingerprint, created: true };
    };
    const noData = (what: string): never => {
      throw ApplicationFailure.nonRetryable(
        `no reference data for model "${modelId}": ${what}`,
        NO_REFERENCE_DATA,
      );
    };

    if (spec.kind === 'window') {
      const window = WindowSchema.parse({ from: spec.from, to: spec.to });
      const key = layout.referenceProfile(modelId, `window-${window.from}_${window.to}`);
      const source = `window ${window.from}..${window.to}`;
      const found = await existing(key, source);
      if (found) return found;
      const { features, scores } = await windowRows(deps, modelId, window.from, window.to);
      if (features.length === 0) noData(`no prediction logs in ${source}`);
      return store(key, source, buildProfile(features, { bins, scoreRows: scores }));
    }

    const registry = new ModelRegistry(deps.store);
    const version =
      spec.kind === 'version' ? spec.version : (await registry.getAliases(modelId)).aliases.champion;
    if (version) {
      const key = layout.versionProfile(modelId, version);
      const source = `version ${version}`;
      const found = await existing(key, source);
      if (found) return found;
      const manifest = await registry.getManifest(modelId, version);
      let rows = await trainingRows(deps, manifest.trainingData);
      if (rows.length === 0) rows = (await historyRows(deps, modelId))?.rows ?? [];
      if (rows.length === 0)
        noData(`version ${version} lists no readable training data and there is no history`);
      const scorer = await loadScorer(registry, modelId, version);
      const scores = scoreRows(scorer, rows).map((r) => r.scores);
      return store(
        key,
        source,
        buildProfile(rows, { bins, scoreRows: scores, positiveClass: scorer.artifact.positiveClass }),
      );
    }

    const history = await findLatestHistory(deps.store, modelId);
    if (!history)
      return noData(
        'no champion and no bootstrap history under ' + layout.datasetKindPrefix(modelId, 'history'),
      );
    const name = `history-${history.manifest.version}`;
    const key = layout.referenceProfile(modelId, name);
    const found = await existing(key, name.replace('-', ' '));
    if (found) return found;
    const h = await historyRows(deps, modelId);
    if (!h || h.rows.length === 0) return noData(`the history ${history.manifestKey} is empty`);
    return store(key, name.replace('-', ' '), buildProfile(h.rows, { bins }));
  };
}
