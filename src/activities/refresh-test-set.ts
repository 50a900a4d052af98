import { z } from 'zod';
import { refreshTestSet, TestSetRefreshConfigSchema } from '../policy/test-set-refresh';
import { DatasetManifestSchema, JoinedRowSchema, LabeledRowSchema, ModelIdSchema } from '../schemas';
import type { LabeledRow } from '../schemas';
import { trustedLabelledRow } from '../monitoring/window-summary';
import { layout } from '../storage/layout';
import { readJson, writeJson, writeNdjson } from '../storage/ndjson';
import { baseVersion, mayMovePointer } from './as-of';
import type { ActivityDeps } from './deps';
import { ndjsonKeysUnder, readAllRows, readRows } from './read-rows';

export const RefreshTestSetInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  joinedKeys: z.array(z.string()),
  /** Cycle time (ISO): rows are aged against it, not against the wall clock. */
  asOf: z.string(),
  config: TestSetRefreshConfigSchema.prefault({}),
  seed: z.number().int(),
});
export type RefreshTestSetInput = z.input<typeof RefreshTestSetInputSchema>;

/** Pointer to the test set in use: `datasets/{model}/test/current.json`. */
export const TestSetPointerSchema = z.object({
  version: z.string(),
  dataKey: z.string(),
  manifestKey: z.string(),
});
export type TestSetPointer = z.infer<typeof TestSetPointerSchema>;

export interface RefreshTestSetResult {
  /** The test set to evaluate on after this step (the new one, or the old one on refusal), or null. */
  testSet: TestSetPointer | null;
  refreshed: boolean;
  refusal: string | null;
  rows: number;
  added: number;
  kept: number;
  droppedAged: number;
  perClass: Record<string, number>;
  coverageDays: number;
}

const currentKey = (modelId: string): string => `datasets/${modelId}/test/current.json`;

/**
 * Test-set refresh step (essay: test sets age like production data). Drops rows older than the max age,
 * adds a stratified sample of recent labelled traffic (matured outcomes and human labels), keeps class
 * minimums and a full seasonal cycle, and publishes a new version with lineage — or refuses with the
 * reason and keeps the old set. The version is the cycle id, so a retry rewrites the same objects.
 */
export function createRefreshTestSet(deps: ActivityDeps) {
  return async function refreshTestSetStep(raw: RefreshTestSetInput): Promise<RefreshTestSetResult> {
    const input = RefreshTestSetInputSchema.parse(raw);
    const { modelId, cycleId } = input;
    const pointerInfo = await deps.store.head(currentKey(modelId));
    const stored = pointerInfo ? await readJson(deps.store, currentKey(modelId), TestSetPointerSchema) : null;
    // The base is the newest set an earlier cycle wrote by this cycle's time: not this cycle's own (a
    // retry or re-run starts from the same base as before), nor a later cycle's (temporal validation).
    const pointer = await baseVersion(
      deps.store,
      modelId,
      'test',
      stored,
      TestSetPointerSchema,
      cycleId,
      input.asOf,
    );
    const current = pointer ? await readAllRows(deps.store, [pointer.dataKey], LabeledRowSchema) : [];

    const candidates: LabeledRow[] = [];
    for await (const row of readRows(deps.store, input.joinedKeys, JoinedRowSchema)) {
      const labelled = trustedLabelledRow(row, cycleId);
      if (labelled) candidates.push(labelled);
    }
    for await (const row of readRows(
      deps.store,
      await ndjsonKeysUnder(deps.store, layout.labelsPrefix(modelId, 'human')),
      LabeledRowSchema,
    )) {
      candidates.push(row);
    }

    const result = refreshTestSet({
      current,
      candidates,
      now: input.asOf,
      config: input.config,
      seed: input.seed,
    });
    const summary = {
      rows: result.rows.length,
      added: result.added,
      kept: result.kept,
      droppedAged: result.dropped.aged,
      perClass: result.perClass,
      coverageDays: result.coverageDays,
    };
    if (result.refusal) return { testSet: pointer, refreshed: false, refusal: result.refusal, ...summary };

    const dataKey = layout.dataset(modelId, 'test', cycleId);
    const manifestKey = layout.datasetManifest(modelId, 'test', cycleId);
    await writeNdjson(deps.store, dataKey, result.rows);
    await writeJson(
      deps.store,
      manifestKey,
      DatasetManifestSchema.parse({
        kind: 'test',
        modelId,
        version: cycleId,
        dataKey,
        rows: result.rows.length,
        classCounts: result.perClass,
        createdAt: input.asOf,
        lineage: {
          ...result.lineage,
          previous: pointer,
          dropped: result.dropped,
          added: result.added,
          perDay: result.perDay,
        },
      }),
    );
    const next: TestSetPointer = { version: cycleId, dataKey, manifestKey };
    if (await mayMovePointer(deps.store, modelId, 'test', stored, input.asOf))
      await writeJson(deps.store, currentKey(modelId), next);
    return { testSet: next, refreshed: true, refusal: null, ...summary };
  };
}
