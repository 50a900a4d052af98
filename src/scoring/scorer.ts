/**
 * One scoring path per artifact kind, shared by evaluation (gate, challenge sets, perturbation, canary
 * agreement, reference profiles) and serving. Both kinds build the model input with the artifact's own
 * fitted pipeline (`transform` / `transformBatch`) and decide labels with the same `predictedIndex`
 * rule (threshold on the positive class for binary models, arg-max otherwise); they differ only in what
 * turns the matrix into probabilities: the linear model's coefficients, or an onnxruntime session.
 */
import type { Features } from '../schemas/records';
import type { TransformCounters } from '../ml/feature-pipeline';
import { transform, transformBatch } from '../ml/feature-pipeline';
import type { EvaluationReport } from '../ml/metrics';
import { evaluate } from '../ml/metrics';
import type { ModelArtifact, ScoreResult, TrainingRow } from '../ml/model';
import { ArtifactScorer, evaluateArtifact, predictedIndex } from '../ml/model';
import { perturbFeatures } from '../ml/perturb';
import { createRng } from '../ml/rng';
import type { ArtifactKind, OnnxArtifact, StoredArtifact } from './artifact';
import { isOnnxArtifact } from './artifact';
import { OnnxModelError, OnnxSession } from './onnx-session';

/** A model ready to score, whatever its kind. */
export interface Scorer {
  readonly kind: ArtifactKind;
  readonly artifact: StoredArtifact;
  /** The last record `score` scored: its class probabilities in `artifact.classes` order. */
  readonly probabilities: Float64Array;
  /** Scores one record into `probabilities`; returns the index in `artifact.classes` of the decision. */
  score(features: Features, counters?: TransformCounters): number;
  /** What the last `score` call decided, as the served answer. */
  result(): ScoreResult;
  /** Class probabilities of many records, row-major rows × classes (one model call for onnx). */
  scoreBatch(rows: readonly Features[], counters?: TransformCounters): Float64Array;
}

/** Rows per onnxruntime call in `scoreBatch`: bounds the Float32 copy of the matrix. */
const ONNX_BATCH_ROWS = 8192;

function decide(artifact: StoredArtifact, probabilities: Float64Array): ScoreResult {
  const { classes } = artifact;
  return {
    predictedLabel: classes[predictedIndex(artifact, probabilities)],
    // fromEntries defines own properties, so a class named "__proto__" is still a plain key.
    scores: Object.fromEntries(classes.map((c, k) => [c, probabilities[k]])),
  };
}

/** The linear kind: exactly `scoreFeatures` (through ArtifactScorer's reused buffers). */
class LinearScorer implements Scorer {
  readonly kind = 'linear' as const;
  private readonly inner: ArtifactScorer;

  constructor(readonly artifact: ModelArtifact) {
    this.inner = new ArtifactScorer(artifact);
  }

  get probabilities(): Float64Array {
    return this.inner.probabilities;
  }

  score(features: Features, counters?: TransformCounters): number {
    return this.inner.score(features, counters);
  }

  result(): ScoreResult {
    return this.inner.result();
  }

  scoreBatch(rows: readonly Features[], counters?: TransformCounters): Float64Array {
    const k = this.artifact.classes.length;
    const out = new Float64Array(rows.length * k);
    rows.forEach((features, i) => {
      this.inner.score(features, counters);
      out.set(this.inner.probabilities, i * k);
    });
    return out;
  }
}

/** The onnx kind: the same pipeline, Float32 in, onnxruntime's probabilities out. */
class OnnxScorer implements Scorer {
  readonly kind = 'onnx' as const;
  readonly probabilities: Float64Array;
  private readonly row: Float64Array;
  private readonly row32: Float32Array;

  constructor(
    readonly artifact: OnnxArtifact,
    private readonly session: OnnxSession,
  ) {
    this.row = new Float64Array(artifact.pipeline.nOutputs);
    this.row32 = new Float32Array(artifact.pipeline.nOutputs);
    this.probabilities = new Float64Array(artifact.classes.length);
  }

  score(features: Features, counters?: TransformCounters): number {
    transform(this.artifact.pipeline, features, counters, this.row);
    this.row32.set(this.row);
    const p = this.session.run(this.row32, 1);
    for (let k = 0; k < p.length; k++) this.probabilities[k] = p[k];
    return predictedIndex(this.artifact, this.probabilities);
  }

  result(): ScoreResult {
    return decide(this.artifact, this.probabilities);
  }

  scoreBatch(rows: readonly Features[], counters?: TransformCounters): Float64Array {
    const k = this.artifact.classes.length;
    const out = new Float64Array(rows.length * k);
    for (let start = 0; start < rows.length; start += ONNX_BATCH_ROWS) {
      const chunk = rows.slice(start, start + ONNX_BATCH_ROWS);
      const m = transformBatch(this.artifact.pipeline, chunk, counters);
      out.set(this.session.run(Float32Array.from(m.data), chunk.length), start * k);
    }
    return out;
  }
}

/** The scorer of a linear artifact (no session to load, so no need to wait). */
export function linearScorer(artifact: ModelArtifact): Scorer {
  return new LinearScorer(artifact);
}

/**
 * A scorer for a loaded artifact. An onnx artifact needs its graph's bytes (model.onnx); the session
 * is created and warmed (one all-missing record scored) here, so the first real record pays no load.
 *
 * @throws OnnxModelError when the graph is missing, cannot be loaded, or does not match the artifact.
 */
export async function createScorer(artifact: StoredArtifact, onnx?: Uint8Array): Promise<Scorer> {
  let scorer: Scorer;
  if (isOnnxArtifact(artifact)) {
    if (!onnx) throw new OnnxModelError('an onnx artifact needs its model.onnx bytes to score');
    const session = await OnnxSession.load(onnx, {
      inputName: artifact.inputName,
      outputName: artifact.outputName,
      nFeatures: artifact.pipeline.nOutputs,
      nClasses: artifact.classes.length,
    });
    scorer = new OnnxScorer(artifact, session);
  } else {
    scorer = new LinearScorer(artifact);
  }
  // Warm-up: compiles the pipeline's lookup tables and runs the graph once, and proves the model can
  // score before anyone trusts it with traffic or a gate decision.
  scorer.score({});
  return scorer;
}

/** `scorer.scoreBatch` as served answers (label + scores per row). */
export function scoreRows(
  scorer: Scorer,
  rows: readonly Features[],
  counters?: TransformCounters,
): ScoreResult[] {
  const p = scorer.scoreBatch(rows, counters);
  const k = scorer.artifact.classes.length;
  return rows.map((_, i) => decide(scorer.artifact, p.subarray(i * k, (i + 1) * k)));
}

/** The predicted label of each row. */
export function predictLabels(scorer: Scorer, rows: readonly Features[]): string[] {
  const p = scorer.scoreBatch(rows);
  const k = scorer.artifact.classes.length;
  const { classes } = scorer.artifact;
  return rows.map((_, i) => classes[predictedIndex(scorer.artifact, p.subarray(i * k, (i + 1) * k))]);
}

/**
 * Scores labelled rows and evaluates them (slices passed through). The linear kind is exactly
 * `evaluateArtifact`; the onnx kind feeds the same `evaluate` with the same decision fields.
 */
export function evaluateScorer(
  scorer: Scorer,
  rows: readonly TrainingRow[],
  counters?: TransformCounters,
): EvaluationReport {
  const { artifact } = scorer;
  if (!isOnnxArtifact(artifact)) return evaluateArtifact(artifact, rows, counters);
  const scores = scoreRows(
    scorer,
    rows.map((r) => r.features),
    counters,
  ).map((s) => s.scores);
  const binary = artifact.classes.length === 2;
  return evaluate({
    yTrue: rows.map((r) => r.label),
    scores,
    classes: artifact.classes,
    positiveClass: binary ? (artifact.positiveClass ?? artifact.classes[1]) : undefined,
    threshold: binary ? (artifact.threshold ?? 0.5) : undefined,
    slices: rows.some((r) => r.slices) ? rows.map((r) => r.slices) : undefined,
  });
}

/**
 * Share of rows whose predicted label changes under `perturbFeatures` (same seeded draws, in row order,
 * as `perturbationFlipRate` in src/ml/perturb.ts), for any kind of model.
 */
export function perturbationFlipRateOf(
  scorer: Scorer,
  rows: readonly { features: Features }[],
  seed: number,
): number {
  if (rows.length === 0) return 0;
  const rng = createRng(seed);
  const perturbed = rows.map((r) => perturbFeatures(r.features, rng));
  const before = predictLabels(
    scorer,
    rows.map((r) => r.features),
  );
  const after = predictLabels(scorer, perturbed);
  let flips = 0;
  for (let i = 0; i < rows.length; i++) if (before[i] !== after[i]) flips++;
  return flips / rows.length;
}
