/**
 * The JSON a prediction produces, assembled by hand: the answer the client gets and the row the log
 * keeps. Each equals JSON.stringify of the equivalent object byte for byte (test/unit/serving-encode),
 * but what repeats is serialised once — the scores for both the answer and the row, the features for
 * the served and the shadow row — which matters at thousands of predictions a second on one core.
 */
import type { PredictionRow } from '../schemas/records';

const json = JSON.stringify;

/** One scored instance, its parts already JSON. */
export interface EncodedScore {
  /** e.g. `"churn"` */
  predictedLabel: string;
  /** e.g. `{"stay":0.25,"churn":0.75}` */
  scores: string;
}

/** Serialises a score once, for the answer and the log row alike. */
export function encodeScore(result: {
  predictedLabel: string;
  scores: Record<string, number>;
}): EncodedScore {
  return { predictedLabel: json(result.predictedLabel), scores: json(result.scores) };
}

/** `JSON.stringify` of a finite number, without the call (and `null` for NaN/±Infinity, as it would). */
function numberJson(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** A class list's JSON pieces, in the order JSON.stringify writes a scores object's keys. */
interface ClassesJson {
  /** `"label"` per class, in class order. */
  labels: string[];
  /** Class indices in key order (integer-like names first, ascending, then the rest in class order). */
  order: number[];
  /** `{"name":` for the first key in key order, `,"name":` for the others. */
  prefixes: string[];
}

const classesJson = new WeakMap<readonly string[], ClassesJson>();

function jsonOfClasses(classes: readonly string[]): ClassesJson {
  let cached = classesJson.get(classes);
  if (cached === undefined) {
    // The key order of the object `scoreFeatures` builds (integer-like names first, ascending, then
    // the rest in class order), read off such an object rather than re-derived.
    const keys = Object.keys(Object.fromEntries(classes.map((c) => [c, 0])));
    cached = {
      labels: classes.map((c) => json(c)),
      order: keys.map((key) => classes.indexOf(key)),
      prefixes: keys.map((key, i) => `${i === 0 ? '{' : ','}${json(key)}:`),
    };
    classesJson.set(classes, cached);
  }
  return cached;
}

/**
 * {@link encodeScore} of a scored record given as its predicted class index and probabilities (an
 * `ArtifactScorer`'s output), without building the scores object: equal byte for byte to
 * `encodeScore(scoreFeatures(...))` (test/unit/serving-encode).
 */
export function encodeScoreVector(
  classes: readonly string[],
  predicted: number,
  probabilities: Float64Array,
): EncodedScore {
  const { labels, order, prefixes } = jsonOfClasses(classes);
  let scores = '';
  for (let i = 0; i < order.length; i++) scores += prefixes[i] + numberJson(probabilities[order[i]]);
  return { predictedLabel: labels[predicted], scores: scores + '}' };
}

/**
 * The served answer, equal to JSON.stringify({ requestId, modelVersion, predictedLabel, scores, role,
 * ignoredFeatures? }) (PredictionAnswer's key order; `ignoredFeatures` only when there are some).
 */
export function answerJson(
  requestIdJson: string,
  modelVersion: string,
  score: EncodedScore,
  role: 'champion' | 'canary',
  ignoredFeatures?: readonly string[],
): string {
  const ignored = ignoredFeatures === undefined ? '' : `,"ignoredFeatures":${json(ignoredFeatures)}`;
  return `{"requestId":${requestIdJson},"modelVersion":${json(modelVersion)},"predictedLabel":${score.predictedLabel},"scores":${score.scores},"role":"${role}"${ignored}}`;
}

/** The parts of a log row that a served and a shadow row share, serialised once per instance. */
export interface EncodedInstance {
  requestId: string;
  /** `,"entityId":"…"` or '' */
  entityId: string;
  features: string;
  /** `,"slices":{…}` or '' */
  slices: string;
}

/** Serialises the per-instance parts of its log rows. */
export function encodeInstance(
  requestId: string,
  instance: { entityId?: string; features: PredictionRow['features']; slices?: Record<string, string> },
): EncodedInstance {
  return {
    requestId: json(requestId),
    entityId: instance.entityId === undefined ? '' : `,"entityId":${json(instance.entityId)}`,
    features: json(instance.features),
    slices: instance.slices === undefined ? '' : `,"slices":${json(instance.slices)}`,
  };
}

/**
 * One prediction log line, equal to JSON.stringify of the PredictionRow { requestId, timestamp, modelId,
 * modelVersion, entityId?, features, predictedLabel, scores, slices?, role, latencyMs } (absent optional
 * fields omitted, as JSON.stringify omits undefined ones).
 */
export function rowJson(
  instance: EncodedInstance,
  timestampJson: string,
  modelJson: string,
  score: EncodedScore,
  role: NonNullable<PredictionRow['role']>,
  latencyMs: number,
): string {
  return `{"requestId":${instance.requestId},"timestamp":${timestampJson}${modelJson}${instance.entityId},"features":${instance.features},"predictedLabel":${score.predictedLabel},"scores":${score.scores}${instance.slices},"role":"${role}","latencyMs":${numberJson(latencyMs)}}`;
}

/** `,"modelId":…,"modelVersion":…` for {@link rowJson}. */
export function modelJson(modelId: string, modelVersion: string): string {
  return `,"modelId":${json(modelId)},"modelVersion":${json(modelVersion)}`;
}
