/**
 * The HTTP prediction service (hono). Serves the champion by alias, a sticky canary share and a logged
 * shadow, following registry changes within `aliasPollMs`; logs every prediction for the feedback
 * loop. Scoring runs `scoreFeatures`'s path from src/ml/model.ts (through `ArtifactScorer`, which reuses
 * its buffers) — the same transform and model training evaluates with — so there is no serving-side
 * reimplementation of the feature pipeline to drift from training.
 */
import { EventLogger, formatFor, logLevelOf } from '../logging/event-logger';
import type { EventSink } from '../logging/event-logger';
import { performance } from 'node:perf_hooks';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ModelIdSchema } from '../schemas/records';
import type { BlobStore } from '../storage/blob-store';
import { bearerCheck } from './auth';
import { ModelRegistry } from '../storage/model-registry';
import { FleetReporter } from './fleet-report';
import type { LoadedModel, ServingModels, WatcherStatus } from './model-watcher';
import { ModelWatcher } from './model-watcher';
import type { PredictionLogStats } from './prediction-log';
import { PredictionLog } from './prediction-log';
import { createPredictor } from './predict';
import type { PredictEndpoint, PredictReply } from './predict-endpoint';
import { createPredictEndpoint, UNAUTHORIZED_BODY } from './predict-endpoint';
import { RecentIds } from './recent-ids';
import { ServingMetrics } from './serving-metrics';

/** Options of {@link createServingApp}. */
export interface ServingAppOptions {
  store: BlobStore;
  modelId: string;
  /** How often aliases.json/rollout.json etags are polled (default 1000 ms). */
  aliasPollMs?: number;
  /** Prediction log part size in rows (default 5000). */
  logFlushRows?: number;
  /** Longest time a prediction stays unwritten (default 2000 ms). */
  logFlushMs?: number;
  /** Clock for log timestamps and status (default: wall clock). */
  now?: () => Date;
  /** Most instances in one batch request (default 1000). */
  maxBatch?: number;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Wait before retrying a model version that failed to load (default max(30 s, aliasPollMs)). */
  loadRetryMs?: number;
  /**
   * Publish this instance's health to models/{model}/fleet/{instanceId}.json for rollouts to read
   * (src/serving/fleet-report.ts). Off by default; `true` uses the defaults (every 5 s).
   */
  fleetReport?: boolean | { instanceId?: string; intervalMs?: number };
  /**
   * Where the app reports events (model loads and load failures, failed requests): by default one
   * JSON line per event on stderr from LOOPKEEPER_LOG_LEVEL (WARN) up, readable lines when stderr is a
   * terminal (LOOPKEEPER_LOG_FORMAT). `loopkeeper serve` logs from INFO.
   */
  log?: EventSink;
  /**
   * Bearer token for /predict, /status and /metrics (`Authorization: Bearer <token>`); /healthz and
   * /readyz stay open. Without one every route is open: bind to a private address.
   */
  token?: string;
  /** How many client-supplied request ids are remembered to refuse a repeat with 409 (default 100,000; 0 off). */
  requestIdWindow?: number;
}

/** /status body (behind the token when there is one). */
export interface ServingHealth {
  status: 'ok' | 'degraded' | 'no_model' | 'closing';
  /** Why there is no champion (with status `no_model`), else null. */
  reason: string | null;
  modelId: string;
  models: {
    champion: ModelDescription | null;
    canary: (ModelDescription & { weightPercent: number; salt: string }) | null;
    shadow: (ModelDescription & { sampleShare: number }) | null;
  };
  aliases: Record<string, string>;
  aliasEtag: string | null;
  rolloutEtag: string | null;
  /** The serving policy in force, and why policy.json could not be used (the last good one is kept). */
  policy: { etag: string | null; error: string | null; serving: ServingModels['policy'] };
  lastCheckAt: string | null;
  lastReloadAt: string | null;
  model_load_failures: {
    total: number;
    recent: WatcherStatus['recentLoadFailures'];
    /** Versions the registry names that are not served because they failed to load. */
    pending: WatcherStatus['pendingVersions'];
  };
  aliasCheck: { failures: number; lastError: string | null };
  predictionLog: PredictionLogStats;
}

/** A running serving app: the hono app plus its lifecycle. */
export interface ServingApp {
  app: Hono;
  /** POST /predict, which `startServer` answers on node:http directly (the same replies as `app`). */
  predictEndpoint: PredictEndpoint;
  /** Stops polling and flushes every buffered prediction. Idempotent; call it on SIGTERM. */
  close(): Promise<void>;
  /** Polls the registry now (tests, or an operator's "reload" endpoint). */
  refresh(): Promise<void>;
  health(): ServingHealth;
  /** One sentence: why no champion is served (meaningful while `models().champion` is unset). */
  noChampionReason(): string;
  /** The models being served right now. */
  models(): ServingModels;
}

const PATHS = new Set(['/predict', '/healthz', '/readyz', '/status', '/metrics']);

/**
 * The wall clock as an ISO string, formatted once per millisecond: every request needs one and, at
 * thousands of requests a second, most share their millisecond with the one before.
 */
function isoClock(): () => string {
  let lastMs = NaN;
  let lastIso = '';
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}

/** A served model in /status: its version, kind (linear or onnx) and when and how fast it loaded. */
interface ModelDescription {
  version: string;
  kind: LoadedModel['kind'];
  loadedAt: string;
  loadMs: number;
}

function describe(m: LoadedModel): ModelDescription {
  return {
    version: m.version,
    kind: m.kind,
    loadedAt: m.loadedAt,
    loadMs: Math.round(m.loadMs * 1000) / 1000,
  };
}

/**
 * Builds the service and loads the current champion (and rollout candidates) before returning. A
 * missing or unloadable champion does not throw: /predict answers 503 and /status says why until the
 * registry names a model that loads.
 */
export async function createServingApp(options: ServingAppOptions): Promise<ServingApp> {
  const modelId = ModelIdSchema.parse(options.modelId);
  const now = options.now ?? (() => new Date());
  const maxBatch = options.maxBatch ?? 1000;
  const registry = new ModelRegistry(options.store, { now });
  const events =
    options.log ??
    new EventLogger(
      logLevelOf(process.env.LOOPKEEPER_LOG_LEVEL, 'WARN'),
      formatFor(process.stderr, process.env.LOOPKEEPER_LOG_FORMAT),
    ).child({ component: 'serve', model: modelId });
  const watcher = new ModelWatcher({
    log: events,
    registry,
    modelId,
    pollMs: options.aliasPollMs ?? 1000,
    retryMs: options.loadRetryMs,
    now,
  });
  const log = new PredictionLog({
    store: options.store,
    modelId,
    flushRows: options.logFlushRows,
    flushMs: options.logFlushMs,
  });
  const metrics = new ServingMetrics();
  const fleetOptions = options.fleetReport === true ? {} : options.fleetReport || undefined;
  const fleet = fleetOptions
    ? new FleetReporter({
        store: options.store,
        modelId,
        ...fleetOptions,
        state: () => ({ models: watcher.current, watcher: watcher.snapshot() }),
        now,
      })
    : undefined;
  let closing: Promise<void> | undefined;

  function health(): ServingHealth {
    const st = watcher.snapshot();
    const m = watcher.current;
    const degraded = st.pendingVersions.length > 0 || st.lastCheckError !== null || st.policyError !== null;
    return {
      status: closing ? 'closing' : !m.champion ? 'no_model' : degraded ? 'degraded' : 'ok',
      reason: m.champion ? null : watcher.noChampionReason(),
      modelId,
      models: {
        champion: m.champion ? describe(m.champion) : null,
        canary: m.canary
          ? { ...describe(m.canary.model), weightPercent: m.canary.weightPercent, salt: m.canary.salt }
          : null,
        shadow: m.shadow ? { ...describe(m.shadow.model), sampleShare: m.shadow.sampleShare } : null,
      },
      aliases: st.aliases,
      aliasEtag: st.aliasEtag,
      rolloutEtag: st.rolloutEtag,
      policy: { etag: st.policyEtag, error: st.policyError, serving: m.policy },
      lastCheckAt: st.lastCheckAt,
      lastReloadAt: st.lastReloadAt,
      model_load_failures: {
        total: st.loadFailuresTotal,
        recent: st.recentLoadFailures,
        pending: st.pendingVersions,
      },
      aliasCheck: { failures: st.checkFailuresTotal, lastError: st.lastCheckError },
      predictionLog: log.snapshot(),
    };
  }

  const predict = createPredictor({ modelId, metrics, log, fleet });
  const timestamp = options.now ? () => now().toISOString() : isoClock();
  const app = new Hono();

  // Every response is counted exactly once: by the predict endpoint, by its route's handler (errors
  // included) or by notFound. No '*' middleware: it would make hono compose a chain per request.
  const internalError = (c: Context, err: Error) => {
    metrics.errors.inc({ kind: 'internal' });
    events.error('request failed', { method: c.req.method, path: c.req.path, error: err });
    return c.json({ error: 'internal', message: err.message }, 500);
  };
  const counted =
    (path: string, handler: (c: Context) => Response | Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      let res: Response;
      try {
        res = await handler(c);
      } catch (err) {
        res = internalError(c, err instanceof Error ? err : new Error(String(err)));
      }
      metrics.countResponse(path, res.status);
      return res;
    };

  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
  const authorized = bearerCheck(options.token);
  const endpoint = createPredictEndpoint({
    recentIds: new RecentIds(options.requestIdWindow ?? 100_000),
    log: events,
    authorized,
    modelId,
    watcher,
    predict,
    metrics,
    maxBatch,
    maxBodyBytes,
    closing: () => closing !== undefined,
    timestamp,
  });
  const json = (c: Context, reply: PredictReply) =>
    c.body(reply.body, reply.status as ContentfulStatusCode, {
      'Content-Type': 'application/json',
      ...(reply.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}),
    });
  /** A protected route: 401 (counted by `counted`) unless the request carries the token. */
  const guarded =
    (handler: (c: Context) => Response | Promise<Response>) =>
    (c: Context): Response | Promise<Response> => {
      if (authorized(c.req.header('authorization'))) return handler(c);
      metrics.errors.inc({ kind: 'unauthorized' });
      return c.body(UNAUTHORIZED_BODY, 401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': 'Bearer',
      });
    };
  // For chunked bodies only: with a Content-Length the header decides. bodyLimit touches
  // `c.req.raw.body`, which makes @hono/node-server build a web Request + ReadableStream per request.
  const streamingLimit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: (c) => json(c, endpoint.tooLarge()),
  });
  const answer = async (c: Context, started: number): Promise<Response> => {
    let text: string;
    try {
      text = await c.req.text();
    } catch (err) {
      return json(c, endpoint.failed(err));
    }
    return json(c, endpoint.answer(text, started));
  };

  // The endpoint counts its own replies. `serve` answers POST /predict without this route (see
  // node-listener.ts); it is here for `app.request()` and for hosts that mount the hono app themselves.
  app.post('/predict', async (c) => {
    const started = performance.now();
    if (!endpoint.authorized(c.req.header('authorization'))) return json(c, endpoint.unauthorized());
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(length) > maxBodyBytes ? json(c, endpoint.tooLarge()) : answer(c, started);
    }
    let answered: Response | undefined;
    const refused = await streamingLimit(c, async () => {
      answered = await answer(c, started);
    });
    return refused ?? answered!;
  });

  // Liveness only, open to anyone: details (aliases, etags, errors) are for /status.
  app.get(
    '/healthz',
    counted('/healthz', (c) => c.text('ok')),
  );

  // Readiness for load balancers, open: one word, no details.
  app.get(
    '/readyz',
    counted('/readyz', (c) => {
      const status = health().status;
      return status === 'ok' || status === 'degraded' ? c.text('ready') : c.text(status, 503);
    }),
  );

  app.get(
    '/status',
    counted(
      '/status',
      guarded((c) => {
        const h = health();
        return c.json(h, h.status === 'ok' || h.status === 'degraded' ? 200 : 503);
      }),
    ),
  );

  app.get(
    '/metrics',
    counted(
      '/metrics',
      guarded((c) => {
        const body = metrics.render({
          modelId,
          models: watcher.current,
          watcher: watcher.snapshot(),
          log: log.snapshot(),
        });
        return c.body(body, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      }),
    ),
  );

  app.notFound((c) => {
    metrics.countResponse(PATHS.has(c.req.path) ? c.req.path : 'other', 404);
    return c.text('404 Not Found', 404);
  });

  // Only for errors outside the counted handlers (they catch their own), so nothing counts twice.
  app.onError((err, c) => {
    const res = internalError(c, err);
    metrics.countResponse(PATHS.has(c.req.path) ? c.req.path : 'other', res.status);
    return res;
  });

  await watcher.start();
  fleet?.start();

  return {
    app,
    predictEndpoint: endpoint,
    health,
    noChampionReason: () => watcher.noChampionReason(),
    models: () => watcher.current,
    refresh: () => watcher.check(),
    close() {
      closing ??= (async () => {
        await watcher.stop();
        await fleet?.stop();
        await log.close();
      })();
      return closing;
    },
  };
}
