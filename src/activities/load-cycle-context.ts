import { z } from 'zod';
import { ModelPolicySchema } from '../policy/model-policy';
import type { ModelPolicy } from '../policy/model-policy';
import { DatasetManifestSchema, ModelIdSchema } from '../schemas';
import { layout } from '../storage/layout';
import { readJson } from '../storage/ndjson';
import { ModelRegistry } from '../storage/model-registry';
import { cycleTimeOf } from './as-of';
import type { ActivityDeps } from './deps';
import { whileHeartbeating } from './heartbeat';

export const LoadCycleContextInputSchema = z.object({ modelId: ModelIdSchema, cycleId: z.string() });
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
 * Reads the per-model policy (`config/{model}/policy.json`, validated; defaults when absent), the
 * champion, and the retrain history, so caps and gates change by editing config, not code.
 */
export function createLoadCycleContext(deps: ActivityDeps) {
  return async function loadCycleContext(raw: LoadCycleContextInput): Promise<CycleContext> {
    const { modelId, cycleId } = LoadCycleContextInputSchema.parse(raw);
    return whileHeartbeating({ phase: 'context' }, () => load(modelId, cycleId));
  };

  async function load(modelId: string, cycleId: string): Promise<CycleContext> {
    const policyKey = layout.policy(modelId);
    const stored = await deps.store.head(policyKey);
    const policy = stored
      ? await readJson(deps.store, policyKey, ModelPolicySchema)
      : ModelPolicySchema.parse({});
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
      policySource: stored ? 'stored' : 'defaults',
      champion: champion ? { version: champion.version, createdAt: champion.createdAt } : null,
      retrainHistory,
      lastRetrainAt,
      labelledSinceLastRetrain,
    };
  }
}
