import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainingRow } from '../../src/ml';
import { evaluateArtifact, randomSplit, scoreFeatures, temporalSplit, trainArtifact } from '../../src/ml';

const dataDir = path.join(__dirname, '../../node_modules/vega-datasets/data');

describe('penguins (3 species, softmax)', () => {
  // Keys as they appear in vega-datasets 3.x.
  const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
  const categorical = ['Island', 'Sex'];
  const raw = JSON.parse(fs.readFileSync(path.join(dataDir, 'penguins.json'), 'utf8')) as Record<
    string,
    unknown
  >[];
  const rows: TrainingRow[] = raw
    .filter((r) => typeof r.Species === 'string' && r.Species !== '')
    .map((r) => ({
      label: r.Species as string,
      features: Object.fromEntries(
        [...numeric, ...categorical].map((key) => {
          const v = r[key];
          return [key, typeof v === 'number' || typeof v === 'string' ? v : null];
        }),
      ),
    }));

  it('reaches ≥ 0.95 accuracy on a seeded held-out split', () => {
    // The dataset has no time column, so a seeded random split is the honest choice here.
    const { train, validation: test } = randomSplit(rows, { validationFraction: 0.25, seed: 2026 });
    const artifact = trainArtifact({ rows: train, options: { seed: 1, batchSize: 16 } });
    expect(artifact.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    expect(artifact.model.kind).toBe('softmax');
    const report = evaluateArtifact(artifact, test);
    console.log(
      `penguins: n_train=${train.length} n_test=${test.length} accuracy=${report.accuracy.toFixed(4)} macroF1=${report.macroF1.toFixed(4)} logLoss=${report.logLoss.toFixed(4)} epochs=${artifact.model.training?.epochs}`,
    );
    expect(report.n).toBe(test.length);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(report.rocAuc).toBeGreaterThan(0.98);
    // Rows with missing measurements still score (imputed), they are not dropped.
    const incomplete = rows.find((r) => r.features['Body Mass (g)'] === null);
    expect(incomplete).toBeDefined();
    expect(Object.keys(scoreFeatures(artifact, incomplete!.features).scores)).toHaveLength(3);
  });
});

describe('seattle-weather (5 classes, temporal split)', () => {
  const text = fs.readFileSync(path.join(dataDir, 'seattle-weather.csv'), 'utf8');
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const columns = header.split(',');
  // Simple CSV: no quoted fields in this file, which the column-count check below guards.
  const rows = lines.map((line) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) throw new Error(`bad CSV line: ${line}`);
    const record = Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
    return {
      timestamp: `${record.date}T00:00:00Z`,
      label: record.weather,
      features: {
        precipitation: Number(record.precipitation),
        temp_max: Number(record.temp_max),
        temp_min: Number(record.temp_min),
        wind: Number(record.wind),
      },
    };
  });

  it('trains on earlier years and beats the majority-class baseline on the last year', () => {
    expect(rows).toHaveLength(1461);
    const lastYear = rows
      .map((r) => r.timestamp.slice(0, 4))
      .sort()
      .at(-1)!;
    const {
      train,
      validation: test,
      cutoff,
    } = temporalSplit(rows, { cutoff: `${lastYear}-01-01T00:00:00Z` });
    expect(cutoff).toBe('2015-01-01T00:00:00.000Z');
    // Early stopping uses the latest 20% of the training years, never the test year.
    const inner = temporalSplit(train, { validationFraction: 0.2 });
    const artifact = trainArtifact({
      rows: inner.train,
      validation: inner.validation,
      options: { seed: 1, batchSize: 32 },
    });
    expect(artifact.classes).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
    const report = evaluateArtifact(artifact, test);

    // Baseline: always predict the most common class. Take the better of the training-majority and
    // (optimistically) the test-majority class so the comparison is against the strongest trivial model.
    const count = (set: { label: string }[]) =>
      set.reduce((m, r) => m.set(r.label, (m.get(r.label) ?? 0) + 1), new Map<string, number>());
    const trainCounts = [...count(train).entries()].sort((a, b) => b[1] - a[1]);
    const testCounts = count(test);
    const baseline = Math.max(
      (testCounts.get(trainCounts[0][0]) ?? 0) / test.length,
      Math.max(...testCounts.values()) / test.length,
    );
    console.log(
      `seattle: n_train=${inner.train.length}+${inner.validation.length} n_test=${test.length} accuracy=${report.accuracy.toFixed(4)} baseline=${baseline.toFixed(4)} macroF1=${report.macroF1.toFixed(4)} epochs=${artifact.model.training?.epochs}`,
    );
    // Measured: 0.756 (sun-majority baseline 0.444). Fog and drizzle days look like sun in these four
    // features, which caps a linear model near 0.84; 0.72 leaves margin while still catching regressions.
    expect(report.accuracy).toBeGreaterThanOrEqual(0.72);
    expect(report.accuracy).toBeGreaterThan(baseline + 0.25);
    // Rain is the easy, well-separated class (precipitation > 0).
    expect(report.perClass.find((c) => c.class === 'rain')?.f1).toBeGreaterThan(0.85);
  });
});
