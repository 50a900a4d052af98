/**
 * Drift and training-serving skew monitoring. Everything here is pure (no I/O, clock or randomness) so
 * Temporal activities and the CLI can share it; see README.md in this folder for the formulas.
 *
 * Typical flow: `buildProfile` once per model version → per window, `createAccumulator` + `accumulate`
 * (in parallel partitions, then `mergeAccumulators`) → `computeDrift` and `checkSkew` → `renderDriftHtml`.
 *
 * This barrel pulls in echarts through report-html.ts. Workflow code (bundled for Temporal's sandbox)
 * should import the individual modules it needs, e.g. '../monitoring/drift', rather than this index.
 */
export * from './profile';
export * from './count-list';
export * from './histogram';
export * from './divergence';
export * from './drift';
export * from './skew';
export * from './format';
export * from './report-html';
export * from './sort';
export * from './seen-filter';
export * from './log-line';
