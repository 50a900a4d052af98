import type { BlobStore } from '../storage/blob-store';

/** Top-level folders whose second path segment is a model id. */
const MODEL_ROOTS = ['logs/', 'models/', 'config/'];

/** Keys looked at per root at most: enough to find every model of a real store's first pages. */
const MAX_KEYS_PER_ROOT = 5000;

/** Whether the store holds anything for `modelId` (logs, registry, or policy). */
export async function modelExists(store: BlobStore, modelId: string): Promise<boolean> {
  for (const root of MODEL_ROOTS) {
    if ((await store.listPage(`${root}${modelId}/`, { limit: 1 })).items.length > 0) return true;
  }
  return false;
}

/** Model ids the store holds something for (for "did you mean"). */
export async function knownModels(store: BlobStore): Promise<string[]> {
  const found = new Set<string>();
  for (const root of MODEL_ROOTS) {
    let seen = 0;
    for await (const { key } of store.listSizes(root)) {
      const id = key.slice(root.length).split('/')[0];
      if (id) found.add(id);
      if (++seen >= MAX_KEYS_PER_ROOT) break;
    }
  }
  return [...found].sort();
}
