import { perturbationFlipRate, perturbFeatures } from '../../src/ml/perturb';
import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import {
  challengeReasons,
  ChallengeSetConfigSchema,
  mergeChallengeRows,
} from '../../src/policy/challenge-set';
import type { ChallengeCandidate } from '../../src/policy/challenge-set';

const config = ChallengeSetConfigSchema.parse({});
const base: ChallengeCandidate = {
  requestId: 'r',
  timestamp: '2026-06-10T00:00:00.000Z',
  label: 'churn',
  labelProbability: 0.6,
  unseenFeatures: [],
  outOfRangeFeatures: [],
};

test.each([
  [{}, []],
  [{ slices: { country: 'IS' } }, ['rare-slice']],
  [{ labelProbability: Math.exp(-1.5) }, ['high-loss']],
  [{ labelProbability: 0.3 }, []],
  [{ unseenFeatures: ['country'] }, ['unseen-category']],
  [{ outOfRangeFeatures: ['tenure_days'], labelProbability: 0.01 }, ['high-loss', 'out-of-range']],
])('challenge reasons for %o are %o', (over, expected) => {
  expect(challengeReasons({ ...base, ...over }, new Set(['country=IS']), config)).toEqual(expected);
});

test('merging ages rows out, keeps the newest, never duplicates a request', () => {
  const row = (id: string, day: string) => ({ requestId: id, timestamp: `${day}T00:00:00.000Z` });
  const current = [row('a', '2026-01-01'), row('b', '2026-05-01'), row('c', '2026-05-02')];
  const mined = [row('c', '2026-05-02'), row('d', '2026-05-03')];
  const merged = mergeChallengeRows(current, mined, '2026-06-01T00:00:00.000Z', {
    ...config,
    maxAgeDays: 90,
    maxRows: 2,
  });
  expect(merged.map((r) => r.requestId)).toEqual(['d', 'c']);
  const all = mergeChallengeRows(current, mined, '2026-06-01T00:00:00.000Z', config);
  expect(all.map((r) => r.requestId)).toEqual(['d', 'c', 'b']);
});

test('perturbation re-spells categories and nudges numbers; a model keyed on exact spellings flips', () => {
  const rng = createRng(4);
  const p = perturbFeatures({ country: 'DE', tenure: 100, active: true, note: null }, rng);
  expect(['de', 'DE', ' DE ']).toContain(p.country);
  expect(Math.abs((p.tenure as number) - 100)).toBeLessThan(10);
  expect(p.active).toBe(true);
  expect(p.note).toBeNull();

  // The label is decided by the country code alone: re-spelling sends rows to the unknown bucket.
  const r = createRng(1);
  const rows = Array.from({ length: 600 }, () => {
    const country = r.next() < 0.5 ? 'us' : 'DE';
    return { features: { country, tenure: r.normal() }, label: country === 'DE' ? 'churn' : 'stay' };
  });
  const artifact = trainArtifact({ rows, positiveClass: 'churn', options: { seed: 2 } });
  const fragile = perturbationFlipRate(artifact, rows, 9);
  expect(fragile).toBeGreaterThan(0.1);
  expect(perturbationFlipRate(artifact, rows, 9)).toBe(fragile);

  // Numeric-only signal with a wide margin barely moves under 1% noise.
  const robustRows = Array.from({ length: 600 }, () => {
    const x = r.normal() * 3;
    return { features: { x }, label: x > 0 ? 'churn' : 'stay' };
  });
  const robust = trainArtifact({ rows: robustRows, positiveClass: 'churn', options: { seed: 2 } });
  expect(perturbationFlipRate(robust, robustRows, 9)).toBeLessThan(0.02);
});
