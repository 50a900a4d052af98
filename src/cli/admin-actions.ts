import type { Client, ScheduleHandle } from '@temporalio/client';
import type { BlobStore } from '../storage/blob-store';
import { ModelRegistry } from '../storage/model-registry';
import type { AliasResult } from '../storage/model-registry';
import { abortRollout, approveRollout, pauseRollout, resumeRollout } from '../workflows/messages';
import { cycleScheduleId } from '../workflows/cycle-ids';
import { rolloutWorkflowId } from '../workflows/rollout-ids';

/**
 * The operator actions the CLI and the web app share, so both leave the same audit trail: a rollout
 * decision recorded by the rollout workflow with its actor and reason, an alias change in the alias
 * audit log, a schedule's note. Callers turn Temporal's not-found errors into their own messages.
 */

/** Who did it and why: recorded with the action. */
export interface ActorReason {
  actor: string;
  reason: string;
}

/** The rollout signals an operator sends. */
export const ROLLOUT_SIGNALS = {
  approve: approveRollout,
  abort: abortRollout,
  pause: pauseRollout,
  resume: resumeRollout,
} as const;
export type RolloutSignalName = keyof typeof ROLLOUT_SIGNALS;

/**
 * Sends an operator's decision to the model's rollout workflow (`rollout-{model}`), which records it in
 * its decisions with the actor and reason. Returns the workflow id.
 *
 * @throws WorkflowNotFoundError when no rollout of the model is running.
 */
export async function signalRollout(
  client: Client,
  modelId: string,
  name: RolloutSignalName,
  who: ActorReason,
): Promise<string> {
  const workflowId = rolloutWorkflowId(modelId);
  await client.workflow
    .getHandle(workflowId)
    .signal(ROLLOUT_SIGNALS[name], { actor: who.actor, reason: who.reason });
  return workflowId;
}

/**
 * Rolls the model back: champion and previous switch (the old champion is kept as "rolled-back"), each
 * change in the alias audit log; a canary or shadow still routed is cleared too, since a rollback means
 * "the previous model alone".
 *
 * @throws the registry's errors (NoPreviousVersionError, AliasConflictError, ...).
 */
export async function rollbackModel(
  store: BlobStore,
  input: { modelId: string } & ActorReason,
): Promise<AliasResult> {
  const registry = new ModelRegistry(store);
  const result = await registry.rollback(input);
  const rollout = await registry.getRollout(input.modelId);
  if (rollout.config.canary || rollout.config.shadow)
    await registry.updateRollout({
      modelId: input.modelId,
      update: () => ({}),
      actor: input.actor,
      reason: input.reason,
    });
  return result;
}

/** The handle of the model's cycle schedule (`cycle-schedule-{model}`). */
export function cycleSchedule(client: Client, modelId: string): ScheduleHandle {
  return client.schedule.getHandle(cycleScheduleId(modelId));
}

/**
 * Pauses or unpauses the model's cycle schedule; the note (who and why) is kept on the schedule and
 * shown by `schedule describe`. Returns the schedule id.
 *
 * @throws ScheduleNotFoundError when the model has no schedule.
 */
export async function setSchedulePaused(
  client: Client,
  modelId: string,
  paused: boolean,
  note: string,
): Promise<string> {
  const handle = cycleSchedule(client, modelId);
  await (paused ? handle.pause(note) : handle.unpause(note));
  return handle.scheduleId;
}
