import { createBuildReferenceProfile } from '../../src/activities/build-reference-profile';
import { createComputeDrift } from '../../src/activities/compute-drift';
import type { DriftReportDoc, DriftSummary } from '../../src/activities/compute-drift';
import { loadConfig } from '../../src/config';
import { addDays } from '../../src/schemas/window';
import type { BlobStore } from '../../src/storage/blob-store';
import { readJson } from '../../src/storage/ndjson';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { z } from 'zod';
import { tempFileStore } from '../support/temporal';

/**
 * Drift and skew on simulated scenarios, straight through the activities (file store, no Temporal):
 * feature drift is detected around day 14, a country-encoding switch raises a skew alert on its first
 * day (and not the day before), and a stable scenario stays quiet.
 */
const START = '2026-06-01';
const day = (n: number): string => addDays(START, n);
const week1 = { kind: 'window' as const, from: day(0), to: day(7) };

function activities(store: BlobStore): ReturnType<typeof createComputeDrift> {
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  return createComputeDrift({ store, config, now: () => new Date('2026-08-01T00:00:00Z') });
}

test('feature-drift: query_length warns around day 14, not in week 1', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: { name: 'feature-drift', seed: 11, start: START, days: 28, rowsPerDay: 800 },
    historyDays: 0,
  });
  const computeDrift = activities(store);
  const thresholds = { features: { query_length: { warn: 0.15 } } };
  const psiOn: Array<{ day: number; psi: number | null; level: string }> = [];
  for (let d = 0; d < 28; d++) {
    const s = await computeDrift({
      modelId: 'churn',
      runId: `fd-${day(d)}`,
      window: { from: day(d), to: day(d + 1) },
      reference: week1,
      thresholds,
    });
    const doc = await readJson(store, s.jsonKey, z.custom<DriftReportDoc>());
    const q = doc.drift.features.find((f) => f.feature === 'query_length');
    expect(q?.warnAt).toBe(0.15);
    psiOn.push({ day: d, psi: q?.psi ?? null, level: q?.level ?? 'missing' });
  }
  const flagged = psiOn.filter((p) => p.level === 'warn' || p.level === 'alert');
  const detectionDay = flagged[0]?.day;
  console.log(
    `feature-drift: query_length first flagged on day ${detectionDay}; PSI by day: ${psiOn
      .map((p) => `${p.day}:${p.psi?.toFixed(3)}`)
      .join(' ')}`,
  );
  // Week 1 is the reference: quiet there.
  expect(psiOn.slice(0, 7).every((p) => p.level === 'none')).toBe(true);
  // Around day 14 (the scenario's documented crossing of 0.15).
  expect(detectionDay).toBeGreaterThanOrEqual(10);
  expect(detectionDay).toBeLessThanOrEqual(18);
  const around14 = psiOn.filter((p) => p.day >= 14 && p.day <= 16);
  expect(around14.every((p) => (p.psi ?? 0) >= 0.15)).toBe(true);
  // Once drifting it keeps drifting.
  expect(psiOn.slice(18).every((p) => p.level === 'warn' || p.level === 'alert')).toBe(true);

  // A week-long window around day 14 warns as well; the pinned reference was built once.
  const weekly = await computeDrift({
    modelId: 'churn',
    runId: 'fd-week',
    window: { from: day(11), to: day(18) },
    reference: week1,
    thresholds,
  });
  expect(weekly.topFeatures.map((f) => f.feature)).toContain('query_length');
  expect(['warn', 'alert']).toContain(weekly.level);
  const again = await createBuildReferenceProfile({ store, config: loadConfig({}) })({
    modelId: 'churn',
    reference: week1,
  });
  expect(again.created).toBe(false);
});

test('country-encoding: a skew alert on the switch day naming country, none the day before', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: { name: 'country-encoding', seed: 5, start: START, days: 12, rowsPerDay: 800, switchDay: 10 },
    historyDays: 28,
  });
  const computeDrift = activities(store);
  // No champion: the reference is the bootstrap history (codes only).
  const before = await computeDrift({
    modelId: 'churn',
    runId: 'ce-9',
    window: { from: day(9), to: day(10) },
  });
  expect(before.referenceKey).toMatch(/^datasets\/churn\/reference\/history-/);
  expect(before.skewAlert).toBe(false);
  expect(before.blocksRetraining).toBe(false);

  const on: DriftSummary = await computeDrift({
    modelId: 'churn',
    runId: 'ce-10',
    window: { from: day(10), to: day(11) },
  });
  expect(on.skewAlert).toBe(true);
  expect(on.blocksRetraining).toBe(true);
  const first = on.skewFindings[0];
  expect(first.severity).toBe('alert');
  expect(first.feature).toBe('country');
  expect(first.check).toBe('unseen-categories');
  expect(first.detail).toContain('United States');
  console.log(`country-encoding: ${first.detail}`);
  const html = (await store.get(on.htmlKey)).toString('utf8');
  expect(html).toContain('<svg');
  expect(html).not.toContain('<script');
});

/**
 * The stable scenario keeps its weekday/weekend rhythm (weekend sessions run ~35% longer), so a single
 * weekend day differs from the whole reference week for real: one-day windows flag some Sundays on
 * avg_session_minutes. Measured and reported here; the asserted rate is the daily monitor run over the
 * trailing seven days (a whole weekly cycle), which is how a seasonal input should be watched.
 */
test('stable: false-alarm rate of daily runs against week 1 over 8 weeks ≤ 5%', async () => {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId: 'churn',
    config: { name: 'stable', seed: 21, start: START, days: 56, rowsPerDay: 800 },
    historyDays: 0,
  });
  const computeDrift = activities(store);
  const alarms = { oneDay: [] as string[], trailingWeek: [] as string[] };
  let days = 0;
  const isAlarm = (s: DriftSummary): boolean => s.level === 'alert' || s.skewAlert;
  const describe = (d: number, s: DriftSummary): string =>
    `${day(d)} ${s.level} ${s.topFeatures[0]?.feature}=${s.topFeatures[0]?.psi?.toFixed(3)}${s.skewAlert ? ` skew: ${s.skewFindings[0]?.detail}` : ''}`;
  for (let d = 7; d < 56; d++) {
    days += 1;
    const oneDay = await computeDrift({
      modelId: 'churn',
      runId: `st1-${day(d)}`,
      window: { from: day(d), to: day(d + 1) },
      reference: week1,
    });
    if (isAlarm(oneDay)) alarms.oneDay.push(describe(d, oneDay));
    const week = await computeDrift({
      modelId: 'churn',
      runId: `st7-${day(d)}`,
      window: { from: day(d - 6), to: day(d + 1) },
      reference: week1,
    });
    if (isAlarm(week)) alarms.trailingWeek.push(describe(d, week));
  }
  const rate1 = alarms.oneDay.length / days;
  const rate7 = alarms.trailingWeek.length / days;
  console.log(
    `stable, ${days} days: false-alarm rate ${(100 * rate7).toFixed(1)}% with trailing 7-day windows` +
      ` (${alarms.trailingWeek.length} days${alarms.trailingWeek.length ? `: ${alarms.trailingWeek.join(' | ')}` : ''}),` +
      ` ${(100 * rate1).toFixed(1)}% with 1-day windows (${alarms.oneDay.length} days: ${alarms.oneDay.join(' | ')})`,
  );
  expect(rate7).toBeLessThanOrEqual(0.05);
  // One-day alarms, when any, are the weekend rhythm, never a skew alert.
  for (const a of alarms.oneDay) {
    const dow = new Date(`${a.slice(0, 10)}T00:00:00Z`).getUTCDay();
    expect([0, 6]).toContain(dow);
    expect(a).not.toContain('skew:');
  }
}, 600_000);
