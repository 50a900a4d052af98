import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { loadScorer, scoreRows } from '../scoring';
import { assertValidProfile, ProfileCollector, ReferenceProfileSchema } from '../monitoring/profile';
import type { ProfileCollectorState, ReferenceProfile } from '../monitoring/profile';
import { DatasetManifestSchema } from '../schemas/manifests';
import { JoinedRowSchema, LabeledRowSchema } from '../schemas/records';
import type { Features } from '../schemas/records';
import { daysOf, WindowSchema } from '../schemas/window';
import { findLatestHistory } from '../storage/history-dataset';
import { layout } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { readJson, writeJson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { chooseLineThreads, runLineJob } from './line-threads';
import { ndjsonKeysUnder, readRows, totalSize } from './read-rows';

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

/**
 * Collects the features (and scores) of NDJSON files on parse threads (see line-threads.ts) and merges
 * the threads' collections: the rows are never held, only their number columns and value counts.
 */
async function collectLines(
  deps: ActivityDeps,
  keys: readonly string[],
  kind: 'labeled-reference' | 'prediction-reference',
): Promise<ProfileCollector> {
  const parts = await runLineJob<ProfileCollectorState>({
    store: deps.store,
    keys,
    spec: { kind },
    threads: chooseLineThreads(deps.config.ingest.threads, await totalSize(deps.store, keys)),
    onFile: (key) => heartbeat({ phase: 'reference', key }),
  });
  const collector = new ProfileCollector();
  for (const part of parts) collector.merge(part);
  return collector;
}

/** Served rows (features and scores) of a window's prediction logs; shadow rows are left out. */
async function windowRows(
  deps: ActivityDeps,
  modelId: string,
  from: string,
  to: string,
): Promise<ProfileCollector> {
  const keys: string[] = [];
  for (const day of daysOf(from, to))
    keys.push(...(await ndjsonKeysUnder(deps.store, layout.predictionDay(modelId, day))));
  return collectLines(deps, keys, 'prediction-reference');
}

/** Rows scored per call while a version's training data is profiled (bounds the memory held). */
const SCORE_CHUNK = 8192;

/**
 * Features of the labelled rows behind a version's manifest.trainingData (joined parts, datasets,
 * label batches), each request once (`dedupe`), scored by the version in chunks: rows are not held
 * beyond a chunk.
 */
async function trainingRows(
  deps: ActivityDeps,
  trainingData: readonly string[],
  score: (rows: Features[]) => Array<Record<string, number>>,
  dedupe = true,
): Promise<ProfileCollector> {
  const seen = new Set<string>();
  const collector = new ProfileCollector(64 * 1024);
  let chunk: Features[] = [];
  const flush = (): void => {
    for (const s of score(chunk)) collector.addScores(s);
    chunk = [];
  };
  const add = (requestId: string, features: Features): void => {
    if (dedupe) {
      if (seen.has(requestId)) return;
      seen.add(requestId);
    }
    collector.add(features);
    chunk.push(features);
    if (chunk.length >= SCORE_CHUNK) flush();
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
  flush();
  return collector;
}

/** The bootstrap history's features, or null when there is no history. */
async function historyRows(
  deps: ActivityDeps,
  modelId: string,
): Promise<{ name: string; collector: ProfileCollector } | null> {
  const history = await findLatestHistory(deps.store, modelId);
  if (!history) return null;
  const collector = await collectLines(deps, [history.manifest.dataKey], 'labeled-reference');
  return { name: `history-${history.manifest.version}`, collector };
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
      const collector = await windowRows(deps, modelId, window.from, window.to);
      if (collector.rows === 0) noData(`no prediction logs in ${source}`);
      return store(key, source, collector.finish({ bins }));
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
      const scorer = await loadScorer(registry, modelId, version);
      const score = (rows: Features[]): Array<Record<string, number>> =>
        scoreRows(scorer, rows).map((r) => r.scores);
      let collector = await trainingRows(deps, manifest.trainingData, score);
      if (collector.rows === 0) {
        // The bootstrap history stands in; its rows are scored by the version like training rows.
        const history = await findLatestHistory(deps.store, modelId);
        if (history) collector = await trainingRows(deps, [history.manifest.dataKey], score, false);
      }
      if (collector.rows === 0)
        noData(`version ${version} lists no readable training data and there is no history`);
      return store(key, source, collector.finish({ bins, positiveClass: scorer.artifact.positiveClass }));
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
    if (!h || h.collector.rows === 0) return noData(`the history ${history.manifestKey} is empty`);
    return store(key, name.replace('-', ' '), h.collector.finish({ bins }));
  };
}
