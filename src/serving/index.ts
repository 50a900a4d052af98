/** HTTP prediction service: see README.md in this folder. */
export * from './app';
export * from './server';
export * from './request';
export * from './routing';
export * from './model-watcher';
export * from './prediction-log';
export * from './serving-metrics';
