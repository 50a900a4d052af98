import { PartitionBuilder } from '../src/monitoring/columns';
import type { ColumnPartition, FeatureColumn } from '../src/monitoring/columns';
import { decodePartition, encodePartition } from '../src/storage/columnar';
import { mulberry32 } from '../src/policy/rng';

/**
 * The measurement behind the columnar format choice (src/storage/README.md): one 250k-row × 20-feature
 * partition written and read back with apache-arrow's IPC file format, and with a hand-rolled raw
 * format (a JSON header, then the typed arrays' bytes back to back). Parquet readers (hyparquet,
 * parquet-wasm, DuckDB) are not installed here, so raw typed arrays are the alternative measured.
 */

function rawEncode(part: ColumnPartition): Buffer {
  const cols = [...part.features, ...part.scores];
  const header = JSON.stringify({
    rows: part.rows,
    features: part.features.map((c) => c.name),
    scores: part.scores.map((c) => c.name),
    dictionaries: cols.map((c) => c.dictionary),
  });
  const parts: Buffer[] = [];
  const h = Buffer.from(header);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  parts.push(len, h);
  for (const c of cols) {
    parts.push(Buffer.from(c.tags.buffer, c.tags.byteOffset, c.tags.byteLength));
    parts.push(Buffer.alloc((8 - (c.tags.byteLength % 8)) % 8));
    parts.push(Buffer.from(c.numbers.buffer, c.numbers.byteOffset, c.numbers.byteLength));
    parts.push(Buffer.from(c.codes.buffer, c.codes.byteOffset, c.codes.byteLength));
  }
  return Buffer.concat(parts);
}

function rawDecode(buf: Buffer): ColumnPartition {
  const n = buf.readUInt32LE(0);
  const meta = JSON.parse(buf.toString('utf8', 4, 4 + n)) as {
    rows: number;
    features: string[];
    scores: string[];
    dictionaries: string[][];
  };
  // Copy once into an aligned buffer so the typed arrays can be views.
  const body = new Uint8Array(buf.length - 4 - n);
  body.set(buf.subarray(4 + n));
  let at = 0;
  const rows = meta.rows;
  const col = (name: string, d: number): FeatureColumn => {
    const tags = body.subarray(at, at + rows);
    at += rows + ((8 - (rows % 8)) % 8);
    const numbers = new Float64Array(body.buffer, at, rows);
    at += rows * 8;
    const codes = new Int32Array(body.buffer, at, rows);
    at += rows * 4;
    return { name, tags, numbers, codes, dictionary: meta.dictionaries[d] };
  };
  const features = meta.features.map((name, i) => col(name, i));
  const scores = meta.scores.map((name, i) => col(name, meta.features.length + i));
  return { rows, features, scores };
}

function time<T>(fn: () => T, reps = 5): { ms: number; out: T } {
  let best = Infinity;
  let out: T | undefined;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    out = fn();
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, out: out as T };
}

/** Prints write/read times and sizes of both formats for one partition. */
export function benchColumnarFormat(rows = 250_000): void {
  const rand = mulberry32(3);
  const b = new PartitionBuilder(rows);
  for (let i = 0; i < rows; i++) {
    const f: Record<string, unknown> = {};
    for (let j = 0; j < 12; j++) f[`n${j}`] = rand() < 0.05 ? null : rand() * 1000;
    for (let j = 0; j < 8; j++) f[`c${j}`] = `v${Math.floor(rand() * rand() * 50)}`;
    const s = rand();
    b.add(f, { churn: s, stay: 1 - s });
  }
  const part = b.finish();
  const arrow = time(() => encodePartition(part));
  const arrowRead = time(() => decodePartition(arrow.out));
  const raw = time(() => rawEncode(part));
  const rawRead = time(() => rawDecode(raw.out));
  const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`;
  console.log(`columnar format: one partition of ${rows.toLocaleString('en')} rows × 20 features + 2 scores`);
  console.log(
    `  apache-arrow IPC file  write ${arrow.ms.toFixed(0)} ms, read ${arrowRead.ms.toFixed(0)} ms, ${mb(arrow.out.length)}`,
  );
  console.log(
    `  raw typed arrays       write ${raw.ms.toFixed(0)} ms, read ${rawRead.ms.toFixed(0)} ms, ${mb(raw.out.length)}`,
  );
}

if (require.main === module) benchColumnarFormat();
