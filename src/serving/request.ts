/**
 * The /predict request and response contract. Features are validated with the same FeaturesSchema the
 * prediction log uses, so every accepted request can be logged as a valid PredictionRow. Values of the
 * wrong type for a feature (e.g. the string "NaN" for a numeric one) are NOT rejected here: the
 * pipeline imputes and counts them as type mismatches, exactly as it does for logged training data.
 */
import { z } from 'zod';
import { FeaturesSchema } from '../schemas/records';

/** One instance to score. */
export const PredictInstanceSchema = z.object({
  /** Echoed back and logged; generated when absent. */
  requestId: z.string().min(1).max(256).optional(),
  /** Sticky canary routing key (falls back to requestId) and the log's entityId. */
  entityId: z.string().min(1).max(256).optional(),
  features: FeaturesSchema,
  slices: z.record(z.string(), z.string()).optional(),
});
export type PredictInstance = z.infer<typeof PredictInstanceSchema>;

/** One answer. `role` says which model served it: the champion or the canary (shadow answers are never served). */
export const PredictionAnswerSchema = z.object({
  requestId: z.string(),
  modelVersion: z.string(),
  predictedLabel: z.string(),
  scores: z.record(z.string(), z.number()),
  role: z.enum(['champion', 'canary']),
});
export type PredictionAnswer = z.infer<typeof PredictionAnswerSchema>;

/** A batch response: answers in request order. */
export const PredictBatchResponseSchema = z.object({ predictions: z.array(PredictionAnswerSchema) });

/** A request body that failed validation, with the offending field's path (e.g. `instances.2.features`). */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
  constructor(
    readonly field: string,
    readonly detail: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(`${field}: ${detail}`);
  }
}

function firstIssue(error: z.ZodError, prefix: (string | number)[]): InvalidRequestError {
  const issue = error.issues[0];
  const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  const field = path.length > 0 ? path.join('.') : '(body)';
  // zod says "expected record, received undefined" for a missing key; say what the caller must do.
  const detail = /received undefined/.test(issue.message) ? 'is required' : issue.message;
  return new InvalidRequestError(field, detail);
}

/**
 * Validates a parsed JSON body: either one instance or `{ instances: [...] }` (1..maxBatch).
 *
 * @throws InvalidRequestError naming the first offending field.
 */
export function parsePredictBody(
  body: unknown,
  maxBatch: number,
): { instances: PredictInstance[]; batch: boolean } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError(
      '(body)',
      'expected a JSON object: { features: {...} } or { instances: [...] }',
    );
  }
  if (Object.hasOwn(body, 'instances')) {
    const raw = (body as { instances: unknown }).instances;
    if (!Array.isArray(raw)) throw new InvalidRequestError('instances', 'expected an array of instances');
    if (raw.length === 0) throw new InvalidRequestError('instances', 'expected at least one instance');
    if (raw.length > maxBatch) {
      throw new InvalidRequestError(
        'instances',
        `at most ${maxBatch} instances per request, got ${raw.length}`,
        413,
      );
    }
    const instances: PredictInstance[] = [];
    for (let i = 0; i < raw.length; i++) {
      const parsed = PredictInstanceSchema.safeParse(raw[i]);
      if (!parsed.success) throw firstIssue(parsed.error, ['instances', i]);
      instances.push(parsed.data);
    }
    return { instances, batch: true };
  }
  const parsed = PredictInstanceSchema.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error, []);
  return { instances: [parsed.data], batch: false };
}

/** Parses the raw body text as JSON, reporting malformed JSON as a 400 on the body. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError('(body)', `malformed JSON: ${(err as Error).message}`);
  }
}
