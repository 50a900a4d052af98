import { z } from 'zod';
import type { StoredArtifact } from '../scoring/artifact';
import { challengeReasons, ChallengeSetConfigSchema, mergeChallengeRows } from '../policy/challenge-set';
import type { ChallengeCandidate } from '../policy/challenge-set';
import { findRareSlices } from '../policy/routing';
import { DatasetManifestSchema, JoinedRowSchema, LabeledRowSchema, ModelIdSchema } from '../schemas';
import type { Features, LabeledRow } from '../schemas';
import { trustedLabelledRow } from '../monitoring/window-summary';
import { layout } from '../storage/layout';
import { ModelRegistry } from '../storage/model-registry';
import { readJson, writeJson, writeNdjson } from '../storage/ndjson';
import { baseVersion, mayMovePointer } from './as-of';
import type { ActivityDeps } from './deps';
import { readAllRows, readRows } from './read-rows';

export const RefreshChallengeSetInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  joinedKeys: z.array(z.string()),
  asOf: z.string(),
  config: ChallengeSetConfigSchema.prefault({}),
  rareSliceMinShare: z.number().min(0).max(1).default(0.01),
});
export type RefreshChallengeSetInput = z.input<typeof RefreshChallengeSetInputSchema>;

export interface RefreshChallengeSetResult {
  challengeSetKey: string | null;
  rows: number;
  mined: number;
  byReason: Record<string, number>;
}

const pointerKey = (modelId: string): string => `datasets/${modelId}/challenge/current.json`;
const PointerSchema = z.object({ version: z.string(), dataKey: z.string() });

/** Which of a row's features the serving pipeline did not know, or saw far outside its training range. */
function oddFeatures(
  artifact: StoredArtifact | null,
  features: Features,
  z: number,
): { unseen: string[]; outOfRange: string[] } {
  const unseen: string[] = [];
  const outOfRange: string[] = [];
  for (const f of artifact?.pipeline.features ?? []) {
    const v = features[f.name];
    if (f.kind === 'categorical' && typeof v === 'string' && !f.vocabulary.includes(v)) unseen.push(f.name);
    if (f.kind === 'numeric' && typeof v === 'number' && Math.abs((v - f.mean) / f.std) > z)
      outOfRange.push(f.name);
  }
  return { unseen, outOfRange };
}

/**
 * Challenge-set step (essay §2.3): mines the window's rare slices and hard cases (high loss under the
 * served model, unseen categories, out-of-range values) into their own evaluation set, merged with the
 * previous one (aged out past maxAgeDays, newest maxRows kept). Versioned by cycle id, so a retry
 * rewrites the same objects; the pointer moves last.
 */
export function createRefreshChallengeSet(deps: ActivityDeps) {
  return async function refreshChallengeSet(
    raw: RefreshChallengeSetInput,
  ): Promise<RefreshChallengeSetResult> {
    const input = RefreshChallengeSetInputSchema.parse(raw);
    const { modelId, cycleId, config } = input;
    const registry = new ModelRegistry(deps.store);
    const champion = (await registry.getAliases(modelId)).aliases.champion;
    const artifact = champion ? await registry.loadArtifact(modelId, champion) : null;

    const labelled: Array<{ row: LabeledRow; candidate: ChallengeCandidate }> = [];
    for await (const row of readRows(deps.store, input.joinedKeys, JoinedRowSchema)) {
      const labelledRow = trustedLabelledRow(row, cycleId);
      if (!labelledRow) continue;
      const odd = oddFeatures(artifact, row.features, config.outOfRangeZ);
      labelled.push({
        row: labelledRow,
        candidate: {
          requestId: row.requestId,
          timestamp: row.timestamp,
          label: labelledRow.label,
          labelProbability: row.scores[labelledRow.label] ?? 0,
          slices: row.slices,
          unseenFeatures: odd.unseen,
          outOfRangeFeatures: odd.outOfRange,
        },
      });
    }
    const rare = findRareSlices(
      labelled.map((l) => ({ slices: l.row.slices })),
      input.rareSliceMinShare,
    );
    const mined: LabeledRow[] = [];
    for (const l of labelled) {
      const reasons = challengeReasons(l.candidate, rare, config);
      if (reasons.length) mined.push({ ...l.row, lineage: { cycleId, reasons: reasons.join(',') } });
    }

    const stored = (await deps.store.head(pointerKey(modelId)))
      ? await readJson(deps.store, pointerKey(modelId), PointerSchema)
      : null;
    // Built on the newest set an earlier cycle wrote by this cycle's time (see as-of.ts).
    const pointer = await baseVersion(
      deps.store,
      modelId,
      'challenge',
      stored,
      PointerSchema,
      cycleId,
      input.asOf,
    );
    const current = pointer ? await readAllRows(deps.store, [pointer.dataKey], LabeledRowSchema) : [];
    const rows = mergeChallengeRows(current, mined, input.asOf, config);
    const byReason: Record<string, number> = {};
    for (const r of rows)
      for (const reason of (r.lineage?.reasons ?? '').split(',').filter(Boolean))
        byReason[reason] = (byReason[reason] ?? 0) + 1;
    if (rows.length === 0) return { challengeSetKey: null, rows: 0, mined: 0, byReason };

    const dataKey = layout.dataset(modelId, 'challenge', cycleId);
    await writeNdjson(deps.store, dataKey, rows);
    const classCounts: Record<string, number> = {};
    for (const r of rows) classCounts[r.label] = (classCounts[r.label] ?? 0) + 1;
    await writeJson(
      deps.store,
      layout.datasetManifest(modelId, 'challenge', cycleId),
      DatasetManifestSchema.parse({
        kind: 'challenge',
        modelId,
        version: cycleId,
        dataKey,
        rows: rows.length,
        classCounts,
        createdAt: input.asOf,
        lineage: { previous: pointer, mined: mined.length, byReason, reference: champion ?? null },
      }),
    );
    if (await mayMovePointer(deps.store, modelId, 'challenge', stored, input.asOf))
      await writeJson(deps.store, pointerKey(modelId), { version: cycleId, dataKey });
    return { challengeSetKey: dataKey, rows: rows.length, mined: mined.length, byReason };
  };
}
