/**
 * POST /predict from body text to reply: validate, refuse while closing or without a champion, predict,
 * count. Shared by the hono route (`app.ts`) and the node:http fast path (`node-listener.ts`), so both
 * give the same answers, the same refusals and the same metrics. Pure apart from the metrics and the
 * prediction log it writes through `predict`; no I/O of its own.
 */
import { performance } from 'node:perf_hooks';
import type { ModelWatcher } from './model-watcher';
import type { Predictor } from './predict';
import { InvalidRequestError, parseJsonText, parsePredictBody } from './request';
import type { ServingMetrics } from './serving-metrics';

/** A /predict reply: HTTP status and JSON body (always `application/json`). */
export interface PredictReply {
  status: number;
  body: string;
}

/** The /predict endpoint. Every reply it returns has been counted in `/metrics` exactly once. */
export interface PredictEndpoint {
  /** Bodies larger than this are refused with 413 (from Content-Length when there is one). */
  readonly maxBodyBytes: number;
  /** Answers a complete body; `started` is `performance.now()` when the request arrived. Never throws. */
  answer(text: string, started: number): PredictReply;
  /** The 413 for a body over `maxBodyBytes`. */
  tooLarge(): PredictReply;
  /** The 500 for a request that failed outside `answer` (e.g. its body could not be read). */
  failed(err: unknown): PredictReply;
}

/** What {@link createPredictEndpoint} needs from its serving app. */
export interface PredictEndpointDeps {
  modelId: string;
  watcher: ModelWatcher;
  predict: Predictor;
  metrics: ServingMetrics;
  maxBatch: number;
  maxBodyBytes: number;
  /** True once the app's close() began: requests are refused rather than logged after the flush. */
  closing(): boolean;
  /** The timestamp logged with each prediction (ISO 8601). */
  timestamp(): string;
}

/** Builds the /predict endpoint of one serving app. */
export function createPredictEndpoint(deps: PredictEndpointDeps): PredictEndpoint {
  const { modelId, watcher, predict, metrics, maxBatch, maxBodyBytes } = deps;
  const reply = (status: number, body: string): PredictReply => {
    metrics.countResponse('/predict', status);
    return { status, body };
  };
  const invalid = (err: InvalidRequestError): PredictReply => {
    metrics.errors.inc({ kind: 'invalid_request' });
    return reply(
      err.status,
      JSON.stringify({ error: 'invalid_request', field: err.field, message: err.message }),
    );
  };
  const failed = (cause: unknown): PredictReply => {
    const err = cause instanceof Error ? cause : new Error(String(cause));
    metrics.errors.inc({ kind: 'internal' });
    console.error('loopkeeper serve: POST /predict failed:', err);
    return reply(500, JSON.stringify({ error: 'internal', message: err.message }));
  };

  function answer(text: string, started: number): PredictReply {
    let parsed: ReturnType<typeof parsePredictBody>;
    try {
      parsed = parsePredictBody(parseJsonText(text), maxBatch);
    } catch (err) {
      if (err instanceof InvalidRequestError) return invalid(err);
      return failed(err);
    }
    // The body has arrived and nothing below yields, so a prediction is either refused here or logged
    // before close() flushes the log.
    if (deps.closing()) {
      return reply(503, JSON.stringify({ error: 'shutting_down', message: 'the server is shutting down' }));
    }
    // One snapshot per request: a reload mid-batch must not split a batch across model sets.
    const models = watcher.current;
    if (!models.champion) {
      metrics.errors.inc({ kind: 'no_model' });
      const pending = watcher.snapshot().pendingVersions;
      const why =
        pending.length > 0
          ? ` (failed to load: ${pending.map((p) => p.version).join(', ')})`
          : ' (no champion alias yet)';
      return reply(
        503,
        JSON.stringify({ error: 'no_model', message: `model ${modelId} has no loaded champion${why}` }),
      );
    }
    let body: string;
    try {
      body = predict(models, parsed.instances, parsed.batch, deps.timestamp());
    } catch (err) {
      return failed(err);
    }
    metrics.latency.observe((performance.now() - started) / 1000);
    return reply(200, body);
  }

  return {
    maxBodyBytes,
    answer,
    tooLarge: () => invalid(new InvalidRequestError('(body)', `larger than ${maxBodyBytes} bytes`, 413)),
    failed,
  };
}
