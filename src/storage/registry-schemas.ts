/**
 * Schemas of the mutable objects the model registry keeps beside the immutable versions: the alias
 * table, its audit log and the rollout config. Everything read back from the store is parsed with
 * these, so a hand-edited or half-migrated object fails loudly instead of routing traffic wrongly.
 */
import { z } from 'zod';
import { ModelIdSchema, TimestampSchema } from '../schemas/records';

/** A model version id: safe as one blob-key segment, e.g. `v-3f9a0c12be41` or a caller-given `2026-06-01a`. */
export const VersionIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'version id must be 1-128 chars of A-Z, a-z, 0-9, ".", "_" or "-", starting alphanumeric',
  );

/** An alias name such as `champion`, `previous`, `rolled-back`, `challenger`. */
export const AliasNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'alias must be 1-32 chars of a-z, 0-9 or "-", starting with a letter');

/** The aliases the registry itself manages (others may be set freely with setAlias). */
export const CHAMPION = 'champion';
export const PREVIOUS = 'previous';
export const ROLLED_BACK = 'rolled-back';

/** One alias moving: `from`/`to` null mean "was unset" / "is removed". */
export const AliasChangeSchema = z.object({
  alias: AliasNameSchema,
  from: VersionIdSchema.nullable(),
  to: VersionIdSchema.nullable(),
});
export type AliasChange = z.infer<typeof AliasChangeSchema>;

/** Who changed aliases, when and why; shared by every change of one revision. */
export const AliasAuditSchema = z.object({
  at: TimestampSchema,
  actor: z.string().min(1),
  reason: z.string().min(1),
  /** True when a safety check (e.g. the blessing requirement) was overridden. */
  forced: z.boolean(),
  /** Why the check was overridden; present exactly when forced. */
  forceReason: z.string().min(1).optional(),
});
export type AliasAudit = z.infer<typeof AliasAuditSchema>;

/** Id of one alias transaction: random, so two writers racing for one revision never share a key. */
export const AliasTxIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'transaction id must be 16 hex digits');

/**
 * models/{model}/aliases.json. `revision` counts successful writes; `tx` names the audit record of the
 * newest revision (written before this object, see alias-history.ts); `lastChange` repeats that
 * revision's audit. Documents written before transaction records existed have no `tx`.
 */
export const AliasesDocSchema = z.object({
  modelId: ModelIdSchema,
  revision: z.number().int().nonnegative(),
  tx: AliasTxIdSchema.optional(),
  aliases: z.record(AliasNameSchema, VersionIdSchema),
  updatedAt: TimestampSchema,
  lastChange: AliasAuditSchema.extend({ changes: z.array(AliasChangeSchema) }).nullable(),
});
export type AliasesDoc = z.infer<typeof AliasesDocSchema>;

/**
 * One alias transaction's audit record, models/{model}/alias-history/{revision}-{tx}.json. Written
 * BEFORE the aliases.json compare-and-swap that it describes, so no alias change can land without it.
 * It counts only if that swap landed: `prevTx` links each record to the one it was built on, and the
 * log is the chain from aliases.json's `tx` back (records of lost or crashed swaps are off the chain).
 * `aliases` is the whole table after the change, so the last good table can be rebuilt from here.
 */
export const AliasTxRecordSchema = AliasAuditSchema.extend({
  modelId: ModelIdSchema,
  revision: z.number().int().positive(),
  tx: AliasTxIdSchema,
  /** The transaction this one was planned on; null for the first one (or the first after legacy entries). */
  prevTx: AliasTxIdSchema.nullable(),
  changes: z.array(AliasChangeSchema),
  aliases: z.record(AliasNameSchema, VersionIdSchema),
  /** Set when aliases.json was unreadable and this transaction rebuilt it from the audit log. */
  recovered: z
    .object({ fromRevision: z.number().int().nonnegative(), unreadable: z.string().min(1) })
    .optional(),
});
export type AliasTxRecord = z.infer<typeof AliasTxRecordSchema>;

/** One audit entry: one alias moved at one revision. */
export const AliasHistoryEntrySchema = AliasAuditSchema.extend({
  modelId: ModelIdSchema,
  revision: z.number().int().positive(),
  /** Position of this change within its revision (a promote moves two aliases at once). */
  seq: z.number().int().nonnegative(),
  alias: AliasNameSchema,
  from: VersionIdSchema.nullable(),
  to: VersionIdSchema.nullable(),
});
export type AliasHistoryEntry = z.infer<typeof AliasHistoryEntrySchema>;

/** What `aliasHistory` returns: one entry per alias moved, plus a recovery note when there was one. */
export type AliasHistoryItem = AliasHistoryEntry & {
  /** Set on the entries of a transaction that rebuilt an unreadable aliases.json. */
  recovered?: AliasTxRecord['recovered'];
};

/** Shadow: the candidate scores `sampleShare` of requests; its answers are logged, never served. */
export const ShadowRolloutSchema = z.object({
  version: VersionIdSchema,
  sampleShare: z.number().min(0).max(1),
});
export type ShadowRollout = z.infer<typeof ShadowRolloutSchema>;

/** Canary: the candidate serves the sticky share `canaryShare(entity, weightPercent, salt)`. */
export const CanaryRolloutSchema = z.object({
  version: VersionIdSchema,
  weightPercent: z.number().min(0).max(100),
  salt: z.string(),
});
export type CanaryRollout = z.infer<typeof CanaryRolloutSchema>;

/** What serving should do besides the champion. Both parts optional: `{}` means champion only. */
export const RolloutConfigSchema = z.object({
  shadow: ShadowRolloutSchema.optional(),
  canary: CanaryRolloutSchema.optional(),
});
export type RolloutConfig = z.infer<typeof RolloutConfigSchema>;

/** models/{model}/rollout.json: the config plus who wrote it and why. */
export const RolloutDocSchema = RolloutConfigSchema.extend({
  modelId: ModelIdSchema,
  updatedAt: TimestampSchema,
  updatedBy: z.string().min(1),
  reason: z.string().min(1),
});
export type RolloutDoc = z.infer<typeof RolloutDocSchema>;
