import { knownModels } from '../../cli/known-models';
import { ModelRegistry } from '../../storage/model-registry';
import { listCycles, loadCycle } from './load-cycles';
import type { ModelLoadDeps } from './load-model-page';
import { settle } from './loaded';
import type { ModelSummary } from './model-data';

/** What rollout.json tells serving, in a few words. */
function rolloutText(config: {
  canary?: { version: string; weightPercent: number };
  shadow?: { version: string };
}): string {
  const parts = [
    ...(config.canary ? [`canary ${config.canary.weightPercent}% ${config.canary.version}`] : []),
    ...(config.shadow ? [`shadow ${config.shadow.version}`] : []),
  ];
  return parts.join(', ') || 'none';
}

/**
 * Every model the store holds something for (logs, registry or policy), each with its champion, its
 * last cycle's outcome and what its rollout serves. Parts load independently per model.
 */
export async function loadModels(deps: ModelLoadDeps): Promise<ModelSummary[]> {
  const registry = new ModelRegistry(deps.store);
  const ids = await knownModels(deps.store);
  return Promise.all(
    ids.map(async (modelId) => {
      const [champion, lastCycle, rollout] = await Promise.all([
        settle('champion', async () => (await registry.getAliases(modelId)).aliases.champion ?? null),
        settle('last cycle', async () => {
          const [newest] = await listCycles(deps.client, modelId, 1);
          return newest ? loadCycle(deps.client, newest) : null;
        }),
        settle('rollout', async () => rolloutText((await registry.getRollout(modelId)).config)),
      ]);
      return { modelId, champion, lastCycle, rollout };
    }),
  );
}
