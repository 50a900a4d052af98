import { ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { cycleSchedule } from '../../cli/admin-actions';
import type { BlobStore } from '../../storage/blob-store';
import { ModelRegistry } from '../../storage/model-registry';
import { reviewStats, rolloutStatus } from '../../workflows/messages';
import type { RolloutResult } from '../../workflows/rollout';
import { rolloutWorkflowId } from '../../workflows/rollout-ids';
import { reviewQueueWorkflowId } from '../../workflows/review-ids';
import { offlinePrecisionOf } from './efficacy';
import { loadCycles } from './load-cycles';
import { loadDrift } from './load-drift';
import { loadEfficacy } from './load-efficacy';
import { errorLine, settle, withDeadline } from './loaded';
import type { ModelPageData, QueueDepth, RolloutView, ScheduleView, VersionRow } from './model-data';

/** How much history one page shows. */
export interface PageLimits {
  cycles: number;
  driftReports: number;
  efficacyCycles: number;
}

export const DEFAULT_LIMITS: PageLimits = { cycles: 10, driftReports: 12, efficacyCycles: 12 };

/** What the loaders need: the shell's store and Temporal client. */
export interface ModelLoadDeps {
  store: BlobStore;
  client: Client;
  namespace: string;
}

/** Registered versions, newest first, with the aliases and rollout roles pointing at each. */
export async function loadVersions(store: BlobStore, modelId: string): Promise<VersionRow[]> {
  const registry = new ModelRegistry(store);
  const [versions, aliases, rollout] = await Promise.all([
    registry.listVersions(modelId),
    registry.getAliases(modelId),
    registry.getRollout(modelId),
  ]);
  const roles = new Map<string, string[]>();
  const add = (version: string, role: string) => roles.set(version, [...(roles.get(version) ?? []), role]);
  for (const [alias, version] of Object.entries(aliases.aliases)) add(version, alias);
  if (rollout.config.canary)
    add(rollout.config.canary.version, `canary ${rollout.config.canary.weightPercent}%`);
  if (rollout.config.shadow) add(rollout.config.shadow.version, 'shadow');
  return [...versions]
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
    .map((m) => ({
      version: m.version,
      createdAt: m.createdAt,
      blessed: m.blessing ? m.blessing.blessed : null,
      offlinePrecision: offlinePrecisionOf(m),
      roles: roles.get(m.version) ?? [],
    }));
}

/**
 * The rollout: what serving is told (rollout.json, always readable from the store) and the rollout
 * workflow's own status (its query while running, its result once completed, its failure otherwise).
 */
export async function loadRollout(deps: ModelLoadDeps, modelId: string): Promise<RolloutView> {
  const state = await new ModelRegistry(deps.store).getRollout(modelId);
  const workflowId = rolloutWorkflowId(modelId);
  const view: RolloutView = {
    workflowId,
    execution: null,
    status: null,
    note: null,
    config: state.config,
    doc: state.doc
      ? { updatedAt: state.doc.updatedAt, updatedBy: state.doc.updatedBy, reason: state.doc.reason }
      : null,
  };
  const handle = deps.client.workflow.getHandle(workflowId);
  try {
    view.execution = (await withDeadline(deps.client, () => handle.describe())).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return view;
    view.note = `rollout workflow not described: ${errorLine(err)}`;
    return view;
  }
  try {
    if (view.execution === 'RUNNING')
      view.status = await withDeadline(deps.client, () => handle.query(rolloutStatus));
    else if (view.execution === 'COMPLETED')
      view.status = ((await withDeadline(deps.client, () => handle.result())) as RolloutResult).status;
    else
      view.note = await withDeadline(deps.client, () => handle.result()).then(
        () => view.execution!.toLowerCase(),
        (err: unknown) => `${view.execution!.toLowerCase()}: ${errorLine(err)}`,
      );
  } catch (err) {
    view.note = `rollout status not answered (is a worker running?): ${errorLine(err)}`;
  }
  return view;
}

/** The model's cycle schedule: paused or not, the note (who paused it and why), the next runs. */
export async function loadSchedule(client: Client, modelId: string): Promise<ScheduleView> {
  const handle = cycleSchedule(client, modelId);
  try {
    const d = await withDeadline(client, () => handle.describe());
    return {
      scheduleId: handle.scheduleId,
      exists: true,
      paused: d.state.paused,
      note: d.state.note ?? null,
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      return {
        scheduleId: handle.scheduleId,
        exists: false,
        paused: false,
        note: null,
        nextRuns: [],
        running: [],
      };
    throw err;
  }
}

/** The review queue's depth, or null when the model has no queue yet. */
export async function loadQueue(client: Client, modelId: string): Promise<QueueDepth | null> {
  const handle = client.workflow.getHandle(reviewQueueWorkflowId(modelId));
  try {
    const s = await withDeadline(client, () => handle.query(reviewStats));
    return {
      pending: s.pending,
      claimed: s.claimed,
      backlog: s.backlog,
      escalated: s.escalated,
      expired: s.expired,
      done: s.done,
      oldestPendingAgeMs: s.oldestPendingAgeMs,
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Everything `/models/:id` shows; each part loads on its own, so one failing part does not hide the rest. */
export async function loadModelPage(
  deps: ModelLoadDeps,
  modelId: string,
  limits: PageLimits = DEFAULT_LIMITS,
): Promise<ModelPageData> {
  const registry = new ModelRegistry(deps.store);
  const [aliases, versions, rollout, cycles, drift, efficacy, queue, schedule] = await Promise.all([
    settle('aliases', async () => (await registry.getAliases(modelId)).aliases),
    settle('versions', () => loadVersions(deps.store, modelId)),
    settle('rollout', () => loadRollout(deps, modelId)),
    settle('cycles', () => loadCycles(deps.client, modelId, limits.cycles)),
    settle('drift reports', async () => {
      const { points, unreadable } = await loadDrift(deps.store, modelId, limits.driftReports);
      if (points.length === 0 && unreadable.length > 0) throw new Error(unreadable[0]);
      return points;
    }),
    settle('production quality', () => loadEfficacy(deps.store, modelId, limits.efficacyCycles)),
    settle('review queue', () => loadQueue(deps.client, modelId)),
    settle('schedule', () => loadSchedule(deps.client, modelId)),
  ]);
  return {
    modelId,
    loadedAt: new Date().toISOString(),
    aliases,
    versions,
    rollout,
    cycles,
    drift,
    efficacy,
    queue,
    schedule,
    namespace: deps.namespace,
  };
}
