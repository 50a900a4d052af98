/**
 * POST /predict from body text to reply: validate, refuse while closing or without a champion, predict,
 * count. Shared by the hono route (`app.ts`) and the node:http fast path (`node-listener.ts`), so both
 * give the same answers, the same refusals and the same metrics. Pure apart from the metrics and the
 * prediction log it writes through `predict`; no I/O of its own.
 */
import type { EventSink } from '../logging/event-logger';
import { performance } from 'node:perf_hooks';
import type { BearerCheck } from './auth';
import { contractOf, inspectFeatures, listNames } from './feature-contract';
import type { ModelWatcher } from './model-watcher';
import type { Predictor } from './predict';
import type { RecentIds } from './recent-ids';
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
  /** Whether a request with this `Authorization` header may predict (always, without a token). */
  authorized(authorization: string | undefined): boolean;
  /** The 401 for a request {@link authorized} refused (sent before its body is read). */
  unauthorized(): PredictReply;
}

/** The 401 body, shared by every protected route. */
export const UNAUTHORIZED_BODY = JSON.stringify({
  error: 'unauthorized',
  message: 'this server needs a bearer token: send "Authorization: Bearer <token>"',
});

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
  /** Client-supplied request ids answered recently: a repeat is refused with 409. */
  recentIds: RecentIds;
  authorized: BearerCheck;
  /** Where unexpected failures are reported (one event each). */
  log: EventSink;
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
    deps.log.error('request failed', { method: 'POST', path: '/predict', error: err });
    return reply(500, JSON.stringify({ error: 'internal', message: err.message }));
  };

  const refuse = (status: 409 | 422, error: string, field: string, message: string): PredictReply => {
    metrics.errors.inc({ kind: error });
    return reply(status, JSON.stringify({ error, field, message }));
  };
  const policyKey = `config/${modelId}/policy.json`;

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
      return reply(
        503,
        JSON.stringify({
          error: 'no_model',
          message: `no champion to serve: ${watcher.noChampionReason()}`,
        }),
      );
    }
    const { instances, batch } = parsed;
    const fieldOf = (i: number, name: string) => (batch ? `instances.${i}.${name}` : name);
    // Every instance is checked before any is scored, so a refused batch logs nothing.
    const contract = contractOf(models);
    let ignored: (string[] | undefined)[] | undefined;
    for (let i = 0; i < instances.length; i++) {
      const found = inspectFeatures(contract, instances[i].features);
      if (found.missing) {
        return refuse(
          422,
          'missing_features',
          fieldOf(i, 'features'),
          `missing ${listNames(found.missing)}: the model reads ${found.missing.length === 1 ? 'it' : 'them'} ` +
            `(send null for a value that is unknown; serving.allowMissing in ${policyKey} lists features a request may leave out)`,
        );
      }
      if (found.unknown) {
        if (contract.refuseUnknown) {
          return refuse(
            422,
            'unknown_features',
            fieldOf(i, 'features'),
            `unknown ${listNames(found.unknown)}: no served model reads ${found.unknown.length === 1 ? 'it' : 'them'} ` +
              `(serving.unknownFeatures is "refuse" in ${policyKey})`,
          );
        }
        (ignored ??= [])[i] = found.unknown;
      }
    }
    // A repeat within one batch is refused even with no window: it is one request.
    const recent = deps.recentIds;
    let seen: Set<string> | undefined;
    for (let i = 0; i < instances.length; i++) {
      const id = instances[i].requestId;
      if (id === undefined) continue;
      if (recent.has(id) || seen?.has(id)) {
        return refuse(
          409,
          'duplicate_request_id',
          fieldOf(i, 'requestId'),
          `request id ${listNames([id])} ${recent.has(id) ? 'was already answered by this server' : 'appears twice in this batch'}: ` +
            'outcomes join the first prediction logged with an id, so each request needs an id of its own (or none: one is generated)',
        );
      }
      if (batch) (seen ??= new Set()).add(id);
    }
    let body: string;
    try {
      body = predict(models, instances, batch, deps.timestamp(), ignored);
    } catch (err) {
      return failed(err);
    }
    if (ignored) for (const list of ignored) if (list) metrics.ignoredFeatureInstances++;
    if (recent.capacity > 0)
      for (const instance of instances) if (instance.requestId !== undefined) recent.add(instance.requestId);
    metrics.latency.observe((performance.now() - started) / 1000);
    return reply(200, body);
  }

  return {
    maxBodyBytes,
    answer,
    tooLarge: () => invalid(new InvalidRequestError('(body)', `larger than ${maxBodyBytes} bytes`, 413)),
    failed,
    authorized: deps.authorized,
    unauthorized: () => {
      metrics.errors.inc({ kind: 'unauthorized' });
      return reply(401, UNAUTHORIZED_BODY);
    },
  };
}
