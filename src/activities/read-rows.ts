import type { z } from 'zod';
import type { BlobStore } from '../storage/blob-store';
import { readLineBatches } from '../storage/ndjson';

/**
 * Reads NDJSON rows that loopkeeper wrote itself (joined parts, label batches, datasets), validating each
 * against its schema: a file edited by hand or written by an older version fails naming key and line.
 */
export async function* readRows<T>(
  store: BlobStore,
  keys: readonly string[],
  schema: z.ZodType<T>,
): AsyncIterable<T> {
  for (const key of keys) {
    for await (const batch of readLineBatches(store, key)) {
      for (const { line, lineNo } of batch) {
        const parsed = schema.safeParse(JSON.parse(line));
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new Error(`${key}:${lineNo}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
        }
        yield parsed.data;
      }
    }
  }
}

/** Collects every row of `keys` (for sets that are small by construction: test sets, label batches). */
export async function readAllRows<T>(
  store: BlobStore,
  keys: readonly string[],
  schema: z.ZodType<T>,
): Promise<T[]> {
  const out: T[] = [];
  for await (const row of readRows(store, keys, schema)) out.push(row);
  return out;
}

/**
 * Keys under a prefix ending in .ndjson / .ndjson.gz, sorted. Listed by size only: a version token can
 * cost a read of the whole object (a file store hashes files it has not seen).
 */
export async function ndjsonKeysUnder(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.listSizes(prefix))
    if (/\.ndjson(\.gz)?$/.test(info.key)) keys.push(info.key);
  return keys.sort();
}

/** Total bytes of `keys` (absent keys count 0), listing each folder once rather than a head per key. */
export async function totalSize(store: BlobStore, keys: readonly string[]): Promise<number> {
  const wanted = new Set(keys);
  const folders = new Set(keys.map((k) => k.slice(0, k.lastIndexOf('/') + 1)));
  let bytes = 0;
  for (const folder of folders)
    for await (const { key, size } of store.listSizes(folder)) if (wanted.has(key)) bytes += size;
  return bytes;
}
