/**
 * The few ONNX protobuf messages loopkeeper writes and reads (ModelProto, GraphProto, NodeProto,
 * TensorProto, ValueInfoProto and what they hold), declared by hand with their wire field numbers
 * from the ONNX IR spec. Enough to export a linear model as an ONNX graph (onnx-export.ts) and to read
 * an external trainer's graph header (opset, producer, input/output names) without a Python toolchain.
 */
import * as protobuf from 'protobufjs';

/** TensorProto.DataType.FLOAT: the only element type loopkeeper's graphs exchange. */
export const ONNX_FLOAT = 1;
/** AttributeProto.AttributeType values used here. */
export const ONNX_ATTR_FLOAT = 1;
export const ONNX_ATTR_INT = 2;

const field = (id: number, type: string, rule?: 'repeated') => ({ id, type, ...(rule ? { rule } : {}) });

/** protobufjs JSON descriptors (package `onnx`), proto3 semantics as in onnx.proto3. */
const descriptor = {
  nested: {
    onnx: {
      nested: {
        OperatorSetIdProto: { fields: { domain: field(1, 'string'), version: field(2, 'int64') } },
        StringStringEntryProto: { fields: { key: field(1, 'string'), value: field(2, 'string') } },
        TensorProto: {
          fields: {
            dims: field(1, 'int64', 'repeated'),
            dataType: field(2, 'int32'),
            floatData: field(4, 'float', 'repeated'),
            name: field(8, 'string'),
            rawData: field(9, 'bytes'),
            docString: field(12, 'string'),
          },
        },
        AttributeProto: {
          fields: {
            name: field(1, 'string'),
            f: field(2, 'float'),
            i: field(3, 'int64'),
            s: field(4, 'bytes'),
            floats: field(7, 'float', 'repeated'),
            ints: field(8, 'int64', 'repeated'),
            type: field(20, 'int32'),
          },
        },
        NodeProto: {
          fields: {
            input: field(1, 'string', 'repeated'),
            output: field(2, 'string', 'repeated'),
            name: field(3, 'string'),
            opType: field(4, 'string'),
            attribute: field(5, 'AttributeProto', 'repeated'),
            docString: field(6, 'string'),
            domain: field(7, 'string'),
          },
        },
        TensorShapeProto: {
          fields: { dim: field(1, 'Dimension', 'repeated') },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: field(1, 'int64'), dimParam: field(2, 'string') },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: field(1, 'Tensor') },
          nested: {
            Tensor: { fields: { elemType: field(1, 'int32'), shape: field(2, 'TensorShapeProto') } },
          },
        },
        ValueInfoProto: {
          fields: { name: field(1, 'string'), type: field(2, 'TypeProto'), docString: field(3, 'string') },
        },
        GraphProto: {
          fields: {
            node: field(1, 'NodeProto', 'repeated'),
            name: field(2, 'string'),
            initializer: field(5, 'TensorProto', 'repeated'),
            docString: field(10, 'string'),
            input: field(11, 'ValueInfoProto', 'repeated'),
            output: field(12, 'ValueInfoProto', 'repeated'),
          },
        },
        ModelProto: {
          fields: {
            irVersion: field(1, 'int64'),
            producerName: field(2, 'string'),
            producerVersion: field(3, 'string'),
            domain: field(4, 'string'),
            modelVersion: field(5, 'int64'),
            docString: field(6, 'string'),
            graph: field(7, 'GraphProto'),
            opsetImport: field(8, 'OperatorSetIdProto', 'repeated'),
            metadataProps: field(14, 'StringStringEntryProto', 'repeated'),
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
/** onnx.ModelProto: encode a plain object with `ModelProto.encode(ModelProto.fromObject(o)).finish()`. */
export const ModelProto = root.lookupType('onnx.ModelProto');

/** A tensor dimension: a fixed size or a symbolic name such as "N" (batch). */
export type OnnxDim = number | string;

/** A ValueInfoProto for a Float32 tensor of the given shape. */
export function floatTensorInfo(name: string, dims: readonly OnnxDim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** A Float32 initializer (constant tensor), values in row-major order. */
export function floatInitializer(
  name: string,
  dims: readonly number[],
  values: ArrayLike<number>,
): Record<string, unknown> {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count)
    throw new RangeError(`initializer ${name}: ${values.length} values for shape [${dims.join(', ')}]`);
  const raw = new Float32Array(values.length);
  raw.set(Array.from(values));
  // raw_data is little-endian by the spec; Buffer.from over a Float32Array's buffer is host order,
  // which every platform onnxruntime-node ships for is.
  return { name, dims: [...dims], dataType: ONNX_FLOAT, rawData: Buffer.from(raw.buffer) };
}
