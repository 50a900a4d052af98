import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { DriftAccumulatorSchema } from '../monitoring/histogram';
import { mergeWindowParts } from '../monitoring/line-jobs';
import { ReferenceProfileSchema } from '../monitoring/profile';
import { layout } from '../storage/layout';
import { readJson, writeJson } from '../storage/ndjson';
import { createBuildReferenceProfile } from './build-reference-profile';
import type { ComputeDriftInput, DriftSummary } from './compute-drift';
import { accumulatePartition, ComputeDriftInputSchema, finishDrift, windowInputs } from './compute-drift';
import type { ActivityDeps } from './deps';
import { heartbeat, whileHeartbeating } from './heartbeat';

/**
 * A cycle's drift as Temporal work that any number of workers can share: `prepareDrift` builds (or
 * finds) the reference profile and lists ingest's columnar partitions; one `driftPartition` per
 * partition counts it and stores its partial counts (results travel by blob key, never through
 * history); `reduceDrift` merges them in partition order (exactly: counts add, count lists are order-
 * and partition-invariant) and writes the reports. The workflow fans out (src/workflows/drift-fan-out.ts).
 */

/** What the fan-out needs: the profile and the partitions, or null partitions (read lines instead). */
export interface DriftPlan {
  profileKey: string;
  source: string;
  /** Ingest's columnar partitions of the window; null when there are none (computeDrift reads lines). */
  columnKeys: string[] | null;
}

export function createPrepareDrift(deps: ActivityDeps) {
  const buildReferenceProfile = createBuildReferenceProfile(deps);
  return async function prepareDrift(raw: ComputeDriftInput): Promise<DriftPlan> {
    const input = ComputeDriftInputSchema.parse(raw);
    return whileHeartbeating({ phase: 'prepare-drift' }, async () => {
      const ref = await buildReferenceProfile({ modelId: input.modelId, reference: input.reference });
      const { columnKeys } = await windowInputs(deps, input);
      return { profileKey: ref.profileKey, source: ref.source, columnKeys: columnKeys ?? null };
    });
  };
}

export const DriftPartitionInputSchema = z.object({
  modelId: z.string().min(1),
  runId: z.string().min(1),
  profileKey: z.string().min(1),
  columnKey: z.string().min(1),
  /** Position of the partition in the window's list: names the stored partial, orders the merge. */
  index: z.number().int().min(0),
});
export type DriftPartitionInput = z.infer<typeof DriftPartitionInputSchema>;

/** Stored partial counts of one partition. */
const PartialSchema = z.object({
  columnKey: z.string(),
  acc: DriftAccumulatorSchema,
  badRows: z.number().int(),
});

export function createDriftPartition(deps: ActivityDeps) {
  return async function driftPartition(raw: DriftPartitionInput): Promise<{ partKey: string; rows: number }> {
    const input = DriftPartitionInputSchema.parse(raw);
    const profile = await readJson(deps.store, input.profileKey, ReferenceProfileSchema);
    heartbeat({ phase: 'drift-partition', key: input.columnKey });
    const part = await accumulatePartition(deps.store, profile, input.columnKey);
    // Keyed by run and position: a retry rewrites the same object.
    const partKey = layout.report(input.modelId, input.runId, `drift-parts/${input.index}.json`);
    await writeJson(deps.store, partKey, { columnKey: input.columnKey, ...part });
    return { partKey, rows: part.acc.rows };
  };
}

export type ReduceDriftInput = ComputeDriftInput & {
  profileKey: string;
  source: string;
  /** The partitions' stored partial counts, in partition order. */
  partKeys: string[];
};

export function createReduceDrift(deps: ActivityDeps) {
  return async function reduceDrift(raw: ReduceDriftInput): Promise<DriftSummary> {
    const profile = await readJson(deps.store, raw.profileKey, ReferenceProfileSchema);
    return whileHeartbeating({ phase: 'reduce-drift', parts: raw.partKeys.length }, async () => {
      const parts = [];
      const columnKeys: string[] = [];
      for (const key of raw.partKeys) {
        const p = await readJson(deps.store, key, PartialSchema);
        if (p.acc.profileFingerprint !== profile.fingerprint)
          throw ApplicationFailure.nonRetryable(
            `${key} counts against another profile than ${raw.profileKey}`,
            'InvalidInput',
          );
        parts.push({ acc: p.acc, badRows: p.badRows });
        columnKeys.push(p.columnKey);
      }
      const merged = mergeWindowParts(profile, parts);
      const { profileKey, source, partKeys: _partKeys, ...input } = raw;
      return finishDrift(deps, input, { profileKey, source }, profile, merged, columnKeys);
    });
  };
}
