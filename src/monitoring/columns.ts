/**
 * Feature values of many rows as columns: what ingest writes for a window (src/storage/columnar.ts,
 * Arrow IPC) and what drift reads back without building a row object. A value's type travels with it
 * (a tag per row), so a string arriving in a numeric feature or a key left out stays visible: drift
 * counts those as wrong type and absent, as it does for rows.
 */

/** Per-row tag of a value. */
export const TAG = { absent: 0, null: 1, number: 2, string: 3, true: 4, false: 5 } as const;

/** One feature (or score class) over the rows of a partition. */
export interface FeatureColumn {
  name: string;
  /** {@link TAG} per row. */
  tags: Uint8Array;
  /** The value where the tag is `number` (0 elsewhere). */
  numbers: Float64Array;
  /** Index into `dictionary` where the tag is `string` (-1 elsewhere). */
  codes: Int32Array;
  dictionary: string[];
}

/** The columns of one partition of a window. */
export interface ColumnPartition {
  rows: number;
  /** Features in order of first appearance. */
  features: FeatureColumn[];
  /** Score classes in order of first appearance. */
  scores: FeatureColumn[];
}

class ColumnBuilder {
  tags: Uint8Array;
  numbers: Float64Array;
  codes: Int32Array;
  readonly dictionary: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    readonly name: string,
    capacity: number,
  ) {
    this.tags = new Uint8Array(capacity);
    this.numbers = new Float64Array(capacity);
    this.codes = new Int32Array(capacity).fill(-1);
  }

  grow(capacity: number): void {
    const tags = new Uint8Array(capacity);
    tags.set(this.tags);
    const numbers = new Float64Array(capacity);
    numbers.set(this.numbers);
    const codes = new Int32Array(capacity).fill(-1);
    codes.set(this.codes);
    this.tags = tags;
    this.numbers = numbers;
    this.codes = codes;
  }

  set(row: number, v: unknown): void {
    if (typeof v === 'number') {
      this.tags[row] = TAG.number;
      this.numbers[row] = v;
    } else if (typeof v === 'string') {
      this.tags[row] = TAG.string;
      let code = this.index.get(v);
      if (code === undefined) {
        code = this.dictionary.length;
        this.dictionary.push(v);
        this.index.set(v, code);
      }
      this.codes[row] = code;
    } else if (v === true) this.tags[row] = TAG.true;
    else if (v === false) this.tags[row] = TAG.false;
    else if (v === null) this.tags[row] = TAG.null;
    else if (v !== undefined)
      throw new TypeError(`column ${this.name}: unsupported value of type ${typeof v}`);
  }

  finish(rows: number): FeatureColumn {
    return {
      name: this.name,
      tags: this.tags.slice(0, rows),
      numbers: this.numbers.slice(0, rows),
      codes: this.codes.slice(0, rows),
      dictionary: this.dictionary,
    };
  }
}

/**
 * Builds a {@link ColumnPartition} from rows given one at a time (features of valid rows: numbers,
 * strings, booleans, null); only the columns are kept. A feature first seen at row k is absent before.
 */
export class PartitionBuilder {
  private rowCount = 0;
  private capacity: number;
  private readonly features = new Map<string, ColumnBuilder>();
  private readonly scores = new Map<string, ColumnBuilder>();

  constructor(capacity = 4096) {
    this.capacity = Math.max(16, capacity);
  }

  get rows(): number {
    return this.rowCount;
  }

  add(features: Record<string, unknown>, scores: Record<string, unknown>): void {
    if (this.rowCount === this.capacity) {
      this.capacity *= 2;
      for (const c of this.features.values()) c.grow(this.capacity);
      for (const c of this.scores.values()) c.grow(this.capacity);
    }
    const row = this.rowCount++;
    this.put(this.features, features, row);
    this.put(this.scores, scores, row);
  }

  private put(into: Map<string, ColumnBuilder>, values: Record<string, unknown>, row: number): void {
    for (const name in values) {
      let c = into.get(name);
      if (c === undefined) {
        c = new ColumnBuilder(name, this.capacity);
        into.set(name, c);
      }
      c.set(row, values[name]);
    }
  }

  finish(): ColumnPartition {
    const n = this.rowCount;
    return {
      rows: n,
      features: [...this.features.values()].map((c) => c.finish(n)),
      scores: [...this.scores.values()].map((c) => c.finish(n)),
    };
  }
}
