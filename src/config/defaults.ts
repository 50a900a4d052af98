/** Every default in one place, so a reader finds them without hunting through modules. */
export const defaults = {
  home: '.loopkeeper',
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  taskQueue: 'loopkeeper',
  storeUri: 'file:.loopkeeper/store',
  s3Region: 'us-east-1',
  temporalUiPort: 8233,
  /** Share of malformed log rows above which ingest fails instead of quarantining and going on. */
  maxBadRowRate: 0.05,
  /** Days of production traffic one cycle looks at. */
  windowDays: 7,
  /** How far back predictions are searched for outcomes that matured in this window. */
  joinLookbackDays: 35,
} as const;
