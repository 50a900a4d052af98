import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ComputeDriftInput, DriftSummary } from '../activities/compute-drift';
import { driftActivityOptions } from './activity-options';

const { prepareDrift, driftPartition, reduceDrift } = proxyActivities<Activities>(driftActivityOptions);

/** Partition activities running at once per workflow: any worker on the task queue may take each. */
export const DRIFT_PARTITION_CONCURRENCY = 8;
/** Beyond this many partitions, groups of this size run in child workflows, keeping each history small. */
export const DRIFT_PARTITIONS_PER_WORKFLOW = 200;

/** Runs `fn` over `items` with at most `limit` running at once; results in item order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Workflow id of the child that counts group `g` of a run's partitions. */
export const driftGroupWorkflowId = (parentId: string, g: number): string => `${parentId}-drift-${g}`;

/** Input of one group of partitions (a child workflow when the window has many). */
export interface DriftPartitionGroupInput {
  modelId: string;
  runId: string;
  profileKey: string;
  columnKeys: string[];
  /** Index of the group's first partition in the window's list. */
  offset: number;
}

/** Child workflow: counts a group of partitions, returns their partial-count keys in order. */
export async function driftPartitionGroup(input: DriftPartitionGroupInput): Promise<string[]> {
  const parts = await mapLimited(input.columnKeys, DRIFT_PARTITION_CONCURRENCY, (columnKey, i) =>
    driftPartition({
      modelId: input.modelId,
      runId: input.runId,
      profileKey: input.profileKey,
      columnKey,
      index: input.offset + i,
    }),
  );
  return parts.map((p) => p.partKey);
}

/**
 * A cycle's drift fanned out over ingest's columnar partitions: one activity per partition (bounded
 * concurrency) in child workflows of up to {@link DRIFT_PARTITIONS_PER_WORKFLOW} partitions each (so
 * no history grows with the window), then one reduce. Returns null when the window has no columnar partitions (an older ingest): the
 * caller then runs computeDrift over the lines.
 */
export async function fanOutDrift(input: ComputeDriftInput): Promise<DriftSummary | null> {
  const plan = await prepareDrift(input);
  if (plan.columnKeys === null || plan.columnKeys.length === 0) return null;
  const keys = plan.columnKeys;
  const base = { modelId: input.modelId, runId: input.runId, profileKey: plan.profileKey };
  // Each group (all partitions when there are few) is a child workflow, so the cycle's history holds
  // one event group per child, not per partition.
  const groups: DriftPartitionGroupInput[] = [];
  for (let at = 0; at < keys.length; at += DRIFT_PARTITIONS_PER_WORKFLOW)
    groups.push({ ...base, columnKeys: keys.slice(at, at + DRIFT_PARTITIONS_PER_WORKFLOW), offset: at });
  const parent = workflowInfo().workflowId;
  const results = await mapLimited(groups, 4, (args, g) =>
    executeChild(driftPartitionGroup, { args: [args], workflowId: driftGroupWorkflowId(parent, g) }),
  );
  const partKeys = results.flat();
  return reduceDrift({ ...input, profileKey: plan.profileKey, source: plan.source, partKeys });
}
