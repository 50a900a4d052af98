/**
 * Applies one rollout decision to the registry: start or stop the shadow, set the canary weight, and
 * the two endings: promote (candidate → champion, old champion → previous, rollout config cleared) or
 * roll back (candidate removed from the rollout config, champion alias switched back if the candidate
 * had already taken it, the candidate recorded as `rolled-back`). Every change is audited with actor
 * `rollout {workflowId}` and the workflow's reason. Idempotent: each step compares before it writes,
 * so a retried activity (or a replayed decision) changes nothing the second time.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ModelIdSchema } from '../schemas/records';
import type { RolloutConfig } from '../storage/model-registry';
import { CHAMPION, ModelRegistry, PREVIOUS, ROLLED_BACK } from '../storage/model-registry';
import { rolloutActor } from '../workflows/rollout-ids';
import type { ActivityDeps } from './deps';

export const SetRolloutStateInputSchema = z.object({
  modelId: ModelIdSchema,
  candidateVersion: z.string().min(1),
  workflowId: z.string().min(1),
  reason: z.string().min(1),
  action: z.discriminatedUnion('kind', [
    /** Candidate scores `sampleShare` of requests, logged only. */
    z.object({ kind: z.literal('shadow'), sampleShare: z.number().min(0).max(1) }),
    /** Shadow off (canary untouched). */
    z.object({ kind: z.literal('shadow-off') }),
    /** Candidate serves the sticky `weightPercent` share (salted per rollout). */
    z.object({ kind: z.literal('canary'), weightPercent: z.number().min(0).max(100), salt: z.string() }),
    /** `force` promotes a candidate the gate did not bless (an audited override, see rollout --force-unblessed). */
    z.object({ kind: z.literal('promote'), force: z.object({ reason: z.string().min(1) }).optional() }),
    z.object({ kind: z.literal('rollback') }),
  ]),
});
export type SetRolloutStateInput = z.input<typeof SetRolloutStateInputSchema>;

/** The registry state after the change. */
export interface SetRolloutStateResult {
  config: RolloutConfig;
  aliases: Record<string, string>;
  /** The champion before this call (null: none). */
  champion: string | null;
  /** True when this call wrote anything. */
  changed: boolean;
}

/** Drops the rollout entries that name `version`. */
function without(config: RolloutConfig, version: string): RolloutConfig {
  const next: RolloutConfig = {};
  if (config.shadow && config.shadow.version !== version) next.shadow = config.shadow;
  if (config.canary && config.canary.version !== version) next.canary = config.canary;
  return next;
}

/** Builds the activity. */
export function createSetRolloutState(deps: ActivityDeps) {
  return async function setRolloutState(raw: SetRolloutStateInput): Promise<SetRolloutStateResult> {
    const input = SetRolloutStateInputSchema.parse(raw);
    const { modelId, candidateVersion: candidate, action, reason } = input;
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    const actor = rolloutActor(input.workflowId);
    const before = await registry.getAliases(modelId);
    const champion = before.aliases[CHAMPION] ?? null;
    let changed = false;
    const update = async (fn: (c: RolloutConfig) => RolloutConfig) => {
      const current = await registry.getRollout(modelId);
      const next = fn(current.config);
      if (JSON.stringify(next) === JSON.stringify(current.config)) return;
      await registry.updateRollout({ modelId, update: fn, actor, reason });
      changed = true;
    };

    if (action.kind === 'shadow' || action.kind === 'canary') {
      if (champion === null) {
        throw ApplicationFailure.nonRetryable(
          `model ${modelId} has no champion to roll out against`,
          'NoChampion',
        );
      }
      if (champion === candidate) {
        throw ApplicationFailure.nonRetryable(
          `${candidate} is already the champion of ${modelId}: nothing to roll out`,
          'AlreadyChampion',
        );
      }
    }

    switch (action.kind) {
      case 'shadow':
        await update((c) => ({ ...c, shadow: { version: candidate, sampleShare: action.sampleShare } }));
        break;
      case 'shadow-off':
        await update((c) => (c.shadow?.version === candidate ? { ...c, shadow: undefined } : c));
        break;
      case 'canary':
        await update((c) => ({
          ...c,
          canary: { version: candidate, weightPercent: action.weightPercent, salt: action.salt },
        }));
        break;
      case 'promote': {
        // Promote first, then clear: at no moment does the candidate's traffic fall back to the old model.
        if (champion !== candidate) {
          const result = await registry.promote({
            modelId,
            version: candidate,
            actor,
            reason,
            ...(action.force ? { force: action.force } : {}),
          });
          changed ||= result.changes.length > 0;
        }
        await update((c) => without(c, candidate));
        break;
      }
      case 'rollback': {
        // Route first: the candidate stops serving within one poll, whatever happens next.
        await update((c) => without(c, candidate));
        const now = await registry.getAliases(modelId);
        if (now.aliases[CHAMPION] === candidate && now.aliases[PREVIOUS] !== undefined) {
          const result = await registry.rollback({ modelId, actor, reason });
          changed ||= result.changes.length > 0;
        } else if (now.aliases[ROLLED_BACK] !== candidate) {
          // The candidate never became champion: keep a record of the rejection in the alias history.
          await registry.setAlias({ modelId, alias: ROLLED_BACK, version: candidate, actor, reason });
          changed = true;
        }
        break;
      }
    }
    const [after, rollout] = await Promise.all([registry.getAliases(modelId), registry.getRollout(modelId)]);
    return { config: rollout.config, aliases: after.aliases, champion, changed };
  };
}
