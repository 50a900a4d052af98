/** Seedable simulator of production traffic for a churn model (see README.md). */
export * from './scenario';
export * from './rng';
export * from './population';
export * from './ground-truth';
export * from './reference-scorer';
export * from './generate';
export * from './write-logs';
