import type { PredictInstance } from '../../src/serving/request';
import { InvalidRequestError, PredictInstanceSchema, parsePredictBody } from '../../src/serving/request';

/**
 * parsePredictBody validates the common case by hand and leaves everything else to zod. Whatever the
 * body, it must agree with PredictInstanceSchema: the same data (same keys, same order) when zod accepts,
 * an InvalidRequestError when zod refuses.
 */
const valid: Record<string, unknown> = {
  requestId: 'r-1',
  entityId: 'u-1',
  features: { tenure_days: 30, plan: 'basic', autopay: true, country: null, spend: -1.5e-3 },
  slices: { country: 'DE' },
};

const odd: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'x'.repeat(256),
  'x'.repeat(257),
  0,
  -0,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  true,
  false,
  [],
  [1],
  {},
  { a: 1 },
  { a: { b: 1 } },
  { a: [1] },
  { a: undefined },
  { '': 1 },
  { a: NaN },
  { a: 'x', b: Infinity },
  JSON.parse('{"__proto__": 1, "a": 2}'),
  Object.create(null),
  new Map([['a', 1]]),
  new Date(0),
];

function bodies(): unknown[] {
  const out: unknown[] = [valid, null, [], 'x', 42, {}];
  for (const key of ['requestId', 'entityId', 'features', 'slices', 'extra']) {
    for (const value of odd) out.push({ ...valid, [key]: value });
    const without = { ...valid };
    delete without[key];
    out.push(without);
  }
  for (const value of odd) {
    out.push({ ...valid, features: { ...(valid.features as object), extra: value } });
    out.push({ ...valid, slices: { country: 'DE', extra: value } });
  }
  // Key order of the input must not leak into the output.
  out.push({ slices: { b: 'x', a: 'y' }, features: { z: 1, a: 2 }, entityId: 'e', requestId: 'r', other: 1 });
  return out;
}

function zodResult(raw: unknown): { ok: true; data: PredictInstance } | { ok: false } {
  const parsed = PredictInstanceSchema.safeParse(raw);
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false };
}

function ourResult(body: unknown): { ok: true; data: PredictInstance[] } | { ok: false; error: unknown } {
  try {
    return { ok: true, data: parsePredictBody(body, 10).instances };
  } catch (error) {
    return { ok: false, error };
  }
}

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRequestError) return err.field;
    throw err;
  }
  return undefined;
}

describe('parsePredictBody agrees with PredictInstanceSchema', () => {
  test('single bodies: the data zod gives (same keys, same order) when zod accepts, an InvalidRequestError when not', () => {
    const disagreements: string[] = [];
    const all = bodies();
    all.forEach((body, i) => {
      const expected = zodResult(body);
      const actual = ourResult(body);
      if (expected.ok !== actual.ok) disagreements.push(`#${i}: zod ${expected.ok}, ours ${actual.ok}`);
      else if (expected.ok && actual.ok) {
        // Same keys in the same order, so the answered and logged JSON is the same too.
        if (JSON.stringify(actual.data) !== JSON.stringify([expected.data]))
          disagreements.push(`#${i}: ${JSON.stringify(actual.data)} vs ${JSON.stringify(expected.data)}`);
      } else if (!actual.ok && !(actual.error instanceof InvalidRequestError))
        disagreements.push(`#${i}: threw ${String(actual.error)}`);
    });
    expect(disagreements).toEqual([]);
    // The mutations cover both outcomes.
    expect(all.filter((b) => zodResult(b).ok).length).toBeGreaterThan(20);
    expect(all.filter((b) => !zodResult(b).ok).length).toBeGreaterThan(50);
  });

  test('a batch: each instance as zod sees it; the first bad one named with its index', () => {
    const all = bodies().filter((b) => b !== null && typeof b === 'object' && !Array.isArray(b));
    const good = all.filter((b) => zodResult(b).ok);
    const parsed = parsePredictBody({ instances: good }, good.length);
    expect(JSON.stringify(parsed)).toBe(
      JSON.stringify({ instances: good.map((b) => (zodResult(b) as { data: unknown }).data), batch: true }),
    );
    const bad = { ...valid, features: { a: [1] } };
    expect(fieldOf(() => parsePredictBody({ instances: [valid, valid, bad] }, 10))).toBe(
      'instances.2.features.a',
    );
    expect(fieldOf(() => parsePredictBody({ ...valid, requestId: '' }, 10))).toBe('requestId');
  });

  test('features are the parsed ones, minus the keys zod drops', () => {
    const body = JSON.parse('{"features": {"a": 1, "__proto__": 2}}') as unknown;
    const [instance] = parsePredictBody(body, 1).instances;
    expect(Object.keys(instance.features)).toEqual(['a']);
  });
});
