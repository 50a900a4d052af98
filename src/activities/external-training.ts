/**
 * The Node side of an external trainer (workers/README.md). `prepareExternalTraining` assembles the rows
 * and split every trainer uses, fits the shared feature pipeline on the training rows and writes the
 * training matrix (Arrow IPC, content-addressed) for the worker; after the worker's
 * `trainExternalModel` has answered, `registerExternalModel` checks the ONNX graph it wrote (sha256,
 * loads in onnxruntime, sane probabilities and the reported log loss on the validation rows), evaluates
 * it on the held-out test rows through the scoring path serving uses, and registers a version of kind
 * `onnx`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { codeVersion } from '../config/package-root';
import {
  TrainExternalInputSchema,
  TrainExternalResultSchema,
  MAX_VALIDATION_ABS_DIFF,
} from '../external/contract';
import type { TrainExternalInput, TrainExternalResult } from '../external/contract';
import { encodeTrainingMatrix, decodeTrainingMatrix, SPLIT_VALIDATION } from '../external/training-matrix';
import { TrainingDataError } from '../ml/errors';
import {
  describePipeline,
  FittedPipelineSchema,
  fitPipeline,
  pipelineWarnings,
  transformBatch,
} from '../ml/feature-pipeline';
import { checkRowsPerClass, MIN_ROWS_PER_CLASS, validateLabels } from '../ml/labels';
import { SplitError } from '../ml/temporal-split';
import type { ThresholdDecision } from '../ml/threshold';
import { pickThreshold, ThresholdPolicySchema } from '../ml/threshold';
import { flattenMetrics } from '../ml/train-and-evaluate';
import { splitTrainingRows } from '../ml/training-split';
import type { TrainingSplit } from '../ml/training-split';
import { RetrainConfigSchema, TrainerConfigSchema } from '../policy/model-policy';
import { FeaturesSchema, ModelIdSchema, TimestampSchema } from '../schemas/records';
import type { OnnxArtifact } from '../scoring/artifact';
import { OnnxArtifactSchema } from '../scoring/artifact';
import { OnnxModelError, OnnxSession } from '../scoring/onnx-session';
import { createScorer, evaluateScorer } from '../scoring/scorer';
import { BlobNotFoundError } from '../storage/blob-store';
import { canonicalJson } from '../storage/content-id';
import { ModelRegistry, VersionConflictError } from '../storage/model-registry';
import { readJson, writeNdjson } from '../storage/ndjson';
import { sha256Hex } from '../storage/registry-versions';
import type { ActivityDeps } from './deps';
import { heartbeat, whileHeartbeating } from './heartbeat';
import { readAllRows } from './read-rows';
import type { TrainCandidateResult } from './train-candidate';
import { feedbackSummary } from './train-candidate';
import type { AssembledRow } from './training-rows';
import { assembleTrainingRows } from './training-rows';

/** Blob keys of one training matrix and what was prepared beside it. */
export const trainingLayout = {
  matrix: (model: string, sha: string) => `training/${model}/${sha}/matrix.arrow`,
  prepared: (model: string, sha: string, id: string) => `training/${model}/${sha}/prepared-${id}.json`,
  testRows: (model: string, sha: string, id: string) => `training/${model}/${sha}/test-${id}.ndjson`,
  output: (model: string, sha: string, algorithm: string, paramsId: string) =>
    `training/${model}/${sha}/${algorithm}-${paramsId}/`,
};

const ExternalTrainerSchema = TrainerConfigSchema.options[1];

export const PrepareExternalTrainingInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  asOf: z.string(),
  retrain: RetrainConfigSchema.prefault({}),
  seed: z.number().int(),
  testSetKey: z.string().nullable().default(null),
  trainer: ExternalTrainerSchema,
});
export type PrepareExternalTrainingInput = z.input<typeof PrepareExternalTrainingInputSchema>;

/** The rows of the test period, kept by the Node side (the worker never sees them). */
const TestRowSchema = z.object({
  requestId: z.string(),
  timestamp: TimestampSchema,
  features: FeaturesSchema,
  label: z.string().min(1),
  slices: z.record(z.string(), z.string()).optional(),
});

/** prepared-{id}.json: what registration needs besides the worker's answer. */
const PreparedSchema = z.object({
  modelId: ModelIdSchema,
  matrixKey: z.string(),
  classes: z.array(z.string()).min(2),
  positiveClass: z.string().optional(),
  pipeline: FittedPipelineSchema,
  pipelineWarnings: z.array(z.string()),
  testRowsKey: z.string(),
  /** Test rows whose label the training rows never had: left out of the evaluation, counted. */
  testRowsWithUnseenLabels: z.number().int().nonnegative(),
  split: z.object({
    trainRows: z.number().int(),
    validationRows: z.number().int(),
    testRows: z.number().int(),
    testFrom: z.string(),
    validationFrom: z.string().nullable(),
  }),
  lineage: z.record(z.string(), z.unknown()),
  trainingData: z.array(z.string()),
  /** The policy's threshold stage (retrain.threshold), run at registration on the validation rows. */
  threshold: ThresholdPolicySchema.optional(),
});
type Prepared = z.infer<typeof PreparedSchema>;

/** What the workflow carries from preparation to registration (small: keys and counts). */
export interface PrepareExternalTrainingResult {
  /** The worker's input, as the contract defines it. */
  trainInput: TrainExternalInput;
  preparedKey: string;
  trainingRows: number;
  baseRows: number;
  feedback: TrainCandidateResult['feedback'];
  usedHistory: boolean;
  trainingData: string[];
}

const fail = (message: string, type: string): never => {
  throw ApplicationFailure.nonRetryable(message, type);
};

/** Classes as the built-in trainers order them: sorted, the positive class moved to index 1. */
function classesOf(split: TrainingSplit<AssembledRow>, positiveClass: string | undefined): string[] {
  let classes = [...new Set(split.train.map((r) => r.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length < 2)
    throw new TrainingDataError(`training labels contain a single class (${classes[0]})`);
  if (positiveClass !== undefined && classes.length === 2) {
    if (!classes.includes(positiveClass))
      throw new TrainingDataError(`positiveClass "${positiveClass}" is not a training label`);
    classes = [classes.find((c) => c !== positiveClass)!, positiveClass];
  }
  return classes;
}

/** Writes a blob only when absent (content-addressed keys: what is there is what we would write). */
async function putOnce(deps: ActivityDeps, key: string, body: Buffer): Promise<void> {
  if (await deps.store.head(key)) return;
  await deps.store.put(key, body);
}

/**
 * Assembles and splits the rows, fits the pipeline on the training rows and writes the training matrix
 * (train + validation rows), the test rows and the prepared record. Idempotent: every key derives from
 * content, so a retry rewrites nothing.
 */
export function createPrepareExternalTraining(deps: ActivityDeps) {
  return async function prepareExternalTraining(
    raw: PrepareExternalTrainingInput,
  ): Promise<PrepareExternalTrainingResult> {
    const input = PrepareExternalTrainingInputSchema.parse(raw);
    const { modelId, retrain, trainer } = input;
    const assembled = await assembleTrainingRows(deps, input);
    heartbeat({ phase: 'prepare', rows: assembled.rows.length });
    let split: TrainingSplit<AssembledRow>;
    let classes: string[];
    try {
      validateLabels(assembled.rows);
      split = splitTrainingRows(assembled.rows, retrain);
      classes = classesOf(split, assembled.positiveClass);
      checkRowsPerClass(
        split.train.map((r) => r.label),
        MIN_ROWS_PER_CLASS,
      );
    } catch (err) {
      if (err instanceof TrainingDataError || err instanceof SplitError)
        fail(`cannot train on ${assembled.rows.length} rows: ${err.message}`, 'TrainingDataError');
      throw err;
    }
    const pipeline = fitPipeline(split.train.map((r) => r.features));
    const index = new Map(classes.map((c, k) => [c, k]));
    const part = (rows: readonly AssembledRow[]) => ({
      X: transformBatch(
        pipeline,
        rows.map((r) => r.features),
      ),
      y: Int32Array.from(rows, (r) => index.get(r.label)!),
    });
    const featureNames = describePipeline(pipeline).columns;
    const bytes = Buffer.from(
      encodeTrainingMatrix({
        modelId,
        classes,
        featureNames,
        train: part(split.train),
        validation: part(split.validation),
      }),
    );
    const sha = sha256Hex(bytes);
    const matrixKey = trainingLayout.matrix(modelId, sha);
    await putOnce(deps, matrixKey, bytes);
    heartbeat({ phase: 'matrix', key: matrixKey });

    const scorable = split.test.filter((r) => index.has(r.label));
    const testBody = scorable.map((r) => JSON.stringify(TestRowSchema.parse(r))).join('\n');
    const testId = sha256Hex(testBody).slice(0, 16);
    const testRowsKey = trainingLayout.testRows(modelId, sha, testId);
    if (!(await deps.store.head(testRowsKey))) await writeNdjson(deps.store, testRowsKey, scorable);

    const prepared: Prepared = {
      modelId,
      matrixKey,
      classes,
      ...(classes.length === 2 ? { positiveClass: classes[1] } : {}),
      pipeline,
      pipelineWarnings: pipelineWarnings(pipeline),
      testRowsKey,
      testRowsWithUnseenLabels: split.test.length - scorable.length,
      split: {
        trainRows: split.train.length,
        validationRows: split.validation.length,
        testRows: scorable.length,
        testFrom: split.testFrom,
        validationFrom: split.validationFrom,
      },
      lineage: {
        trigger: 'cycle',
        cycleId: input.cycleId,
        asOf: input.asOf,
        baseRows: assembled.baseRows,
        feedback: assembled.feedback,
        usedHistory: assembled.usedHistory,
        heldOutTestRows: assembled.heldOutTestRows,
      },
      trainingData: [...assembled.trainingData, ...assembled.feedbackKeys],
      threshold: retrain.threshold,
    };
    const preparedJson = canonicalJson(prepared);
    const preparedKey = trainingLayout.prepared(modelId, sha, sha256Hex(preparedJson).slice(0, 16));
    await putOnce(deps, preparedKey, Buffer.from(`${preparedJson}\n`));

    const paramsId = sha256Hex(canonicalJson({ algorithm: trainer.algorithm, params: trainer.params })).slice(
      0,
      12,
    );
    const trainInput = TrainExternalInputSchema.parse({
      contract: 1,
      modelId,
      matrixKey,
      matrixSha256: sha,
      classes,
      nFeatures: featureNames.length,
      algorithm: trainer.algorithm,
      params: trainer.params,
      outputPrefix: trainingLayout.output(
        modelId,
        sha,
        trainer.algorithm.replace(/[^A-Za-z0-9_-]/g, '_'),
        paramsId,
      ),
    });
    return {
      trainInput,
      preparedKey,
      trainingRows: assembled.rows.length,
      baseRows: assembled.baseRows,
      feedback: feedbackSummary(assembled.feedback),
      usedHistory: assembled.usedHistory,
      trainingData: assembled.trainingData.slice(0, 20),
    };
  };
}

export const RegisterExternalModelInputSchema = z.object({
  modelId: ModelIdSchema,
  preparedKey: z.string().min(1),
  /** The worker's answer, parsed here (not trusted as it came). */
  result: z.unknown(),
  taskQueue: z.string().min(1),
  algorithm: z.string().min(1),
  /** Carried through from preparation for the retrain's result. */
  prepared: z.object({
    trainingRows: z.number().int(),
    baseRows: z.number().int(),
    feedback: z.object({ offered: z.number(), kept: z.number(), share: z.number(), maxShare: z.number() }),
    usedHistory: z.boolean(),
    trainingData: z.array(z.string()),
  }),
});
export type RegisterExternalModelInput = z.input<typeof RegisterExternalModelInputSchema>;

/** Log loss of Float32 probabilities (row-major, k classes) against class indices, eps-clipped. */
function logLossOf(p: Float32Array, y: Int32Array, k: number): number {
  let total = 0;
  for (let i = 0; i < y.length; i++) total -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, p[i * k + y[i]])));
  return y.length ? total / y.length : 0;
}

/**
 * Checks the graph against the validation rows of the matrix: it loads with the artifact's signature,
 * every row's probabilities are finite, in [0, 1] and sum to 1 (±1e-4), the worker scored as many rows
 * as there are, its own onnxruntime-vs-library difference is within the contract, and the log loss it
 * reported is the one onnxruntime gives here (±1e-3). Returns a message per failed check.
 */
function verifyOnValidation(
  probabilities: Float32Array,
  y: Int32Array,
  k: number,
  result: TrainExternalResult,
): string[] {
  const problems: string[] = [];
  const n = y.length;
  if (result.validation.rows !== n)
    problems.push(`the worker reports ${result.validation.rows} validation rows, the matrix has ${n}`);
  if (result.validation.maxAbsDiff > MAX_VALIDATION_ABS_DIFF)
    problems.push(
      `the worker's onnxruntime and library probabilities differ by ${result.validation.maxAbsDiff} (max ${MAX_VALIDATION_ABS_DIFF})`,
    );
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const v = probabilities[i * k + c];
      if (!(v >= -1e-6 && v <= 1 + 1e-6)) {
        problems.push(`validation row ${i}: probability ${v} of class ${c} is not in [0, 1]`);
        return problems;
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-4) {
      problems.push(`validation row ${i}: probabilities sum to ${sum}, not 1`);
      return problems;
    }
  }
  const reported = result.validation.logLoss;
  if (reported !== undefined && reported !== null && n > 0) {
    const ours = logLossOf(probabilities, y, k);
    if (Math.abs(ours - reported) > 1e-3)
      problems.push(
        `validation log loss is ${ours.toFixed(6)} under onnxruntime here, the worker reported ${reported}`,
      );
  }
  return problems;
}

/**
 * The built-in trainers' threshold stage (src/ml/threshold.ts) on the graph's validation probabilities:
 * binary models only (the positive class is classes[1]); null for multiclass.
 */
function chooseOnnxThreshold(
  probabilities: Float32Array,
  y: Int32Array,
  k: number,
  policy: z.input<typeof ThresholdPolicySchema> | undefined,
): ThresholdDecision | null {
  if (k !== 2) return null;
  const scores = Float64Array.from(y, (_, i) => probabilities[i * 2 + 1]);
  return pickThreshold(
    scores,
    Array.from(y, (c) => c === 1),
    policy ?? {},
  );
}

/**
 * Verifies, evaluates and registers the worker's ONNX graph as a version of kind `onnx` (content-
 * addressed: a retry registers the same version again as a no-op).
 */
export function createRegisterExternalModel(deps: ActivityDeps) {
  return async function registerExternalModel(
    raw: RegisterExternalModelInput,
  ): Promise<TrainCandidateResult> {
    const input = RegisterExternalModelInputSchema.parse(raw);
    return whileHeartbeating({ phase: 'register-external' }, () => register(input));
  };

  async function register(
    input: z.infer<typeof RegisterExternalModelInputSchema>,
  ): Promise<TrainCandidateResult> {
    const { modelId } = input;
    const parsed = TrainExternalResultSchema.safeParse(input.result);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(
        `the external trainer's answer does not follow the contract at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
        'InvalidExternalModel',
      );
    }
    const result = parsed.data;
    const prepared = await readJson(deps.store, input.preparedKey, PreparedSchema);
    if (JSON.stringify(result.classes) !== JSON.stringify(prepared.classes))
      fail(
        `the external model's classes ${JSON.stringify(result.classes)} differ from the matrix's ${JSON.stringify(prepared.classes)}`,
        'InvalidExternalModel',
      );
    let onnx: Buffer;
    try {
      onnx = await deps.store.get(result.artifactKey);
    } catch (err) {
      if (err instanceof BlobNotFoundError)
        return fail(
          `the external trainer reported ${result.artifactKey}, which is not in the store`,
          'InvalidExternalModel',
        );
      throw err;
    }
    const sha = sha256Hex(onnx);
    if (sha !== result.artifactSha256)
      fail(
        `${result.artifactKey} has sha256 ${sha}, the external trainer reported ${result.artifactSha256}`,
        'InvalidExternalModel',
      );
    const k = prepared.classes.length;
    const signature = {
      inputName: result.inputName,
      outputName: result.outputName,
      nFeatures: prepared.pipeline.nOutputs,
      nClasses: k,
    };
    // Validation rows straight from the matrix the worker trained on (already transformed).
    const matrix = decodeTrainingMatrix(await deps.store.get(prepared.matrixKey));
    const rowsOf = (code: number) => {
      const idx: number[] = [];
      matrix.split.forEach((s, i) => s === code && idx.push(i));
      return idx;
    };
    const validation = rowsOf(SPLIT_VALIDATION);
    const Xv = new Float32Array(validation.length * matrix.featureNames.length);
    validation.forEach((i, r) =>
      Xv.set(
        matrix.X.subarray(i * matrix.featureNames.length, (i + 1) * matrix.featureNames.length),
        r * matrix.featureNames.length,
      ),
    );
    const yv = Int32Array.from(validation, (i) => matrix.y[i]);
    let problems: string[];
    let probabilities: Float32Array;
    try {
      const session = await OnnxSession.load(onnx, signature);
      try {
        probabilities = session.run(Xv, validation.length);
        problems = verifyOnValidation(probabilities, yv, k, result);
      } finally {
        session.dispose();
      }
    } catch (err) {
      if (err instanceof OnnxModelError)
        return fail(`${result.artifactKey}: ${err.message}`, 'InvalidExternalModel');
      throw err;
    }
    if (problems.length > 0)
      fail(`${result.artifactKey} failed verification: ${problems.join('; ')}`, 'OnnxMismatch');
    heartbeat({ phase: 'verified', rows: validation.length });
    const threshold = chooseOnnxThreshold(probabilities, yv, k, prepared.threshold);
    const warnings = [
      ...prepared.pipelineWarnings,
      ...(threshold?.warning !== undefined ? [threshold.warning] : []),
    ];

    const { training } = result;
    const artifact: OnnxArtifact = OnnxArtifactSchema.parse({
      kind: 'onnx',
      pipeline: prepared.pipeline,
      classes: prepared.classes,
      ...(prepared.positiveClass ? { positiveClass: prepared.positiveClass } : {}),
      ...(threshold ? { threshold: threshold.threshold } : {}),
      onnxSha256: sha,
      inputName: result.inputName,
      outputName: result.outputName,
      opset: result.opset,
      producer: result.producer,
      training: {
        trainer: `external:${input.algorithm}`,
        algorithm: input.algorithm,
        rows: prepared.split.trainRows,
        validationRows: prepared.split.validationRows,
        validationMaxAbsDiff: result.validation.maxAbsDiff,
        ...(typeof result.validation.logLoss === 'number'
          ? { validationLogLoss: result.validation.logLoss }
          : {}),
        details: training,
        ...(warnings.length ? { warnings } : {}),
      },
    });
    // The candidate's own held-out metrics, through the scoring path serving will use.
    const scorer = await createScorer(artifact, onnx);
    const testRows = await readAllRows(deps.store, [prepared.testRowsKey], TestRowSchema);
    const report = evaluateScorer(scorer, testRows);
    const metrics = { ...flattenMetrics(report), train_rows: prepared.split.trainRows };
    const registry = new ModelRegistry(deps.store, { now: deps.now });
    const registered = await registry
      .registerVersion({
        modelId,
        artifact,
        onnx,
        manifest: {
          createdAt: (deps.now?.() ?? new Date()).toISOString(),
          trainer: `external:${input.algorithm}`,
          trainingData: prepared.trainingData,
          metrics,
          codeVersion: codeVersion(),
          lineage: {
            split: {
              kind: 'temporal',
              ...prepared.split,
              testRowsWithUnseenLabels: prepared.testRowsWithUnseenLabels,
            },
            training: artifact.training,
            ...(threshold ? { threshold } : {}),
            ...prepared.lineage,
            external: {
              taskQueue: input.taskQueue,
              matrixKey: prepared.matrixKey,
              artifactKey: result.artifactKey,
              producer: result.producer,
            },
          },
        },
      })
      .catch((err: unknown) => {
        if (!(err instanceof VersionConflictError)) throw err;
        return { version: err.version, created: false };
      });
    return {
      version: registered.version,
      created: registered.created,
      metrics,
      trainingRows: input.prepared.trainingRows,
      baseRows: input.prepared.baseRows,
      feedback: input.prepared.feedback,
      usedHistory: input.prepared.usedHistory,
      trainingData: input.prepared.trainingData,
    };
  }
}
