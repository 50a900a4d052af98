/**
 * The alias audit log. Blobs cannot be appended to, so each alias change is its own small object under
 * models/{model}/alias-history/. Entries are named `{revision}-{seq}` (zero-padded) rather than by
 * timestamp: the revision is assigned by the aliases.json compare-and-swap, so key order is the order
 * in which changes really took effect, even when two machines' clocks disagree.
 */
import type { BlobStore } from './blob-store';
import { jsonBody, parseStoredJson } from './cas-json';
import { layout } from './layout';
import type { AliasesDoc, AliasHistoryEntry } from './registry-schemas';
import { AliasHistoryEntrySchema } from './registry-schemas';

/** How many entries are fetched at once when listing. */
const READ_CONCURRENCY = 16;

/** Key of one audit entry; lexicographic order = revision order, then order within the revision. */
export function aliasHistoryKey(modelId: string, revision: number, seq: number): string {
  return layout.aliasHistoryEntry(
    modelId,
    `${String(revision).padStart(10, '0')}-${String(seq).padStart(3, '0')}`,
  );
}

/** The audit entries of the newest revision recorded in an aliases document. */
export function entriesOf(doc: AliasesDoc): AliasHistoryEntry[] {
  const change = doc.lastChange;
  if (!change) return [];
  const { changes, ...audit } = change;
  return changes.map((c, seq) => ({ ...audit, modelId: doc.modelId, revision: doc.revision, seq, ...c }));
}

/**
 * Writes the entries of the document's newest revision. Deterministic content per key, so calling it
 * twice (a retry, or a repair racing the original writer) rewrites identical bytes.
 */
export async function appendAliasHistory(store: BlobStore, doc: AliasesDoc): Promise<void> {
  for (const entry of entriesOf(doc)) {
    await store.put(aliasHistoryKey(doc.modelId, entry.revision, entry.seq), jsonBody(entry));
  }
}

/**
 * Writes the newest revision's entries if they are missing: the aliases object is written before its
 * audit entries, so a crash in between leaves the change recorded only in `lastChange`.
 */
export async function repairAliasHistory(store: BlobStore, doc: AliasesDoc | undefined): Promise<void> {
  if (!doc?.lastChange || doc.lastChange.changes.length === 0) return;
  const last = aliasHistoryKey(doc.modelId, doc.revision, doc.lastChange.changes.length - 1);
  if (!(await store.head(last))) await appendAliasHistory(store, doc);
}

/** Every audit entry of a model, oldest first. */
export async function listAliasHistory(store: BlobStore, modelId: string): Promise<AliasHistoryEntry[]> {
  const keys: string[] = [];
  for await (const info of store.list(layout.aliasHistoryPrefix(modelId))) {
    if (info.key.endsWith('.json')) keys.push(info.key);
  }
  const entries: AliasHistoryEntry[] = [];
  for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
    const batch = keys.slice(i, i + READ_CONCURRENCY);
    const bodies = await Promise.all(batch.map((key) => store.get(key)));
    batch.forEach((key, k) => entries.push(parseStoredJson(store, key, bodies[k], AliasHistoryEntrySchema)));
  }
  // Listing is already in key order; sorting again guards against a backend with another order.
  return entries.sort((a, b) => a.revision - b.revision || a.seq - b.seq);
}
