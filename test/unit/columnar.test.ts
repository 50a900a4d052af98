import { accumulate, accumulateColumns, buildProfile, createAccumulator } from '../../src/monitoring';
import { PartitionBuilder } from '../../src/monitoring/columns';
import { decodePartition, encodePartition } from '../../src/storage/columnar';
import type { Features } from '../../src/schemas/records';

/** Rows with every kind of value drift must tell apart: wrong types, nulls, absent keys, new features. */
function rows(n: number, seed: number): Array<{ features: Features; scores: Record<string, number> }> {
  const out: Array<{ features: Features; scores: Record<string, number> }> = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7919 + seed) % 1000;
    const features: Features = {
      amount: k % 13 === 0 ? 'n/a' : k * 1.25 - 300,
      country: k % 11 === 0 ? 42 : ['DE', 'US', 'FR', `X${k % 37}`][k % 4],
      premium: k % 9 === 0 ? 'yes' : k % 2 === 0,
      note: k % 5 === 0 ? null : 'x',
      zero: k % 3 === 0 ? -0 : 0.5,
    };
    if (k % 17 === 0) delete features.country;
    if (k % 19 === 0) features[`new_${seed}_${k % 3}`] = k;
    const s = (k % 100) / 100;
    const scores: Record<string, number> = { churn: s, stay: 1 - s };
    if (k % 23 === 0) delete scores.stay;
    out.push({ features, scores });
  }
  return out;
}

test('a partition stored as Arrow columns accumulates exactly as its rows do', () => {
  const reference = rows(2000, 1).filter((_, i) => i % 3 !== 0);
  const profile = buildProfile(
    reference.map((r) => r.features),
    { scoreRows: reference.map((r) => r.scores), bins: 8, maxCategories: 3 },
  );
  const current = rows(3000, 5);
  const byRows = createAccumulator(profile, { maxTrackedValues: 5 });
  for (const r of current) accumulate(byRows, r.features, r.scores);

  const builder = new PartitionBuilder(64);
  for (const r of current) builder.add(r.features, r.scores);
  const bytes = encodePartition(builder.finish());
  const byColumns = accumulateColumns(
    createAccumulator(profile, { maxTrackedValues: 5 }),
    decodePartition(bytes),
  );

  expect(JSON.stringify(byColumns)).toBe(JSON.stringify(byRows));
  // The data really exercises the paths compared.
  const amount = byRows.features.find((f) => f.name === 'amount');
  expect(amount?.typeMismatch).toBeGreaterThan(0);
  expect(byRows.newFeatures.total).toBeGreaterThan(0);
  expect(byRows.features.find((f) => f.name === 'country')?.absent).toBeGreaterThan(0);
});

test('a file that is not a loopkeeper partition is refused with a clear error', () => {
  const builder = new PartitionBuilder();
  builder.add({ a: 1 }, {});
  const bytes = encodePartition(builder.finish());
  expect(() => decodePartition(bytes.subarray(0, 40))).toThrow();
});
