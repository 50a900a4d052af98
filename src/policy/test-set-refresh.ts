/**
 * Ageing test set refresh. A test set frozen at launch slowly stops describing production traffic, so
 * each cycle we drop rows past a maximum age, rotate in a share of recent labelled traffic, and keep the
 * set stratified by class × day (× slice) so no class, weekday or segment silently disappears. When the
 * labelled data cannot support a trustworthy test set we refuse, loudly, rather than evaluate on it.
 */
import { z } from 'zod';
import { compareStrings, hashUnit } from './rng';
import { DAY_MS, toEpochMs, toIso, utcDay } from './time';
import type { Instant } from './time';

/** The fields refresh needs; `LabeledRow` satisfies it, and extra fields are carried through untouched. */
export interface TestRow {
  requestId: string;
  timestamp: string;
  label: string;
  slices?: Record<string, string>;
}

/** Refresh policy. Parse `{}` for defaults. */
export const TestSetRefreshConfigSchema = z.object({
  /** Rows older than this are never evaluated on: they describe traffic that no longer exists. */
  maxAgeDays: z.number().positive().default(30),
  targetSize: z.number().int().positive().default(2000),
  /** Below this a per-class metric is noise, so we refuse instead. */
  minPerClass: z.number().int().nonnegative().default(50),
  /** The set must span at least this many distinct UTC days so weekly seasonality is represented. */
  seasonalCycleDays: z.number().int().nonnegative().default(7),
  /**
   * Share of the target filled from fresh candidates each refresh: how fast the set rotates. Class and
   * day repairs may move a few rows either way.
   */
  recentShare: z.number().min(0).max(1).default(0.5),
  /** Also stratify by the rows' slice tags, so small segments keep proportional representation. */
  stratifyBySlices: z.boolean().default(true),
});
export type TestSetRefreshConfig = z.infer<typeof TestSetRefreshConfigSchema>;
export type TestSetRefreshConfigInput = z.input<typeof TestSetRefreshConfigSchema>;

/** Arguments of {@link refreshTestSet}. */
export interface RefreshTestSetInput<T extends TestRow> {
  /** The test set in use now. */
  current: readonly T[];
  /** Recent labelled traffic eligible to join. */
  candidates: readonly T[];
  now: Instant;
  config?: TestSetRefreshConfigInput;
  seed: number;
  /** Classes that must each reach `minPerClass`; defaults to every label among the eligible rows. */
  classes?: readonly string[];
}

/** Result of {@link refreshTestSet}. On refusal `rows` is empty: publish nothing, keep the old set. */
export interface TestSetRefreshResult<T extends TestRow> {
  rows: T[];
  dropped: {
    /** Current rows past `maxAgeDays`. */
    aged: number;
    /** Fresh current rows rotated out to make room for recent traffic or class minimums. */
    evicted: number;
    /** Rows (either input) whose requestId was already seen; the first occurrence wins, current first. */
    duplicate: number;
    /** Rows stamped after `now`: clock skew or bad data, never evaluated on. */
    future: number;
  };
  /** Rows taken from candidates. */
  added: number;
  /** Rows kept from the current set. */
  kept: number;
  perClass: Record<string, number>;
  /** UTC day (YYYY-MM-DD) → rows. */
  perDay: Record<string, number>;
  coverageDays: number;
  /** What the eligible (fresh, deduplicated) rows could offer; explains refusals. */
  available: { rows: number; perClass: Record<string, number>; coverageDays: number };
  lineage: Record<string, string | number>;
  refusal?: string;
}

interface Entry<T extends TestRow> {
  row: T;
  pool: 'current' | 'candidate';
  label: string;
  day: string;
  stratum: string;
  rank: number;
}

/**
 * Builds the next test set from the current one and recent labelled traffic.
 *
 * Guarantees (when not refused): no row older than `maxAgeDays` or newer than `now`; no duplicate
 * requestId; every required class has ≥ `minPerClass` rows; ≥ `seasonalCycleDays` distinct days; at most
 * `targetSize` rows; the same inputs and seed give the same rows. Selection inside each stratum is by a
 * seeded per-row hash, so a row's chance does not depend on the order of the inputs.
 */
export function refreshTestSet<T extends TestRow>(input: RefreshTestSetInput<T>): TestSetRefreshResult<T> {
  const cfg = TestSetRefreshConfigSchema.parse(input.config ?? {});
  const now = toEpochMs(input.now, 'now');
  const oldest = now - cfg.maxAgeDays * DAY_MS;
  const dropped = { aged: 0, evicted: 0, duplicate: 0, future: 0 };
  let candidatesTooOld = 0;

  const seen = new Set<string>();
  const fresh: Entry<T>[] = [];
  // Formatting dates dominates the cost on large inputs; there are only ~maxAgeDays distinct days.
  const dayNames = new Map<number, string>();
  const dayOf = (ts: number): string => {
    const index = Math.floor(ts / DAY_MS);
    let name = dayNames.get(index);
    if (name === undefined) {
      name = utcDay(ts);
      dayNames.set(index, name);
    }
    return name;
  };
  const admit = (row: T, pool: Entry<T>['pool']): void => {
    const ts = toEpochMs(row.timestamp, `timestamp of ${row.requestId}`);
    if (ts < oldest) {
      if (pool === 'current') dropped.aged += 1;
      else candidatesTooOld += 1;
    } else if (ts > now) {
      dropped.future += 1;
    } else if (seen.has(row.requestId)) {
      dropped.duplicate += 1;
    } else {
      seen.add(row.requestId);
      const day = dayOf(ts);
      const sliceSig = cfg.stratifyBySlices ? sliceSignature(row.slices) : '';
      fresh.push({
        row,
        pool,
        label: row.label,
        day,
        stratum: `${row.label}|${day}|${sliceSig}`,
        rank: hashUnit(input.seed, `row:${row.requestId}`),
      });
    }
  };
  input.current.forEach((row) => admit(row, 'current'));
  input.candidates.forEach((row) => admit(row, 'candidate'));

  const available = {
    rows: fresh.length,
    perClass: countBy(fresh, (e) => e.label),
    coverageDays: new Set(fresh.map((e) => e.day)).size,
  };
  const classes = [...new Set(input.classes ?? fresh.map((e) => e.label))].sort(compareStrings);
  const lineage: Record<string, string | number> = {
    policy: 'test-set-refresh/v1',
    seed: input.seed,
    now: toIso(now),
    maxAgeDays: cfg.maxAgeDays,
    targetSize: cfg.targetSize,
    minPerClass: cfg.minPerClass,
    seasonalCycleDays: cfg.seasonalCycleDays,
    recentShare: cfg.recentShare,
    strata: cfg.stratifyBySlices ? 'class×day×slice' : 'class×day',
    currentOffered: input.current.length,
    candidatesOffered: input.candidates.length,
    candidatesTooOld,
  };
  const refuse = (reason: string): TestSetRefreshResult<T> => ({
    rows: [],
    dropped,
    added: 0,
    kept: 0,
    perClass: {},
    perDay: {},
    coverageDays: 0,
    available,
    lineage: { ...lineage, refusal: reason },
    refusal: reason,
  });

  const shortClasses = classes
    .filter((c) => countFor(available.perClass, c) < cfg.minPerClass)
    .map(
      (c) =>
        `only ${countFor(available.perClass, c)} rows of class "${c}" available, need ${cfg.minPerClass}`,
    );
  if (shortClasses.length > 0) return refuse(shortClasses.join('; '));
  if (cfg.minPerClass * classes.length > cfg.targetSize) {
    return refuse(
      `target size ${cfg.targetSize} cannot hold ${cfg.minPerClass} rows for each of ${classes.length} classes`,
    );
  }
  if (available.coverageDays < cfg.seasonalCycleDays) {
    return refuse(
      `labelled rows from the last ${cfg.maxAgeDays} days span only ${available.coverageDays} distinct days, ` +
        `need ${cfg.seasonalCycleDays} to cover a seasonal cycle`,
    );
  }

  // Pool quotas: rotate in up to recentShare of the target from candidates, keep current rows for the
  // rest, then let whichever pool has rows left fill any gap.
  const currentPool = fresh.filter((e) => e.pool === 'current');
  const candidatePool = fresh.filter((e) => e.pool === 'candidate');
  let addQuota = Math.min(Math.round(cfg.recentShare * cfg.targetSize), candidatePool.length);
  const keepQuota = Math.min(currentPool.length, cfg.targetSize - addQuota);
  addQuota = Math.min(candidatePool.length, cfg.targetSize - keepQuota);

  const selected = new Set<Entry<T>>([
    ...stratifiedSample(currentPool, keepQuota, input.seed),
    ...stratifiedSample(candidatePool, addQuota, input.seed),
  ]);
  const required = new Set(classes);
  const minFor = (label: string): number => (required.has(label) ? cfg.minPerClass : 0);
  // Candidates before current rows when swapping in: the point of a refresh is recency.
  const unselectedOrder = (pred: (e: Entry<T>) => boolean): Entry<T>[] =>
    fresh
      .filter((e) => !selected.has(e) && pred(e))
      .sort(
        (a, b) =>
          poolOrder(a) - poolOrder(b) || a.rank - b.rank || compareStrings(a.row.requestId, b.row.requestId),
      );

  // Repair 1: class minimums. Proportional sampling can starve a rare class; swap its rows in, evicting
  // from the class with the most surplus so other minimums stay intact.
  let classMinSwaps = 0;
  for (const label of classes) {
    const missing = cfg.minPerClass - countOf(selected, (e) => e.label === label);
    if (missing <= 0) continue;
    for (const incoming of unselectedOrder((e) => e.label === label).slice(0, missing)) {
      if (selected.size >= cfg.targetSize) {
        const victim = pickVictim(selected, minFor, false);
        if (victim === null) break;
        selected.delete(victim);
      }
      selected.add(incoming);
      classMinSwaps += 1;
    }
  }

  // Repair 2: day coverage. Add one row from each missing day (largest available days first: the most
  // representative) until the seasonal cycle is covered, never evicting a day's last row.
  let coverageSwaps = 0;
  const selectedDays = (): Set<string> => new Set([...selected].map((e) => e.day));
  if (selectedDays().size < cfg.seasonalCycleDays) {
    const days = selectedDays();
    const availableDayCounts = countBy(fresh, (e) => e.day);
    const missingDays = Object.keys(availableDayCounts)
      .filter((d) => !days.has(d))
      .sort((a, b) => availableDayCounts[b] - availableDayCounts[a] || compareStrings(a, b));
    for (const day of missingDays) {
      if (selectedDays().size >= cfg.seasonalCycleDays) break;
      const [incoming] = unselectedOrder((e) => e.day === day);
      if (selected.size >= cfg.targetSize) {
        const victim = pickVictim(selected, minFor, true);
        if (victim === null) break;
        selected.delete(victim);
      }
      selected.add(incoming);
      coverageSwaps += 1;
    }
  }

  const rows = [...selected].sort(
    (a, b) =>
      compareStrings(a.row.timestamp, b.row.timestamp) || compareStrings(a.row.requestId, b.row.requestId),
  );
  const kept = rows.filter((e) => e.pool === 'current').length;
  const added = rows.length - kept;
  dropped.evicted = currentPool.length - kept;
  const perDay = countBy(rows, (e) => e.day);
  const coverageDays = Object.keys(perDay).length;
  Object.assign(lineage, { keptFromCurrent: kept, addedFromCandidates: added, classMinSwaps, coverageSwaps });

  if (coverageDays < cfg.seasonalCycleDays) {
    return refuse(
      `selected rows span only ${coverageDays} distinct days, need ${cfg.seasonalCycleDays} ` +
        `(target size ${cfg.targetSize} too small for the class minimums plus a seasonal cycle)`,
    );
  }
  return {
    rows: rows.map((e) => e.row),
    dropped,
    added,
    kept,
    perClass: countBy(rows, (e) => e.label),
    perDay,
    coverageDays,
    available,
    lineage,
  };
}

/**
 * Stratified sample of `n` entries: strata get largest-remainder proportional quotas; inside a stratum
 * the lowest-ranked (seeded hash) entries win. Remainder ties are broken by a seeded hash of the stratum
 * so the same small strata are not always the ones left out.
 */
function stratifiedSample<T extends TestRow>(
  entries: readonly Entry<T>[],
  n: number,
  seed: number,
): Entry<T>[] {
  if (n <= 0) return [];
  if (n >= entries.length) return [...entries];
  const strata = new Map<string, Entry<T>[]>();
  for (const entry of entries) {
    const list = strata.get(entry.stratum) ?? [];
    list.push(entry);
    strata.set(entry.stratum, list);
  }
  const plan = [...strata.entries()].map(([key, list]) => {
    const exact = (n * list.length) / entries.length;
    return {
      key,
      list,
      quota: Math.floor(exact),
      remainder: exact - Math.floor(exact),
      tie: hashUnit(seed, `stratum:${key}`),
    };
  });
  let left = n - plan.reduce((sum, p) => sum + p.quota, 0);
  const byRemainder = [...plan].sort(
    (a, b) => b.remainder - a.remainder || a.tie - b.tie || compareStrings(a.key, b.key),
  );
  for (const p of byRemainder) {
    if (left <= 0) break;
    p.quota += 1;
    left -= 1;
  }
  return plan.flatMap((p) => [...p.list].sort(byRank).slice(0, p.quota));
}

/**
 * Chooses a row to evict: from a class above its minimum (and, when `protectDays`, a day with more than
 * one selected row), preferring the largest class×day×slice stratum and its worst-ranked row, so eviction
 * trims the most over-represented cell.
 */
function pickVictim<T extends TestRow>(
  selected: ReadonlySet<Entry<T>>,
  minFor: (label: string) => number,
  protectDays: boolean,
): Entry<T> | null {
  const all = [...selected];
  const classCounts = countBy(all, (e) => e.label);
  const dayCounts = countBy(all, (e) => e.day);
  const stratumCounts = countBy(all, (e) => e.stratum);
  // Most over-represented stratum first, then its worst-ranked row; requestId settles exact ties.
  const worse = (a: Entry<T>, b: Entry<T>): boolean =>
    stratumCounts[a.stratum] !== stratumCounts[b.stratum]
      ? stratumCounts[a.stratum] > stratumCounts[b.stratum]
      : a.stratum !== b.stratum
        ? compareStrings(a.stratum, b.stratum) < 0
        : a.rank !== b.rank
          ? a.rank > b.rank
          : compareStrings(a.row.requestId, b.row.requestId) > 0;
  let best: Entry<T> | null = null;
  for (const e of all) {
    if (classCounts[e.label] <= minFor(e.label)) continue;
    if (protectDays && dayCounts[e.day] <= 1) continue;
    if (best === null || worse(e, best)) best = e;
  }
  return best;
}

function byRank<T extends TestRow>(a: Entry<T>, b: Entry<T>): number {
  return a.rank - b.rank || compareStrings(a.row.requestId, b.row.requestId);
}

function poolOrder<T extends TestRow>(e: Entry<T>): number {
  return e.pool === 'candidate' ? 0 : 1;
}

function sliceSignature(slices: Record<string, string> | undefined): string {
  return Object.entries(slices ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort(compareStrings)
    .join(',');
}

function countBy<E>(items: Iterable<E>, keyOf: (item: E) => string): Record<string, number> {
  // A Map, not an object literal: a class named "constructor" must not collide with Object.prototype.
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // Sorted keys serialise identically across runs, which keeps manifests diff-able.
  return Object.fromEntries([...counts.keys()].sort(compareStrings).map((k) => [k, counts.get(k)!]));
}

/** Count for `key`, or 0; safe for keys that shadow Object.prototype members. */
function countFor(record: Record<string, number>, key: string): number {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : 0;
}

function countOf<E>(items: Iterable<E>, pred: (item: E) => boolean): number {
  let n = 0;
  for (const item of items) if (pred(item)) n += 1;
  return n;
}
