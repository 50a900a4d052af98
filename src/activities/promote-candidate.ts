import { z } from 'zod';
import { ModelIdSchema } from '../schemas';
import { ModelRegistry } from '../storage/model-registry';
import type { ActivityDeps } from './deps';
import { whileHeartbeating } from './heartbeat';

export const PromoteCandidateInputSchema = z.object({
  modelId: ModelIdSchema,
  version: z.string().min(1),
  cycleId: z.string().min(1),
  /** `challenger`: park the blessed candidate; `champion`: promote it (old champion → previous). */
  to: z.enum(['challenger', 'champion']),
});
export type PromoteCandidateInput = z.infer<typeof PromoteCandidateInputSchema>;

/**
 * Registers a blessed candidate as challenger, or promotes it to champion through the registry (which
 * refuses unblessed versions and audits every alias change). Re-running after a crash is a no-op once
 * the alias already points at the version.
 */
export function createPromoteCandidate(deps: ActivityDeps) {
  return async function promoteCandidate(
    raw: PromoteCandidateInput,
  ): Promise<{ aliases: Record<string, string> }> {
    const input = PromoteCandidateInputSchema.parse(raw);
    return whileHeartbeating({ phase: 'promote', version: input.version }, () => promote(input));
  };

  async function promote(input: PromoteCandidateInput): Promise<{ aliases: Record<string, string> }> {
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    const current = await registry.getAliases(input.modelId);
    if (current.aliases[input.to] === input.version) return { aliases: current.aliases };
    const actor = `cycle ${input.cycleId}`;
    const result =
      input.to === 'champion'
        ? await registry.promote({
            modelId: input.modelId,
            version: input.version,
            actor,
            reason: 'blessed by the promotion gate',
          })
        : await registry.setAlias({
            modelId: input.modelId,
            alias: 'challenger',
            version: input.version,
            actor,
            reason: 'blessed candidate',
          });
    return { aliases: result.aliases };
  }
}
