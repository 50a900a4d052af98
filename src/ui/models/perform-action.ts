import { ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { rollbackModel, setSchedulePaused, signalRollout } from '../../cli/admin-actions';
import type { BlobStore } from '../../storage/blob-store';
import {
  AliasConflictError,
  AliasesUnreadableError,
  DanglingAliasError,
  NoPreviousVersionError,
  VersionNotFoundError,
} from '../../storage/model-registry';
import type { ModelAction } from './actions';

/** An action refused for a reason the person can act on (no rollout running, no schedule, ...). */
export class ActionRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionRefusedError';
  }
}

/** The web app's actor in audit records: `ui:{user name}`. */
export function uiActor(userName: string): string {
  return `ui:${userName}`;
}

/**
 * Runs an admin action through the CLI's code path with the person as actor and their reason: rollout
 * signals are recorded in the rollout's decisions, a rollback in the alias audit log, a schedule pause
 * in the schedule's note (`{reason} ({actor})`).
 *
 * @throws ActionRefusedError when there is nothing to act on; other errors are unexpected.
 */
export async function performAction(
  deps: { store: BlobStore; client: Client },
  modelId: string,
  action: ModelAction,
  who: { actor: string; reason: string },
): Promise<void> {
  try {
    switch (action) {
      case 'approve-rollout':
      case 'abort-rollout':
      case 'pause-rollout':
      case 'resume-rollout': {
        const signal = (
          {
            'approve-rollout': 'approve',
            'abort-rollout': 'abort',
            'pause-rollout': 'pause',
            'resume-rollout': 'resume',
          } as const
        )[action];
        await signalRollout(deps.client, modelId, signal, who);
        return;
      }
      case 'rollback':
        await rollbackModel(deps.store, { modelId, ...who });
        return;
      case 'pause-schedule':
      case 'unpause-schedule':
        await setSchedulePaused(
          deps.client,
          modelId,
          action === 'pause-schedule',
          `${who.reason} (${who.actor})`,
        );
        return;
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ActionRefusedError(`no running rollout of model "${modelId}"`);
    if (err instanceof ScheduleNotFoundError)
      throw new ActionRefusedError(`no schedule for model "${modelId}"`);
    if (
      err instanceof NoPreviousVersionError ||
      err instanceof VersionNotFoundError ||
      err instanceof AliasConflictError ||
      err instanceof DanglingAliasError ||
      err instanceof AliasesUnreadableError
    )
      throw new ActionRefusedError(err.message);
    throw err;
  }
}
