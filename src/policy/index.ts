/**
 * Pure policy functions: no I/O, no clock, no Math.random, no Node built-ins — safe to call from
 * Temporal workflow code (replayed) and from activities alike.
 */
export * from './rng';
export * from './time';
export * from './routing';
export * from './feedback-caps';
export * from './test-set-refresh';
export * from './retrain-data';
export * from './promotion-gate';
export * from './canary-analysis';
export * from './model-policy';
export * from './challenge-set';
export * from './rollout-plan';
export * from './annotator-agreement';
