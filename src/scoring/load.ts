/** Loading a registered version as a {@link Scorer}: its files from the registry, then the scorer. */
import type { ModelRegistry } from '../storage/model-registry';
import type { Scorer } from './scorer';
import { createScorer } from './scorer';

/**
 * Loads version `version` of `modelId` (model.json, and model.onnx with its sha256 checked for the onnx
 * kind) and returns a warmed scorer. Throws VersionNotFoundError, CorruptObjectError naming the key, or
 * OnnxModelError when the graph cannot serve the artifact.
 */
export async function loadScorer(registry: ModelRegistry, modelId: string, version: string): Promise<Scorer> {
  const { artifact, onnx } = await registry.loadModelFiles(modelId, version);
  return createScorer(artifact, onnx);
}
