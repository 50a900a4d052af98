/**
 * The model registry: immutable versions, mutable aliases with an audit log, and the rollout config,
 * all in the blob store (layout in layout.ts). Rollback is an alias switch: serving follows
 * aliases.json within seconds, so reverting a model is a configuration change, not a redeployment.
 *
 * Every mutation is a compare-and-swap that re-reads and re-checks after a lost race, so concurrent
 * writers (a rollout workflow, an engineer at the CLI) never lose an update.
 */
import type { StoredArtifact } from '../scoring/artifact';
import { artifactKind, isOnnxArtifact, parseStoredArtifact } from '../scoring/artifact';
import type { Blessing, ModelManifest } from '../schemas/manifests';
import { BlessingSchema, ModelManifestSchema } from '../schemas/manifests';
import { ModelIdSchema } from '../schemas/records';
import type { BlobStore } from './blob-store';
import { updateJsonCas } from './cas-json';
import { canonicalJson, contentVersionId, sameJson } from './content-id';
import { layout } from './layout';
import type { AliasRecovery, AliasTable, AliasTransaction } from './registry-aliases';
import { readAliases, readAliasLog, transactAliases } from './registry-aliases';
import {
  AliasConflictError,
  BlessingExistsError,
  DanglingAliasError,
  NoPreviousVersionError,
  NotBlessedError,
  VersionNotFoundError,
} from './registry-errors';
import type { RolloutState } from './registry-rollout';
import { readRollout, writeRollout } from './registry-rollout';
import type { AliasAudit, AliasChange, AliasHistoryItem, RolloutConfig } from './registry-schemas';
import { AliasNameSchema, CHAMPION, PREVIOUS, ROLLED_BACK, VersionIdSchema } from './registry-schemas';
import type { ManifestFields } from './registry-versions';
import { readRetentionRecords, versionKeys, writeRetentionRecord } from './registry-retention';
import {
  listManifests,
  readArtifact,
  readManifest,
  readOnnx,
  sha256Hex,
  writeArtifactOnce,
  writeManifestOnce,
  writeOnnxOnce,
} from './registry-versions';

export * from './registry-errors';
export * from './registry-schemas';
export type { ManifestFields } from './registry-versions';
export type { AliasRecovery, AliasTable } from './registry-aliases';
export type { RolloutState } from './registry-rollout';
export type { RetentionRecord } from './registry-retention';

/** Arguments of {@link ModelRegistry.registerVersion}. */
export interface RegisterVersionInput {
  modelId: string;
  /** A linear artifact, or the model.json of an onnx version (then `onnx` holds the graph). */
  artifact: StoredArtifact;
  /** model.onnx of an onnx artifact: its sha256 must equal the artifact's `onnxSha256`. */
  onnx?: Uint8Array;
  /** createdAt, trainer, trainingData, metrics, codeVersion, lineage, optional blessing. */
  manifest: ManifestFields;
  /** Caller-given id; default: content-addressed from the artifact (`v-` + 12 hex digits). */
  version?: string;
}

/** A version's files: model.json, and for the onnx kind the graph (sha256 checked). */
export interface ModelFiles {
  artifact: StoredArtifact;
  onnx?: Buffer;
}

/** Result of registering: the stored manifest, and whether this call created the version. */
export interface RegisterVersionResult {
  version: string;
  manifest: ModelManifest;
  created: boolean;
}

/** Who does an alias change and why. */
export interface Actor {
  actor: string;
  reason: string;
}

/** Overrides a safety check; the reason is kept in the audit log. */
export interface Force {
  reason: string;
}

/** Arguments of {@link ModelRegistry.setAlias}. */
export interface SetAliasInput extends Actor {
  modelId: string;
  alias: string;
  /** The version to point at, or null to remove the alias. */
  version: string | null;
  /** Refuse (AliasConflictError) unless the alias currently points here (null: currently unset). */
  expectedPrevious?: string | null;
  /** Needed to point `champion` at an unblessed version. */
  force?: Force;
}

/** What an alias operation did. */
export interface AliasResult {
  modelId: string;
  /** Aliases that moved, in the order the operation describes them; empty for a no-op. */
  changes: AliasChange[];
  aliases: Record<string, string>;
  revision: number;
  forced: boolean;
  /** Lost compare-and-swap races that were re-read and re-checked. */
  conflicts: number;
  /** Set when aliases.json was unreadable and this operation rebuilt it from the audit log. */
  recovered?: AliasRecovery;
  /** What the operation left out and why, e.g. a champion that no longer exists not kept as previous. */
  notes: string[];
}

/** Arguments of {@link ModelRegistry.promote}. */
export interface PromoteInput extends Actor {
  modelId: string;
  version: string;
  force?: Force;
}

/** Arguments of {@link ModelRegistry.updateRollout}. */
export interface UpdateRolloutInput extends Actor {
  modelId: string;
  update: (current: RolloutConfig) => RolloutConfig;
  expectedEtag?: string | null;
}

/** Arguments of {@link ModelRegistry.prune}. */
export interface PruneInput extends Actor {
  modelId: string;
  /** The newest `keep` versions (by createdAt) are never deleted. */
  keep: number;
  /** List what would be deleted and delete (and write) nothing. */
  dryRun: boolean;
}

/** A version retention deleted (or, in a dry run, would delete). */
export interface PrunedVersion {
  version: string;
  createdAt: string;
  /** Every key under the version's prefix. */
  keys: string[];
  /** The retention record written before deleting (absent in a dry run). */
  record?: string;
}

/** What {@link ModelRegistry.prune} did. */
export interface PruneResult {
  modelId: string;
  keep: number;
  dryRun: boolean;
  versions: PrunedVersion[];
  /** Prunable when listed, but pointed at (or gone) by the time of deletion: kept, with the reason. */
  skipped: Array<{ version: string; reason: string }>;
  /** Versions an earlier prune recorded and unregistered but did not finish deleting: finished now. */
  resumed: Array<{ version: string; keys: string[] }>;
}

/** Registry over a BlobStore. Stateless apart from the clock: any number of instances may share a store. */
export class ModelRegistry {
  private readonly now: () => Date;

  constructor(
    readonly store: BlobStore,
    opts: { now?: () => Date } = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * Registers an immutable version (model.json, then manifest.json; the manifest marks it complete).
   * Re-registering identical content is a no-op, so a retried activity is safe; different content under
   * an existing id throws VersionConflictError. The manifest's class fields are taken from the artifact so
   * the two can never disagree. An onnx version writes model.onnx first; its sha256 is in model.json, so
   * the content-addressed id covers the graph.
   */
  async registerVersion(input: RegisterVersionInput): Promise<RegisterVersionResult> {
    const modelId = ModelIdSchema.parse(input.modelId);
    const artifact = parseStoredArtifact(input.artifact);
    if (isOnnxArtifact(artifact)) {
      if (!input.onnx) throw new Error('an onnx artifact is registered with its model.onnx bytes');
      const sha = sha256Hex(input.onnx);
      if (sha !== artifact.onnxSha256)
        throw new Error(`model.onnx has sha256 ${sha}, the artifact names ${artifact.onnxSha256}`);
    } else if (input.onnx) throw new Error('model.onnx given for a linear artifact');
    const canonical = canonicalJson(artifact);
    const version = VersionIdSchema.parse(input.version ?? contentVersionId(canonical));
    const manifest = ModelManifestSchema.parse({
      ...input.manifest,
      modelId,
      version,
      classes: artifact.classes,
      positiveClass: artifact.positiveClass,
      threshold: artifact.threshold,
      // Only onnx is written: linear manifests stay byte-identical to those from before ONNX support.
      ...(isOnnxArtifact(artifact) ? { kind: artifactKind(artifact) } : {}),
    });
    if (input.onnx) await writeOnnxOnce(this.store, modelId, version, input.onnx);
    await writeArtifactOnce(this.store, modelId, version, canonical);
    const written = await writeManifestOnce(this.store, manifest);
    // A retry that carries a blessing the first attempt did not record still gets it recorded.
    if (!written.created && manifest.blessing && !written.manifest.blessing) {
      return {
        version,
        manifest: await this.updateManifest({ modelId, version, blessing: manifest.blessing }),
        created: false,
      };
    }
    return { version, manifest: written.manifest, created: written.created };
  }

  /** Every registered version's manifest, oldest first. */
  async listVersions(modelId: string): Promise<ModelManifest[]> {
    return listManifests(this.store, ModelIdSchema.parse(modelId));
  }

  /** A version's manifest; throws VersionNotFoundError when it is not registered. */
  async getManifest(modelId: string, version: string): Promise<ModelManifest> {
    const manifest = await readManifest(
      this.store,
      ModelIdSchema.parse(modelId),
      VersionIdSchema.parse(version),
    );
    if (!manifest) throw new VersionNotFoundError(modelId, version);
    return manifest;
  }

  /** A version's artifact, validated; throws VersionNotFoundError, or an Error naming the key if corrupt. */
  async loadArtifact(modelId: string, version: string): Promise<StoredArtifact> {
    return readArtifact(this.store, ModelIdSchema.parse(modelId), VersionIdSchema.parse(version));
  }

  /**
   * Everything needed to score a version: model.json and, for the onnx kind, model.onnx checked against
   * the sha256 model.json records. Throws VersionNotFoundError, or an Error naming the corrupt key.
   */
  async loadModelFiles(modelId: string, version: string): Promise<ModelFiles> {
    const id = ModelIdSchema.parse(modelId);
    const v = VersionIdSchema.parse(version);
    const artifact = await readArtifact(this.store, id, v);
    if (!isOnnxArtifact(artifact)) return { artifact };
    return { artifact, onnx: await readOnnx(this.store, id, v, artifact.onnxSha256) };
  }

  /**
   * Records a blessing on a manifest (compare-and-swap). The only mutation a manifest allows: an
   * existing different blessing is kept unless `replace` is set (a re-evaluation recording a new decision).
   */
  async updateManifest(input: {
    modelId: string;
    version: string;
    blessing: Blessing;
    replace?: boolean;
  }): Promise<ModelManifest> {
    const modelId = ModelIdSchema.parse(input.modelId);
    const version = VersionIdSchema.parse(input.version);
    const blessing = BlessingSchema.parse(input.blessing);
    const outcome = await updateJsonCas(
      this.store,
      layout.modelManifest(modelId, version),
      ModelManifestSchema,
      (current) => {
        if (!current.value) throw new VersionNotFoundError(modelId, version);
        if (current.value.blessing && sameJson(current.value.blessing, blessing))
          return { result: undefined };
        if (current.value.blessing && !input.replace) throw new BlessingExistsError(modelId, version);
        return { next: { ...current.value, blessing }, result: undefined };
      },
    );
    return outcome.value!;
  }

  /** The alias table: alias → version, with the etag it was read at (null before the first alias). */
  async getAliases(modelId: string): Promise<AliasTable> {
    return readAliases(this.store, ModelIdSchema.parse(modelId));
  }

  /**
   * Points one alias at a version (or removes it with null). `champion` needs a blessed version unless
   * forced; `expectedPrevious` turns the call into "change it only if nobody else did" (re-checked after
   * every lost race).
   */
  async setAlias(input: SetAliasInput): Promise<AliasResult> {
    const modelId = ModelIdSchema.parse(input.modelId);
    const alias = AliasNameSchema.parse(input.alias);
    const version = input.version === null ? null : VersionIdSchema.parse(input.version);
    let forced = false;
    if (version !== null) {
      const manifest = await this.getManifest(modelId, version);
      if (alias === CHAMPION) {
        forced = this.checkBlessing(manifest, input.force);
        // Serving loads the champion: a corrupt artifact (or graph) must be refused here, naming its key.
        await this.loadModelFiles(modelId, version);
      }
    }
    const tx = await transactAliases(
      this.store,
      modelId,
      this.audit(input, forced, input.force),
      (current) => {
        const actual = Object.hasOwn(current, alias) ? current[alias] : null;
        if (input.expectedPrevious !== undefined && actual !== input.expectedPrevious) {
          throw new AliasConflictError(modelId, alias, input.expectedPrevious, actual);
        }
        return { assign: { [alias]: version }, result: [] as string[] };
      },
    );
    return this.result(modelId, tx, forced);
  }

  /** True when the version is registered (its manifest exists; a corrupt manifest throws, naming its key). */
  private async exists(modelId: string, version: string): Promise<boolean> {
    return (await readManifest(this.store, modelId, version)) !== undefined;
  }

  /**
   * Makes `version` the champion; the old champion becomes `previous` (the rollback target). Refuses an
   * unblessed version with NotBlessedError unless `force.reason` is given (audited as forced). Promoting
   * the current champion is a no-op.
   */
  async promote(input: PromoteInput): Promise<AliasResult> {
    const modelId = ModelIdSchema.parse(input.modelId);
    const version = VersionIdSchema.parse(input.version);
    const forced = this.checkBlessing(await this.getManifest(modelId, version), input.force);
    await this.loadModelFiles(modelId, version);
    const tx = await transactAliases(
      this.store,
      modelId,
      this.audit(input, forced, input.force),
      async (current) => {
        const champion = Object.hasOwn(current, CHAMPION) ? current[CHAMPION] : null;
        if (champion === version) return { assign: {}, result: [] as string[] };
        const assign: Record<string, string | null> = { [CHAMPION]: version };
        const notes: string[] = [];
        // A champion that no longer exists is no rollback target: keep the current previous instead.
        if (champion !== null && (await this.exists(modelId, champion))) assign[PREVIOUS] = champion;
        else if (champion !== null)
          notes.push(
            `the old champion ${champion} does not exist (no manifest), so it was not kept as previous`,
          );
        return { assign, result: notes };
      },
    );
    return this.result(modelId, tx, forced);
  }

  /**
   * Switches champion and previous: the previous version serves again, the old champion becomes
   * `previous` (so a second rollback undoes the first) and is also kept as `rolled-back` for the record.
   * Throws NoPreviousVersionError when there is nothing to roll back to, DanglingAliasError when
   * `previous` names a version that does not exist, and an error naming model.json when its artifact
   * cannot be loaded.
   */
  async rollback(input: { modelId: string } & Actor): Promise<AliasResult> {
    const modelId = ModelIdSchema.parse(input.modelId);
    const tx = await transactAliases(this.store, modelId, this.audit(input, false), async (current) => {
      const previous = Object.hasOwn(current, PREVIOUS) ? current[PREVIOUS] : null;
      if (previous === null) throw new NoPreviousVersionError(modelId);
      if (!(await this.exists(modelId, previous)))
        throw new DanglingAliasError(modelId, PREVIOUS, previous, `cannot roll back model ${modelId}`);
      await this.loadModelFiles(modelId, previous);
      const champion = Object.hasOwn(current, CHAMPION) ? current[CHAMPION] : null;
      const notes: string[] = [];
      const assign: Record<string, string | null> = { [CHAMPION]: previous, [PREVIOUS]: champion };
      if (champion !== null && !(await this.exists(modelId, champion))) {
        assign[PREVIOUS] = null;
        notes.push(
          `the old champion ${champion} does not exist (no manifest), so it was not kept as previous`,
        );
      } else if (champion !== null) assign[ROLLED_BACK] = champion;
      return { assign, result: notes };
    });
    return this.result(modelId, tx, false);
  }

  /**
   * Rewrites an unreadable aliases.json from the audit log (the newest record that landed), recorded as
   * its own audit entry; a no-op when aliases.json reads fine.
   */
  async repairAliases(input: { modelId: string } & Actor): Promise<AliasResult> {
    const modelId = ModelIdSchema.parse(input.modelId);
    const tx = await transactAliases(
      this.store,
      modelId,
      this.audit(input, false),
      () => ({ assign: {}, result: [] as string[] }),
      { repair: true },
    );
    return this.result(modelId, tx, false);
  }

  /**
   * The alias audit log, oldest first: the records whose swaps landed (see alias-history.ts). When
   * aliases.json is unreadable, the log up to the last good revision.
   */
  async aliasHistory(modelId: string): Promise<AliasHistoryItem[]> {
    return readAliasLog(this.store, ModelIdSchema.parse(modelId));
  }

  /** The rollout config (shadow/canary) with its etag. */
  async getRollout(modelId: string): Promise<RolloutState> {
    return readRollout(this.store, ModelIdSchema.parse(modelId));
  }

  /** Replaces the rollout config (compare-and-swap; `expectedEtag` makes it conditional on what was read). */
  async setRollout(
    input: { modelId: string; config: RolloutConfig; expectedEtag?: string | null } & Actor,
  ): Promise<RolloutState & { conflicts: number }> {
    return this.updateRollout({ ...input, update: () => input.config });
  }

  /** Changes part of the rollout config, e.g. one canary weight step, without clobbering the rest. */
  async updateRollout(input: UpdateRolloutInput): Promise<RolloutState & { conflicts: number }> {
    const modelId = ModelIdSchema.parse(input.modelId);
    return writeRollout(this.store, {
      modelId,
      update: input.update,
      actor: input.actor,
      reason: input.reason,
      at: this.now().toISOString(),
      expectedEtag: input.expectedEtag,
      validate: async (config) => {
        // Serving must never be pointed at a version it cannot find.
        for (const version of [config.shadow?.version, config.canary?.version]) {
          if (version !== undefined) await this.getManifest(modelId, version);
        }
      },
    });
  }

  /**
   * Versions that retention may delete: not referenced by any alias or by the rollout config, and
   * outside the newest `keep` (by createdAt). Only lists; deleting is the caller's decision.
   */
  async prunable(modelId: string, keep: number): Promise<string[]> {
    if (!Number.isInteger(keep) || keep < 0)
      throw new Error(`keep must be a non-negative integer, got ${keep}`);
    const id = ModelIdSchema.parse(modelId);
    const [manifests, aliases, rollout] = await Promise.all([
      this.listVersions(id),
      this.getAliases(id),
      this.getRollout(id),
    ]);
    const referenced = new Set<string>([
      ...Object.values(aliases.aliases),
      ...[rollout.config.shadow?.version, rollout.config.canary?.version].filter((v): v is string => !!v),
    ]);
    const newestFirst = [...manifests].reverse();
    return newestFirst
      .slice(keep)
      .filter((m) => !referenced.has(m.version))
      .map((m) => m.version)
      .reverse();
  }

  /**
   * Deletes the versions {@link prunable} lists (every key under each version's prefix), or with
   * `dryRun` only says which. Per version: a retention record (models/{m}/retention/) with the manifest
   * and keys is written first; then manifest.json is deleted, which unregisters the version so no alias
   * or rollout can be pointed at it any more; then aliases and rollout are read again, and a version
   * pointed at meanwhile gets its manifest back and is kept (`skipped`); only then go the other keys.
   * Versions an earlier, interrupted prune unregistered are finished (`resumed`). A version directory
   * without a manifest and without a record is a registration in progress and is left alone.
   */
  async prune(input: PruneInput): Promise<PruneResult> {
    const modelId = ModelIdSchema.parse(input.modelId);
    if (!input.dryRun) this.audit(input, false);
    const candidates = await this.prunable(modelId, input.keep);
    const manifests = new Map((await this.listVersions(modelId)).map((m) => [m.version, m]));
    const result: PruneResult = {
      modelId,
      keep: input.keep,
      dryRun: input.dryRun,
      versions: [],
      skipped: [],
      resumed: [],
    };
    for (const version of candidates) {
      const manifest = manifests.get(version);
      const manifestKey = layout.modelManifest(modelId, version);
      const keys = await versionKeys(this.store, modelId, version);
      if (!manifest || !keys.includes(manifestKey)) {
        result.skipped.push({ version, reason: 'its manifest is gone (deleted by someone else meanwhile)' });
        continue;
      }
      if (input.dryRun) {
        result.versions.push({ version, createdAt: manifest.createdAt, keys });
        continue;
      }
      const stored = await this.store.getVersioned(manifestKey);
      if (!stored) {
        result.skipped.push({ version, reason: 'its manifest is gone (deleted by someone else meanwhile)' });
        continue;
      }
      const record = await writeRetentionRecord(this.store, {
        modelId,
        version,
        at: this.now().toISOString(),
        actor: input.actor,
        reason: input.reason,
        keep: input.keep,
        keys,
        manifest,
      });
      await this.store.delete(manifestKey);
      const pointing = await this.references(modelId, version);
      if (pointing.length > 0) {
        // Pointed at between listing and deleting: nothing but the manifest is gone yet, so put it back.
        await this.store.putIfMatch(manifestKey, stored.body, null);
        await this.store.delete(record);
        result.skipped.push({ version, reason: `${pointing.join(', ')} pointed at it during the prune` });
        continue;
      }
      await this.deleteVersionKeys(modelId, version);
      result.versions.push({ version, createdAt: manifest.createdAt, keys, record });
    }
    result.resumed = await this.resumePrunes(modelId, input.dryRun);
    return result;
  }

  /** Aliases and rollout roles that name `version` now. */
  private async references(modelId: string, version: string): Promise<string[]> {
    const [aliases, rollout] = await Promise.all([this.getAliases(modelId), this.getRollout(modelId)]);
    return [
      ...Object.entries(aliases.aliases)
        .filter(([, v]) => v === version)
        .map(([alias]) => `alias ${alias}`),
      ...(rollout.config.canary?.version === version ? ['rollout canary'] : []),
      ...(rollout.config.shadow?.version === version ? ['rollout shadow'] : []),
    ];
  }

  /** Deletes every key under a version's prefix, listing again until none is left (a late writer). */
  private async deleteVersionKeys(modelId: string, version: string): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const keys = await versionKeys(this.store, modelId, version);
      if (keys.length === 0) return;
      for (const key of keys) await this.store.delete(key);
    }
  }

  /** Versions with a retention record whose manifest is gone but other keys remain: delete the rest. */
  private async resumePrunes(modelId: string, dryRun: boolean): Promise<PruneResult['resumed']> {
    const recorded = new Set((await readRetentionRecords(this.store, modelId)).map((r) => r.version));
    const resumed: PruneResult['resumed'] = [];
    for (const version of recorded) {
      const keys = await versionKeys(this.store, modelId, version);
      if (keys.length === 0 || keys.includes(layout.modelManifest(modelId, version))) continue;
      if (!dryRun) await this.deleteVersionKeys(modelId, version);
      resumed.push({ version, keys });
    }
    return resumed;
  }

  /** True when the blessing check is overridden; throws NotBlessedError when it fails without force. */
  private checkBlessing(manifest: ModelManifest, force: Force | undefined): boolean {
    if (manifest.blessing?.blessed === true) return false;
    const why = manifest.blessing
      ? `its blessing was refused: ${manifest.blessing.reasons.join('; ') || 'no reason recorded'}`
      : 'no blessing recorded';
    if (!force?.reason?.trim()) throw new NotBlessedError(manifest.modelId, manifest.version, why);
    return true;
  }

  private audit(who: Actor, forced: boolean, force?: Force): AliasAudit {
    if (!who.actor?.trim()) throw new Error('an alias change needs an actor');
    if (!who.reason?.trim()) throw new Error('an alias change needs a reason');
    return {
      at: this.now().toISOString(),
      actor: who.actor,
      reason: who.reason,
      forced,
      ...(forced && force ? { forceReason: force.reason } : {}),
    };
  }

  private result(modelId: string, tx: AliasTransaction<string[]>, forced: boolean): AliasResult {
    return {
      modelId,
      changes: tx.changes,
      aliases: tx.aliases,
      revision: tx.revision,
      forced: forced && tx.changes.length > 0,
      conflicts: tx.conflicts,
      ...(tx.recovered ? { recovered: tx.recovered } : {}),
      notes: tx.changes.length > 0 ? tx.result : [],
    };
  }
}
