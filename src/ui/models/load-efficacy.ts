import { z } from 'zod';
import { readRows } from '../../activities/read-rows';
import { DatasetManifestSchema } from '../../schemas/manifests';
import { JoinedRowSchema } from '../../schemas/records';
import type { BlobStore } from '../../storage/blob-store';
import { layout } from '../../storage/layout';
import { ModelRegistry } from '../../storage/model-registry';
import { readJson } from '../../storage/ndjson';
import type { MaturedPrediction } from './efficacy';
import { offlinePrecisionOf, toMatured, weeklyEfficacy } from './efficacy';
import type { EfficacyView } from './model-data';

const JoinedKeysSchema = z.array(z.string().min(1));

/**
 * Production precision/recall per week from the joined datasets the cycles stored (each prediction with
 * the outcomes that matured for it), against the offline precision of the version that served the week.
 * Reads the newest `maxCycles` cycles' joined data. The positive class is the champion's (or, without a
 * champion, the newest version's); a model without one gets a reason instead of a chart.
 */
export async function loadEfficacy(
  store: BlobStore,
  modelId: string,
  maxCycles: number,
): Promise<EfficacyView> {
  const registry = new ModelRegistry(store);
  const [versions, aliases] = await Promise.all([
    registry.listVersions(modelId),
    registry.getAliases(modelId),
  ]);
  const champion = versions.find((v) => v.version === aliases.aliases.champion);
  const newest = [...versions].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
  const positiveClass = (champion ?? newest)?.positiveClass;
  if (!positiveClass)
    throw new Error(
      versions.length === 0
        ? 'no registered version yet, so no positive class to measure precision for'
        : 'the model has no positive class (set retrain.positiveClass in its policy); precision per class is not charted',
    );
  const offline = new Map(versions.map((v) => [v.version, offlinePrecisionOf(v)]));

  const prefix = layout.joinedPrefix(modelId);
  const manifests: string[] = [];
  for await (const { key } of store.listSizes(prefix)) {
    const rest = key.slice(prefix.length).split('/');
    if (rest.length === 2 && rest[1] === 'manifest.json') manifests.push(key);
  }
  const docs = await Promise.all(manifests.map((key) => readJson(store, key, DatasetManifestSchema)));
  const newestCycles = docs
    .filter((d) => d.kind === 'joined')
    .sort((a, b) => ((a.window?.to ?? a.createdAt) < (b.window?.to ?? b.createdAt) ? -1 : 1))
    .slice(-maxCycles);
  const rows: MaturedPrediction[] = [];
  for (const doc of newestCycles) {
    const keys = JoinedKeysSchema.parse(doc.lineage.joinedKeys ?? []);
    for await (const row of readRows(store, keys, JoinedRowSchema)) {
      const m = toMatured(row);
      if (m) rows.push(m);
    }
  }
  return { positiveClass, weeks: weeklyEfficacy(rows, positiveClass, offline), cycles: newestCycles.length };
}
