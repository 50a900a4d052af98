export * from './config';
export * from './defaults';
