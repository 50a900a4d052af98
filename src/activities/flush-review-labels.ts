import { z } from 'zod';
import { LabeledRowSchema, ModelIdSchema } from '../schemas';
import { layout } from '../storage/layout';
import { writeNdjson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { countInActivity } from './metrics';
import { metricCatalog } from '../workflows/metric-catalog';

export const FlushReviewLabelsInputSchema = z.object({
  modelId: ModelIdSchema,
  /** Deterministic per queue and batch (see reviewLabelBatchId), so a retry rewrites the same object. */
  batchId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'batchId must be key-safe: A-Z, a-z, 0-9, ".", "_", "-"'),
  rows: z.array(LabeledRowSchema),
});
export type FlushReviewLabelsInput = z.infer<typeof FlushReviewLabelsInputSchema>;

export interface FlushReviewLabelsResult {
  key: string;
  rows: number;
}

/**
 * Writes one batch of human-reviewed labels to `labels/{model}/human/{batchId}.ndjson`. The whole object
 * is replaced (last writer wins), so retrying the same batch is idempotent.
 */
export function createFlushReviewLabels(deps: ActivityDeps) {
  return async function flushReviewLabels(
    rawInput: FlushReviewLabelsInput,
  ): Promise<FlushReviewLabelsResult> {
    const input = FlushReviewLabelsInputSchema.parse(rawInput);
    const key = layout.labels(input.modelId, 'human', input.batchId);
    const { rows } = await writeNdjson(deps.store, key, input.rows);
    // A retried batch (after a crash past the write) counts again: a counter may overcount, never drop.
    countInActivity(metricCatalog.labelsWritten, rows, { model: input.modelId, source: 'human' });
    return { key, rows };
  };
}
