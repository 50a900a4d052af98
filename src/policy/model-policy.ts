import { z } from 'zod';
import { parseStrict } from '../config/strict-json';
import type { StrictResult } from '../config/strict-json';
import { DriftThresholdsSchema } from '../monitoring/drift';
import { SkewConfigSchema } from '../monitoring/skew';
import { ThresholdPolicySchema } from '../ml/threshold';
import { IngestLimitsSchema } from '../schemas/line-rules';
import { ChallengeSetConfigSchema } from './challenge-set';
import { FeedbackCapsConfigSchema } from './feedback-caps';
import { PromotionGateConfigSchema } from './promotion-gate';
import { RolloutPlanSchema } from './rollout-plan';
import { RoutingConfigSchema } from './routing';
import { TestSetRefreshConfigSchema } from './test-set-refresh';
import { TrainOptionsSchema } from '../ml/trainers';
import type { TrainOptions } from '../ml/trainers';

/** How a cycle assembles its training data. */
export const RetrainConfigSchema = z.object({
  /**
   * Days of production traffic (before the window's end) whose labelled rows form the base training set.
   * Must exceed the label delay: the newest `labelDelay` days have no matured outcomes yet.
   */
  trainingWindowDays: z.number().int().min(1).max(365).default(14),
  /** Cap on the share of feedback-derived rows (auto + human relabels) in the training set. */
  maxFeedbackShare: z.number().min(0).max(1).default(0.3),
  /** Below this many labelled traffic rows, the bootstrap history is added to the base. */
  minTrainingRows: z.number().int().min(10).default(2000),
  /** Latest share of the assembled rows held out for the candidate's own metrics. */
  testFraction: z.number().min(0.05).max(0.5).default(0.2),
  validationFraction: z.number().min(0).max(0.5).default(0.1),
  positiveClass: z.string().min(1).optional(),
  l2: z.number().min(0).default(1e-3),
  /**
   * How the binary decision threshold is picked on the validation split (see src/ml/threshold.ts):
   * `{ objective: 'f1' }` (default), `{ objective: 'precision' | 'recall', target }`, or
   * `{ objective: 'fixed', value }`. Stored in the artifact; serving and the gate use it.
   */
  threshold: ThresholdPolicySchema.prefault({}),
});
export type RetrainConfig = z.infer<typeof RetrainConfigSchema>;

/** A Temporal task queue name as a policy names it. */
const TaskQueueSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'a task queue name is letters, digits, ".", "_", ":" or "-"');

/**
 * Options a policy may set for the built-in trainers (src/ml/trainers.ts TrainOptions, all optional);
 * `l2` and `seed` default to `retrain.l2` and the policy's seed. Unknown keys are refused where a person's
 * JSON is read (strict-json.ts), like everywhere in the policy.
 */
export const BuiltinTrainerParamsSchema = z.object(
  // Without their defaults: a policy that names one option must not silently pin all the others
  // (`.partial()` keeps the inner defaults, so `{}` would parse to every default, l2 included).
  Object.fromEntries(
    Object.entries(TrainOptionsSchema.shape).map(([name, field]) => [
      name,
      (field instanceof z.ZodDefault ? field.removeDefault() : field).optional(),
    ]),
  ),
) as unknown as z.ZodType<Partial<TrainOptions>>;
export type BuiltinTrainerParams = z.infer<typeof BuiltinTrainerParamsSchema>;

/** Scalar hyper-parameters handed to an external trainer as they are (it refuses the ones it does not know). */
export const ExternalTrainerParamsSchema = z.record(
  z.string().min(1).max(100),
  z.union([z.number(), z.string().max(1000), z.boolean()]),
);

/**
 * Which trainer retrains the model. `builtin-logistic` / `builtin-softmax`: the embedded linear trainers
 * (a `linear` version). `external`: the activity `trainExternalModel` on `taskQueue`, served by a worker
 * in any language (workers/README.md: the training matrix as an Arrow IPC file in, an ONNX graph out; an
 * `onnx` version). Without a `trainer` section the built-in trainer is chosen by class count (logistic
 * for two classes, softmax for more).
 */
export const TrainerConfigSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(['builtin-logistic', 'builtin-softmax']),
    params: BuiltinTrainerParamsSchema.default({}),
  }),
  z.object({
    kind: z.literal('external'),
    /** The task queue the external worker polls (e.g. `loopkeeper-python`). */
    taskQueue: TaskQueueSchema,
    /** The worker's algorithm, e.g. `lightgbm` (default) or `logistic` for the reference worker. */
    algorithm: z.string().min(1).max(100).default('lightgbm'),
    params: ExternalTrainerParamsSchema.default({}),
    /** How long one training attempt may run before Temporal retries it (it heartbeats meanwhile). */
    timeoutMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(120),
  }),
]);
export type TrainerConfig = z.infer<typeof TrainerConfigSchema>;

/**
 * What a cycle does with a blessed candidate: park it as `challenger`, promote it at once, or roll it
 * out (shadow, then canary steps with analysis and automatic rollback) as a child workflow.
 */
export const PromotionModeSchema = z.enum(['challenger-only', 'promote', 'rollout']);

/**
 * What `loopkeeper serve` accepts in a /predict request (read from the same policy.json, followed live).
 * A feature the model uses and the request leaves out is refused (422) unless listed in `allowMissing`;
 * an explicit `null` is always accepted as a declared missing value (imputed, counted). Features no
 * served model uses are `ignore`d (logged, listed in the answer's `ignoredFeatures`) or `refuse`d (422).
 */
export const ServingPolicySchema = z
  .object({
    /** Features a request may leave out; the pipeline imputes them as for a `null`. */
    allowMissing: z.array(z.string().min(1).max(256)).max(10_000).default([]),
    /** What to do with features no served model uses: kept in the log either way. */
    unknownFeatures: z.enum(['ignore', 'refuse']).default('ignore'),
  })
  .strict();
export type ServingPolicy = z.infer<typeof ServingPolicySchema>;

/**
 * What annotators see of a review task in the web app. Hidden by default so a person judges the
 * features, not the model's answer or the disputed label (anchoring); a queue that wants annotators to
 * confirm or correct a given label can show it.
 */
export const ReviewDisplayPolicySchema = z
  .object({
    /** Show the model's predicted label and its scores. */
    showPrediction: z.boolean().default(false),
    /** Show the label the outcome source claimed, and which source it was. */
    showGivenLabel: z.boolean().default(false),
  })
  .strict();
export type ReviewDisplayPolicy = z.infer<typeof ReviewDisplayPolicySchema>;

/**
 * Everything a cycle decides by, per model. Stored at `config/{model}/policy.json` and read by an
 * activity at the start of every cycle, so a change takes effect on the next cycle without a redeploy.
 * Every field has a default; a stored file only names what it changes.
 */
export const ModelPolicySchema = z.object({
  routing: RoutingConfigSchema.prefault({}),
  caps: FeedbackCapsConfigSchema.prefault({}),
  testSet: TestSetRefreshConfigSchema.prefault({}),
  gate: PromotionGateConfigSchema.prefault({}),
  challenge: ChallengeSetConfigSchema.prefault({}),
  retrain: RetrainConfigSchema.prefault({}),
  /** Which trainer retrains the model; absent: the built-in trainer chosen by class count. */
  trainer: TrainerConfigSchema.optional(),
  /**
   * `promote` (default) suits batch scoring and the simulator; a model served by `loopkeeper serve`
   * should use `rollout`, so the candidate proves itself on live traffic before it serves everyone.
   */
  promotion: PromotionModeSchema.default('promote'),
  /** Shadow/canary plan used when `promotion` is `rollout`. */
  rollout: RolloutPlanSchema.prefault({}),
  /** What the prediction service accepts (src/serving). */
  serving: ServingPolicySchema.prefault({}),
  /** What the annotator page shows of a review task (src/ui). */
  review: ReviewDisplayPolicySchema.prefault({}),
  /** Size limits on log lines and string values, checked at ingest (read by the ingest step itself). */
  ingest: IngestLimitsSchema.prefault({}),
  /** Seeds sampling (audits, test-set selection) so a cycle is reproducible. */
  seed: z.number().int().min(0).max(0xffffffff).default(1),
});
export type ModelPolicy = z.infer<typeof ModelPolicySchema>;
export type ModelPolicyInput = z.input<typeof ModelPolicySchema>;

/**
 * What a person may write in `config/{model}/policy.json`: the model policy plus the drift and skew
 * thresholds (read by the drift activity). Validated strictly: an unknown key anywhere is an error.
 */
export const PolicyFileSchema = ModelPolicySchema.extend({
  drift: DriftThresholdsSchema.optional(),
  skew: SkewConfigSchema.optional(),
});
export type PolicyFile = z.infer<typeof PolicyFileSchema>;

/**
 * Validates a policy file's content strictly (unknown keys named, with "did you mean"). On success,
 * `data` is the effective policy: the file's values over every default.
 */
export function validatePolicyFile(raw: unknown): StrictResult<PolicyFile> {
  return parseStrict(PolicyFileSchema, raw);
}

/** Where an effective policy value came from. */
export type PolicyOrigin = 'file' | 'default';

/**
 * Each leaf of the effective policy (dotted path, arrays as one value) with its value and whether the
 * file set it or the default applies, for `loopkeeper policy show`.
 */
export function policyOrigins(
  effective: PolicyFile,
  raw: unknown,
): { path: string; value: unknown; origin: PolicyOrigin }[] {
  const out: { path: string; value: unknown; origin: PolicyOrigin }[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const walk = (value: unknown, file: unknown, path: string): void => {
    if (isObj(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value))
        walk(v, isObj(file) ? file[k] : undefined, path ? `${path}.${k}` : k);
      return;
    }
    out.push({ path, value, origin: file === undefined ? 'default' : 'file' });
  };
  walk(effective, raw, '');
  return out;
}
