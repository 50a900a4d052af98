import {
  isPlainValidLabeled,
  isPlainValidOutcome,
  isPlainValidPrediction,
  LabeledRowSchema,
  OutcomeRowSchema,
  PredictionRowSchema,
} from '../../src/schemas';
import { prediction, outcome } from '../support/fixtures';

/**
 * The fast checks may only vouch for rows zod accepts. Mutate valid rows in many ways and require:
 * fast says valid ⇒ zod says valid. (The converse need not hold: doubtful rows go to zod.)
 */
function mutations(base: Record<string, unknown>): unknown[] {
  const out: unknown[] = [base, null, [], 'x', 42];
  const odd: unknown[] = [
    undefined,
    null,
    '',
    'x',
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    true,
    [],
    {},
    { a: 1 },
    '2026-02-30T00:00:00Z',
    '2026-06-01T24:00:00Z',
    '2026-06-01T10:00:00+25:00',
    '2026-06-01',
    '2026-13-01T00:00:00Z',
    '2024-02-29T00:00:00.123456789Z',
    'UPPER',
  ];
  for (const key of [...Object.keys(base), 'extra']) {
    for (const v of odd) out.push({ ...base, [key]: v });
  }
  const b = base as {
    features?: Record<string, unknown>;
    scores?: Record<string, unknown>;
    slices?: Record<string, unknown>;
  };
  for (const v of odd) {
    if (b.features)
      out.push(
        { ...base, features: { ...b.features, f: v }, extra: undefined },
        { ...base, features: { '': 1 } },
      );
    if (b.scores) out.push({ ...base, scores: { ...b.scores, churn: v } });
    if (b.slices) out.push({ ...base, slices: { ...b.slices, s: v } });
  }
  return out;
}

test('isPlainValidPrediction never vouches for a row zod rejects, and accepts ordinary rows', () => {
  let vouched = 0;
  for (const row of mutations(prediction(3, '2026-06-01') as unknown as Record<string, unknown>)) {
    const cloned = row === undefined ? row : JSON.parse(JSON.stringify(row) ?? 'null');
    if (isPlainValidPrediction(cloned)) {
      vouched++;
      expect(PredictionRowSchema.safeParse(cloned).success).toBe(true);
    }
  }
  expect(vouched).toBeGreaterThan(20);
  expect(isPlainValidPrediction(prediction(1, '2026-06-01'))).toBe(true);
});

test('isPlainValidOutcome never vouches for a row zod rejects, and accepts ordinary rows', () => {
  let vouched = 0;
  const base = outcome(prediction(1, '2026-06-01'), 'churn') as unknown as Record<string, unknown>;
  for (const row of mutations(base)) {
    const cloned = JSON.parse(JSON.stringify(row) ?? 'null');
    if (isPlainValidOutcome(cloned)) {
      vouched++;
      expect(OutcomeRowSchema.safeParse(cloned).success).toBe(true);
    }
  }
  expect(vouched).toBeGreaterThan(5);
  expect(isPlainValidOutcome({ ...base, source: 'oracle' })).toBe(false);
});

test('isPlainValidLabeled never vouches for a row zod rejects, and accepts ordinary rows', () => {
  let vouched = 0;
  const base = {
    requestId: 'r-1',
    timestamp: '2026-06-01T10:00:00.000Z',
    features: { tenure: 3, plan: 'pro', premium: true, balance: null },
    label: 'churn',
    slices: { country: 'DE' },
    labelSource: 'historical',
    lineage: { cycle: 'c-1' },
  };
  for (const row of mutations(base)) {
    const cloned = row === undefined ? row : JSON.parse(JSON.stringify(row) ?? 'null');
    if (isPlainValidLabeled(cloned)) {
      vouched++;
      expect(LabeledRowSchema.safeParse(cloned).success).toBe(true);
    }
  }
  expect(vouched).toBeGreaterThan(20);
  expect(isPlainValidLabeled(base)).toBe(true);
  expect(isPlainValidLabeled({ ...base, labelSource: 'oracle' })).toBe(false);
});
