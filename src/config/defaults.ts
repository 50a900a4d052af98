/** Every default in one place, so a reader finds them without hunting through modules. */
export const defaults = {
  home: '.loopkeeper',
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  taskQueue: 'loopkeeper',
  /**
   * Longest one workflow activation may run on the worker (the SDK's default is 5 s). A review queue
   * that catches up on thousands of signals buffered during a worker outage needs more: the SDK spends
   * about 1-2 ms per signal (a stack trace captured per promise), so 3,000 take 3-7 s on a busy 2-core VM.
   */
  workflowActivationTimeoutMs: 15_000,
  /**
   * Workflow task timeout of the review queue (server side; must exceed workflowActivationTimeoutMs).
   * Not longer: a workflow task lost under load is only retried after it (60 s cut the review bench
   * from ~100 to 20 labels/s).
   */
  reviewQueueWorkflowTaskTimeoutMs: 20_000,
  storeUri: 'file:.loopkeeper/store',
  s3Region: 'us-east-1',
  temporalUiPort: 8233,
  /** Share of malformed log rows above which ingest fails instead of quarantining and going on. */
  maxBadRowRate: 0.05,
  /** Days of production traffic one cycle looks at. */
  windowDays: 7,
  /** How far back predictions are searched for outcomes that matured in this window. */
  joinLookbackDays: 35,
  /** Ingest threads: 0 picks one per available core, at most ingestMaxThreads. */
  ingestThreads: 0,
  /** Most threads `ingestThreads: 0` picks; each holds its share of the window's matured outcomes. */
  ingestMaxThreads: 4,
  /** Below this many bytes of logs ingest stays on the calling thread: starting threads costs more. */
  ingestThreadMinBytes: 32 * 1024 * 1024,
  /** V8 young generation of each ingest thread: parsing makes short-lived garbage fast. */
  ingestThreadYoungGenerationMb: 24,
  /** Batches of lines a shard thread may have waiting: bounds memory (and the reading ahead). */
  ingestBatchesInFlight: 6,
  /** Bytes of lines a batch buffer holds; a batch is sent once half full, or at its file's end. */
  ingestBatchBytes: 1024 * 1024,
  /** Rows per columnar partition ingest writes for a window (what one drift activity holds at once). */
  columnarPartitionRows: 250_000,
} as const;
