/**
 * Rollout config (models/{model}/rollout.json): which candidate runs in shadow and which serves a
 * canary share. Serving polls it like aliases.json; the rollout workflow changes it with the same
 * compare-and-swap, so a weight step and a concurrent abort cannot overwrite each other.
 */
import type { BlobStore } from './blob-store';
import { readMutableJson, updateJsonCas } from './cas-json';
import { layout } from './layout';
import { RolloutConflictError } from './registry-errors';
import type { RolloutConfig, RolloutDoc } from './registry-schemas';
import { RolloutConfigSchema, RolloutDocSchema } from './registry-schemas';

/** The rollout config as read; `etag` null when none was ever written (champion only). */
export interface RolloutState {
  config: RolloutConfig;
  etag: string | null;
  doc: RolloutDoc | undefined;
}

/** Only the config part of a stored document. */
export function configOf(doc: RolloutDoc | undefined): RolloutConfig {
  if (!doc) return {};
  return RolloutConfigSchema.parse({ shadow: doc.shadow, canary: doc.canary });
}

/** Reads the rollout config. */
export async function readRollout(store: BlobStore, modelId: string): Promise<RolloutState> {
  const { value, etag } = await readMutableJson(store, layout.rollout(modelId), RolloutDocSchema);
  return { config: configOf(value), etag, doc: value };
}

/** Arguments of {@link writeRollout}. */
export interface WriteRolloutInput {
  modelId: string;
  /** Computes the new config from the current one (called again after a lost race). */
  update: (current: RolloutConfig) => RolloutConfig;
  actor: string;
  reason: string;
  at: string;
  /** When given, refuse (RolloutConflictError) unless the stored config is still at this etag. */
  expectedEtag?: string | null;
  /** Checked before writing, e.g. that referenced versions exist. */
  validate?: (config: RolloutConfig) => Promise<void>;
}

/** Updates the rollout config with compare-and-swap; returns the new state and the conflicts retried. */
export async function writeRollout(
  store: BlobStore,
  input: WriteRolloutInput,
): Promise<RolloutState & { conflicts: number; written: boolean }> {
  const outcome = await updateJsonCas(
    store,
    layout.rollout(input.modelId),
    RolloutDocSchema,
    async (current) => {
      if (input.expectedEtag !== undefined && current.etag !== input.expectedEtag) {
        throw new RolloutConflictError(input.modelId);
      }
      const before = configOf(current.value);
      const config = RolloutConfigSchema.parse(input.update(before));
      if (input.validate) await input.validate(config);
      if (JSON.stringify(config) === JSON.stringify(before) && current.value) return { result: undefined };
      const next: RolloutDoc = {
        modelId: input.modelId,
        ...config,
        updatedAt: input.at,
        updatedBy: input.actor,
        reason: input.reason,
      };
      return { next, result: undefined };
    },
  );
  return {
    config: configOf(outcome.value),
    etag: outcome.etag,
    doc: outcome.value,
    conflicts: outcome.conflicts,
    written: outcome.written,
  };
}
