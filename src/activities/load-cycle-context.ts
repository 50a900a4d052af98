import { z } from 'zod';
import { checkStoreIdentity, StoreIdentitySchema } from '../config/installation';
import { loadPolicyForCycle } from '../config/policy-file';
import type { ModelPolicy } from '../policy/model-policy';
import { DatasetManifestSchema, ModelIdSchema } from '../schemas';
import { readJson } from '../storage/ndjson';
import { ModelRegistry } from '../storage/model-registry';
import { cycleTimeOf } from './as-of';
import type { ActivityDeps } from './deps';
import { whileHeartbeating } from './heartbeat';

export const LoadCycleContextInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string(),
  /** The store the cycle was started for; a worker on another store refuses it (`ForeignStore`). */
  store: StoreIdentitySchema.optional(),
});
export type LoadCycleContextInput = z.infer<typeof LoadCycleContextInputSchema>;

/** What a cycle needs to decide by: the model's policy, its champion, and its retrain record. */
export interface CycleContext {
  policy: ModelPolicy;
  policySource: 'stored' | 'defaults';
  champion: { version: string; createdAt: string } | null;
  /**
   * When each cycle-trained version was trained, in cycle time (the window's end, `lineage.asOf`), so
   * caps hold the same way in production and in a replay of simulated weeks.
   */
  retrainHistory: string[];
  lastRetrainAt: string | null;
  /** Labelled rows ingested by earlier cycles since the last retrain (the evidence cap). */
  labelledSinceLastRetrain: number;
}

/**
 * Runs first in a cycle, before any data is read: checks that the cycle belongs to this worker's store
 * (`ForeignStore` otherwise), reads the per-model policy (`config/{model}/policy.json`, validated
 * strictly; defaults when absent; `InvalidPolicy` otherwise, both non-retryable), the champion, and the
 * retrain history, so caps and gates change by editing config, not code.
 */
export function createLoadCycleContext(deps: ActivityDeps) {
  return async function loadCycleContext(raw: LoadCycleContextInput): Promise<CycleContext> {
    const { modelId, cycleId, store } = LoadCycleContextInputSchema.parse(raw);
    checkStoreIdentity(deps, store, cycleId);
    return whileHeartbeating({ phase: 'context' }, () => load(modelId, cycleId));
  };

  async function load(modelId: string, cycleId: string): Promise<CycleContext> {
    const { policy, source } = await loadPolicyForCycle(deps.store, modelId);
    const registry = new ModelRegistry(deps.store);
    const aliases = await registry.getAliases(modelId);
    const versions = await registry.listVersions(modelId);
    const championVersion = aliases.aliases.champion;
    const champion = championVersion ? versions.find((v) => v.version === championVersion) : undefined;
    // Only what existed at this cycle's time counts: a re-run of an older window (same cycle id) is not
    // capped by its own earlier run, nor by later cycles' retrains (temporal validation).
    const asOf = await cycleTimeOf(deps.store, modelId, cycleId);
    const retrainHistory = versions
      .filter((v) => v.lineage.trigger === 'cycle' && v.lineage.cycleId !== cycleId)
      .map((v) => (typeof v.lineage.asOf === 'string' ? v.lineage.asOf : v.createdAt))
      .filter((t) => asOf === undefined || t <= asOf)
      .sort();
    const lastRetrainAt = retrainHistory.at(-1) ?? null;
    // Evidence: labelled rows of the cycles whose windows ended after the last retrain.
    let labelledSinceLastRetrain = 0;
    for await (const info of deps.store.list(`datasets/${modelId}/joined/`)) {
      if (!info.key.endsWith('/manifest.json') || info.key.includes(`/${cycleId}/`)) continue;
      const m = await readJson(deps.store, info.key, DatasetManifestSchema);
      if (asOf !== undefined && m.window && m.window.to > asOf) continue;
      if (!lastRetrainAt || (m.window && m.window.to > lastRetrainAt)) labelledSinceLastRetrain += m.rows;
    }
    return {
      policy,
      policySource: source,
      champion: champion ? { version: champion.version, createdAt: champion.createdAt } : null,
      retrainHistory,
      lastRetrainAt,
      labelledSinceLastRetrain,
    };
  }
}
