/**
 * Pure ML core shared by Temporal activities, serving and the simulator: no I/O, no clocks, no
 * Math.random. See README.md in this folder.
 */
export * from './errors';
export * from './rng';
export * from './matrix';
export * from './feature-pipeline';
export * from './linear-model';
export * from './trainers';
export * from './logistic';
export * from './softmax';
export * from './model';
export * from './metrics';
export * from './temporal-split';
export * from './labels';
export * from './numeric-string';
export * from './threshold';
