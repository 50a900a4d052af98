import { createBuildReferenceProfile } from '../../src/activities/build-reference-profile';
import { createComputeDrift } from '../../src/activities/compute-drift';
import type { DriftReportDoc } from '../../src/activities/compute-drift';
import { loadConfig } from '../../src/config';
import { ReferenceProfileSchema } from '../../src/monitoring/profile';
import { layout } from '../../src/storage/layout';
import { readJson } from '../../src/storage/ndjson';
import type { BlobStore } from '../../src/storage/blob-store';
import { z } from 'zod';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';

/**
 * Issue 18 §4 through the drift activity and the `loopkeeper drift` command (file store, no Temporal):
 * a profile that overflowed is rebuilt rather than failing every run, NaN/Infinity features count as
 * wrong type instead of dropping the row, and a window of invalid lines fails `--fail-on warn`.
 */
const MODEL = 'm1';
const REF = { kind: 'window' as const, from: '2026-06-01', to: '2026-06-02' };

function predictionLine(i: number, x: string, day = '2026-06-01'): string {
  return (
    `{"requestId":"r${day}-${i}","timestamp":"${day}T00:00:${String(i % 60).padStart(2, '0')}Z",` +
    `"modelId":"${MODEL}","modelVersion":"v1","features":{"x":${x},"c":"${i % 2 ? 'a' : 'b'}"},` +
    `"predictedLabel":"a","scores":{"a":0.6,"b":0.4}}`
  );
}

async function putDay(store: BlobStore, day: string, lines: string[]): Promise<void> {
  await store.put(`${layout.predictionDay(MODEL, day)}part-0.ndjson`, Buffer.from(lines.join('\n') + '\n'));
}

function activity(store: BlobStore): ReturnType<typeof createComputeDrift> {
  return createComputeDrift({ store, config: loadConfig({ LOOPKEEPER_STORE: store.uri }) });
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test('a reference near 1e308 gives a valid profile, and an invalid cached profile is rebuilt', async () => {
  const { store } = tempFileStore();
  await putDay(
    store,
    '2026-06-01',
    range(300).map((i) => predictionLine(i, String((1 + (i % 7) / 10) * 1e308))),
  );
  await putDay(
    store,
    '2026-06-02',
    range(300).map((i) => predictionLine(i, String((1 + (i % 7) / 10) * 1e308), '2026-06-02')),
  );
  const build = createBuildReferenceProfile({ store, config: loadConfig({ LOOPKEEPER_STORE: store.uri }) });
  const ref = await build({ modelId: MODEL, reference: REF });
  const profile = await readJson(store, ref.profileKey, ReferenceProfileSchema);
  const x = profile.features.find((f) => f.name === 'x');
  expect(x?.kind === 'numeric' && Number.isFinite(x.mean)).toBe(true);

  // A profile cached by an older build with `mean: null` is rebuilt instead of failing for good.
  const raw = JSON.parse((await store.get(ref.profileKey)).toString('utf8')) as ReferenceProfileSchemaJson;
  raw.features.forEach((f) => {
    if (f.kind === 'numeric') f.mean = null;
  });
  await store.put(ref.profileKey, Buffer.from(JSON.stringify(raw)));
  const summary = await activity(store)({
    modelId: MODEL,
    runId: 'r1',
    window: { from: '2026-06-02', to: '2026-06-03' },
    reference: REF,
  });
  expect(summary.level).toBe('none');
  expect(summary.badRows).toBe(0);
  await expect(readJson(store, ref.profileKey, ReferenceProfileSchema)).resolves.toMatchObject({
    rows: 300,
  });
});

type ReferenceProfileSchemaJson = { features: Array<{ kind: string; mean?: number | null }> };

test('NaN/Infinity features count as wrong type; a window of invalid lines reaches the level', async () => {
  const { store } = tempFileStore();
  await putDay(
    store,
    '2026-06-01',
    range(300).map((i) => predictionLine(i, String(i % 50))),
  );
  // Python's json.dumps writes NaN / Infinity; 1e999 reads as Infinity.
  const tokens = ['NaN', 'Infinity', '-Infinity', '1e999'];
  await putDay(
    store,
    '2026-06-02',
    range(300).map((i) => predictionLine(i, tokens[i % 4], '2026-06-02')),
  );
  const summary = await activity(store)({
    modelId: MODEL,
    runId: 'nan',
    window: { from: '2026-06-02', to: '2026-06-03' },
    reference: REF,
  });
  expect(summary.badRows).toBe(0);
  expect(summary.rows).toBe(300);
  const doc = await readJson(store, summary.jsonKey, z.custom<DriftReportDoc>());
  const x = doc.drift.features.find((f) => f.feature === 'x');
  expect(x?.current[x.labels.indexOf('__wrong_type__')]).toBe(1);
  expect(doc.skew.findings.some((f) => f.feature === 'x' && f.check === 'type-change')).toBe(true);

  // Every line invalid (unparseable): not "none", and not hidden behind "insufficient-data".
  await putDay(
    store,
    '2026-06-03',
    range(200).map((i) => predictionLine(i, '1', '2026-06-03').replace('"scores"', '"scorez"')),
  );
  const invalid = await activity(store)({
    modelId: MODEL,
    runId: 'bad',
    window: { from: '2026-06-03', to: '2026-06-04' },
    reference: REF,
  });
  expect(invalid.badRows).toBe(200);
  expect(invalid.level).toBe('alert');
});

test('loopkeeper drift --fail-on warn exits 3 when every line of the window is invalid', async () => {
  const { store, dir } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: { name: 'stable', seed: 3, start: '2026-06-01', days: 1, rowsPerDay: 50 },
    historyDays: 7,
  });
  const key = `${layout.predictionDay('churn', '2026-06-05')}part-0.ndjson`;
  await store.put(
    key,
    Buffer.from(
      range(100)
        .map(() => '{"requestId": NaN, "features": {}}')
        .join('\n'),
    ),
  );
  const res = await runCli(
    { LOOPKEEPER_STORE: `file://${dir}` },
    'drift',
    '--model',
    'churn',
    '--window',
    '2026-06-05..2026-06-06',
    '--fail-on',
    'warn',
  );
  expect(res.out).toMatch(/100 invalid log line\(s\) left out/);
  expect(res.code).toBe(3);
});
