import * as fs from 'node:fs';

/** What one scenario did and found; one line per scenario in the run's tally file. */
export interface ScenarioTally {
  scenario: string;
  /** Faults injected, by kind (worker-kill, temporal-restart, s3-outage, …). */
  faults: Record<string, number>;
  /** Where the worker kills landed (the activities running at the moment, or "between-activities"). */
  killPoints?: Record<string, number>;
  cyclesStarted: number;
  cyclesCompleted: number;
  /** Cycles that ended failed with a stated reason (allowed, e.g. a refused duplicate run). */
  cyclesFailedClearly: number;
  labelsSent: number;
  labelsStored: number;
  labelsLost: number;
  duplicates: number;
  strayObjects: number;
  /** Scenario-specific figures printed under the table (e.g. catch-up time, labels/s). */
  figures?: Record<string, number | string>;
  /** The invariant violations found (empty = passed). */
  problems: string[];
  seconds: number;
}

/** A tally being filled in by a scenario; `record()` appends it to the run's file once. */
export function newTally(
  scenario: string,
): ScenarioTally & { record(): void; fault(kind: string): void; failed(err: unknown): void } {
  const started = Date.now();
  let recorded = false;
  const t: ScenarioTally = {
    scenario,
    faults: {},
    cyclesStarted: 0,
    cyclesCompleted: 0,
    cyclesFailedClearly: 0,
    labelsSent: 0,
    labelsStored: 0,
    labelsLost: 0,
    duplicates: 0,
    strayObjects: 0,
    problems: [],
    seconds: 0,
  };
  return Object.assign(t, {
    fault(kind: string): void {
      t.faults[kind] = (t.faults[kind] ?? 0) + 1;
    },
    /** A scenario that threw before its checks: its first line counts as the problem. */
    failed(err: unknown): void {
      if (!t.problems.length) t.problems.push(String((err as Error)?.message ?? err).split('\n')[0]);
    },
    record(): void {
      if (recorded) return;
      recorded = true;
      t.seconds = Math.round((Date.now() - started) / 1000);
      const file = process.env.LOOPKEEPER_CHAOS_TALLY;
      const { scenario: s, faults, killPoints, ...rest } = t;
      if (file) fs.appendFileSync(file, JSON.stringify({ scenario: s, faults, killPoints, ...rest }) + '\n');
    },
  });
}

/** Reads the run's tally lines. */
export function readTallies(file: string): ScenarioTally[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ScenarioTally);
}

function sum(ts: ScenarioTally[], f: (t: ScenarioTally) => number): number {
  return ts.reduce((n, t) => n + f(t), 0);
}

/** The compact table printed at the end of `npm run test:chaos`. */
export function formatTallies(ts: ScenarioTally[]): string {
  const faultsOf = (t: ScenarioTally) => Object.values(t.faults).reduce((a, b) => a + b, 0);
  const head = [
    'scenario',
    'faults',
    'cycles ok/fail/all',
    'labels sent/stored/lost',
    'dups',
    'stray',
    's',
    'verdict',
  ];
  const rows = ts.map((t) => [
    t.scenario,
    String(faultsOf(t)),
    `${t.cyclesCompleted}/${t.cyclesFailedClearly}/${t.cyclesStarted}`,
    `${t.labelsSent}/${t.labelsStored}/${t.labelsLost}`,
    String(t.duplicates),
    String(t.strayObjects),
    String(t.seconds),
    t.problems.length ? 'FAIL' : 'pass',
  ]);
  rows.push([
    'TOTAL',
    String(sum(ts, faultsOf)),
    `${sum(ts, (t) => t.cyclesCompleted)}/${sum(ts, (t) => t.cyclesFailedClearly)}/${sum(ts, (t) => t.cyclesStarted)}`,
    `${sum(ts, (t) => t.labelsSent)}/${sum(ts, (t) => t.labelsStored)}/${sum(ts, (t) => t.labelsLost)}`,
    String(sum(ts, (t) => t.duplicates)),
    String(sum(ts, (t) => t.strayObjects)),
    String(sum(ts, (t) => t.seconds)),
    `${ts.filter((t) => !t.problems.length).length} pass, ${ts.filter((t) => t.problems.length).length} fail`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  const out = ['', 'chaos tally', line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const kinds: Record<string, number> = {};
  const points: Record<string, number> = {};
  for (const t of ts) {
    for (const [k, n] of Object.entries(t.faults)) kinds[k] = (kinds[k] ?? 0) + n;
    for (const [k, n] of Object.entries(t.killPoints ?? {})) points[k] = (points[k] ?? 0) + n;
  }
  out.push(
    `faults by kind: ${
      Object.entries(kinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
  );
  if (Object.keys(points).length)
    out.push(
      `worker kills landed in: ${Object.entries(points)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  for (const t of ts)
    if (t.figures && Object.keys(t.figures).length)
      out.push(
        `${t.scenario}: ${Object.entries(t.figures)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
  for (const t of ts) for (const p of t.problems) out.push(`  ${t.scenario}: ${p}`);
  return out.join('\n');
}
