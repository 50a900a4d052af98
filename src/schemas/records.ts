import { z } from 'zod';

/** A model id: lower-case, safe in blob keys and workflow ids. */
export const ModelIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'model id must be 1-63 chars of a-z, 0-9, "-" or "_", starting alphanumeric',
  );
export type ModelId = z.infer<typeof ModelIdSchema>;

/** ISO-8601 timestamp with a timezone, e.g. 2026-06-01T12:00:00.000Z. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/** One feature value as logged: a finite number, a string, a boolean or null (missing). */
export const FeatureValueSchema = z.union(
  [z.number().refine(Number.isFinite, 'must be a finite number'), z.string(), z.boolean(), z.null()],
  {
    error: 'must be a finite number, a string, a boolean or null',
  },
);
export type FeatureValue = z.infer<typeof FeatureValueSchema>;

export const FeaturesSchema = z.record(z.string().min(1), FeatureValueSchema);
export type Features = z.infer<typeof FeaturesSchema>;

/** One row of the prediction log: what a serving process answered for one request. */
export const PredictionRowSchema = z.object({
  requestId: z.string().min(1),
  timestamp: TimestampSchema,
  modelId: ModelIdSchema,
  modelVersion: z.string().min(1),
  /** Entity the request is about (user, account); used for sticky canary routing and slices. */
  entityId: z.string().min(1).optional(),
  features: FeaturesSchema,
  predictedLabel: z.string().min(1),
  /** Class name → probability. */
  scores: z.record(z.string(), z.number().min(0).max(1)),
  /** Optional slice tags, e.g. { country: 'DE', segment: 'smb' }. */
  slices: z.record(z.string(), z.string()).optional(),
  /** Which side answered: the champion, a canary, or a shadow (logged, never served). */
  role: z.enum(['champion', 'canary', 'shadow']).optional(),
  latencyMs: z.number().nonnegative().optional(),
});
export type PredictionRow = z.infer<typeof PredictionRowSchema>;

export const LabelSourceSchema = z.enum(['observed', 'user-report', 'annotator', 'heuristic']);
export type LabelSource = z.infer<typeof LabelSourceSchema>;

/** One row of the outcome log: the label observed (or reported) for an earlier request. */
export const OutcomeRowSchema = z.object({
  requestId: z.string().min(1),
  observedLabel: z.string().min(1),
  source: LabelSourceSchema,
  confidence: z.number().min(0).max(1).default(1),
  timestamp: TimestampSchema,
});
export type OutcomeRow = z.infer<typeof OutcomeRowSchema>;
export type OutcomeRowInput = z.input<typeof OutcomeRowSchema>;

/** A prediction joined with every outcome that matured for it inside the window. */
export const JoinedRowSchema = z.object({
  requestId: z.string(),
  timestamp: TimestampSchema,
  modelVersion: z.string(),
  entityId: z.string().optional(),
  features: FeaturesSchema,
  predictedLabel: z.string(),
  scores: z.record(z.string(), z.number()),
  slices: z.record(z.string(), z.string()).optional(),
  /** Outcomes for this request, oldest first (several sources may disagree). */
  outcomes: z.array(
    OutcomeRowSchema.pick({ observedLabel: true, source: true, confidence: true, timestamp: true }),
  ),
});
export type JoinedRow = z.infer<typeof JoinedRowSchema>;

/** A labelled example as stored in datasets and label batches. */
export const LabeledRowSchema = z.object({
  requestId: z.string(),
  timestamp: TimestampSchema,
  features: FeaturesSchema,
  label: z.string().min(1),
  slices: z.record(z.string(), z.string()).optional(),
  /** Where the label came from: an outcome source, an auto-relabel, or a human review. */
  labelSource: z.enum([
    'observed',
    'user-report',
    'annotator',
    'heuristic',
    'auto-relabel',
    'human-review',
    'historical',
  ]),
  lineage: z.record(z.string(), z.string()).optional(),
});
export type LabeledRow = z.infer<typeof LabeledRowSchema>;

/** A row that failed validation, kept with its reason so nothing is lost silently. */
export const QuarantinedRowSchema = z.object({
  source: z.string(),
  line: z.number().int().nonnegative(),
  reason: z.string(),
  raw: z.string(),
});
export type QuarantinedRow = z.infer<typeof QuarantinedRowSchema>;
