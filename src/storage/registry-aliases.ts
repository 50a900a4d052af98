/**
 * Alias transactions: every alias change (one alias, or a promote/rollback moving several) is ONE
 * compare-and-swap of models/{model}/aliases.json, preceded by its audit record (write-ahead, see
 * alias-history.ts). Moving champion and previous in one write means no reader ever sees a half-done
 * promotion; writing the record first means no change is ever visible without its audit entry.
 *
 * aliases.json is rewritten in place, so a read can be torn on a server whose writes are not atomic:
 * it is retried, and if it stays unreadable the table is rebuilt from the audit log (read-only until
 * the next transaction, or `models repair`, writes it back, recorded in the log).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from './blob-store';
import { BlobConflictError } from './blob-store';
import {
  aliasHistoryKey,
  auditLog,
  discardTxRecord,
  lastGoodRecord,
  legacyEntriesOf,
  newTxId,
  readStoredHistory,
  replayLegacy,
  writeTxRecord,
} from './alias-history';
import { jsonBody, readMutableJson, UnreadableObjectError } from './cas-json';
import { layout } from './layout';
import { AliasesUnreadableError } from './registry-errors';
import type {
  AliasAudit,
  AliasChange,
  AliasesDoc,
  AliasHistoryItem,
  AliasTxRecord,
} from './registry-schemas';
import { AliasesDocSchema } from './registry-schemas';

/** How an unreadable aliases.json was rebuilt from the audit log. */
export interface AliasRecovery {
  /** The revision whose table was restored. */
  fromRevision: number;
  /** Why aliases.json could not be read. */
  unreadable: string;
}

/** The alias table as read: alias → version, the etag it was read at, and its revision. */
export interface AliasTable {
  aliases: Record<string, string>;
  /** null when the model has no aliases.json yet. */
  etag: string | null;
  revision: number;
  /** Set when aliases.json was unreadable and this table was rebuilt from the audit log. */
  recovered?: AliasRecovery;
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
  /** Set when this transaction rewrote an unreadable aliases.json from the audit log. */
  recovered?: AliasRecovery;
}

/**
 * A plan sees the current aliases (freshly read on every attempt) and returns the assignments to make
 * (version, or null to remove) and a result. It may throw to refuse, e.g. when a precondition fails.
 */
export type AliasPlan<R> = (
  current: Readonly<Record<string, string>>,
) =>
  | { assign: Record<string, string | null>; result: R }
  | Promise<{ assign: Record<string, string | null>; result: R }>;

/** Lost races before giving up: each one means another writer made progress, so this is generous. */
const MAX_CONFLICTS = 50;

/** The stored state a transaction builds on. */
interface AliasState {
  doc: AliasesDoc | undefined;
  etag: string | null;
  /** The record the next one chains to. */
  headTx: string | null;
  recovered?: AliasRecovery;
}

/**
 * Reads aliases.json (retrying torn reads); when it stays unreadable, rebuilds the state from the
 * audit log. Throws AliasesUnreadableError when there is nothing to rebuild from.
 */
async function readAliasState(store: BlobStore, modelId: string): Promise<AliasState> {
  const key = layout.aliases(modelId);
  try {
    const { value, etag } = await readMutableJson(store, key, AliasesDocSchema);
    return { doc: value, etag, headTx: value?.tx ?? null };
  } catch (err) {
    if (!(err instanceof UnreadableObjectError)) throw err;
    const head = await store.head(key);
    // Gone since the reads (deleted by hand): read again, as absent.
    if (!head) return { doc: undefined, etag: null, headTx: null };
    const stored = await readStoredHistory(store, modelId);
    const good = lastGoodRecord(stored);
    const revisions = [...stored.records, ...stored.legacy].map((r) => r.revision);
    // Above every revision any record claimed, so the repaired revision is new even if one of them landed.
    const revision = Math.max(0, ...revisions);
    let aliases: Record<string, string>;
    let fromRevision: number;
    if (good) {
      aliases = good.aliases;
      fromRevision = good.revision;
    } else if (stored.legacy.length > 0) {
      aliases = replayLegacy(stored.legacy);
      fromRevision = Math.max(...stored.legacy.map((e) => e.revision));
    } else {
      throw new AliasesUnreadableError(
        modelId,
        `${err.message}; the audit log has no record to rebuild it from`,
      );
    }
    const doc: AliasesDoc = {
      modelId,
      revision,
      aliases: { ...aliases },
      updatedAt: good?.at ?? new Date(0).toISOString(),
      lastChange: null,
    };
    return {
      doc,
      etag: head.etag,
      headTx: good?.tx ?? null,
      recovered: { fromRevision, unreadable: err.detail },
    };
  }
}

/**
 * Reads the alias table; a model without aliases.json has none. An unreadable aliases.json yields the
 * last good table from the audit log, marked `recovered`.
 */
export async function readAliases(store: BlobStore, modelId: string): Promise<AliasTable> {
  const state = await readAliasState(store, modelId);
  return {
    aliases: { ...(state.doc?.aliases ?? {}) },
    etag: state.etag,
    revision: state.doc?.revision ?? 0,
    ...(state.recovered ? { recovered: state.recovered } : {}),
  };
}

/** The audit log of a model (see alias-history.ts), up to the last good revision if aliases.json is unreadable. */
export async function readAliasLog(store: BlobStore, modelId: string): Promise<AliasHistoryItem[]> {
  const state = await readAliasState(store, modelId);
  const stored = await readStoredHistory(store, modelId);
  return auditLog(stored, state.recovered ? 'unreadable' : { doc: state.doc });
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A legacy document (no `tx`) whose writer crashed before its per-change entries: write them now. */
async function finishLegacyEntries(store: BlobStore, doc: AliasesDoc | undefined): Promise<void> {
  if (!doc || doc.tx !== undefined || !doc.lastChange || doc.lastChange.changes.length === 0) return;
  const entries = legacyEntriesOf(doc);
  if (await store.head(aliasHistoryKey(doc.modelId, doc.revision, entries.length - 1))) return;
  for (const entry of entries)
    await store.put(aliasHistoryKey(doc.modelId, entry.revision, entry.seq), jsonBody(entry));
}

/**
 * Runs an alias transaction: read, plan, write the audit record, compare-and-swap aliases.json (on a
 * lost race: discard the record and plan again on fresh state). `audit.at` is stamped by the caller's
 * clock. `repair` writes even when nothing moves, if aliases.json had to be rebuilt.
 */
export async function transactAliases<R>(
  store: BlobStore,
  modelId: string,
  audit: AliasAudit,
  plan: AliasPlan<R>,
  opts: { repair?: boolean } = {},
): Promise<AliasTransaction<R>> {
  const key = layout.aliases(modelId);
  let conflicts = 0;
  for (;;) {
    const state = await readAliasState(store, modelId);
    await finishLegacyEntries(store, state.doc);
    const before = state.doc?.aliases ?? {};
    const { assign, result } = await plan(before);
    const after: Record<string, string> = { ...before };
    const changes: AliasChange[] = [];
    // Plan order, so the audit reads the way the operation is described (champion first, then previous).
    for (const alias of Object.keys(assign)) {
      const to = assign[alias];
      const from = Object.hasOwn(before, alias) ? before[alias] : null;
      if (from === to) continue;
      changes.push({ alias, from, to });
      if (to === null) delete after[alias];
      else after[alias] = to;
    }
    // A rebuilt table is written back by any change, and by a repair even without one.
    if (changes.length === 0 && !(state.recovered && opts.repair)) {
      return {
        result,
        changes: [],
        aliases: { ...before },
        revision: state.doc?.revision ?? 0,
        conflicts,
        ...(state.recovered ? { recovered: state.recovered } : {}),
      };
    }
    const revision = (state.doc?.revision ?? 0) + 1;
    const tx = newTxId();
    const aliases = sortedRecord(after);
    const record: AliasTxRecord = {
      ...audit,
      modelId,
      revision,
      tx,
      prevTx: state.headTx,
      changes,
      aliases,
      ...(state.recovered ? { recovered: state.recovered } : {}),
    };
    await writeTxRecord(store, record);
    const doc = AliasesDocSchema.parse({
      modelId,
      revision,
      tx,
      aliases,
      updatedAt: audit.at,
      lastChange: { ...audit, changes },
    } satisfies AliasesDoc);
    try {
      await store.putIfMatch(key, jsonBody(doc), state.etag);
      return {
        result,
        changes,
        aliases: { ...aliases },
        revision,
        conflicts,
        ...(state.recovered ? { recovered: state.recovered } : {}),
      };
    } catch (err) {
      // Only a certain loss discards the record: after any other error the swap may have landed.
      if (!(err instanceof BlobConflictError)) throw err;
      await discardTxRecord(store, record);
      conflicts++;
      if (conflicts >= MAX_CONFLICTS) {
        throw new Error(`${key} in ${store.uri}: gave up after ${conflicts} conflicting concurrent updates`, {
          cause: err,
        });
      }
      // Jittered, growing backoff so writers that keep colliding drift apart.
      await sleep(Math.random() * Math.min(200, 4 * 2 ** Math.min(conflicts, 6)));
    }
  }
}
