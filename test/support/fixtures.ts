import type { BlobStore } from '../../src/storage/blob-store';
import { writeNdjson } from '../../src/storage/ndjson';
import type { OutcomeRow, PredictionRow } from '../../src/schemas';

/** A small valid prediction row for model `churn`. */
export function prediction(i: number, day: string, overrides: Partial<PredictionRow> = {}): PredictionRow {
  const churnScore = (i % 10) / 10 + 0.05;
  return {
    requestId: `r-${day}-${i}`,
    timestamp: `${day}T${String(i % 24).padStart(2, '0')}:00:00.000Z`,
    modelId: 'churn',
    modelVersion: 'v1',
    entityId: `u${i % 50}`,
    features: {
      tenure_days: 10 + i,
      country: i % 3 === 0 ? 'US' : 'DE',
      discount_used: i % 2 === 0,
      note: null,
    },
    predictedLabel: churnScore >= 0.5 ? 'churn' : 'stay',
    scores: { churn: churnScore, stay: 1 - churnScore },
    slices: { country: i % 3 === 0 ? 'US' : 'DE' },
    ...overrides,
  };
}

/** An observed outcome for a prediction, matured `delayDays` later. */
export function outcome(
  p: PredictionRow,
  label: string,
  delayDays = 7,
  source: OutcomeRow['source'] = 'observed',
): OutcomeRow {
  const ts = new Date(Date.parse(p.timestamp) + delayDays * 86_400_000).toISOString();
  return {
    requestId: p.requestId,
    observedLabel: label,
    source,
    confidence: source === 'observed' ? 1 : 0.6,
    timestamp: ts,
  };
}

/** Writes raw lines (valid JSON or not) as one log part. */
export async function writeRawLines(store: BlobStore, key: string, lines: string[]): Promise<void> {
  await store.put(key, lines.join('\n') + '\n');
}

/** Writes rows as one NDJSON log part. */
export async function writeRows(store: BlobStore, key: string, rows: unknown[]): Promise<void> {
  await writeNdjson(store, key, rows);
}
