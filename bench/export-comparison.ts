/**
 * Writes what the scikit-learn comparison of the built-in trainer needs (issue 17 §3;
 * workers/python/tests/test_builtin_vs_sklearn.py reads it): per data set, the built-in trainer's
 * training and test matrices exactly as the shared pipeline builds them, its test-set probabilities from
 * the serving path (`scoreFeatures`), its weights and final objective.
 *
 *   node dist/bench/export-comparison.js <out dir> [auto|lbfgs|adam]
 *
 * The solver defaults to the trainer's default (`auto`); `adam` exports the minibatch solver instead, to
 * see the comparison fail the way it did before full-batch L-BFGS became the default.
 *
 * Files per data set `{name}`: `{name}.train.arrow` and `{name}.test.arrow` (Arrow IPC file format, the
 * columns of the external-trainer contract in workers/README.md, but Float64 features so both sides solve
 * exactly the same problem; the test file adds `p0…p{k-1}`, the built-in probabilities) and `{name}.json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataType } from 'apache-arrow';
import {
  Field,
  Float64,
  Int32,
  Int8,
  RecordBatch,
  Schema,
  Struct,
  Table,
  makeData,
  tableToIPC,
} from 'apache-arrow';
import type { ModelArtifact, TrainingRow } from '../src/ml';
import { randomSplit, scoreFeatures, temporalSplit, trainArtifact, transformBatch } from '../src/ml';
import { generateHistory } from '../src/simulate/generate';

const dataDir = path.join(__dirname, '../../node_modules/vega-datasets/data');
/** The built-in trainers' default penalty (TrainOptionsSchema): the comparison uses the defaults. */
const L2 = 1e-4;

type Timed = TrainingRow & { timestamp: string };
type Solver = 'auto' | 'lbfgs' | 'adam';

function penguins(): TrainingRow[] {
  const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
  const raw = JSON.parse(fs.readFileSync(path.join(dataDir, 'penguins.json'), 'utf8')) as Record<
    string,
    unknown
  >[];
  return raw
    .filter((r) => typeof r.Species === 'string' && r.Species !== '')
    .map((r) => ({
      label: r.Species as string,
      features: Object.fromEntries(
        [...numeric, 'Island', 'Sex'].map((key) => {
          const v = r[key];
          return [key, typeof v === 'number' || typeof v === 'string' ? v : null];
        }),
      ),
    }));
}

function seattle(): Timed[] {
  const [header, ...lines] = fs
    .readFileSync(path.join(dataDir, 'seattle-weather.csv'), 'utf8')
    .trim()
    .split(/\r?\n/);
  const columns = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const r = Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
    return {
      timestamp: `${r.date}T00:00:00Z`,
      label: r.weather,
      features: {
        precipitation: Number(r.precipitation),
        temp_max: Number(r.temp_max),
        temp_min: Number(r.temp_min),
        wind: Number(r.wind),
      },
    };
  });
}

interface Case {
  name: string;
  split: string;
  rows: () => { train: TrainingRow[]; test: TrainingRow[] };
}

const cases: Case[] = [
  {
    name: 'penguins',
    // No time column: the seeded random split test/unit/ml-real-data.test.ts uses.
    split: 'random 25 %, seed 2026',
    rows: () => {
      const s = randomSplit(penguins(), { validationFraction: 0.25, seed: 2026 });
      return { train: s.train, test: s.validation };
    },
  },
  {
    name: 'seattle-weather',
    split: 'temporal: 2012-2014 train, 2015 test',
    rows: () => {
      const s = temporalSplit(seattle(), { cutoff: '2015-01-01T00:00:00Z' });
      return { train: s.train, test: s.validation };
    },
  },
  {
    name: 'seattle-rain',
    split: 'temporal: 2012-2014 train, 2015 test; rain vs dry',
    rows: () => {
      const binary = seattle().map((r) => ({ ...r, label: r.label === 'rain' ? 'rain' : 'dry' }));
      const s = temporalSplit(binary, { cutoff: '2015-01-01T00:00:00Z' });
      return { train: s.train, test: s.validation };
    },
  },
  {
    name: 'simulator-churn',
    split: 'temporal: latest 20 % test',
    rows: () => {
      const s = temporalSplit(generateHistory({ name: 'stable', seed: 2 }, { days: 14 }), {
        validationFraction: 0.2,
      });
      return { train: s.train, test: s.validation };
    },
  },
];

function column(name: string, type: DataType, data: ArrayLike<number>): { field: Field; data: unknown } {
  return { field: new Field(name, type, false), data };
}

function writeArrow(
  file: string,
  cols: { field: Field; data: unknown }[],
  meta: Record<string, string>,
): void {
  const length = (cols[0].data as ArrayLike<number>).length;
  const fields = cols.map((c) => c.field);
  const children = cols.map((c) =>
    makeData({ type: c.field.type, length, nullCount: 0, data: c.data } as Parameters<typeof makeData>[0]),
  );
  const schema = new Schema(fields, new Map(Object.entries(meta)));
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(fields), length, nullCount: 0, children }),
  );
  fs.writeFileSync(file, tableToIPC(new Table([batch]), 'file'));
}

function matrixColumns(artifact: ModelArtifact, rows: readonly TrainingRow[], split: number) {
  const X = transformBatch(
    artifact.pipeline,
    rows.map((r) => r.features),
  );
  const index = new Map(artifact.classes.map((c, k) => [c, k]));
  const cols = [];
  for (let j = 0; j < X.nCols; j++) {
    const v = new Float64Array(X.nRows);
    for (let i = 0; i < X.nRows; i++) v[i] = X.data[i * X.nCols + j];
    cols.push(column(`x${j}`, new Float64(), v));
  }
  cols.push(
    column(
      'label',
      new Int32(),
      Int32Array.from(rows, (r) => index.get(r.label)!),
    ),
  );
  // Class weights: none by default, so 1 (the built-in objective's wᵢ).
  cols.push(column('weight', new Float64(), new Float64Array(rows.length).fill(1)));
  cols.push(column('split', new Int8(), new Int8Array(rows.length).fill(split)));
  return cols;
}

function exportCase(c: Case, outDir: string, solver: Solver): void {
  const { train, test: allTest } = c.rows();
  const artifact = trainArtifact({ rows: train, options: { seed: 1, l2: L2, solver } });
  const known = new Set(artifact.classes);
  const test = allTest.filter((r) => known.has(r.label));
  const meta = {
    'loopkeeper.contract': '1',
    'loopkeeper.classes': JSON.stringify(artifact.classes),
    'loopkeeper.featureNames': JSON.stringify(
      Array.from({ length: artifact.pipeline.nOutputs }, (_, j) => `x${j}`),
    ),
    'loopkeeper.modelId': c.name,
  };
  writeArrow(path.join(outDir, `${c.name}.train.arrow`), matrixColumns(artifact, train, 0), meta);
  const probs = artifact.classes.map(() => new Float64Array(test.length));
  test.forEach((r, i) => {
    const { scores } = scoreFeatures(artifact, r.features);
    artifact.classes.forEach((cls, k) => (probs[k][i] = scores[cls]));
  });
  writeArrow(
    path.join(outDir, `${c.name}.test.arrow`),
    [...matrixColumns(artifact, test, 1), ...probs.map((p, k) => column(`p${k}`, new Float64(), p))],
    meta,
  );
  const { model } = artifact;
  const summary = {
    name: c.name,
    split: c.split,
    classes: artifact.classes,
    kind: model.kind,
    l2: L2,
    trainRows: train.length,
    testRows: test.length,
    testRowsWithUnseenLabels: allTest.length - test.length,
    weights: model.weights,
    bias: model.bias,
    training: model.training ?? null,
  };
  fs.writeFileSync(path.join(outDir, `${c.name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
}

function main(): void {
  const [outDir, solver = 'auto'] = process.argv.slice(2);
  if (!outDir || !['auto', 'lbfgs', 'adam'].includes(solver)) {
    console.error('usage: node dist/bench/export-comparison.js <out dir> [auto|lbfgs|adam]');
    process.exit(64);
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const c of cases) exportCase(c, outDir, solver as Solver);
  console.log(cases.map((c) => c.name).join(' '));
}

main();
