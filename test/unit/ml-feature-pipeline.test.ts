import type { Features } from '../../src/schemas/records';
import {
  createCounters,
  createRng,
  describePipeline,
  fitPipeline,
  FittedPipelineSchema,
  MAX_TRACKED_UNKNOWN_VALUES,
  mergeCounters,
  TrainingDataError,
  transform,
  transformBatch,
  TransformCountersSchema,
} from '../../src/ml';

// 10 rows: age has one missing value; plan has a frequent vocabulary plus one rare value; pro is boolean.
const rows: Features[] = [
  { age: 20, plan: 'basic', pro: true, id: 'r0' },
  { age: 30, plan: 'basic', pro: false, id: 'r1' },
  { age: 40, plan: 'basic', pro: false, id: 'r2' },
  { age: null, plan: 'basic', pro: false, id: 'r3' },
  { age: 50, plan: 'basic', pro: true, id: 'r4' },
  { age: 60, plan: 'team', pro: false, id: 'r5' },
  { age: 20, plan: 'team', pro: false, id: 'r6' },
  { age: 30, plan: 'team', pro: false, id: 'r7' },
  { age: 40, plan: 'team', pro: true, id: 'r8' },
  { age: 50, plan: 'solo', pro: false, id: 'r9' },
];
const spec = { exclude: ['id'], minFrequency: 4 };

describe('fitPipeline', () => {
  const pipeline = fitPipeline(rows, spec);

  it('infers kinds, imputes the median and standardises the imputed column', () => {
    expect(FittedPipelineSchema.parse(pipeline)).toEqual(pipeline);
    const [age, plan, pro] = pipeline.features;
    // Observed ages sorted: 20 20 30 30 40 40 50 50 60 → median 40; imputed column adds one 40.
    const imputed = [20, 30, 40, 40, 50, 60, 20, 30, 40, 50];
    const mean = imputed.reduce((a, b) => a + b, 0) / 10;
    const std = Math.sqrt(imputed.reduce((a, b) => a + (b - mean) ** 2, 0) / 10);
    expect(age).toEqual({
      kind: 'numeric',
      name: 'age',
      median: 40,
      mean,
      std: expect.closeTo(std, 12),
      missingIndicator: true,
    });
    // 'solo' (1 row) is below minFrequency 4 → not in the vocabulary; most frequent first.
    expect(plan).toEqual({
      kind: 'categorical',
      name: 'plan',
      vocabulary: ['basic', 'team'],
      missingIndicator: false,
    });
    expect(pro).toEqual({ kind: 'boolean', name: 'pro', mode: false });
    expect(describePipeline(pipeline).columns).toEqual([
      'age',
      'age__missing',
      'plan=basic',
      'plan=team',
      'plan=__unknown__',
      'pro',
    ]);
    expect(pipeline.nOutputs).toBe(6);
  });

  it('training columns have mean 0 and std 1', () => {
    const X = transformBatch(pipeline, rows);
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < X.nRows; i++) sum += X.data[i * X.nCols];
    for (let i = 0; i < X.nRows; i++) squares += (X.data[i * X.nCols] - sum / X.nRows) ** 2;
    expect(sum / X.nRows).toBeCloseTo(0, 12);
    expect(Math.sqrt(squares / X.nRows)).toBeCloseTo(1, 12);
  });

  it('honours explicit kinds, feature order, vocabulary caps and constant columns', () => {
    const p = fitPipeline(
      [
        { zip: '10115', c: 3, x: 'a' },
        { zip: '10115', c: 3, x: 'b' },
        { zip: '20095', c: 3, x: 'b' },
      ],
      { features: ['c', 'zip', 'x'], kinds: { zip: 'categorical' }, minFrequency: 1, maxCategories: 1 },
    );
    expect(p.features.map((f) => f.name)).toEqual(['c', 'zip', 'x']);
    expect(p.features[0]).toMatchObject({ mean: 3, std: 1 });
    expect(p.features[1]).toMatchObject({ vocabulary: ['10115'] });
    // Ties in count break by value so the vocabulary is deterministic.
    expect(p.features[2]).toMatchObject({ vocabulary: ['b'] });
    expect(transform(p, { c: 5, zip: '20095', x: 'b' })).toEqual(Float64Array.of(2, 0, 1, 1, 0));
  });

  it('drops features that never had a usable value, and refuses empty data', () => {
    const p = fitPipeline([
      { a: 1, b: null },
      { a: 2, b: null },
    ]);
    expect(p.droppedFeatures).toEqual(['b']);
    expect(() => fitPipeline([])).toThrow(TrainingDataError);
  });
});

describe('transform', () => {
  const pipeline = fitPipeline(rows, spec);
  const [age] = pipeline.features;
  if (age.kind !== 'numeric') throw new Error('expected numeric');
  const imputedAge = (age.median - age.mean) / age.std;

  it('maps an unseen category to __unknown__ and counts it', () => {
    const counters = createCounters();
    const x = transform(pipeline, { age: 30, plan: 'enterprise', pro: true }, counters);
    expect(Array.from(x.subarray(2, 5))).toEqual([0, 0, 1]);
    expect(counters).toEqual({
      rows: 1,
      features: { plan: { missing: 0, typeMismatch: 0, unknown: 1, unknownValues: { enterprise: 1 } } },
    });
  });

  it('imputes and counts missing values (null and absent keys)', () => {
    const counters = createCounters();
    const x = transform(pipeline, { age: null, plan: 'team' }, counters);
    expect(x[0]).toBe(imputedAge);
    expect(x[1]).toBe(1); // age__missing
    expect(x[5]).toBe(0); // pro imputed to its mode, false
    expect(counters.features.age.missing).toBe(1);
    expect(counters.features.pro.missing).toBe(1);
    expect(counters.features.plan).toBeUndefined();
  });

  it('treats wrong types as missing and counts them separately', () => {
    const counters = createCounters();
    const x = transform(pipeline, { age: '42', plan: 7, pro: 'yes' }, counters);
    expect(x[0]).toBe(imputedAge);
    expect(x[1]).toBe(1);
    expect(Array.from(x.subarray(2, 5))).toEqual([0, 0, 0]); // no __missing__ column was fitted for plan
    expect(x[5]).toBe(0);
    expect(counters.features.age).toMatchObject({ missing: 0, typeMismatch: 1 });
    expect(counters.features.plan).toMatchObject({ missing: 0, typeMismatch: 1, unknown: 0 });
    expect(counters.features.pro).toMatchObject({ typeMismatch: 1 });
  });

  it('is safe with category values that shadow Object.prototype', () => {
    const counters = createCounters();
    for (const plan of ['constructor', 'toString', '__proto__', '__proto__'])
      transform(pipeline, { age: 1, plan }, counters);
    expect(counters.features.plan.unknown).toBe(4);
    expect(Object.entries(counters.features.plan.unknownValues).sort()).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
      ['toString', 1],
    ]);
    // JSON keeps "__proto__" as an own key (zod's record parser does not, so this checks plain JSON).
    expect(JSON.parse(JSON.stringify(counters))).toEqual(counters);
  });

  it('keeps at most 20 unknown values, heavy hitters first, and merges counters', () => {
    const a = createCounters();
    for (let i = 0; i < 100; i++) transform(pipeline, { age: 1, plan: `typo-${i}` }, a);
    for (let i = 0; i < 50; i++) transform(pipeline, { age: 1, plan: 'new-plan' }, a);
    const values = a.features.plan.unknownValues;
    expect(Object.keys(values)).toHaveLength(MAX_TRACKED_UNKNOWN_VALUES);
    expect(values['new-plan']).toBeGreaterThanOrEqual(50);
    expect(a.features.plan.unknown).toBe(150);

    const b = createCounters();
    transform(pipeline, { age: null, plan: 'new-plan' }, b);
    const merged = mergeCounters(a, b);
    expect(merged.rows).toBe(151);
    expect(merged.features.plan.unknown).toBe(151);
    expect(merged.features.plan.unknownValues['new-plan']).toBe(values['new-plan'] + 1);
    expect(Object.keys(merged.features.plan.unknownValues)).toHaveLength(MAX_TRACKED_UNKNOWN_VALUES);
    expect(merged.features.age.missing).toBe(1);
    expect(TransformCountersSchema.parse(JSON.parse(JSON.stringify(merged)))).toEqual(merged);
    // Inputs are untouched.
    expect(b.rows).toBe(1);
  });

  it('is bit-identical after a JSON round-trip of the fitted pipeline (train/serve parity)', () => {
    const rng = createRng(11);
    const plans = ['basic', 'team', 'solo', 'enterprise', null];
    const big: Features[] = Array.from({ length: 2000 }, (_, i) => ({
      age: rng.next() < 0.1 ? null : Math.round(rng.normal() * 15 + 40) + rng.next(),
      spend: rng.normal() * 1e3,
      plan: plans[rng.int(plans.length)],
      pro: rng.next() < 0.05 ? null : rng.next() < 0.3,
      odd: i % 7 === 0 ? 'text' : rng.next(),
    }));
    const fitted = fitPipeline(big.slice(0, 1500));
    const restored = FittedPipelineSchema.parse(JSON.parse(JSON.stringify(fitted)));
    expect(restored).not.toBe(fitted);
    const before = transformBatch(fitted, big);
    const after = transformBatch(restored, big);
    expect(Buffer.from(after.data.buffer).equals(Buffer.from(before.data.buffer))).toBe(true);
    // Single-row transform is the same code path as the batch.
    const single = transform(restored, big[1999]);
    const batchRow = before.data.slice(1999 * before.nCols, 2000 * before.nCols);
    expect(Buffer.from(single.buffer).equals(Buffer.from(batchRow.buffer))).toBe(true);
  });
});
