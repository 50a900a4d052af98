export * from './config';
export * from './defaults';
export * from './ui-config';
