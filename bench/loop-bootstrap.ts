import { isOnnxArtifact } from '../src/scoring/artifact';
import { trainFirstModel } from '../src/cli/commands/train';
import { writeStoredPolicy } from '../src/config/policy-file';
import type { ModelArtifact } from '../src/ml/model';
import type { ScenarioConfigInput } from '../src/simulate/scenario';
import { ScenarioConfigSchema } from '../src/simulate/scenario';
import { writeHistory } from '../src/simulate/write-logs';
import type { BlobStore } from '../src/storage/blob-store';
import { ModelRegistry } from '../src/storage/model-registry';

/** The loop bench's starting point: the static model, which is also the loop's first champion. */
export interface LoopBootstrap {
  version: string;
  artifact: ModelArtifact;
  metrics: Record<string, number>;
  /** The history dataset the version lists as its training data. */
  dataKey: string;
}

/**
 * Stores the policy, writes `historyDays` of pre-launch history as a dataset and trains, blesses and
 * promotes the first model from it the way `loopkeeper train` does, so the bootstrap champion lists
 * readable training data and drift gets a reference profile from its first week, like any champion.
 */
export async function bootstrapLoopChampion(
  store: BlobStore,
  opts: { modelId: string; scenario: ScenarioConfigInput; policy: unknown; historyDays?: number },
): Promise<LoopBootstrap> {
  const written = await writeStoredPolicy(store, opts.modelId, opts.policy);
  if (written.problems.length > 0) throw new Error(`bench policy: ${written.problems.join('; ')}`);
  const history = await writeHistory(
    store,
    opts.modelId,
    ScenarioConfigSchema.parse(opts.scenario),
    opts.historyDays ?? 28,
  );
  const first = await trainFirstModel(store, {
    modelId: opts.modelId,
    positiveClass: 'churn',
    seed: 1,
    promote: true,
    actor: 'bench',
    maxBadRowRate: 0,
  });
  if (!first.promoted) throw new Error(`bootstrap model not promoted: ${first.notes.join('; ')}`);
  const artifact = await new ModelRegistry(store).loadArtifact(opts.modelId, first.version);
  if (isOnnxArtifact(artifact)) throw new Error(`bootstrap model ${first.version} is not a linear model`);
  return { version: first.version, artifact, metrics: first.metrics, dataKey: history.dataKey };
}
