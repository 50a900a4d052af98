import {
  Dictionary,
  Field,
  Int32,
  makeData,
  makeVector,
  Schema,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import type { Vector } from 'apache-arrow';
import { z } from 'zod';
import { TAG } from '../monitoring/columns';
import type { ColumnPartition, FeatureColumn } from '../monitoring/columns';

/**
 * A window partition as an Arrow IPC file (one record batch). Per feature (and per score class) up to
 * three columns: `{f|s}{i}.tag` (Int8, the value's type per row, monitoring/columns.ts), `.num` (Float64,
 * the numbers) and `.str` (dictionary-encoded UTF-8, null where the value is not a string); `.num` and
 * `.str` only when the feature has such values. Names live in the schema metadata (`loopkeeper`), so
 * any feature name works. See README.md (Columnar partitions) for why Arrow IPC.
 */

export const COLUMNAR_FORMAT = 'loopkeeper-columns/1';

const MetaSchema = z.object({
  format: z.literal(COLUMNAR_FORMAT),
  rows: z.number().int().nonnegative(),
  features: z.array(z.string()),
  scores: z.array(z.string()),
});

function stringVector(col: FeatureColumn): Vector {
  const n = col.tags.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (col.tags[i] === TAG.string) {
      bitmap[i >> 3] |= 1 << (i & 7);
      codes[i] = col.codes[i];
    } else nulls++;
  }
  const type = new Dictionary(new Utf8(), new Int32());
  const dictionary = vectorFromArray(col.dictionary, new Utf8());
  return makeVector(
    makeData({ type, length: n, nullCount: nulls, nullBitmap: bitmap, data: codes, dictionary }),
  );
}

/** Encodes a partition as an Arrow IPC file. */
export function encodePartition(part: ColumnPartition): Uint8Array {
  const fields: Field[] = [];
  const vectors: Record<string, Vector> = {};
  const add = (prefix: string, cols: FeatureColumn[]): void => {
    cols.forEach((col, i) => {
      const base = `${prefix}${i}`;
      vectors[`${base}.tag`] = makeVector(
        new Int8Array(col.tags.buffer, col.tags.byteOffset, col.tags.length),
      );
      let hasNumber = false;
      let hasString = false;
      for (const t of col.tags) {
        if (t === TAG.number) hasNumber = true;
        else if (t === TAG.string) hasString = true;
      }
      if (hasNumber) vectors[`${base}.num`] = makeVector(col.numbers);
      if (hasString) vectors[`${base}.str`] = stringVector(col);
    });
  };
  add('f', part.features);
  add('s', part.scores);
  for (const [name, v] of Object.entries(vectors)) fields.push(new Field(name, v.type, true));
  const meta = JSON.stringify({
    format: COLUMNAR_FORMAT,
    rows: part.rows,
    features: part.features.map((c) => c.name),
    scores: part.scores.map((c) => c.name),
  });
  const schema = new Schema(fields, new Map([['loopkeeper', meta]]));
  const table = new Table(schema, vectors);
  return tableToIPC(table, 'file');
}

function readColumn(table: Table, base: string, name: string, rows: number): FeatureColumn {
  const tagVec = table.getChild(`${base}.tag`);
  if (!tagVec) throw new Error(`columnar partition: column ${base}.tag (${name}) is missing`);
  const tags = new Uint8Array(rows);
  const raw = tagVec.toArray() as Int8Array;
  tags.set(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
  const num = table.getChild(`${base}.num`);
  const numbers = num ? Float64Array.from(num.toArray() as Float64Array) : new Float64Array(rows);
  const codes = new Int32Array(rows).fill(-1);
  let dictionary: string[] = [];
  const str = table.getChild(`${base}.str`);
  if (str) {
    // One record batch per file, so one chunk and one dictionary.
    let at = 0;
    for (const chunk of str.data) {
      const dict = chunk.dictionary;
      if (!dict) throw new Error(`columnar partition: ${base}.str has no dictionary`);
      if (at === 0) dictionary = dict.toArray() as string[];
      else if (dict.length !== dictionary.length)
        throw new Error(`columnar partition: ${base}.str has several dictionaries`);
      const values = chunk.values as Int32Array;
      for (let i = 0; i < chunk.length; i++) if (tags[at + i] === TAG.string) codes[at + i] = values[i];
      at += chunk.length;
    }
  }
  return { name, tags, numbers, codes, dictionary };
}

/** Decodes an Arrow IPC file written by {@link encodePartition}; throws naming what is wrong. */
export function decodePartition(bytes: Uint8Array): ColumnPartition {
  const table = tableFromIPC(bytes);
  const metaText = table.schema.metadata.get('loopkeeper');
  if (metaText === undefined)
    throw new Error('columnar partition: no loopkeeper metadata (not written by loopkeeper)');
  const meta = MetaSchema.parse(JSON.parse(metaText));
  if (table.numRows !== meta.rows)
    throw new Error(`columnar partition: ${table.numRows} rows, metadata says ${meta.rows}`);
  return {
    rows: meta.rows,
    features: meta.features.map((name, i) => readColumn(table, `f${i}`, name, meta.rows)),
    scores: meta.scores.map((name, i) => readColumn(table, `s${i}`, name, meta.rows)),
  };
}
