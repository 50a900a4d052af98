import { z } from 'zod';
import type { BlobStore } from '../../storage/blob-store';
import { layout } from '../../storage/layout';
import { readJson } from '../../storage/ndjson';
import type { DriftPoint } from './model-data';

/** The part of a stored drift.json the model page reads (the rest is ignored, not required). */
const DriftDocSchema = z.object({
  runId: z.string(),
  window: z.object({ from: z.string(), to: z.string() }),
  drift: z.object({
    level: z.string(),
    features: z.array(z.object({ feature: z.string(), psi: z.number().nullable() })),
  }),
});

/** A run id as it appears in a report key: one path segment, so it can be put back into a key safely. */
export const RunIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$/,
    'run id must be one key segment of letters, digits, ".", "_" or "-"',
  );

/**
 * Drift reports of a model (cycles' and the drift monitor's), oldest window first, at most `limit` of
 * the newest. A report that cannot be read is skipped and named in `unreadable`, not dropped silently.
 */
export async function loadDrift(
  store: BlobStore,
  modelId: string,
  limit: number,
): Promise<{ points: DriftPoint[]; unreadable: string[] }> {
  const prefix = layout.reportsPrefix(modelId);
  const runs = new Map<string, { json: boolean; html: boolean }>();
  for await (const { key } of store.listSizes(prefix)) {
    const [runId, name, ...rest] = key.slice(prefix.length).split('/');
    if (rest.length > 0 || !RunIdSchema.safeParse(runId).success) continue;
    if (name !== 'drift.json' && name !== 'drift.html') continue;
    const r = runs.get(runId) ?? { json: false, html: false };
    if (name === 'drift.json') r.json = true;
    else r.html = true;
    runs.set(runId, r);
  }
  const points: DriftPoint[] = [];
  const unreadable: string[] = [];
  for (const [runId, r] of runs) {
    if (!r.json) continue;
    const key = layout.report(modelId, runId, 'drift.json');
    try {
      const doc = await readJson(store, key, DriftDocSchema);
      points.push({
        runId,
        window: doc.window,
        level: doc.drift.level,
        features: doc.drift.features.map((f) => ({ feature: f.feature, psi: f.psi })),
        hasHtml: r.html,
      });
    } catch (err) {
      unreadable.push(`${key}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  points.sort((a, b) =>
    a.window.to < b.window.to ? -1 : a.window.to > b.window.to ? 1 : a.runId < b.runId ? -1 : 1,
  );
  return { points: points.slice(-limit), unreadable };
}
