/**
 * One /predict request after validation: route each instance, score it with the loaded model's
 * `Scorer` (src/scoring: the pipeline, the linear model or onnx session, and the decision rule that
 * evaluation uses, into reused buffers), count
 * it, log the served row (and the shadow's) and return the JSON body.
 * Synchronous on purpose: a request that got here is logged in full before anything else runs, so
 * `close()` never flushes half a batch.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ScoreResult } from '../ml/model';
import type { EncodedInstance } from './encode';
import { answerJson, encodeInstance, encodeScore, encodeScoreVector, modelJson, rowJson } from './encode';
import type { FleetReporter } from './fleet-report';
import type { LoadedModel, ServingModels } from './model-watcher';
import type { PredictionLog } from './prediction-log';
import type { PredictInstance } from './request';
import { route } from './routing';
import type { ServingMetrics } from './serving-metrics';

/** What a predictor counts and logs to. */
export interface PredictorDeps {
  modelId: string;
  metrics: ServingMetrics;
  log: PredictionLog;
  fleet?: FleetReporter;
}

/**
 * Answers validated instances from one model snapshot (a reload mid-batch must not split a batch).
 * Returns the body: one PredictionAnswer, or `{ predictions: [...] }` when `batch`. `ignored[i]` lists
 * the features of instance i that no served model reads (reported in its answer).
 */
export type Predictor = (
  models: ServingModels,
  instances: readonly PredictInstance[],
  batch: boolean,
  timestamp: string,
  ignored?: readonly (readonly string[] | undefined)[],
) => string;

/** Builds the predictor of one serving app. */
export function createPredictor({ modelId, metrics, log, fleet }: PredictorDeps): Predictor {
  const modelFields = new Map<string, string>();
  const modelFieldsOf = (version: string): string => {
    let fields = modelFields.get(version);
    if (fields === undefined) modelFields.set(version, (fields = modelJson(modelId, version)));
    return fields;
  };

  function logShadow(
    shadow: LoadedModel,
    instance: PredictInstance,
    encoded: EncodedInstance,
    served: ScoreResult,
    timestampJson: string,
    day: string,
  ): void {
    try {
      const s0 = performance.now();
      shadow.scorer.score(instance.features, metrics.countersFor(shadow.version));
      const result = shadow.scorer.result();
      const shadowMs = performance.now() - s0;
      metrics.countPrediction('shadow', shadow.version);
      log.appendLine(
        day,
        rowJson(
          encoded,
          timestampJson,
          modelFieldsOf(shadow.version),
          encodeScore(result),
          'shadow',
          shadowMs,
        ),
      );
      fleet?.observe('shadow', shadow.version, shadowMs);
      fleet?.compare(shadow.version, served, result);
    } catch {
      // A broken shadow must never affect the served answer; it shows up in errors_total.
      metrics.errors.inc({ kind: 'shadow' });
      fleet?.error('shadow', shadow.version);
    }
  }

  function predictOne(
    models: ServingModels,
    instance: PredictInstance,
    timestampJson: string,
    day: string,
    ignored: readonly string[] | undefined,
  ): string {
    const requestId = instance.requestId ?? randomUUID();
    const decision = route(models, instance.entityId ?? requestId, requestId)!;
    const { model, role } = decision;
    // Each loaded model has one scorer, dropped with it; its buffers are reused (one request at a time).
    const { scorer } = model;
    const t0 = performance.now();
    let predicted: number;
    try {
      predicted = scorer.score(instance.features, metrics.countersFor(model.version));
    } catch (err) {
      fleet?.error(role, model.version);
      throw err;
    }
    // Model latency alone (not HTTP): what canary analysis compares between champion and canary.
    const latencyMs = performance.now() - t0;
    fleet?.observe(role, model.version, latencyMs);
    metrics.countPrediction(role, model.version);
    const encoded = encodeInstance(requestId, instance);
    const score = encodeScoreVector(model.artifact.classes, predicted, scorer.probabilities);
    log.appendLine(
      day,
      rowJson(encoded, timestampJson, modelFieldsOf(model.version), score, role, latencyMs),
    );
    if (decision.shadow) {
      logShadow(decision.shadow, instance, encoded, scorer.result(), timestampJson, day);
    }
    return answerJson(encoded.requestId, model.version, score, role, ignored);
  }

  return (models, instances, batch, timestamp, ignored) => {
    const timestampJson = JSON.stringify(timestamp);
    const day = timestamp.slice(0, 10);
    if (!batch) return predictOne(models, instances[0], timestampJson, day, ignored?.[0]);
    const answers = instances.map((instance, i) =>
      predictOne(models, instance, timestampJson, day, ignored?.[i]),
    );
    return `{"predictions":[${answers.join(',')}]}`;
  };
}
