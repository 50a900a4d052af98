/**
 * Exports a linear model (src/ml/linear-model.ts) as an ONNX graph from the pipeline's numeric matrix
 * to class probabilities, so the ONNX scoring path can be tested, and an ONNX version produced, with no
 * Python toolchain. logistic: MatMul → Add → Sigmoid → [1 − p, p]; softmax: MatMul → Add → Softmax.
 */
import type { LinearModel } from '../ml/linear-model';
import { floatInitializer, floatTensorInfo, ModelProto, ONNX_ATTR_INT } from './onnx-proto';

/** Names and versions stamped into an exported graph. */
export interface OnnxExportOptions {
  inputName?: string;
  outputName?: string;
  /** Default opset 15 (the contract's example); Softmax needs ≥ 13 for its axis semantics. */
  opset?: number;
  producerName?: string;
  producerVersion?: string;
}

/** The defaults of {@link OnnxExportOptions}, as recorded in an onnx artifact. */
export const ONNX_EXPORT_DEFAULTS = {
  inputName: 'input',
  outputName: 'probabilities',
  opset: 15,
  producerName: 'loopkeeper',
  producerVersion: '1',
} as const;

/** IR version 8 is what opset 15 graphs carry (onnx 1.10+), and every onnxruntime ≥ 1.10 reads it. */
const IR_VERSION = 8;

/**
 * Serialises `model` as an ONNX ModelProto: input Float32 [N, nFeatures], output Float32
 * [N, classes.length] in `model.classes` order (no ZipMap), as the external-trainer contract asks.
 */
export function exportLinearOnnx(model: LinearModel, options: OnnxExportOptions = {}): Uint8Array {
  const o = { ...ONNX_EXPORT_DEFAULTS, ...options };
  if (o.opset < 13) throw new RangeError(`opset ${o.opset} is too old: Softmax needs opset ≥ 13`);
  const d = model.nFeatures;
  const nOut = model.weights.length;
  // MatMul wants W as [d, nOut]: the model stores weights[k][j] (output k, input j).
  const w = new Float64Array(d * nOut);
  for (let k = 0; k < nOut; k++) for (let j = 0; j < d; j++) w[j * nOut + k] = model.weights[k][j];
  const nodes: Record<string, unknown>[] = [
    { opType: 'MatMul', input: [o.inputName, 'W'], output: ['xw'], name: 'matmul' },
    { opType: 'Add', input: ['xw', 'B'], output: ['logits'], name: 'add_bias' },
  ];
  const initializers = [floatInitializer('W', [d, nOut], w), floatInitializer('B', [nOut], model.bias)];
  if (model.kind === 'logistic') {
    initializers.push(floatInitializer('one', [1], [1]));
    nodes.push(
      { opType: 'Sigmoid', input: ['logits'], output: ['p1'], name: 'sigmoid' },
      { opType: 'Sub', input: ['one', 'p1'], output: ['p0'], name: 'complement' },
      {
        opType: 'Concat',
        input: ['p0', 'p1'],
        output: [o.outputName],
        name: 'concat',
        attribute: [{ name: 'axis', type: ONNX_ATTR_INT, i: 1 }],
      },
    );
  } else {
    nodes.push({
      opType: 'Softmax',
      input: ['logits'],
      output: [o.outputName],
      name: 'softmax',
      attribute: [{ name: 'axis', type: ONNX_ATTR_INT, i: 1 }],
    });
  }
  const message = ModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: o.producerName,
    producerVersion: o.producerVersion,
    opsetImport: [{ domain: '', version: o.opset }],
    graph: {
      name: `linear_${model.kind}`,
      node: nodes,
      initializer: initializers,
      input: [floatTensorInfo(o.inputName, ['N', d])],
      output: [floatTensorInfo(o.outputName, ['N', model.classes.length])],
    },
    metadataProps: [{ key: 'classes', value: JSON.stringify(model.classes) }],
  });
  return ModelProto.encode(message).finish();
}
