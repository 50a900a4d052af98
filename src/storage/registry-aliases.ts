/**
 * Alias transactions: every alias change (one alias, or a promote/rollback moving several) is ONE
 * compare-and-swap of models/{model}/aliases.json followed by its audit entries. Moving champion and
 * previous in one write means no reader ever sees a half-done promotion.
 */
import type { BlobStore } from './blob-store';
import { repairAliasHistory, appendAliasHistory } from './alias-history';
import { readVersionedJson, updateJsonCas } from './cas-json';
import { layout } from './layout';
import type { AliasAudit, AliasChange, AliasesDoc } from './registry-schemas';
import { AliasesDocSchema } from './registry-schemas';

/** The alias table as read: alias → version, the etag it was read at, and its revision. */
export interface AliasTable {
  aliases: Record<string, string>;
  /** null when the model has no aliases.json yet. */
  etag: string | null;
  revision: number;
}

/** Result of one alias transaction. */
export interface AliasTransaction<R> {
  /** What the plan returned (e.g. the from/to of a promotion). */
  result: R;
  /** Aliases that actually moved (empty when the plan asked for the current state: a no-op). */
  changes: AliasChange[];
  aliases: Record<string, string>;
  revision: number;
  /** Lost races that made the plan run again on fresh state. */
  conflicts: number;
}

/**
 * A plan sees the current aliases (freshly read on every attempt) and returns the assignments to make
 * (version, or null to remove) and a result. It may throw to refuse, e.g. when a precondition fails.
 */
export type AliasPlan<R> = (current: Readonly<Record<string, string>>) => {
  assign: Record<string, string | null>;
  result: R;
};

/** Reads the alias table; a model without aliases.json has none. */
export async function readAliases(store: BlobStore, modelId: string): Promise<AliasTable> {
  const { value, etag } = await readVersionedJson(store, layout.aliases(modelId), AliasesDocSchema);
  return { aliases: { ...(value?.aliases ?? {}) }, etag, revision: value?.revision ?? 0 };
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Runs an alias transaction: read, plan, CAS-write (retrying the plan on conflict), then append the
 * audit entries. `audit.at` is stamped by the caller's clock.
 */
export async function transactAliases<R>(
  store: BlobStore,
  modelId: string,
  audit: AliasAudit,
  plan: AliasPlan<R>,
): Promise<AliasTransaction<R>> {
  let changes: AliasChange[] = [];
  const outcome = await updateJsonCas(store, layout.aliases(modelId), AliasesDocSchema, async (current) => {
    // Finish a predecessor that crashed between its aliases write and its audit entries, so the log
    // never skips a revision.
    await repairAliasHistory(store, current.value);
    const before = current.value?.aliases ?? {};
    const { assign, result } = plan(before);
    const after: Record<string, string> = { ...before };
    changes = [];
    // Plan order, so the audit reads the way the operation is described (champion first, then previous).
    for (const alias of Object.keys(assign)) {
      const to = assign[alias];
      const from = Object.hasOwn(before, alias) ? before[alias] : null;
      if (from === to) continue;
      changes.push({ alias, from, to });
      if (to === null) delete after[alias];
      else after[alias] = to;
    }
    if (changes.length === 0) return { result };
    const next: AliasesDoc = {
      modelId,
      revision: (current.value?.revision ?? 0) + 1,
      aliases: sortedRecord(after),
      updatedAt: audit.at,
      lastChange: { ...audit, changes },
    };
    return { next, result };
  });
  const doc = outcome.value;
  if (outcome.written && doc) await appendAliasHistory(store, doc);
  return {
    result: outcome.result,
    changes: outcome.written ? changes : [],
    aliases: { ...(doc?.aliases ?? {}) },
    revision: doc?.revision ?? 0,
    conflicts: outcome.conflicts,
  };
}
