'use strict';
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Jest's node environment, with the typed-array constructors of Node's main realm. Native addons
 * (onnxruntime-node) create their output typed arrays in the main realm; in Jest's vm sandbox those fail
 * `instanceof Float32Array` against the sandbox's own constructors, so onnxruntime refuses its own
 * outputs ("A float32 tensor's data must be type of function Float32Array()"). Jest already shares
 * ArrayBuffer and Uint8Array with the main realm for Buffer's sake; this shares the other typed arrays
 * the same way, so code under test sees one realm as it does in production.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
];

class MainRealmTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = MainRealmTypedArraysEnvironment;
