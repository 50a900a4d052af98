import { evaluateArtifact } from '../src/ml/model';
import type { ModelArtifact } from '../src/ml/model';
import { createRng } from '../src/ml/rng';
import type { TimedTrainingRow, TrainAndEvaluateInput } from '../src/ml/train-and-evaluate';
import { trainAndEvaluate } from '../src/ml/train-and-evaluate';
import { generateDay, generateHistory } from '../src/simulate/generate';

/**
 * `node dist/bench/loop-diagnose.js`: why does a candidate trained on fresher data lose to the stale
 * champion in the loop bench's early weeks? Offline, on the same scenario, without Temporal: for each
 * weekly cycle it trains candidates that differ in ONE factor (threshold, the test-set holdout, the
 * training window, history, class weights) and prints each one's F1 on a loop-like gate test set and its
 * precision/recall/F1 on the following week (what it would serve), next to the champion's.
 */
const ROWS_PER_DAY = Number(process.env.LOOPKEEPER_BENCH_ROWS_PER_DAY ?? 2000);
const WEEKS = Number(process.env.LOOPKEEPER_BENCH_WEEKS ?? 5);
const scenario = {
  name: 'concept-drift' as const,
  seed: 3,
  start: '2026-06-01',
  days: WEEKS * 7 + 7,
  rowsPerDay: ROWS_PER_DAY,
  driftStrength: 0.6,
};

function dayRows(d: number): TimedTrainingRow[] {
  const day = generateDay(scenario, d, undefined, { includeTruth: true });
  const truth = new Map(day.truth!.map((t) => [t.requestId, t.label]));
  return day.predictions.map((p) => ({
    timestamp: p.timestamp,
    features: p.features,
    label: truth.get(p.requestId)!,
    slices: p.slices,
  }));
}

function f(m: { f1: number; precision: number; recall: number }): string {
  return `${m.f1.toFixed(3)} (P ${m.precision.toFixed(3)} R ${m.recall.toFixed(3)})`;
}

function binary(
  artifact: ModelArtifact,
  rows: readonly TimedTrainingRow[],
): { f1: number; precision: number; recall: number } {
  const r = evaluateArtifact(artifact, rows);
  const c = r.perClass.find((k) => k.class === 'churn')!;
  return { f1: c.f1, precision: c.precision, recall: c.recall };
}

function main(): void {
  const history = generateHistory(scenario, { days: 28 }) as TimedTrainingRow[];
  const days: TimedTrainingRow[][] = [];
  for (let d = 0; d < WEEKS * 7 + 7; d++) days.push(dayRows(d));
  const span = (a: number, b: number): TimedTrainingRow[] => days.slice(Math.max(0, a), b).flat();
  const base: Omit<TrainAndEvaluateInput, 'rows'> = {
    positiveClass: 'churn',
    options: { seed: 1, l2: 1e-3 },
  };
  const champ = {
    fixed: trainAndEvaluate({ rows: history, ...base, thresholdPolicy: { objective: 'fixed' } }).artifact,
    f1: trainAndEvaluate({ rows: history, ...base }).artifact,
  };
  console.log(
    `history ${history.length} rows; champion thresholds: fixed 0.5, f1 ${champ.f1.threshold?.toFixed(3)}`,
  );
  for (let k = 2; k <= WEEKS; k++) {
    const asOf = 7 * k;
    // Labels mature 7 days after the prediction: a 14-day window holds one labelled week.
    const recent = span(asOf - 14, asOf - 7);
    const older = k >= 3 ? span(asOf - 21, asOf - 14) : [];
    const rng = createRng(k);
    const pick = (rows: TimedTrainingRow[], n: number): Set<TimedTrainingRow> => {
      const idx = rows.map((_, i) => i);
      for (let i = idx.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
      return new Set(idx.slice(0, n).map((i) => rows[i]));
    };
    // The loop's test set: 6000 rows, 75 % from the newest matured week (held out of training).
    const testRecent = pick(recent, older.length ? 4500 : 6000);
    const testOlder = pick(older, 1500);
    const test = [...testRecent, ...testOlder];
    const next = span(asOf, asOf + 7);
    const windowRows = recent.filter((r) => !testRecent.has(r));
    const wide = [...older.filter((r) => !testOlder.has(r)), ...windowRows];
    const variants: Record<string, TrainAndEvaluateInput> = {
      'loop (1 labelled week - test set), thr 0.5': {
        rows: windowRows,
        ...base,
        thresholdPolicy: { objective: 'fixed' },
      },
      'same, thr max-F1': { rows: windowRows, ...base },
      'same, balanced class weights, thr max-F1': {
        rows: windowRows,
        ...base,
        options: { ...base.options, classWeights: 'balanced' },
      },
      'no test-set holdout (all of the week), thr max-F1': { rows: recent, ...base },
      '2 labelled weeks - test set, thr max-F1': { rows: wide, ...base },
      'window + 28 d history, thr max-F1': { rows: [...history, ...windowRows], ...base },
    };
    console.log(
      `\ncycle at end of week ${k} (day ${asOf}): window ${windowRows.length} rows after the ${test.length}-row test set; next week ${next.length} rows`,
    );
    console.log(
      `  champion thr 0.5     gate ${f(binary(champ.fixed, test))}  next week ${f(binary(champ.fixed, next))}`,
    );
    console.log(
      `  champion thr max-F1  gate ${f(binary(champ.f1, test))}  next week ${f(binary(champ.f1, next))}`,
    );
    for (const [name, input] of Object.entries(variants)) {
      const t = trainAndEvaluate(input);
      console.log(
        `  ${name.padEnd(48)} train ${String(t.split.trainRows).padStart(6)} thr ${t.artifact.threshold?.toFixed(3)} gate ${f(binary(t.artifact, test))}  next week ${f(binary(t.artifact, next))}`,
      );
    }
  }
}

main();
