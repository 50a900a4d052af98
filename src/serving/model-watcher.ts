/**
 * Keeps the served models in step with the registry: polls the etags of aliases.json and rollout.json
 * every `pollMs`, and when either changes loads the models they name BEFORE swapping them in. A model
 * that fails to load never replaces a working one: its role keeps its current model, the failure is
 * recorded for /status and /metrics, and the load is retried after `retryMs`.
 */
import type { EventSink } from '../logging/event-logger';
import { performance } from 'node:perf_hooks';
import type { StoredArtifact } from '../scoring/artifact';
import { artifactKind } from '../scoring/artifact';
import { loadScorer } from '../scoring/load';
import type { Scorer } from '../scoring/scorer';
import type { ServingPolicy } from '../policy/model-policy';
import { ModelPolicySchema } from '../policy/model-policy';
import { layout } from '../storage/layout';
import { readJson } from '../storage/ndjson';
import type { ModelRegistry } from '../storage/model-registry';
import { CHAMPION } from '../storage/registry-schemas';

/** A model in memory, ready to score. */
export interface LoadedModel {
  version: string;
  artifact: StoredArtifact;
  /** `linear` or `onnx`: which scoring path `scorer` runs. */
  kind: 'linear' | 'onnx';
  /**
   * The warmed scorer (for onnx, an onnxruntime session created at load, never on a request). Its
   * buffers are reused per record: scoring is synchronous, one record at a time.
   */
  scorer: Scorer;
  loadedAt: string;
  /** Fetch + parse + warm-up time (session creation included). */
  loadMs: number;
}

/** What is being served right now; replaced as a whole (never mutated) so a request sees one snapshot. */
export interface ServingModels {
  champion?: LoadedModel;
  canary?: { model: LoadedModel; weightPercent: number; salt: string };
  shadow?: { model: LoadedModel; sampleShare: number };
  /** The `serving` section of config/{model}/policy.json (its defaults while there is none). */
  policy: ServingPolicy;
}

/** The serving policy of a model without a policy.json. */
export const DEFAULT_SERVING_POLICY: ServingPolicy = ModelPolicySchema.parse({}).serving;

/** One failed load. */
export interface LoadFailure {
  at: string;
  role: 'champion' | 'canary' | 'shadow';
  version: string;
  error: string;
}

/** Watcher state for /status. */
export interface WatcherStatus {
  aliasEtag: string | null;
  rolloutEtag: string | null;
  policyEtag: string | null;
  /** Why config/{model}/policy.json could not be used (the last good policy is kept), else null. */
  policyError: string | null;
  /** False when models/{model}/aliases.json does not exist: no version was ever promoted (or a typo). */
  aliasesExist: boolean;
  aliases: Record<string, string>;
  lastCheckAt: string | null;
  lastReloadAt: string | null;
  loadFailuresTotal: number;
  /** Most recent failures, newest last (at most 10). */
  recentLoadFailures: LoadFailure[];
  /** Versions the registry names but that are not being served because they failed to load. */
  pendingVersions: Array<{ role: LoadFailure['role']; version: string }>;
  checkFailuresTotal: number;
  lastCheckError: string | null;
}

/** Options of {@link ModelWatcher}. */
export interface ModelWatcherOptions {
  registry: ModelRegistry;
  modelId: string;
  pollMs: number;
  /** How long to wait before retrying a version that failed to load (default max(30 s, pollMs)). */
  retryMs?: number;
  now: () => Date;
  /** Where version loads and load failures are reported (one event each). */
  log?: EventSink;
}

const MAX_RECENT_FAILURES = 10;

/** Polls the registry and holds the current {@link ServingModels}. */
export class ModelWatcher {
  private models: ServingModels = { policy: DEFAULT_SERVING_POLICY };
  private readonly cache = new Map<string, LoadedModel>();
  private readonly status: WatcherStatus = {
    aliasEtag: null,
    rolloutEtag: null,
    policyEtag: null,
    policyError: null,
    aliasesExist: false,
    aliases: {},
    lastCheckAt: null,
    lastReloadAt: null,
    loadFailuresTotal: 0,
    recentLoadFailures: [],
    pendingVersions: [],
    checkFailuresTotal: 0,
    lastCheckError: null,
  };
  /** Etags seen at the last reload; undefined forces a reload on the next check. */
  private seen: { alias: string | null; rollout: string | null; policy: string | null } | undefined;
  private retryAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: ModelWatcherOptions) {
    if (!(opts.pollMs > 0)) throw new Error(`aliasPollMs must be positive, got ${opts.pollMs}`);
  }

  /** The models to serve, as one consistent snapshot. */
  get current(): ServingModels {
    return this.models;
  }

  /**
   * Why there is no champion to serve, in one sentence for a 503 body, /readyz and `serve`'s start
   * check. Meaningful only while `current.champion` is unset.
   */
  noChampionReason(): string {
    const st = this.status;
    const m = this.opts.modelId;
    if (st.lastCheckAt === null && st.lastCheckError !== null)
      return `the store could not be read (${st.lastCheckError})`;
    if (!st.aliasesExist)
      return `model "${m}" has no models/${m}/aliases.json in the store: no version of it was ever promoted (check the model id with \`loopkeeper models list --model ${m}\`)`;
    const failed = st.pendingVersions.find((p) => p.role === 'champion');
    if (failed) {
      const error = [...st.recentLoadFailures].reverse().find((f) => f.version === failed.version)?.error;
      return `champion ${failed.version} failed to load${error ? `: ${error}` : ''}`;
    }
    return `model "${m}" has no champion alias: promote a version (\`loopkeeper models promote --model ${m} --version <v>\`)`;
  }

  /** A copy of the watcher's status. */
  snapshot(): WatcherStatus {
    return structuredClone(this.status);
  }

  /** Loads the initial models (errors are recorded, not thrown) and starts polling. */
  async start(): Promise<void> {
    await this.check();
    this.schedule();
  }

  /** Stops polling and waits for an in-flight check. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One poll: compares etags and reloads when something changed (or a failed load is due for a retry).
   * Concurrent calls share one run.
   */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    // setTimeout after each check (not setInterval): a slow store never stacks overlapping polls.
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.opts.pollMs);
    this.timer.unref();
  }

  private async checkOnce(): Promise<void> {
    const { registry, modelId } = this.opts;
    try {
      const [aliasHead, rolloutHead, policyHead] = await Promise.all([
        registry.store.head(layout.aliases(modelId)),
        registry.store.head(layout.rollout(modelId)),
        registry.store.head(layout.policy(modelId)),
      ]);
      this.status.lastCheckAt = this.opts.now().toISOString();
      const unchanged =
        this.seen !== undefined &&
        this.seen.alias === (aliasHead?.etag ?? null) &&
        this.seen.rollout === (rolloutHead?.etag ?? null) &&
        this.seen.policy === (policyHead?.etag ?? null);
      const retryDue = this.retryAt !== undefined && Date.now() >= this.retryAt;
      if (unchanged && !retryDue) return;
      await this.reload(policyHead?.etag ?? null);
      this.status.lastCheckError = null;
    } catch (err) {
      // The store being unreachable must not stop serving: keep the current models and say so.
      this.status.checkFailuresTotal++;
      this.status.lastCheckError = (err as Error).message;
    }
  }

  /**
   * The serving policy: a policy.json that cannot be read or parsed keeps the last good one (a typo
   * must not change what is accepted), and says why in /status.
   */
  private async readPolicy(etag: string | null): Promise<ServingPolicy> {
    this.status.policyEtag = etag;
    if (etag === null) {
      this.status.policyError = null;
      return DEFAULT_SERVING_POLICY;
    }
    try {
      const policy = await readJson(
        this.opts.registry.store,
        layout.policy(this.opts.modelId),
        ModelPolicySchema,
      );
      this.status.policyError = null;
      return policy.serving;
    } catch (err) {
      this.status.policyError = (err as Error).message;
      return this.models.policy;
    }
  }

  private async reload(policyEtag: string | null): Promise<void> {
    const { registry, modelId } = this.opts;
    const [aliases, rollout, policy] = await Promise.all([
      registry.getAliases(modelId),
      registry.getRollout(modelId),
      this.readPolicy(policyEtag),
    ]);
    const current = this.models;
    const next: ServingModels = { policy };
    const pending: WatcherStatus['pendingVersions'] = [];

    const championVersion = aliases.aliases[CHAMPION];
    if (championVersion === undefined) {
      // An unset champion alias is more likely an operator mistake than a wish to stop serving.
      next.champion = current.champion;
    } else {
      next.champion = (await this.load('champion', championVersion, pending)) ?? current.champion;
    }
    const canary = rollout.config.canary;
    if (canary) {
      const model = await this.load('canary', canary.version, pending);
      next.canary = model
        ? { model, weightPercent: canary.weightPercent, salt: canary.salt }
        : current.canary;
    }
    const shadow = rollout.config.shadow;
    if (shadow) {
      const model = await this.load('shadow', shadow.version, pending);
      next.shadow = model ? { model, sampleShare: shadow.sampleShare } : current.shadow;
    }

    const changed =
      next.champion !== current.champion ||
      next.policy !== current.policy ||
      JSON.stringify(summary(next)) !== JSON.stringify(summary(current));
    this.models = next;
    this.seen = { alias: aliases.etag, rollout: rollout.etag, policy: policyEtag };
    this.status.aliasEtag = aliases.etag;
    this.status.aliasesExist = aliases.etag !== null;
    this.status.rolloutEtag = rollout.etag;
    this.status.aliases = aliases.aliases;
    this.status.pendingVersions = pending;
    this.retryAt =
      pending.length > 0 ? Date.now() + (this.opts.retryMs ?? Math.max(30_000, this.opts.pollMs)) : undefined;
    if (changed) this.status.lastReloadAt = this.opts.now().toISOString();
    // Drop artifacts nothing serves any more (they are immutable; a later alias move reloads them).
    const live = new Set([next.champion, next.canary?.model, next.shadow?.model].map((m) => m?.version));
    for (const version of this.cache.keys()) if (!live.has(version)) this.cache.delete(version);
  }

  private async load(
    role: LoadFailure['role'],
    version: string,
    pending: WatcherStatus['pendingVersions'],
  ): Promise<LoadedModel | undefined> {
    const cached = this.cache.get(version);
    if (cached) return cached;
    const started = performance.now();
    try {
      // Loads model.json (and model.onnx, sha-checked, into an onnxruntime session) and warms up:
      // compiles the pipeline's lookup tables and runs the model once now rather than on the first
      // request, and proves the version can score before it is trusted with traffic.
      const scorer = await loadScorer(this.opts.registry, this.opts.modelId, version);
      const loaded: LoadedModel = {
        version,
        artifact: scorer.artifact,
        kind: artifactKind(scorer.artifact),
        scorer,
        loadedAt: this.opts.now().toISOString(),
        loadMs: performance.now() - started,
      };
      this.cache.set(version, loaded);
      this.opts.log?.info('model version loaded', { role, version, loadMs: Math.round(loaded.loadMs) });
      return loaded;
    } catch (err) {
      this.status.loadFailuresTotal++;
      this.opts.log?.warn('model version failed to load', { role, version, error: (err as Error).message });
      this.status.recentLoadFailures.push({
        at: this.opts.now().toISOString(),
        role,
        version,
        error: (err as Error).message,
      });
      this.status.recentLoadFailures.splice(0, this.status.recentLoadFailures.length - MAX_RECENT_FAILURES);
      pending.push({ role, version });
      return undefined;
    }
  }
}

/** Version, weight and share of each role: what a reload can change. */
function summary(m: ServingModels): unknown {
  return {
    champion: m.champion?.version,
    canary: m.canary && { v: m.canary.model.version, w: m.canary.weightPercent, s: m.canary.salt },
    shadow: m.shadow && { v: m.shadow.model.version, s: m.shadow.sampleShare },
  };
}
