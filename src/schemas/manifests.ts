import { z } from 'zod';
import { ModelIdSchema, TimestampSchema } from './records';

/** Manifest written beside every dataset blob: what it holds and where it came from. */
export const DatasetManifestSchema = z.object({
  kind: z.enum(['joined', 'train', 'test', 'challenge', 'labels']),
  modelId: ModelIdSchema,
  version: z.string().min(1),
  dataKey: z.string().min(1),
  rows: z.number().int().nonnegative(),
  /** label → rows */
  classCounts: z.record(z.string(), z.number().int().nonnegative()),
  window: z.object({ from: TimestampSchema, to: TimestampSchema }).optional(),
  createdAt: TimestampSchema,
  /** Free-form lineage: input keys, cycle id, sampling parameters. */
  lineage: z.record(z.string(), z.unknown()).default({}),
  sha256: z.string().optional(),
});
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;
export type DatasetManifestInput = z.input<typeof DatasetManifestSchema>;

/** Blessing record: whether a candidate may be promoted, with the reasons (like TFX's ModelBlessing). */
export const BlessingSchema = z.object({
  blessed: z.boolean(),
  reasons: z.array(z.string()),
  comparedTo: z.string().nullable(),
  testSetKey: z.string().nullable(),
  decidedAt: TimestampSchema,
  checks: z.array(z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })).default([]),
  /**
   * The gate's numbers: candidate and champion scored on the same test set (`testSetKey`). Unlike the
   * manifest's `metrics` (each version on its own holdout), these are comparable. Absent when there was
   * no common test set, and in blessings recorded before this field existed.
   */
  comparison: z
    .object({
      testRows: z.number().int().nonnegative(),
      candidate: z.record(z.string(), z.number()),
      champion: z.record(z.string(), z.number()).nullable(),
    })
    .optional(),
});
export type Blessing = z.infer<typeof BlessingSchema>;

/** Manifest of one immutable model version. */
export const ModelManifestSchema = z.object({
  modelId: ModelIdSchema,
  version: z.string().min(1),
  createdAt: TimestampSchema,
  trainer: z.string(),
  /** The artifact's kind (src/scoring/artifact.ts); absent means linear (every version before ONNX). */
  kind: z.enum(['linear', 'onnx']).optional(),
  classes: z.array(z.string()).min(2),
  positiveClass: z.string().optional(),
  threshold: z.number().optional(),
  trainingData: z.array(z.string()),
  metrics: z.record(z.string(), z.number()).default({}),
  codeVersion: z.string(),
  blessing: BlessingSchema.optional(),
  lineage: z.record(z.string(), z.unknown()).default({}),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;
