/**
 * Writes simulated traffic into a blob store in loopkeeper's log layout (I/O). Streams one day at a
 * time: a day is generated, its prediction part and its outcome parts are written, then it is dropped.
 */
import { createHash } from 'node:crypto';
import type { DatasetManifest } from '../schemas/manifests';
import { DatasetManifestSchema } from '../schemas/manifests';
import type { LabelSource, OutcomeRow } from '../schemas/records';
import { ModelIdSchema } from '../schemas/records';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { writeJson, writeNdjson } from '../storage/ndjson';
import { generateDay, iterateHistory, resolveScoringModel } from './generate';
import type { Scorer, ScoringModel } from './reference-scorer';
import { referenceModel } from './reference-scorer';
import type { ScenarioConfig, ScenarioConfigInput } from './scenario';
import { dayStartMs, isoDate, scenarioConfig } from './scenario';

export interface WriteSimulatedLogsOptions {
  modelId: string;
  config: ScenarioConfigInput;
  /** Scores the requests; default: the reference scorer ('reference-v0'). */
  scorer?: ScoringModel | Scorer;
  /** Model version for a bare scorer (or to override a ScoringModel's). */
  modelVersion?: string;
  /** Write `.ndjson.gz` log parts instead of `.ndjson`. */
  gzip?: boolean;
  /** First production day to write (default 0). */
  fromDay?: number;
  /** Day after the last one to write (exclusive; default config.days). */
  toDay?: number;
  /** Days of labelled history to write before the start date (default 28; 0 writes none). */
  historyDays?: number;
}

export interface WriteSimulatedLogsResult {
  modelId: string;
  modelVersion: string;
  scenario: ScenarioConfig;
  fromDay: number;
  toDay: number;
  predictions: { rows: number; keys: string[] };
  /** Outcome parts are keyed by the outcome's own day, so they run past the last prediction day. */
  outcomes: { rows: number; keys: string[]; bySource: Partial<Record<LabelSource, number>> };
  history: { rows: number; dataKey: string; manifestKey: string; classCounts: Record<string, number> } | null;
}

/** Key of a day's prediction part. */
export function predictionPartKey(modelId: string, date: string, gzip = false): string {
  return `${layout.predictionDay(modelId, date)}part-0000.ndjson${gzip ? '.gz' : ''}`;
}

/**
 * Key of the outcomes that matured on `outcomeDate` for the predictions of `predictionDate`. One part
 * per source day, so the parts of different generated days never overwrite each other.
 */
export function outcomePartKey(
  modelId: string,
  outcomeDate: string,
  predictionDate: string,
  gzip = false,
): string {
  return `${layout.outcomeDay(modelId, outcomeDate)}part-from-${predictionDate}.ndjson${gzip ? '.gz' : ''}`;
}

/** Keys of the history dataset of a seed. */
export function historyKeys(modelId: string, seed: number): { dataKey: string; manifestKey: string } {
  return {
    dataKey: layout.dataset(modelId, 'history', String(seed)),
    manifestKey: layout.datasetManifest(modelId, 'history', String(seed)),
  };
}

/**
 * Writes predictions under `logs/{model}/predictions/date=YYYY-MM-DD/part-0000.ndjson[.gz]`, outcomes
 * under `logs/{model}/outcomes/date=YYYY-MM-DD/part-from-YYYY-MM-DD.ndjson[.gz]` (partitioned by the
 * outcome's timestamp, named by the prediction day), and `historyDays` of labelled history under
 * `datasets/{model}/history/{seed}/data.ndjson` with a 'train' manifest beside it. Same inputs ⇒ same
 * bytes (the manifest's createdAt is the scenario start, not the wall clock).
 */
export async function writeSimulatedLogs(
  store: BlobStore,
  options: WriteSimulatedLogsOptions,
): Promise<WriteSimulatedLogsResult> {
  const modelId = ModelIdSchema.parse(options.modelId);
  const config = scenarioConfig(options.config);
  const fromDay = options.fromDay ?? 0;
  const toDay = options.toDay ?? config.days;
  if (!Number.isInteger(fromDay) || !Number.isInteger(toDay) || fromDay < 0 || toDay < fromDay) {
    throw new Error(`writeSimulatedLogs: need integers 0 ≤ fromDay ≤ toDay, got ${fromDay}..${toDay}`);
  }
  const gzip = options.gzip ?? false;
  const model = resolveScoringModel(options.scorer ?? referenceModel, options.modelVersion);

  const result: WriteSimulatedLogsResult = {
    modelId,
    modelVersion: model.modelVersion,
    scenario: config,
    fromDay,
    toDay,
    predictions: { rows: 0, keys: [] },
    outcomes: { rows: 0, keys: [], bySource: {} },
    history: null,
  };

  for (let dayIndex = fromDay; dayIndex < toDay; dayIndex++) {
    const day = generateDay(config, dayIndex, model, { modelId });
    const predictionKey = predictionPartKey(modelId, day.date, gzip);
    const written = await writeNdjson(store, predictionKey, day.predictions);
    result.predictions.rows += written.rows;
    result.predictions.keys.push(predictionKey);

    const byDate = new Map<string, OutcomeRow[]>();
    for (const outcome of day.outcomes) {
      const date = outcome.timestamp.slice(0, 10);
      let rows = byDate.get(date);
      if (!rows) byDate.set(date, (rows = []));
      rows.push(outcome);
      result.outcomes.bySource[outcome.source] = (result.outcomes.bySource[outcome.source] ?? 0) + 1;
    }
    for (const date of [...byDate.keys()].sort()) {
      const key = outcomePartKey(modelId, date, day.date, gzip);
      const out = await writeNdjson(store, key, byDate.get(date) ?? []);
      result.outcomes.rows += out.rows;
      result.outcomes.keys.push(key);
    }
  }

  const historyDays = options.historyDays ?? 28;
  if (historyDays > 0) result.history = await writeHistory(store, modelId, config, historyDays);
  return result;
}

/**
 * Writes `days` of labelled history before the scenario's start under `datasets/{model}/history/{seed}/`
 * (data + a 'train' manifest), the dataset a first model is trained on (see `loopkeeper train`).
 */
export async function writeHistory(
  store: BlobStore,
  modelId: string,
  config: ScenarioConfig,
  days: number,
): Promise<NonNullable<WriteSimulatedLogsResult['history']>> {
  const { dataKey, manifestKey } = historyKeys(modelId, config.seed);
  const classCounts: Record<string, number> = {};
  async function* rows(): AsyncGenerator<unknown> {
    for (const day of iterateHistory(config, { days })) {
      for (const row of day.rows) {
        classCounts[row.label] = (classCounts[row.label] ?? 0) + 1;
        yield row;
      }
    }
  }
  const written = await writeNdjson(store, dataKey, rows());

  const hash = createHash('sha256');
  for await (const chunk of await store.getStream(dataKey)) hash.update(chunk as Buffer);

  const startIso = new Date(dayStartMs(config, 0)).toISOString();
  const manifest: DatasetManifest = DatasetManifestSchema.parse({
    kind: 'train',
    modelId,
    version: String(config.seed),
    dataKey,
    rows: written.rows,
    classCounts: Object.fromEntries(Object.entries(classCounts).sort(([a], [b]) => (a < b ? -1 : 1))),
    window: { from: new Date(dayStartMs(config, -days)).toISOString(), to: startIso },
    createdAt: startIso,
    lineage: {
      generator: 'loopkeeper/simulate',
      scenario: config,
      historyDays: days,
      historyFrom: isoDate(dayStartMs(config, -days)),
      labelSource: 'historical',
    },
    sha256: hash.digest('hex'),
  });
  await writeJson(store, manifestKey, manifest);
  return { rows: written.rows, dataKey, manifestKey, classCounts: manifest.classCounts };
}
