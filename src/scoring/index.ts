/** Model artifacts by kind and the one scoring path per kind (see README.md in this folder). */
export * from './artifact';
export * from './scorer';
export * from './load';
export * from './onnx-session';
export * from './onnx-export';
