import { mulberry32 } from '../../src/policy/rng';
import type { Features } from '../../src/schemas/records';
import {
  accumulate,
  buildProfile,
  checkSkew,
  computeDrift,
  createAccumulator,
  DriftAccumulatorSchema,
  mergeAccumulators,
  ReferenceProfileSchema,
  sortFloat64,
} from '../../src/monitoring';
import type {
  CategoricalFeatureProfile,
  DriftAccumulator,
  NumericFeatureProfile,
} from '../../src/monitoring';

/** Seeded (mulberry32, shared with the policies) so every run sees the same numbers. */
const seeded = mulberry32;

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('buildProfile', () => {
  it('fixes quantile cut points from the reference (values 1..100, 10 bins)', () => {
    const profile = buildProfile(range(1, 100).map((x) => ({ x })));
    const x = profile.features[0] as NumericFeatureProfile;
    // Cut i is the value at rank ceil(i·100/10) = 10i, i.e. 10, 20, …, 90.
    expect(x).toMatchObject({ kind: 'numeric', min: 1, max: 100, missingRate: 0, mean: 50.5 });
    expect(x.cutPoints).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(x.binCounts).toEqual(new Array(10).fill(10));
    expect(ReferenceProfileSchema.parse(JSON.parse(JSON.stringify(profile)))).toEqual(profile);
  });

  it('deduplicates equal cut points on tied data', () => {
    // 60 zeros then 1..40: ranks 10..60 all hold 0, rank 70 → 10, 80 → 20, 90 → 30.
    const rows = [...new Array<number>(60).fill(0), ...range(1, 40)].map((y) => ({ y }));
    const y = buildProfile(rows).features[0] as NumericFeatureProfile;
    expect(y.cutPoints).toEqual([0, 10, 20, 30]);
    expect(y.binCounts).toEqual([60, 10, 10, 10, 10]);
    // A constant feature has a single bin [min, max].
    const c = buildProfile([{ c: 3 }, { c: 3 }]).features[0] as NumericFeatureProfile;
    expect(c.cutPoints).toEqual([]);
    expect(c.binCounts).toEqual([2]);
  });

  it('keeps the top 50 categories and pools the rest as __other__, with missing rate and type', () => {
    const rows: Features[] = [];
    // v0 ×60, v1 ×59, …, v59 ×1 — 60 values; plus 10 rows without the feature and 5 nulls.
    for (let i = 0; i < 60; i += 1) for (let k = 0; k < 60 - i; k += 1) rows.push({ cat: `v${i}` });
    for (let i = 0; i < 10; i += 1) rows.push({});
    for (let i = 0; i < 5; i += 1) rows.push({ cat: null });
    const cat = buildProfile(rows).features[0] as CategoricalFeatureProfile;
    const valid = (60 * 61) / 2; // 1830
    expect(cat.kind).toBe('categorical');
    expect(cat.valueType).toBe('string');
    expect(cat.distinct).toBe(60);
    expect(cat.values).toHaveLength(50);
    expect(cat.values[0]).toEqual({ value: 'v0', count: 60, frequency: 60 / valid });
    expect(cat.otherCount).toBe(10 + 9 + 8 + 7 + 6 + 5 + 4 + 3 + 2 + 1);
    expect(cat.otherValues).toEqual(['v50', 'v51', 'v52', 'v53', 'v54', 'v55', 'v56', 'v57', 'v58', 'v59']);
    expect(cat.otherValuesComplete).toBe(true);
    expect(cat.missing).toBe(15);
    expect(cat.missingRate).toBeCloseTo(15 / (valid + 15), 12);
  });

  it('profiles booleans as categories, records empty features and prediction scores', () => {
    const rows: Features[] = [
      { flag: true, gone: null },
      { flag: false, gone: null },
      { flag: true, gone: null },
    ];
    const profile = buildProfile(rows, {
      bins: 2,
      scoreRows: [
        { spam: 0.9, ham: 0.1 },
        { spam: 0.2, ham: 0.8 },
        { spam: 0.5, ham: 0.5 },
      ],
      positiveClass: 'spam',
    });
    expect(profile.features.map((f) => f.name)).toEqual(['flag']);
    expect(profile.features[0]).toMatchObject({ kind: 'categorical', valueType: 'boolean' });
    expect(profile.emptyFeatures).toEqual(['gone']);
    expect(profile.scores.positiveClass).toBe('spam');
    expect(profile.scores.classes.map((c) => c.name)).toEqual(['spam']);
    expect(profile.scores.classes[0]).toMatchObject({
      min: 0.2,
      max: 0.9,
      cutPoints: [0.5],
      binCounts: [2, 1],
    });
    // Without a positive class every class is profiled.
    const all = buildProfile(rows, { scoreRows: [{ a: 0.3, b: 0.7 }] });
    expect(all.scores.classes.map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('is deterministic, and the fingerprint changes with the bins', () => {
    const rows = range(1, 50).map((x) => ({ x, c: x % 3 === 0 ? 'a' : 'b' }));
    expect(buildProfile(rows)).toEqual(buildProfile(rows));
    expect(buildProfile(rows).fingerprint).not.toBe(buildProfile(rows, { bins: 5 }).fingerprint);
  });
});

describe('sortFloat64', () => {
  it('orders large arrays exactly like Float64Array.prototype.sort (radix path)', () => {
    const rand = seeded(99);
    const special = [0, -0, 1, -1, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity];
    for (const n of [10, 5000, 50_000]) {
      const xs = Float64Array.from({ length: n }, (_, i) =>
        i < special.length
          ? special[i]
          : rand() < 0.5
            ? Math.round((rand() - 0.5) * 100)
            : (rand() - 0.5) * 1e6,
      );
      const expected = Float64Array.from(xs).sort();
      const actual = sortFloat64(Float64Array.from(xs));
      expect(actual.every((x, i) => Object.is(x, expected[i]))).toBe(true);
    }
    // A subarray (non-zero byteOffset) is sorted in place without touching its neighbours.
    const whole = Float64Array.from({ length: 10_000 }, (_, i) => 10_000 - i);
    sortFloat64(whole.subarray(1000, 9000));
    expect(whole[999]).toBe(9001);
    expect(Array.from(whole.subarray(1000, 1003))).toEqual([1001, 1002, 1003]);
    expect(whole[9000]).toBe(1000);
  });
});

describe('accumulate', () => {
  const profile = buildProfile(
    range(1, 100).map((i) => ({
      x: i,
      country: ['US', 'UK', 'DE'][i % 3],
      flag: i % 2 === 0,
    })),
  );

  it('puts numbers below min and above max into underflow and overflow bins', () => {
    const acc = createAccumulator(profile);
    const xs: (number | string | null | undefined)[] = [-5, 0.5, 1, 10, 10.5, 100, 101, null, undefined, 'x'];
    for (const x of xs) accumulate(acc, x === undefined ? {} : { x });
    const h = acc.features.find((f) => f.name === 'x');
    if (h?.kind !== 'numeric') throw new Error('x should be numeric');
    // counts = [under, [1,10], (10,20], …, (90,100], over]
    expect(h.counts).toEqual([2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    expect(h).toMatchObject({ missing: 2, absent: 1, typeMismatch: 1, observedMin: -5, observedMax: 101 });
    expect(h.mismatchTypes.string).toBe(1);
    expect(h.mismatchValues.entries).toEqual([{ value: 'x', count: 1 }]);
  });

  it('counts never-seen categories in the unseen bin with their values', () => {
    const acc = createAccumulator(profile);
    for (const country of ['US', 'France', 'France', 'Spain', 'DE']) accumulate(acc, { country });
    const h = acc.features.find((f) => f.name === 'country');
    if (h?.kind !== 'categorical') throw new Error('country should be categorical');
    // values are most frequent first: US (i%3=0: 33 rows), UK (34), DE (33) → UK, DE, US
    expect(h.values).toEqual(['UK', 'DE', 'US']);
    // counts = [UK, DE, US, other, unseen]
    expect(h.counts).toEqual([0, 1, 1, 0, 3]);
    expect(h.unseenValues).toEqual({
      entries: [
        { value: 'France', count: 2 },
        { value: 'Spain', count: 1 },
      ],
      total: 3,
      truncated: false,
    });
  });

  it('caps the tracked unseen values, keeps every kept count exact, and keeps the same values in any order', () => {
    const lists = [
      ['A', 'B', 'C', 'A'],
      ['C', 'A', 'B', 'A'],
      ['B', 'C', 'A', 'A'],
    ].map((order) => {
      const acc = createAccumulator(profile, { maxTrackedValues: 2 });
      for (const country of order) accumulate(acc, { country });
      const h = acc.features.find((f) => f.name === 'country');
      if (h?.kind !== 'categorical') throw new Error('country should be categorical');
      expect(h.counts[4]).toBe(4);
      return h.unseenValues;
    });
    expect(lists[0].total).toBe(4);
    expect(lists[0].truncated).toBe(true);
    expect(lists[0].entries).toHaveLength(2);
    const truth: Record<string, number> = { A: 2, B: 1, C: 1 };
    for (const e of lists[0].entries) expect(e.count).toBe(truth[e.value]);
    expect(lists[1]).toEqual(lists[0]);
    expect(lists[2]).toEqual(lists[0]);
  });

  it('counts type mismatches, booleans, new features and prototype-like names', () => {
    const acc = createAccumulator(profile);
    accumulate(acc, { flag: 'true', x: true, country: 3, extra: 1, constructor: 'y' });
    accumulate(acc, { flag: true, extra: null });
    const flag = acc.features.find((f) => f.name === 'flag');
    // 50 true and 50 false in the reference: ties are ordered by value, so counts = [false, true, other, unseen].
    expect(flag).toMatchObject({ typeMismatch: 1, counts: [0, 1, 0, 0] });
    expect(acc.features.find((f) => f.name === 'x')).toMatchObject({ typeMismatch: 1, absent: 1 });
    expect(acc.features.find((f) => f.name === 'country')).toMatchObject({ typeMismatch: 1, absent: 1 });
    expect(acc.newFeatures.entries).toEqual([
      { value: 'constructor', count: 1 },
      { value: 'extra', count: 1 },
    ]);
    // A profile feature called "constructor" that is absent is missing, not Object.prototype.constructor.
    const p2 = buildProfile([{ constructor: 1 }, { constructor: 2 }]);
    const acc2 = accumulate(createAccumulator(p2), {});
    expect(acc2.features[0]).toMatchObject({ missing: 1, absent: 1, typeMismatch: 0 });
  });

  it('accumulates scores when given', () => {
    const p = buildProfile([{ a: 1 }, { a: 2 }], {
      bins: 2,
      scoreRows: [{ yes: 0.2 }, { yes: 0.8 }],
      positiveClass: 'yes',
    });
    const acc = createAccumulator(p);
    accumulate(acc, { a: 1 }, { yes: 0.5 });
    accumulate(acc, { a: 1 }, { yes: 0.9 });
    accumulate(acc, { a: 1 }, { no: 1 });
    accumulate(acc, { a: 1 });
    expect(acc.rows).toBe(4);
    expect(acc.scoredRows).toBe(3);
    // Cut point: rank ceil(1·2/2) = 1 → 0.2, which is the min; counts = [< 0.2, [0.2, 0.2], (0.2, 0.8], > 0.8]
    expect(acc.scores[0]).toMatchObject({ counts: [0, 0, 1, 1], missing: 1, absent: 1 });
  });
});

describe('mergeAccumulators', () => {
  const countries = ['US', 'UK', 'DE', 'FR'];
  function dataset(
    n: number,
    seed: number,
    drifted: boolean,
  ): { features: Features; scores: Record<string, number> }[] {
    const rand = seeded(seed);
    return Array.from({ length: n }, () => {
      const r = rand();
      const features: Features = {
        amount: drifted ? rand() * 1200 - 50 : rand() * 1000,
        clicks: Math.floor(rand() * 5),
        country:
          drifted && r < 0.3
            ? ['United States', 'Germany', 'France'][Math.floor(rand() * 3)]
            : countries[Math.floor(rand() * 4)],
        premium: rand() < 0.3,
      };
      if (drifted && r > 0.9) features.amount = null;
      if (drifted && r > 0.95) features.clicks = 'many';
      if (drifted && r > 0.97) delete features.premium;
      if (drifted && r > 0.98) features.brand_new = 'x';
      const spam = rand();
      return { features, scores: { spam, ham: 1 - spam } };
    });
  }
  const reference = dataset(2000, 1, false);
  const profile = buildProfile(
    reference.map((r) => r.features),
    { scoreRows: reference.map((r) => r.scores) },
  );
  const current = dataset(2000, 2, true);

  function accumulateAll(rows: typeof current): DriftAccumulator {
    const acc = createAccumulator(profile);
    for (const row of rows) accumulate(acc, row.features, row.scores);
    return acc;
  }

  it('merges 4 partitions to exactly the accumulator and reports of the whole', () => {
    const whole = accumulateAll(current);
    const parts = [0, 1, 2, 3].map((k) => accumulateAll(current.filter((_, i) => i % 4 === k)));
    const leftFold = parts.reduce((a, b) => mergeAccumulators(a, b));
    const tree = mergeAccumulators(
      mergeAccumulators(parts[3], parts[1]),
      mergeAccumulators(parts[2], parts[0]),
    );
    expect(leftFold).toEqual(whole);
    expect(tree).toEqual(whole);
    expect(computeDrift(profile, leftFold)).toEqual(computeDrift(profile, whole));
    expect(checkSkew(profile, tree)).toEqual(checkSkew(profile, whole));
    // The drifted window really does exercise unseen values, mismatches and new features.
    const skew = checkSkew(profile, whole);
    expect(skew.findings.map((f) => f.check)).toEqual(
      expect.arrayContaining(['unseen-categories', 'type-change', 'range-violation', 'new-feature']),
    );
  });

  it('is commutative, leaves its inputs alone and survives a JSON round-trip', () => {
    const a = accumulateAll(current.slice(0, 700));
    const b = accumulateAll(current.slice(700));
    const aBefore = JSON.parse(JSON.stringify(a)) as unknown;
    expect(mergeAccumulators(a, b)).toEqual(mergeAccumulators(b, a));
    expect(a).toEqual(aBefore);
    // An accumulator that went through JSON (e.g. a Temporal payload) keeps accumulating correctly.
    const revived = DriftAccumulatorSchema.parse(JSON.parse(JSON.stringify(a)));
    for (const row of current.slice(700)) accumulate(revived, row.features, row.scores);
    expect(revived).toEqual(accumulateAll(current));
  });

  it('refuses to merge accumulators of different profiles', () => {
    const other = buildProfile([{ amount: 1 }]);
    expect(() => mergeAccumulators(createAccumulator(profile), createAccumulator(other))).toThrow(
      /different profiles/,
    );
    expect(() => computeDrift(other, createAccumulator(profile))).toThrow(/profile/);
  });
});
