import type { z } from 'zod';
import { DatasetManifestSchema } from '../schemas/manifests';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { readJson } from '../storage/ndjson';

/**
 * Temporal validation: a cycle sees only what existed at its window's end (its cycle time). Versioned
 * datasets (test set, challenge set) carry the cycle time that wrote them (`createdAt`) and a chain of
 * `previous` pointers; these helpers pick the version a cycle may build on, so a re-run of an older
 * window after later cycles reproduces the original instead of learning from the future.
 */

/**
 * The newest version in `pointer`'s chain written by another cycle at or before `asOf`: a version of
 * this same cycle (a retry or a re-run) or of a later cycle is passed over for its `previous`.
 */
export async function baseVersion<P extends { version: string }>(
  store: BlobStore,
  modelId: string,
  kind: 'test' | 'challenge',
  pointer: P | null,
  schema: z.ZodType<P>,
  cycleId: string,
  asOf: string,
): Promise<P | null> {
  for (let p = pointer, hops = 0; p && hops < 10_000; hops++) {
    const m = await readJson(store, layout.datasetManifest(modelId, kind, p.version), DatasetManifestSchema);
    if (p.version !== cycleId && m.createdAt <= asOf) return p;
    p = m.lineage.previous ? schema.parse(m.lineage.previous) : null;
  }
  return null;
}

/**
 * Whether a cycle at `asOf` may move the `current` pointer to its own version: not when the pointer
 * holds a later cycle's version (a re-run of an older window must not turn the clock back).
 */
export async function mayMovePointer(
  store: BlobStore,
  modelId: string,
  kind: 'test' | 'challenge',
  stored: { version: string } | null,
  asOf: string,
): Promise<boolean> {
  if (!stored) return true;
  const key = layout.datasetManifest(modelId, kind, stored.version);
  if (!(await store.head(key))) return true;
  return (await readJson(store, key, DatasetManifestSchema)).createdAt <= asOf;
}

/** A cycle's time (its window's end, ISO) from its ingest manifest, or undefined before ingest ran. */
export async function cycleTimeOf(
  store: BlobStore,
  modelId: string,
  cycleId: string,
): Promise<string | undefined> {
  const key = layout.joinedManifest(modelId, cycleId);
  if (!(await store.head(key))) return undefined;
  return (await readJson(store, key, DatasetManifestSchema)).window?.to;
}
