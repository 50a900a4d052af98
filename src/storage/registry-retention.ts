/**
 * Retention's records: before retention deletes a version's objects it writes
 * models/{model}/retention/{at}-{version}.json with the deleted manifest and every key it is about to
 * delete, so no version disappears without a durable trace of what it was and who removed it. The alias
 * audit log cannot hold these: its records are alias transactions chained to aliases.json.
 */
import { z } from 'zod';
import { ModelManifestSchema } from '../schemas/manifests';
import { ModelIdSchema, TimestampSchema } from '../schemas/records';
import type { BlobStore } from './blob-store';
import { jsonBody, parseStoredJson } from './cas-json';
import { layout } from './layout';
import { VersionIdSchema } from './registry-schemas';

/** One deleted version. */
export const RetentionRecordSchema = z.strictObject({
  modelId: ModelIdSchema,
  version: VersionIdSchema,
  at: TimestampSchema,
  actor: z.string().min(1),
  reason: z.string().min(1),
  /** The `keep` the prune ran with: the newest `keep` versions were out of reach. */
  keep: z.number().int().nonnegative(),
  /** Every key under the version's prefix when the deletion started. */
  keys: z.array(z.string().min(1)),
  /** The manifest as it was: lineage, metrics and blessing of what was deleted. */
  manifest: ModelManifestSchema,
});
export type RetentionRecord = z.infer<typeof RetentionRecordSchema>;

/** Key of a record: the time first (compact, sortable), then the version. */
export function retentionRecordKey(record: Pick<RetentionRecord, 'modelId' | 'version' | 'at'>): string {
  const compact = record.at.replace(/[-:.]/g, '');
  return layout.retentionRecord(record.modelId, `${compact}-${record.version}`);
}

/** Writes a record (validated first) and returns its key. */
export async function writeRetentionRecord(store: BlobStore, record: RetentionRecord): Promise<string> {
  const parsed = RetentionRecordSchema.parse(record);
  const key = retentionRecordKey(parsed);
  await store.put(key, jsonBody(parsed));
  return key;
}

/** Every retention record of a model, oldest first; a corrupt one throws, naming its key. */
export async function readRetentionRecords(store: BlobStore, modelId: string): Promise<RetentionRecord[]> {
  const records: RetentionRecord[] = [];
  for await (const { key } of store.listSizes(layout.retentionPrefix(modelId))) {
    if (!key.endsWith('.json')) continue;
    records.push(parseStoredJson(store, key, await store.get(key), RetentionRecordSchema));
  }
  return records;
}

/** Every key under a version's prefix, in key order. */
export async function versionKeys(store: BlobStore, modelId: string, version: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.listSizes(layout.modelVersionPrefix(modelId, version))) keys.push(key);
  return keys;
}
