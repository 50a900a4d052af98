import { createHash } from 'node:crypto';
import {
  Field,
  Float32,
  Int32,
  Int8,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import { decodeTrainingMatrix, encodeTrainingMatrix } from '../../src/external/training-matrix';
import type { TrainingMatrixInput } from '../../src/external/training-matrix';
import { TrainingDataError } from '../../src/ml/errors';

function input(): TrainingMatrixInput {
  return {
    modelId: 'churn',
    classes: ['stay', 'churn'],
    featureNames: ['usage', 'plan=basic', 'plan=__unknown__'],
    train: {
      X: { data: Float64Array.from([0.5, 1, 0, -1.25, 0, 1, 2, 1, 0]), nRows: 3, nCols: 3 },
      y: Int32Array.from([0, 1, 1]),
      weight: Float32Array.from([1, 2.5, 2.5]),
    },
    validation: { X: { data: Float64Array.from([0.1, 0, 1]), nRows: 1, nCols: 3 }, y: Int32Array.from([0]) },
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('training matrix (Arrow IPC file of the external-trainer contract)', () => {
  test('apache-arrow reads the contract: columns, types, non-null, metadata, rows in order', () => {
    const table = tableFromIPC(encodeTrainingMatrix(input()));
    expect(table.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['x0', 'Float32', false],
      ['x1', 'Float32', false],
      ['x2', 'Float32', false],
      ['label', 'Int32', false],
      ['weight', 'Float32', false],
      ['split', 'Int8', false],
    ]);
    expect(Object.fromEntries(table.schema.metadata)).toEqual({
      'loopkeeper.contract': '1',
      'loopkeeper.classes': '["stay","churn"]',
      'loopkeeper.featureNames': '["usage","plan=basic","plan=__unknown__"]',
      'loopkeeper.modelId': 'churn',
    });
    expect(table.numRows).toBe(4);
    expect(Array.from(table.getChild('x0')!.toArray() as Float32Array)).toEqual([
      0.5,
      -1.25,
      2,
      Math.fround(0.1),
    ]);
    expect(Array.from(table.getChild('label')!.toArray() as Int32Array)).toEqual([0, 1, 1, 0]);
    expect(Array.from(table.getChild('weight')!.toArray() as Float32Array)).toEqual([1, 2.5, 2.5, 1]);
    expect(Array.from(table.getChild('split')!.toArray() as Int8Array)).toEqual([0, 0, 0, 1]);
    // The file format (magic "ARROW1" at both ends), not the stream format.
    const bytes = encodeTrainingMatrix(input());
    expect(Buffer.from(bytes.subarray(0, 6)).toString()).toBe('ARROW1');
    expect(Buffer.from(bytes.subarray(bytes.length - 6)).toString()).toBe('ARROW1');
  });

  test('the same content gives the same bytes (the sha256 names the file); other content another sha', () => {
    const a = sha(encodeTrainingMatrix(input()));
    expect(sha(encodeTrainingMatrix(input()))).toBe(a);
    const changed = input();
    changed.train.y[0] = 1;
    expect(sha(encodeTrainingMatrix(changed))).not.toBe(a);
  });

  test('decode round-trips, and concatenates several record batches', () => {
    const m = decodeTrainingMatrix(encodeTrainingMatrix(input()));
    expect(m).toMatchObject({ modelId: 'churn', classes: ['stay', 'churn'], nRows: 4 });
    expect(Array.from(m.X.subarray(3, 6))).toEqual([-1.25, 0, 1]);

    // A file written by another producer in two batches reads as one matrix.
    const fields = [
      new Field('x0', new Float32(), false),
      new Field('label', new Int32(), false),
      new Field('weight', new Float32(), false),
      new Field('split', new Int8(), false),
    ];
    const meta = new Map([
      ['loopkeeper.contract', '1'],
      ['loopkeeper.classes', '["a","b"]'],
      ['loopkeeper.featureNames', '["f"]'],
      ['loopkeeper.modelId', 'm'],
    ]);
    const schema = new Schema(fields, meta);
    const batch = (x: number[], y: number[], s: number[]) =>
      new RecordBatch(
        schema,
        makeData({
          type: new Struct(fields),
          length: x.length,
          nullCount: 0,
          children: [
            makeData({ type: new Float32(), length: x.length, data: Float32Array.from(x) }),
            makeData({ type: new Int32(), length: x.length, data: Int32Array.from(y) }),
            makeData({ type: new Float32(), length: x.length, data: new Float32Array(x.length).fill(1) }),
            makeData({ type: new Int8(), length: x.length, data: Int8Array.from(s) }),
          ],
        }),
      );
    const two = tableToIPC(new Table(schema, [batch([1, 2], [0, 1], [0, 0]), batch([3], [1], [1])]), 'file');
    const read = decodeTrainingMatrix(two);
    expect(Array.from(read.X)).toEqual([1, 2, 3]);
    expect(Array.from(read.y)).toEqual([0, 1, 1]);
    expect(Array.from(read.split)).toEqual([0, 0, 1]);
  });

  test('bad input is refused with a TrainingDataError naming it', () => {
    const nan = input();
    nan.train.X.data[4] = NaN;
    expect(() => encodeTrainingMatrix(nan)).toThrow(
      new TrainingDataError('train: non-finite value at row 1'),
    );
    const label = input();
    label.validation.y[0] = 2;
    expect(() => encodeTrainingMatrix(label)).toThrow(/validation: label index 2 is not a class/);
    expect(() => decodeTrainingMatrix(Buffer.from('not arrow'))).toThrow(TrainingDataError);
  });
});
