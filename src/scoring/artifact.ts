/**
 * The two kinds of model artifact a registered version holds. `linear`: model.json is today's
 * ModelArtifact (pipeline + linear coefficients; stored without a `kind`, so every version written
 * before ONNX existed reads as linear and keeps its content-addressed id). `onnx`: model.onnx beside a
 * model.json that holds the same fitted feature pipeline, the decision fields and the graph's metadata;
 * the graph maps the pipeline's numeric matrix to class probabilities.
 */
import { z } from 'zod';
import { FittedPipelineSchema } from '../ml/feature-pipeline';
import type { ModelArtifact } from '../ml/model';
import { ModelArtifactSchema } from '../ml/model';

/** What an artifact's kind is called in manifests, listings and the scorer. */
export const ArtifactKindSchema = z.enum(['linear', 'onnx']);
export type ArtifactKind = z.infer<typeof ArtifactKindSchema>;

/** A SHA-256 digest in lowercase hex. */
export const Sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex digits');

/** How an onnx model came to be: the external trainer's report (TrainExternalResult), kept for audit. */
export const OnnxTrainingSummarySchema = z.object({
  trainer: z.string().min(1),
  algorithm: z.string().min(1).optional(),
  rows: z.number().int().nonnegative(),
  validationRows: z.number().int().nonnegative(),
  /** The worker's own check: onnxruntime vs the library's predict_proba on the validation rows. */
  validationMaxAbsDiff: z.number().nonnegative().optional(),
  validationLogLoss: z.number().optional(),
  /** Everything else the worker reported (rounds, best iteration, seconds...). */
  details: z.record(z.string(), z.unknown()).default({}),
  warnings: z.array(z.string()).optional(),
});
export type OnnxTrainingSummary = z.infer<typeof OnnxTrainingSummarySchema>;

/** model.json of an onnx version. */
export const OnnxArtifactSchema = z
  .object({
    kind: z.literal('onnx'),
    pipeline: FittedPipelineSchema,
    classes: z.array(z.string().min(1)).min(2),
    positiveClass: z.string().optional(),
    threshold: z.number().min(0).max(1).optional(),
    /** sha256 of model.onnx: the graph is part of the version's content id through this. */
    onnxSha256: Sha256Schema,
    inputName: z.string().min(1),
    outputName: z.string().min(1),
    opset: z.number().int().min(1),
    producer: z.string().min(1),
    training: OnnxTrainingSummarySchema,
  })
  .superRefine((a, ctx) => {
    if (new Set(a.classes).size !== a.classes.length)
      ctx.addIssue({ code: 'custom', message: 'duplicate classes' });
    const binary = a.classes.length === 2;
    if (!binary && (a.positiveClass !== undefined || a.threshold !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'positiveClass/threshold apply to binary models only' });
    }
    if (a.positiveClass !== undefined && !a.classes.includes(a.positiveClass)) {
      ctx.addIssue({ code: 'custom', message: `positiveClass "${a.positiveClass}" is not a class` });
    }
  });
export type OnnxArtifact = z.infer<typeof OnnxArtifactSchema>;

/** Whatever a version's model.json holds. */
export type StoredArtifact = ModelArtifact | OnnxArtifact;

/** The kind of a stored artifact: only onnx artifacts carry one. */
export function artifactKind(artifact: StoredArtifact): ArtifactKind {
  return 'kind' in artifact && artifact.kind === 'onnx' ? 'onnx' : 'linear';
}

/** True for an onnx artifact (narrows the type). */
export function isOnnxArtifact(artifact: StoredArtifact): artifact is OnnxArtifact {
  return artifactKind(artifact) === 'onnx';
}

/**
 * Validates a model.json read from storage or handed to the registry: `kind: "onnx"` selects the onnx
 * schema; anything else (no kind: every version older than ONNX support) is a linear artifact.
 * Throws a ZodError describing what is wrong.
 */
export function parseStoredArtifact(json: unknown): StoredArtifact {
  const kind = typeof json === 'object' && json !== null ? (json as { kind?: unknown }).kind : undefined;
  if (kind === 'onnx') return OnnxArtifactSchema.parse(json);
  if (kind !== undefined && kind !== 'linear') {
    throw new z.ZodError([
      {
        code: 'custom',
        path: ['kind'],
        message: `unknown artifact kind ${JSON.stringify(kind)} (expected "linear" or "onnx")`,
        input: kind,
      },
    ]);
  }
  return ModelArtifactSchema.parse(json);
}
