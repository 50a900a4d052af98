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
  /** Request features no served model reads: logged with the rest, not used (absent when none). */
  ignoredFeatures: z.array(z.string()).optional(),
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

/** A request/entity id as PredictInstanceSchema accepts it. */
function isId(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 256;
}

/** An object as JSON.parse makes them (zod's records refuse class instances such as a Map). */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * True when every value is a finite number, a string, a boolean or null and no key is empty or
 * `__proto__` (which zod drops from records; such rare bodies take the zod path to get its output).
 */
function isFeatures(value: unknown): value is PredictInstance['features'] {
  if (!isPlainRecord(value)) return false;
  const record = value;
  for (const key in record) {
    if (key === '' || key === '__proto__') return false;
    const v = record[key];
    if (
      typeof v === 'number'
        ? !Number.isFinite(v)
        : v !== null && typeof v !== 'string' && typeof v !== 'boolean'
    )
      return false;
  }
  return true;
}

function isSlices(value: unknown): value is Record<string, string> {
  if (!isPlainRecord(value)) return false;
  const record = value;
  for (const key in record) if (key === '__proto__' || typeof record[key] !== 'string') return false;
  return true;
}

/**
 * PredictInstanceSchema without zod's per-call cost (it was most of the validation CPU per request):
 * returns what `safeParse(raw).data` would (same keys, same order, unknown keys dropped) for the common
 * case, and undefined whenever it is not sure, so zod still decides every refusal and its message. The
 * features and slices objects are reused rather than copied: they come fresh from JSON.parse.
 */
function fastInstance(raw: unknown): PredictInstance | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { requestId, entityId, features, slices } = raw as Record<string, unknown>;
  if (requestId !== undefined && !isId(requestId)) return undefined;
  if (entityId !== undefined && !isId(entityId)) return undefined;
  if (!isFeatures(features)) return undefined;
  if (slices !== undefined && !isSlices(slices)) return undefined;
  const instance: PredictInstance = {} as PredictInstance;
  if (requestId !== undefined) instance.requestId = requestId as string;
  if (entityId !== undefined) instance.entityId = entityId as string;
  instance.features = features;
  if (slices !== undefined) instance.slices = slices;
  return instance;
}

function parseInstance(raw: unknown, prefix: (string | number)[]): PredictInstance {
  const fast = fastInstance(raw);
  if (fast) return fast;
  const parsed = PredictInstanceSchema.safeParse(raw);
  if (!parsed.success) throw firstIssue(parsed.error, prefix);
  return parsed.data;
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
    for (let i = 0; i < raw.length; i++) instances.push(parseInstance(raw[i], ['instances', i]));
    return { instances, batch: true };
  }
  return { instances: [parseInstance(body, [])], batch: false };
}

/** Parses the raw body text as JSON, reporting malformed JSON as a 400 on the body. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError('(body)', `malformed JSON: ${(err as Error).message}`);
  }
}
