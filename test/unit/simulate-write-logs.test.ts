import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetManifestSchema } from '../../src/schemas/manifests';
import { LabeledRowSchema, OutcomeRowSchema, PredictionRowSchema } from '../../src/schemas/records';
import { FileBlobStore } from '../../src/storage/file-blob-store';
import { readLines } from '../../src/storage/ndjson';
import type { BlobStore } from '../../src/storage/blob-store';
import { dayDate, rowsForDay, scenarioConfig, writeSimulatedLogs } from '../../src/simulate';

const config = { name: 'stable' as const, seed: 7, days: 10, rowsPerDay: 150 };

let dirs: string[] = [];
function tempStore(): { store: FileBlobStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-simulate-'));
  dirs.push(dir);
  return { store: new FileBlobStore({ root: dir, uri: `file://${dir}` }), dir };
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

async function keys(store: BlobStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

async function lines(store: BlobStore, key: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const { line } of readLines(store, key)) out.push(JSON.parse(line));
  return out;
}

/** Relative path → sha256 of every file under dir. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('simulate: writeSimulatedLogs', () => {
  it('writes day partitions, outcomes by their own day, and a history dataset with a manifest', async () => {
    const { store } = tempStore();
    const cfg = scenarioConfig(config);
    const result = await writeSimulatedLogs(store, { modelId: 'churn', config, historyDays: 5 });
    const expectedPredictions = Array.from({ length: 10 }, (_, d) => rowsForDay(cfg, d)).reduce(
      (a, b) => a + b,
      0,
    );
    expect(result.modelVersion).toBe('reference-v0');
    expect(result.predictions.rows).toBe(expectedPredictions);
    expect(result.predictions.keys).toEqual(
      Array.from({ length: 10 }, (_, d) => `logs/churn/predictions/date=${dayDate(cfg, d)}/part-0000.ndjson`),
    );
    expect(result.outcomes.bySource.observed).toBe(expectedPredictions);
    expect((result.outcomes.bySource['user-report'] ?? 0) + (result.outcomes.bySource.heuristic ?? 0)).toBe(
      result.outcomes.rows - expectedPredictions,
    );

    const stored = await keys(store);
    let predictionRows = 0;
    for (const key of await keys(store, 'logs/churn/predictions/')) {
      const day = /date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
      const rows = await lines(store, key);
      predictionRows += rows.length;
      for (const row of rows) {
        const p = PredictionRowSchema.parse(row);
        expect(p.timestamp.slice(0, 10)).toBe(day);
      }
    }
    expect(predictionRows).toBe(expectedPredictions);

    let outcomeRows = 0;
    for (const key of result.outcomes.keys) {
      expect(stored).toContain(key);
      const m = /outcomes\/date=(\d{4}-\d{2}-\d{2})\/part-from-(\d{4}-\d{2}-\d{2})\.ndjson$/.exec(key);
      expect(m).not.toBeNull();
      const [, partitionDay, fromDay] = m ?? [];
      for (const row of await lines(store, key)) {
        const o = OutcomeRowSchema.parse(row);
        outcomeRows++;
        expect(o.timestamp.slice(0, 10)).toBe(partitionDay);
        expect(o.requestId).toContain(`-d${(Date.parse(fromDay) - Date.parse(cfg.start)) / 86_400_000}-`);
        if (o.source === 'observed') {
          expect(Date.parse(partitionDay) - Date.parse(fromDay)).toBe(7 * 86_400_000);
        }
      }
    }
    expect(outcomeRows).toBe(result.outcomes.rows);
    // Observed labels of day d land in partition d+7, named after d.
    expect(stored).toContain('logs/churn/outcomes/date=2026-06-08/part-from-2026-06-01.ndjson');
    expect(stored).toContain('logs/churn/outcomes/date=2026-06-17/part-from-2026-06-10.ndjson');
    // Several prediction days feed one outcome partition without overwriting each other.
    const partition = (await keys(store, 'logs/churn/outcomes/date=2026-06-09/')).length;
    expect(partition).toBeGreaterThan(1);

    // History dataset.
    expect(result.history?.dataKey).toBe('datasets/churn/history/7/data.ndjson');
    expect(result.history?.manifestKey).toBe('datasets/churn/history/7/manifest.json');
    const manifest = DatasetManifestSchema.parse(
      JSON.parse((await store.get('datasets/churn/history/7/manifest.json')).toString()),
    );
    const history = await lines(store, 'datasets/churn/history/7/data.ndjson');
    expect(manifest.kind).toBe('train');
    expect(manifest.rows).toBe(history.length);
    expect(history.length).toBe(
      Array.from({ length: 5 }, (_, k) => rowsForDay(cfg, -5 + k)).reduce((a, b) => a + b, 0),
    );
    expect(manifest.classCounts.churn + manifest.classCounts.stay).toBe(history.length);
    expect(manifest.window).toEqual({ from: '2026-05-27T00:00:00.000Z', to: '2026-06-01T00:00:00.000Z' });
    expect(manifest.sha256).toBe(
      createHash('sha256')
        .update(await store.get('datasets/churn/history/7/data.ndjson'))
        .digest('hex'),
    );
    for (const row of history) expect(LabeledRowSchema.parse(row).labelSource).toBe('historical');
  });

  it('gzip parts are readable and hold the same rows', async () => {
    const plain = tempStore().store;
    const gz = tempStore().store;
    const a = await writeSimulatedLogs(plain, { modelId: 'churn', config, toDay: 3, historyDays: 0 });
    const b = await writeSimulatedLogs(gz, {
      modelId: 'churn',
      config,
      toDay: 3,
      gzip: true,
      historyDays: 0,
    });
    expect(b.history).toBeNull();
    expect(b.predictions.keys.every((k) => k.endsWith('.ndjson.gz'))).toBe(true);
    expect(b.outcomes.keys.every((k) => k.endsWith('.ndjson.gz'))).toBe(true);
    expect(b.predictions.keys.map((k) => k.replace(/\.gz$/, ''))).toEqual(a.predictions.keys);
    expect(b.outcomes.keys.map((k) => k.replace(/\.gz$/, ''))).toEqual(a.outcomes.keys);
    for (const [i, key] of b.predictions.keys.entries()) {
      const raw = await gz.get(key);
      expect(raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(gunzipSync(raw)).toEqual(await plain.get(a.predictions.keys[i]));
      expect(await lines(gz, key)).toEqual(await lines(plain, a.predictions.keys[i]));
    }
    expect(await keys(gz, 'datasets/')).toEqual([]);
  });

  it('same inputs ⇒ same bytes; writing in day ranges gives the same files as one run', async () => {
    const one = tempStore();
    const two = tempStore();
    const chunked = tempStore();
    await writeSimulatedLogs(one.store, { modelId: 'churn', config, historyDays: 2, gzip: true });
    await writeSimulatedLogs(two.store, { modelId: 'churn', config, historyDays: 2, gzip: true });
    await writeSimulatedLogs(chunked.store, {
      modelId: 'churn',
      config,
      historyDays: 2,
      gzip: true,
      toDay: 4,
    });
    await writeSimulatedLogs(chunked.store, {
      modelId: 'churn',
      config,
      historyDays: 0,
      gzip: true,
      fromDay: 4,
    });
    const snap = snapshot(one.dir);
    expect(Object.keys(snap).length).toBeGreaterThan(20);
    expect(snapshot(two.dir)).toEqual(snap);
    expect(snapshot(chunked.dir)).toEqual(snap);
    const other = tempStore();
    await writeSimulatedLogs(other.store, {
      modelId: 'churn',
      config: { ...config, seed: 8 },
      historyDays: 0,
      toDay: 1,
    });
    const p = 'logs/churn/predictions/date=2026-06-01/part-0000.ndjson';
    const mine = tempStore();
    await writeSimulatedLogs(mine.store, { modelId: 'churn', config, historyDays: 0, toDay: 1 });
    expect((await other.store.get(p)).equals(await mine.store.get(p))).toBe(false);
  });

  it('uses a given scorer and model version, and validates its inputs', async () => {
    const { store } = tempStore();
    const result = await writeSimulatedLogs(store, {
      modelId: 'churn-b',
      config,
      toDay: 1,
      historyDays: 0,
      scorer: () => ({ predictedLabel: 'churn', scores: { churn: 0.9, stay: 0.1 } }),
      modelVersion: 'trained-v3',
    });
    expect(result.modelVersion).toBe('trained-v3');
    const rows = await lines(store, 'logs/churn-b/predictions/date=2026-06-01/part-0000.ndjson');
    expect(rows.every((r) => (r as { modelVersion: string }).modelVersion === 'trained-v3')).toBe(true);
    await expect(writeSimulatedLogs(store, { modelId: 'Bad Id', config })).rejects.toThrow();
    await expect(
      writeSimulatedLogs(store, { modelId: 'churn', config, fromDay: 5, toDay: 2 }),
    ).rejects.toThrow(/fromDay/);
    await expect(
      writeSimulatedLogs(store, {
        modelId: 'churn',
        config,
        scorer: () => ({ predictedLabel: 'stay', scores: { churn: 0, stay: 1 } }),
      }),
    ).rejects.toThrow(/modelVersion/);
  });
});
