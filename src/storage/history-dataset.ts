/**
 * Reads the bootstrap history the simulator (or an import) writes under datasets/{model}/history/:
 * labelled rows a first model can be trained on before production has produced any feedback.
 */
import type { DatasetManifest } from '../schemas/manifests';
import { DatasetManifestSchema } from '../schemas/manifests';
import { parseLine } from '../schemas/parse-line';
import type { LabeledRow } from '../schemas/records';
import { LabeledRowSchema } from '../schemas/records';
import type { BlobStore } from './blob-store';
import { layout } from './layout';
import { readJson, readLines } from './ndjson';

/** A history dataset: its manifest and where that manifest lives. */
export interface HistoryDataset {
  manifest: DatasetManifest;
  manifestKey: string;
}

/** Rows of a dataset plus the lines that failed validation (kept with their reasons, never silently dropped). */
export interface ReadRowsResult {
  rows: LabeledRow[];
  bad: Array<{ lineNo: number; reason: string }>;
}

/** The newest history dataset of a model (by manifest createdAt, then key), or undefined when there is none. */
export async function findLatestHistory(
  store: BlobStore,
  modelId: string,
): Promise<HistoryDataset | undefined> {
  let best: HistoryDataset | undefined;
  for await (const info of store.list(layout.datasetKindPrefix(modelId, 'history'))) {
    if (!info.key.endsWith('/manifest.json')) continue;
    const manifest = await readJson(store, info.key, DatasetManifestSchema);
    const newer =
      !best ||
      Date.parse(manifest.createdAt) > Date.parse(best.manifest.createdAt) ||
      (manifest.createdAt === best.manifest.createdAt && info.key > best.manifestKey);
    if (newer) best = { manifest, manifestKey: info.key };
  }
  return best;
}

/** Streams a LabeledRow NDJSON object, validating every line. */
export async function readLabeledRows(store: BlobStore, key: string): Promise<ReadRowsResult> {
  const rows: LabeledRow[] = [];
  const bad: ReadRowsResult['bad'] = [];
  for await (const { line, lineNo } of readLines(store, key)) {
    const result = parseLine(line, LabeledRowSchema);
    if (result.ok) rows.push(result.row);
    else bad.push({ lineNo, reason: result.reason });
  }
  return { rows, bad };
}
