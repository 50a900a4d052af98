/**
 * Serving metrics and their Prometheus rendering. The per-feature counters are the pipeline's own
 * TransformCounters (filled by `scoreFeatures` while serving), so /metrics shows exactly the unknown
 * categories and missing values the model saw — the training/serving skew signal, live.
 */
import type { TransformCounters } from '../ml/feature-pipeline';
import { createCounters } from '../ml/feature-pipeline';
import type { ServingModels, WatcherStatus } from './model-watcher';
import type { PredictionLogStats } from './prediction-log';
import type { CounterHandle } from './prom';
import { Histogram, LabeledCounter, PromText } from './prom';

/** Latency buckets in seconds: fine below 5 ms (the budget), coarse above. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/** Mutable counters of one serving app. */
export class ServingMetrics {
  /** Predictions made, by role (champion/canary/shadow) and version. */
  readonly predictions = new LabeledCounter();
  /**
   * Failed requests or predictions, by kind (invalid_request, missing_features, unknown_features,
   * duplicate_request_id, unauthorized, no_model, internal, shadow, log_write).
   */
  readonly errors = new LabeledCounter();
  /** Instances answered although they carried features no served model reads (listed in the answer). */
  ignoredFeatureInstances = 0;
  /** HTTP responses by path and status. */
  readonly responses = new LabeledCounter();
  /** /predict request latency (whole request, all instances), seconds. */
  readonly latency = new Histogram(LATENCY_BUCKETS_SECONDS);
  private readonly transform = new Map<string, TransformCounters>();
  private readonly predictionHandles = new Map<string, Map<string, CounterHandle>>();
  private readonly responseHandles = new Map<string, Map<number, CounterHandle>>();

  /** Counts one prediction: `predictions.inc({ role, version })` with the label set resolved once. */
  countPrediction(role: string, version: string): void {
    let byRole = this.predictionHandles.get(version);
    if (!byRole) this.predictionHandles.set(version, (byRole = new Map()));
    let handle = byRole.get(role);
    if (!handle) byRole.set(role, (handle = this.predictions.handle({ role, version })));
    handle.inc();
  }

  /** Counts one HTTP response: `responses.inc({ path, status })` with the label set resolved once. */
  countResponse(path: string, status: number): void {
    let byStatus = this.responseHandles.get(path);
    if (!byStatus) this.responseHandles.set(path, (byStatus = new Map()));
    let handle = byStatus.get(status);
    if (!handle) byStatus.set(status, (handle = this.responses.handle({ path, status: String(status) })));
    handle.inc();
  }

  /** The transform counters of a model version (created on first use, kept across reloads). */
  countersFor(version: string): TransformCounters {
    let counters = this.transform.get(version);
    if (!counters) this.transform.set(version, (counters = createCounters()));
    return counters;
  }

  /** Every version's transform counters (for /status). */
  transformCounters(): Record<string, TransformCounters> {
    return Object.fromEntries(this.transform);
  }

  /** Renders the Prometheus text exposition. */
  render(input: {
    modelId: string;
    models: ServingModels;
    watcher: WatcherStatus;
    log: PredictionLogStats;
  }): string {
    const model = input.modelId;
    const withModel = (labels: Record<string, string>) => ({ model, ...labels });
    const perFeature = (pick: (f: TransformCounters['features'][string]) => number) =>
      [...this.transform].flatMap(([version, c]) =>
        Object.entries(c.features).map(([feature, f]) => ({
          labels: withModel({ version, feature }),
          value: pick(f),
        })),
      );
    const served = input.models;
    const info = [
      served.champion && { role: 'champion', version: served.champion.version },
      served.canary && { role: 'canary', version: served.canary.model.version },
      served.shadow && { role: 'shadow', version: served.shadow.model.version },
    ].filter((x): x is { role: string; version: string } => !!x);

    const text = new PromText()
      .metric(
        'loopkeeper_requests_total',
        'counter',
        'Predictions made, by role (champion, canary, shadow) and model version.',
        this.predictions.samples().map((s) => ({ labels: withModel(s.labels), value: s.value })),
      )
      .metric(
        'loopkeeper_errors_total',
        'counter',
        'Failed requests or predictions, by kind.',
        this.errors.samples().map((s) => ({ labels: withModel(s.labels), value: s.value })),
      )
      .metric(
        'loopkeeper_http_responses_total',
        'counter',
        'HTTP responses by path and status.',
        this.responses.samples().map((s) => ({ labels: withModel(s.labels), value: s.value })),
      )
      .histogram(
        'loopkeeper_predict_latency_seconds',
        'Latency of /predict requests (scoring, routing, logging).',
        [{ labels: { model }, h: this.latency }],
      )
      .metric(
        'loopkeeper_ignored_features_total',
        'counter',
        'Answered instances that carried features no served model reads (ignored, logged, listed in the answer).',
        [{ labels: { model }, value: this.ignoredFeatureInstances }],
      )
      .metric(
        'loopkeeper_transform_rows_total',
        'counter',
        'Rows transformed by the feature pipeline, by model version.',
        [...this.transform].map(([version, c]) => ({ labels: withModel({ version }), value: c.rows })),
      )
      .metric(
        'loopkeeper_unknown_category_total',
        'counter',
        'Category values not in the training vocabulary (the unknown bucket), by version and feature.',
        perFeature((f) => f.unknown),
      )
      .metric(
        'loopkeeper_missing_total',
        'counter',
        'Missing (null or absent) feature values, imputed, by version and feature.',
        perFeature((f) => f.missing),
      )
      .metric(
        'loopkeeper_type_mismatch_total',
        'counter',
        'Feature values of the wrong type (e.g. "NaN" for a numeric feature), imputed, by version and feature.',
        perFeature((f) => f.typeMismatch),
      )
      .metric('loopkeeper_model_load_failures_total', 'counter', 'Model versions that failed to load.', [
        { labels: { model }, value: input.watcher.loadFailuresTotal },
      ])
      .metric(
        'loopkeeper_alias_check_failures_total',
        'counter',
        'Failed polls of aliases.json/rollout.json.',
        [{ labels: { model }, value: input.watcher.checkFailuresTotal }],
      )
      .metric(
        'loopkeeper_model_info',
        'gauge',
        'Models being served (1 per role and version).',
        info.map((l) => ({ labels: withModel(l), value: 1 })),
      )
      .metric('loopkeeper_model_load_seconds', 'gauge', 'Load time of each served model.', [
        ...(served.champion
          ? [
              {
                labels: withModel({ role: 'champion', version: served.champion.version }),
                value: served.champion.loadMs / 1000,
              },
            ]
          : []),
        ...(served.canary
          ? [
              {
                labels: withModel({ role: 'canary', version: served.canary.model.version }),
                value: served.canary.model.loadMs / 1000,
              },
            ]
          : []),
        ...(served.shadow
          ? [
              {
                labels: withModel({ role: 'shadow', version: served.shadow.model.version }),
                value: served.shadow.model.loadMs / 1000,
              },
            ]
          : []),
      ])
      .metric('loopkeeper_canary_weight_percent', 'gauge', 'Canary traffic weight (0 without a canary).', [
        { labels: { model }, value: served.canary?.weightPercent ?? 0 },
      ])
      .metric(
        'loopkeeper_shadow_sample_share',
        'gauge',
        'Share of requests the shadow scores (0 without one).',
        [{ labels: { model }, value: served.shadow?.sampleShare ?? 0 }],
      )
      .metric(
        'loopkeeper_prediction_log_rows_written_total',
        'counter',
        'Prediction rows written to the log.',
        [{ labels: { model }, value: input.log.rowsWritten }],
      )
      .metric('loopkeeper_prediction_log_buffered_rows', 'gauge', 'Prediction rows waiting to be written.', [
        { labels: { model }, value: input.log.bufferedRows },
      ])
      .metric(
        'loopkeeper_prediction_log_write_failures_total',
        'counter',
        'Failed prediction log part writes.',
        [{ labels: { model }, value: input.log.writeFailures }],
      )
      .metric(
        'loopkeeper_prediction_log_dropped_rows_total',
        'counter',
        'Rows dropped because the store stayed down.',
        [{ labels: { model }, value: input.log.droppedRows }],
      );
    return text.toString();
  }
}
