/**
 * The blob store layout, the same under file:// and s3://. Every key loopkeeper writes is built here,
 * so the layout is documented by one file (see DESIGN.md "Blob store layout").
 */
export const layout = {
  logsRoot: (model: string) => `logs/${model}/`,
  predictionDay: (model: string, day: string) => `logs/${model}/predictions/date=${day}/`,
  outcomeDay: (model: string, day: string) => `logs/${model}/outcomes/date=${day}/`,
  joinedPart: (model: string, cycleId: string, part: string) =>
    `datasets/${model}/joined/${cycleId}/${part}.ndjson`,
  joinedManifest: (model: string, cycleId: string) => `datasets/${model}/joined/${cycleId}/manifest.json`,
  /** Every cycle's joined data of a model (the model pages read production quality from it). */
  joinedPrefix: (model: string) => `datasets/${model}/joined/`,
  /**
   * The window's accepted prediction lines (served, not shadow), as ingest checked them: what later
   * stages (drift, skew) read instead of the raw logs.
   */
  windowPart: (model: string, cycleId: string, part: string) =>
    `datasets/${model}/window/${cycleId}/${part}.ndjson`,
  /** The same lines' features and scores as columns (Arrow IPC, storage/columnar.ts), ≤ a partition's rows each. */
  windowColumns: (model: string, cycleId: string, part: string) =>
    `datasets/${model}/window/${cycleId}/${part}.arrow`,
  quarantine: (model: string, cycleId: string, part: string) =>
    `quarantine/${model}/${cycleId}/${part}.ndjson`,
  dataset: (model: string, kind: string, version: string) =>
    `datasets/${model}/${kind}/${version}/data.ndjson`,
  datasetManifest: (model: string, kind: string, version: string) =>
    `datasets/${model}/${kind}/${version}/manifest.json`,
  datasetKindPrefix: (model: string, kind: string) => `datasets/${model}/${kind}/`,
  labels: (model: string, kind: 'auto' | 'human', batch: string) => `labels/${model}/${kind}/${batch}.ndjson`,
  labelsPrefix: (model: string, kind: 'auto' | 'human') => `labels/${model}/${kind}/`,
  report: (model: string, cycleId: string, name: string) => `reports/${model}/${cycleId}/${name}`,
  reportsPrefix: (model: string) => `reports/${model}/`,
  modelVersion: (model: string, version: string) => `models/${model}/versions/${version}/model.json`,
  modelManifest: (model: string, version: string) => `models/${model}/versions/${version}/manifest.json`,
  /** The ONNX graph of a version of kind `onnx` (its model.json holds the pipeline and metadata). */
  modelOnnx: (model: string, version: string) => `models/${model}/versions/${version}/model.onnx`,
  modelVersionsPrefix: (model: string) => `models/${model}/versions/`,
  aliases: (model: string) => `models/${model}/aliases.json`,
  aliasHistory: (model: string) => `models/${model}/alias-history.ndjson`,
  /**
   * Blobs cannot be appended to, so the alias audit log is one object per change under this prefix,
   * named so that key order is change order (see storage/alias-history.ts).
   */
  aliasHistoryPrefix: (model: string) => `models/${model}/alias-history/`,
  aliasHistoryEntry: (model: string, name: string) => `models/${model}/alias-history/${name}.json`,
  /** Shadow/canary rollout config, beside aliases.json and updated with the same compare-and-swap. */
  rollout: (model: string) => `models/${model}/rollout.json`,
  /** One flushed part of a serving process's prediction log. */
  predictionPart: (model: string, day: string, name: string) =>
    `logs/${model}/predictions/date=${day}/${name}.ndjson`,
  /** One segment of a review queue's backlog: validated tasks, oldest first, content-addressed id. */
  reviewBacklogSegment: (model: string, segmentId: string) => `review/${model}/backlog/${segmentId}.ndjson`,
  reviewBacklogPrefix: (model: string) => `review/${model}/backlog/`,
  /**
   * A label accepted by a client before the queue saw it (one object per task and annotator, so a resend
   * rewrites it): the queue drains these and deletes them once the resulting rows are written.
   */
  reviewInboxEntry: (model: string, entryId: string) => `review/${model}/inbox/${entryId}.json`,
  reviewInboxPrefix: (model: string) => `review/${model}/inbox/`,
  policy: (model: string) => `config/${model}/policy.json`,
  /** Web app users added by `loopkeeper ui token add`: token sha256 → name and role (never a token). */
  uiUsers: 'ui/users.json',
  /**
   * One web app session, named by the sha256 of its id (the id itself, the cookie's value, is never
   * written anywhere): user, CSRF token, expiry, pending messages, the tasks its pages hold.
   */
  uiSession: (idHash: string) => `ui/sessions/${idHash}.json`,
  uiSessionsPrefix: 'ui/sessions/',
  /** Serving instances' health reports (src/serving/fleet-report.ts), one object per instance. */
  fleetPrefix: (model: string) => `models/${model}/fleet/`,
  fleetReport: (model: string, instanceId: string) => `models/${model}/fleet/${instanceId}.json`,
  /** Everything one version holds (model.json, manifest.json, profile.json, ...): what retention deletes. */
  modelVersionPrefix: (model: string, version: string) => `models/${model}/versions/${version}/`,
  /**
   * Retention's record of each deleted version, one object per deletion named so that key order is
   * time order (the alias audit log only holds alias changes; see storage/registry-retention.ts).
   */
  retentionPrefix: (model: string) => `models/${model}/retention/`,
  retentionRecord: (model: string, name: string) => `models/${model}/retention/${name}.json`,
  /** An alert no webhook accepted after its bounded retries (src/activities/send-alert.ts), one per event id. */
  alertFailure: (model: string, eventId: string) => `alerts/${model}/failed/${eventId}.json`,
  /** Reference profile of a registered version (drift and skew monitoring compare windows with it). */
  versionProfile: (model: string, version: string) => `models/${model}/versions/${version}/profile.json`,
  /** Reference profile built without a champion (bootstrap history) or from a pinned window of logs. */
  referenceProfile: (model: string, name: string) => `datasets/${model}/reference/${name}/profile.json`,
} as const;

/** Whether a name under a day's prefix is a log part: a `.ndjson` / `.ndjson.gz` file directly in it. */
export const isLogPartName = (name: string): boolean => /^[^/]+\.ndjson(\.gz)?$/.test(name);

/** Reads the day out of a partition key such as logs/churn/predictions/date=2026-06-01/part-0000.ndjson. */
export function partitionDay(key: string): string | undefined {
  return /\/date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/** A short, key-safe name for one log part: `{kind}-{day}-{file stem}`. */
export function partName(key: string): string {
  const day = partitionDay(key) ?? 'nodate';
  const kind = key.includes('/outcomes/') ? 'outcomes' : 'predictions';
  const stem = key.slice(key.lastIndexOf('/') + 1).replace(/\.ndjson(\.gz)?$/, '');
  return `${kind}-${day}-${stem}`;
}
