/**
 * Every loopkeeper metric, defined once: workflows and activities emit them through the SDK's metric
 * meters, so the worker's one Prometheus endpoint (`--metrics-port`) serves them beside the SDK's own.
 * Pure data: safe in workflow code. Names follow Prometheus conventions (unit in the name, `_total`).
 */
export interface MetricDef {
  name: string;
  kind: 'counter' | 'gauge';
  unit: string;
  help: string;
  /** Tags besides `model` (and the SDK's namespace, task_queue, workflow_type / activity_type). */
  tags: readonly string[];
}

const counter = (name: string, unit: string, help: string, tags: string[] = []): MetricDef => ({
  name,
  kind: 'counter',
  unit,
  help,
  tags,
});

export const metricCatalog = {
  rowsIngested: counter('loopkeeper_rows_ingested_total', 'rows', 'log lines accepted by ingest'),
  rowsQuarantined: counter('loopkeeper_rows_quarantined_total', 'rows', 'log lines quarantined by ingest'),
  rowsJoined: counter('loopkeeper_rows_joined_total', 'rows', 'predictions joined to a matured outcome'),
  misclassified: counter('loopkeeper_misclassified_rows_total', 'rows', 'labelled rows the model got wrong'),
  rowsRouted: counter('loopkeeper_rows_routed_total', 'rows', 'mined rows routed, by route', ['route']),
  reviewTasksSent: counter('loopkeeper_review_tasks_sent_total', 'tasks', 'review tasks the queue accepted'),
  labelsWritten: counter('loopkeeper_labels_written_total', 'labels', 'labels written to the store', [
    'source',
  ]),
  retrains: counter('loopkeeper_retrains_total', 'retrains', 'retrains run, by outcome', ['outcome']),
  retrainsSkipped: counter('loopkeeper_retrains_skipped_total', 'retrains', 'retrains held, by cap or skew', [
    'reason',
  ]),
  candidates: counter('loopkeeper_candidates_total', 'candidates', 'candidates judged by the gate', [
    'verdict',
  ]),
  driftAlerts: counter('loopkeeper_drift_alerts_total', 'alerts', 'drift or skew alerts raised', ['source']),
  rolloutSteps: counter('loopkeeper_rollout_steps_total', 'steps', 'canary steps taken'),
  rolloutPauses: counter('loopkeeper_rollout_pauses_total', 'pauses', 'rollout steps held for a human'),
  rollouts: counter('loopkeeper_rollouts_total', 'rollouts', 'rollouts ended, by outcome', ['outcome']),
  rollbacks: counter('loopkeeper_rollbacks_total', 'rollbacks', 'rollouts rolled back or aborted', [
    'outcome',
  ]),
  alertsRaised: counter('loopkeeper_alerts_raised_total', 'alerts', 'alert events raised', ['event']),
  alertsDelivered: counter('loopkeeper_alerts_delivered_total', 'alerts', 'alerts a webhook accepted', [
    'event',
  ]),
  alertFailures: counter(
    'loopkeeper_alert_delivery_failures_total',
    'alerts',
    'alerts a webhook did not accept after its retries',
    ['event'],
  ),
  reviewTasks: {
    name: 'loopkeeper_review_tasks',
    kind: 'gauge',
    unit: 'tasks',
    help: 'review tasks by state at the last cycle (open, claimed; expired is cumulative)',
    tags: ['state'],
  },
} satisfies Record<string, MetricDef>;
