/**
 * The training matrix of the external-trainer contract (workers/README.md): an Arrow IPC **file** with
 * one Float32 column per pipeline output (`x0` … `x{n-1}`), `label` (Int32, index into the classes),
 * `weight` (Float32) and `split` (Int8: 0 train, 1 validation), all non-null, and string metadata naming
 * the contract version, classes, feature names and model. Pure: bytes in, bytes out.
 */
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
import type { Data, DataType } from 'apache-arrow';
import { z } from 'zod';
import { TrainingDataError } from '../ml/errors';
import type { Matrix } from '../ml/matrix';

/** The contract version this file format belongs to. */
export const TRAINING_MATRIX_CONTRACT = 1;

/** Schema metadata keys. */
export const MATRIX_METADATA = {
  contract: 'loopkeeper.contract',
  classes: 'loopkeeper.classes',
  featureNames: 'loopkeeper.featureNames',
  modelId: 'loopkeeper.modelId',
} as const;

/** Split codes in the `split` column. */
export const SPLIT_TRAIN = 0;
export const SPLIT_VALIDATION = 1;

/** One part of the matrix: pipeline outputs, class indices and sample weights. */
export interface MatrixPart {
  X: Matrix;
  y: Int32Array;
  /** Sample weights; all 1 when absent. */
  weight?: Float32Array;
}

/** What goes into a training matrix. */
export interface TrainingMatrixInput {
  modelId: string;
  classes: readonly string[];
  /** The pipeline's output column names (describePipeline(...).columns), one per matrix column. */
  featureNames: readonly string[];
  train: MatrixPart;
  validation: MatrixPart;
}

/** A training matrix read back: columns concatenated over record batches. */
export interface TrainingMatrix {
  modelId: string;
  classes: string[];
  featureNames: string[];
  nRows: number;
  /** Row-major nRows × featureNames.length. */
  X: Float32Array;
  y: Int32Array;
  weight: Float32Array;
  split: Int8Array;
}

function checkPart(name: string, part: MatrixPart, nFeatures: number, nClasses: number): void {
  if (part.X.nCols !== nFeatures)
    throw new TrainingDataError(`${name}: ${part.X.nCols} columns, ${nFeatures} feature names`);
  if (part.y.length !== part.X.nRows)
    throw new TrainingDataError(`${name}: ${part.X.nRows} rows but ${part.y.length} labels`);
  if (part.weight && part.weight.length !== part.X.nRows)
    throw new TrainingDataError(`${name}: ${part.X.nRows} rows but ${part.weight.length} weights`);
  for (let i = 0; i < part.X.data.length; i++)
    if (!Number.isFinite(part.X.data[i]))
      throw new TrainingDataError(`${name}: non-finite value at row ${Math.floor(i / nFeatures)}`);
  for (const y of part.y)
    if (y < 0 || y >= nClasses) throw new TrainingDataError(`${name}: label index ${y} is not a class`);
}

/**
 * Encodes the matrix as one Arrow IPC file (one record batch: train rows, then validation rows).
 * Deterministic: the same input gives the same bytes, so the file's sha256 names it.
 *
 * @throws TrainingDataError when shapes disagree, a value is not finite or a label is not a class.
 */
export function encodeTrainingMatrix(input: TrainingMatrixInput): Uint8Array {
  const nFeatures = input.featureNames.length;
  const nClasses = input.classes.length;
  checkPart('train', input.train, nFeatures, nClasses);
  checkPart('validation', input.validation, nFeatures, nClasses);
  const parts = [input.train, input.validation];
  const nRows = parts.reduce((n, p) => n + p.X.nRows, 0);
  const columns = Array.from({ length: nFeatures }, () => new Float32Array(nRows));
  const label = new Int32Array(nRows);
  const weight = new Float32Array(nRows).fill(1);
  const split = new Int8Array(nRows);
  let row = 0;
  parts.forEach((part, code) => {
    const { data, nRows: n } = part.X;
    for (let i = 0; i < n; i++, row++) {
      for (let j = 0; j < nFeatures; j++) columns[j][row] = data[i * nFeatures + j];
      label[row] = part.y[i];
      if (part.weight) weight[row] = part.weight[i];
      split[row] = code === 0 ? SPLIT_TRAIN : SPLIT_VALIDATION;
    }
  });
  const fields = [
    ...columns.map((_, j) => new Field(`x${j}`, new Float32(), false)),
    new Field('label', new Int32(), false),
    new Field('weight', new Float32(), false),
    new Field('split', new Int8(), false),
  ];
  const metadata = new Map<string, string>([
    [MATRIX_METADATA.contract, String(TRAINING_MATRIX_CONTRACT)],
    [MATRIX_METADATA.classes, JSON.stringify(input.classes)],
    [MATRIX_METADATA.featureNames, JSON.stringify(input.featureNames)],
    [MATRIX_METADATA.modelId, input.modelId],
  ]);
  const schema = new Schema(fields, metadata);
  const children: Data<DataType>[] = [
    ...columns.map((values) => makeData({ type: new Float32(), length: nRows, data: values })),
    makeData({ type: new Int32(), length: nRows, data: label }),
    makeData({ type: new Float32(), length: nRows, data: weight }),
    makeData({ type: new Int8(), length: nRows, data: split }),
  ];
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(fields), length: nRows, nullCount: 0, children }),
  );
  return tableToIPC(new Table(schema, [batch]), 'file');
}

const StringArraySchema = z.array(z.string());

/**
 * Reads a training matrix (any number of record batches), checking the contract's columns and metadata.
 *
 * @throws TrainingDataError naming what does not match the contract.
 */
export function decodeTrainingMatrix(bytes: Uint8Array): TrainingMatrix {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw new TrainingDataError(`not an Arrow IPC file: ${(err as Error).message}`);
  }
  const meta = table.schema.metadata;
  const need = (key: string): string => {
    const v = meta.get(key);
    if (v === undefined) throw new TrainingDataError(`training matrix metadata has no ${key}`);
    return v;
  };
  if (need(MATRIX_METADATA.contract) !== String(TRAINING_MATRIX_CONTRACT))
    throw new TrainingDataError(`training matrix contract ${need(MATRIX_METADATA.contract)} is not 1`);
  const parseList = (key: string): string[] => {
    const parsed = StringArraySchema.safeParse(JSON.parse(need(key)));
    if (!parsed.success) throw new TrainingDataError(`${key} is not a JSON array of strings`);
    return parsed.data;
  };
  const classes = parseList(MATRIX_METADATA.classes);
  const featureNames = parseList(MATRIX_METADATA.featureNames);
  const nRows = table.numRows;
  // Concatenated over record batches; the type is checked by name (Float32 and Float64 share a typeId).
  const column = <T extends Float32Array | Int32Array | Int8Array>(
    name: string,
    type: 'Float32' | 'Int32' | 'Int8',
    make: (values: ArrayLike<number>) => T,
  ): T => {
    const vector = table.getChild(name);
    if (!vector) throw new TrainingDataError(`training matrix has no column ${name}`);
    if (String(vector.type) !== type || vector.nullCount > 0)
      throw new TrainingDataError(
        `column ${name} is ${String(vector.type)} with ${vector.nullCount} nulls, expected non-null ${type}`,
      );
    return make(vector.toArray() as ArrayLike<number>);
  };
  const X = new Float32Array(nRows * featureNames.length);
  featureNames.forEach((_, j) => {
    const values = column(`x${j}`, 'Float32', (v) => Float32Array.from(v));
    for (let i = 0; i < nRows; i++) X[i * featureNames.length + j] = values[i];
  });
  return {
    modelId: need(MATRIX_METADATA.modelId),
    classes,
    featureNames,
    nRows,
    X,
    y: column('label', 'Int32', (v) => Int32Array.from(v)),
    weight: column('weight', 'Float32', (v) => Float32Array.from(v)),
    split: column('split', 'Int8', (v) => Int8Array.from(v)),
  };
}
