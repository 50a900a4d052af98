import { mulberry32 } from '../../src/policy/rng';
import { refreshTestSet } from '../../src/policy/test-set-refresh';
import type { TestRow } from '../../src/policy/test-set-refresh';

const NOW = Date.parse('2026-06-30T12:00:00.000Z');
const DAY = 86_400_000;

interface Row extends TestRow {
  features: Record<string, number>;
}

/** Deterministic traffic: `n` rows spread over `spanDays`, labels drawn with the given weights. */
function traffic(
  prefix: string,
  n: number,
  spanDays: number,
  weights: Record<string, number>,
  seed: number,
): Row[] {
  const rnd = mulberry32(seed);
  const labels = Object.entries(weights);
  const total = labels.reduce((s, [, w]) => s + w, 0);
  return Array.from({ length: n }, (_, i) => {
    let pick = rnd() * total;
    let label = labels[0][0];
    for (const [l, w] of labels) {
      if (pick < w) {
        label = l;
        break;
      }
      pick -= w;
    }
    return {
      requestId: `${prefix}-${i}`,
      timestamp: new Date(NOW - Math.floor(rnd() * spanDays * DAY)).toISOString(),
      label,
      slices: { segment: rnd() < 0.2 ? 'smb' : 'enterprise' },
      features: { x: i },
    };
  });
}

// Current set is 45 days old at most (a third has aged out); "upgrade" is rare in both pools so
// proportional sampling alone would give it fewer than 50 rows.
const current = traffic('cur', 2000, 45, { stay: 80, churn: 18, upgrade: 2 }, 1);
const candidates = [
  ...traffic('cand', 3000, 14, { stay: 80, churn: 18.5, upgrade: 1.5 }, 2),
  ...current.slice(0, 50), // already in the set: must not duplicate
];

describe('refreshTestSet properties over many seeds', () => {
  const seeds = Array.from({ length: 25 }, (_, i) => i * 7919 + 1);

  it.each(seeds)('seed %p: fresh, deduplicated, class minimums, coverage, bounded', (seed) => {
    const r = refreshTestSet({ current, candidates, now: NOW, seed });
    expect(r.refusal).toBeUndefined();
    expect(r.rows.length).toBeLessThanOrEqual(2000);
    expect(r.rows.length).toBe(2000);
    for (const row of r.rows) {
      const ts = Date.parse(row.timestamp);
      expect(ts).toBeGreaterThanOrEqual(NOW - 30 * DAY);
      expect(ts).toBeLessThanOrEqual(NOW);
    }
    expect(new Set(r.rows.map((x) => x.requestId)).size).toBe(r.rows.length);
    for (const label of ['stay', 'churn', 'upgrade']) expect(r.perClass[label]).toBeGreaterThanOrEqual(50);
    expect(r.coverageDays).toBeGreaterThanOrEqual(7);
    expect(Object.values(r.perClass).reduce((a, b) => a + b, 0)).toBe(r.rows.length);
    expect(Object.values(r.perDay).reduce((a, b) => a + b, 0)).toBe(r.rows.length);
    expect(r.kept + r.added).toBe(r.rows.length);
    // Extra fields are carried through untouched.
    expect(typeof r.rows[0].features.x).toBe('number');
  });

  it('is deterministic for a seed and varies across seeds', () => {
    const ids = (seed: number) =>
      refreshTestSet({ current, candidates, now: NOW, seed }).rows.map((x) => x.requestId);
    expect(ids(5)).toEqual(ids(5));
    expect(ids(5)).not.toEqual(ids(6));
  });

  it('does not depend on input order', () => {
    const a = refreshTestSet({ current, candidates, now: NOW, seed: 9 });
    const b = refreshTestSet({
      current: [...current].reverse(),
      candidates: [...candidates].reverse(),
      now: NOW,
      seed: 9,
    });
    expect(b.rows.map((x) => x.requestId)).toEqual(a.rows.map((x) => x.requestId));
  });

  it('accounts for aged, duplicate and future rows', () => {
    const future = { ...candidates[0], requestId: 'future-1', timestamp: new Date(NOW + DAY).toISOString() };
    const r = refreshTestSet({ current, candidates: [...candidates, future], now: NOW, seed: 1 });
    const aged = current.filter((x) => Date.parse(x.timestamp) < NOW - 30 * DAY).length;
    expect(aged).toBeGreaterThan(0);
    expect(r.dropped.aged).toBe(aged);
    expect(r.dropped.future).toBe(1);
    // The 50 re-offered current rows are duplicates whether or not they were fresh.
    const freshReoffered = current
      .slice(0, 50)
      .filter((x) => Date.parse(x.timestamp) >= NOW - 30 * DAY).length;
    expect(r.dropped.duplicate).toBe(freshReoffered);
    expect(r.dropped.evicted).toBe(current.length - aged - r.kept);
    expect(r.lineage).toMatchObject({
      seed: 1,
      targetSize: 2000,
      keptFromCurrent: r.kept,
      addedFromCandidates: r.added,
    });
  });

  it('fills recentShare of the target from candidates when no repair is needed', () => {
    const cur = traffic('c', 3000, 20, { a: 50, b: 50 }, 3);
    const cand = traffic('n', 3000, 7, { a: 50, b: 50 }, 4);
    const r = refreshTestSet({
      current: cur,
      candidates: cand,
      now: NOW,
      seed: 2,
      config: { recentShare: 0.25 },
    });
    expect(r.added).toBe(500);
    expect(r.kept).toBe(1500);
  });

  it('tops up from candidates when the current set is small', () => {
    const cand = traffic('n', 3000, 10, { a: 50, b: 50 }, 4);
    const r = refreshTestSet({ current: [], candidates: cand, now: NOW, seed: 2 });
    expect(r.added).toBe(2000);
  });
});

describe('refreshTestSet refusals', () => {
  it('refuses when a class has too few labelled rows', () => {
    const rows = [...traffic('s', 600, 14, { stay: 1 }, 1), ...traffic('c', 12, 14, { churn: 1 }, 2)];
    const r = refreshTestSet({ current: [], candidates: rows, now: NOW, seed: 1 });
    expect(r.refusal).toBe('only 12 rows of class "churn" available, need 50');
    expect(r.rows).toEqual([]);
    expect(r.available.perClass).toEqual({ churn: 12, stay: 600 });
  });

  it('refuses for a required class that is absent', () => {
    const rows = traffic('s', 600, 14, { stay: 1 }, 1);
    const r = refreshTestSet({
      current: [],
      candidates: rows,
      now: NOW,
      seed: 1,
      classes: ['stay', 'churn'],
    });
    expect(r.refusal).toBe('only 0 rows of class "churn" available, need 50');
  });

  it('does not count aged rows toward a class', () => {
    const old = traffic('o', 100, 10, { churn: 1 }, 1).map((x) => ({
      ...x,
      timestamp: new Date(Date.parse(x.timestamp) - 40 * DAY).toISOString(),
    }));
    const rows = [...traffic('s', 600, 14, { stay: 1 }, 1), ...traffic('c', 20, 14, { churn: 1 }, 2)];
    const r = refreshTestSet({ current: old, candidates: rows, now: NOW, seed: 1 });
    expect(r.refusal).toBe('only 20 rows of class "churn" available, need 50');
    expect(r.dropped.aged).toBe(100);
  });

  it('refuses when the rows span less than a seasonal cycle', () => {
    const rows = traffic('s', 900, 3, { stay: 1, churn: 1 }, 1);
    const r = refreshTestSet({ current: [], candidates: rows, now: NOW, seed: 1 });
    expect(r.refusal).toMatch(/span only [1-4] distinct days, need 7/);
    expect(r.rows).toEqual([]);
  });

  it('refuses when the target cannot hold the class minimums', () => {
    const rows = traffic('s', 900, 14, { a: 1, b: 1, c: 1 }, 1);
    const r = refreshTestSet({
      current: [],
      candidates: rows,
      now: NOW,
      seed: 1,
      config: { targetSize: 100 },
    });
    expect(r.refusal).toBe('target size 100 cannot hold 50 rows for each of 3 classes');
  });
});

describe('refreshTestSet repairs', () => {
  it('swaps in rows from thin days to cover a seasonal cycle', () => {
    const busy = traffic('busy', 1000, 1, { a: 1 }, 1);
    const thin = Array.from({ length: 6 }, (_, d) => ({
      requestId: `thin-${d}`,
      timestamp: new Date(NOW - (d + 2) * DAY).toISOString(),
      label: 'a',
      features: { x: d },
    }));
    for (let seed = 1; seed <= 10; seed++) {
      const r = refreshTestSet({
        current: [],
        candidates: [...busy, ...thin],
        now: NOW,
        seed,
        config: { targetSize: 20, minPerClass: 5 },
      });
      expect(r.refusal).toBeUndefined();
      expect(r.coverageDays).toBeGreaterThanOrEqual(7);
      expect(r.rows).toHaveLength(20);
      expect(r.lineage.coverageSwaps).toBeGreaterThan(0);
    }
  });

  it('class minimums hold with a tiny target', () => {
    const rows = traffic('x', 2000, 14, { big: 97, small: 3 }, 8);
    const r = refreshTestSet({
      current: [],
      candidates: rows,
      now: NOW,
      seed: 4,
      config: { targetSize: 100, minPerClass: 20, stratifyBySlices: false },
    });
    expect(r.perClass.small).toBe(20);
    expect(r.perClass.big).toBe(80);
  });
});
