/**
 * The alias audit log. Blobs cannot be appended to, so each alias transaction is its own small record
 * under models/{model}/alias-history/, named `{revision}-{tx}` (zero-padded revision, random tx id).
 *
 * Write-ahead: a transaction writes its record FIRST, then compare-and-swaps aliases.json to a document
 * naming that record (`tx`). A crash or a lost race in between leaves a record whose swap never landed;
 * it is not part of the log, because the log is the chain followed from aliases.json's `tx` through
 * each record's `prevTx`. So an alias change can never be visible without its audit record, and a
 * record can never count for a change that did not happen. Each record also holds the whole alias
 * table after it, so an unreadable aliases.json can be rebuilt from the newest record known to have
 * landed (see {@link lastGoodRecord}).
 *
 * Stores written before transaction records hold one entry per alias change, named `{revision}-{seq}`;
 * they are read as the log's older part.
 */
import { randomBytes } from 'node:crypto';
import type { BlobStore } from './blob-store';
import { jsonBody, parseStoredJson } from './cas-json';
import { layout } from './layout';
import type { AliasesDoc, AliasHistoryEntry, AliasHistoryItem, AliasTxRecord } from './registry-schemas';
import { AliasHistoryEntrySchema, AliasTxRecordSchema } from './registry-schemas';

/** How many records are fetched at once when listing. */
const READ_CONCURRENCY = 16;

/** A fresh transaction id (64 random bits: two writers never pick the same one). */
export function newTxId(): string {
  return randomBytes(8).toString('hex');
}

function pad(revision: number): string {
  return String(revision).padStart(10, '0');
}

/** Key of a legacy per-change entry; lexicographic order = revision order, then order within it. */
export function aliasHistoryKey(modelId: string, revision: number, seq: number): string {
  return layout.aliasHistoryEntry(modelId, `${pad(revision)}-${String(seq).padStart(3, '0')}`);
}

/** Key of a transaction record. */
export function aliasTxKey(modelId: string, revision: number, tx: string): string {
  return layout.aliasHistoryEntry(modelId, `${pad(revision)}-${tx}`);
}

/**
 * Writes a transaction record before its swap. Create-only: the key is unique to this transaction,
 * so an existing object there means a bug, not a race.
 */
export async function writeTxRecord(store: BlobStore, record: AliasTxRecord): Promise<void> {
  await store.putIfMatch(
    aliasTxKey(record.modelId, record.revision, record.tx),
    jsonBody(AliasTxRecordSchema.parse(record)),
    null,
  );
}

/** Removes the record of a swap that lost its race (best effort: an orphan is ignored by readers anyway). */
export async function discardTxRecord(store: BlobStore, record: AliasTxRecord): Promise<void> {
  await store.delete(aliasTxKey(record.modelId, record.revision, record.tx)).catch(() => undefined);
}

/** Everything stored under a model's alias-history/ prefix, parsed. */
export interface StoredHistory {
  records: AliasTxRecord[];
  legacy: AliasHistoryEntry[];
}

/** Reads every record and legacy entry; an unparseable object is an error naming its key. */
export async function readStoredHistory(store: BlobStore, modelId: string): Promise<StoredHistory> {
  const keys: string[] = [];
  for await (const info of store.list(layout.aliasHistoryPrefix(modelId))) {
    if (info.key.endsWith('.json')) keys.push(info.key);
  }
  const out: StoredHistory = { records: [], legacy: [] };
  for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
    const batch = keys.slice(i, i + READ_CONCURRENCY);
    const bodies = await Promise.all(batch.map((key) => store.getVersioned(key)));
    batch.forEach((key, k) => {
      const found = bodies[k];
      if (!found) return; // an orphan discarded between list and get
      // A transaction record ends in the 16-hex tx id; a legacy entry in a 3-digit sequence number.
      if (/-[0-9a-f]{16}\.json$/.test(key))
        out.records.push(parseStoredJson(store, key, found.body, AliasTxRecordSchema));
      else out.legacy.push(parseStoredJson(store, key, found.body, AliasHistoryEntrySchema));
    });
  }
  return out;
}

/** The records on the chain ending at `headTx`, oldest first. */
function chainFrom(records: AliasTxRecord[], headTx: string | undefined): AliasTxRecord[] {
  const byTx = new Map(records.map((r) => [r.tx, r]));
  const chain: AliasTxRecord[] = [];
  const seen = new Set<string>();
  for (let tx = headTx; tx !== undefined && !seen.has(tx);) {
    const record = byTx.get(tx);
    if (!record) break;
    seen.add(tx);
    chain.push(record);
    tx = record.prevTx ?? undefined;
  }
  return chain.reverse();
}

/** Per-alias entries of one transaction record. */
function entriesOfRecord(r: AliasTxRecord): AliasHistoryItem[] {
  const { changes, aliases, tx: _tx, prevTx: _prev, recovered, ...audit } = r;
  // A repair moves nothing relative to what it restored: list the restored table so the log says so.
  const moved =
    changes.length > 0 || !recovered
      ? changes
      : Object.entries(aliases).map(([alias, v]) => ({ alias, from: v, to: v }));
  return moved.map((c, seq) => ({ ...audit, seq, ...c, ...(recovered ? { recovered } : {}) }));
}

/** Legacy per-change entries of the newest revision recorded in a legacy aliases document. */
export function legacyEntriesOf(doc: AliasesDoc): AliasHistoryEntry[] {
  const change = doc.lastChange;
  if (!change) return [];
  const { changes, ...audit } = change;
  return changes.map((c, seq) => ({ ...audit, modelId: doc.modelId, revision: doc.revision, seq, ...c }));
}

/**
 * The audit log as per-alias entries, oldest first: legacy entries below the first chained record,
 * then the chain ending at the document's `tx`. `current` is aliases.json as read (`doc` undefined when
 * absent), or 'unreadable': then the chain ends at the record it would be rebuilt from.
 */
export function auditLog(
  stored: StoredHistory,
  current: { doc: AliasesDoc | undefined } | 'unreadable',
): AliasHistoryItem[] {
  const doc = current === 'unreadable' ? undefined : current.doc;
  const headTx = current === 'unreadable' ? lastGoodRecord(stored)?.tx : doc?.tx;
  const chain = chainFrom(stored.records, headTx);
  const firstChained = chain[0]?.revision ?? Infinity;
  const legacy = stored.legacy.filter((e) => e.revision < firstChained);
  // A legacy document whose entries a crashed writer never wrote: they are in its lastChange.
  if (doc && doc.tx === undefined && doc.lastChange && !legacy.some((e) => e.revision === doc.revision))
    legacy.push(...legacyEntriesOf(doc));
  legacy.sort((a, b) => a.revision - b.revision || a.seq - b.seq);
  return [...legacy, ...chain.flatMap(entriesOfRecord)];
}

/**
 * The newest record to rebuild an unreadable aliases.json from. Only a write can make aliases.json
 * unreadable (a torn write on a server whose conditional writes are not atomic), and every write has a
 * record, so an unrivalled newest record is the write that landed. When several records claim the
 * newest revision (writers raced and the server let more than one through) none of them is certain:
 * then the newest record that a later record names as `prevTx` (that writer read it from aliases.json)
 * is taken, the last good table.
 */
export function lastGoodRecord(stored: StoredHistory): AliasTxRecord | undefined {
  const sorted = [...stored.records].sort((a, b) => b.revision - a.revision);
  const newest = sorted[0];
  if (newest && sorted.filter((r) => r.revision === newest.revision).length === 1) return newest;
  const referenced = new Set(stored.records.map((r) => r.prevTx).filter((t): t is string => t !== null));
  return sorted.find((r) => referenced.has(r.tx));
}

/** The alias table replayed from legacy entries (stores that predate transaction records). */
export function replayLegacy(entries: AliasHistoryEntry[]): Record<string, string> {
  const table: Record<string, string> = {};
  for (const e of [...entries].sort((a, b) => a.revision - b.revision || a.seq - b.seq)) {
    if (e.to === null) delete table[e.alias];
    else table[e.alias] = e.to;
  }
  return table;
}
