export * from './records';
export * from './manifests';
export * from './window';
export * from './parse-line';
export * from './fast-check';
export * from './review';
