/**
 * The external-trainer contract (version 1, workers/README.md) as zod schemas: what the retrain
 * workflow sends to `trainExternalModel` on the policy's task queue, and what a worker in any language
 * must answer. The Node side parses every answer with these before trusting it.
 */
import { z } from 'zod';
import { ModelIdSchema } from '../schemas/records';
import { Sha256Schema } from '../scoring/artifact';

export { TRAIN_EXTERNAL_ACTIVITY } from './names';

/** The contract version both sides speak. */
export const EXTERNAL_CONTRACT_VERSION = 1;

/** `TrainExternalInput`: one JSON object. */
export const TrainExternalInputSchema = z.object({
  contract: z.literal(EXTERNAL_CONTRACT_VERSION),
  modelId: ModelIdSchema,
  /** `training/{model}/{sha256}/matrix.arrow`. */
  matrixKey: z.string().min(1),
  matrixSha256: Sha256Schema,
  /** Binary models: the positive class is classes[1], as in every loopkeeper artifact. */
  classes: z.array(z.string().min(1)).min(2),
  nFeatures: z.number().int().positive(),
  algorithm: z.string().min(1),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  /** Where the worker writes model.onnx and result.json (ends with "/"). */
  outputPrefix: z.string().regex(/\/$/, 'outputPrefix ends with "/"'),
});
export type TrainExternalInput = z.infer<typeof TrainExternalInputSchema>;

/** `TrainExternalResult`: what the worker answers after writing model.onnx (and result.json beside it). */
export const TrainExternalResultSchema = z.object({
  contract: z.literal(EXTERNAL_CONTRACT_VERSION),
  artifactKey: z.string().min(1),
  artifactSha256: Sha256Schema,
  inputName: z.string().min(1),
  outputName: z.string().min(1),
  opset: z.number().int().min(1),
  producer: z.string().min(1),
  classes: z.array(z.string().min(1)).min(2),
  validation: z.object({
    rows: z.number().int().nonnegative(),
    /** onnxruntime vs the library's own predict_proba on the validation rows (the worker's check). */
    maxAbsDiff: z.number().nonnegative(),
    logLoss: z.number().nonnegative().nullable().optional(),
  }),
  /** Rows, rounds, best iteration, seconds...: kept in the version's training summary. */
  training: z.record(z.string(), z.unknown()),
});
export type TrainExternalResult = z.infer<typeof TrainExternalResultSchema>;

/** The largest onnxruntime-vs-library difference the contract allows (the worker enforces it too). */
export const MAX_VALIDATION_ABS_DIFF = 1e-5;
