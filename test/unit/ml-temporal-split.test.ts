import { createRng, randomSplit, SplitError, temporalSplit } from '../../src/ml';

describe('temporalSplit', () => {
  const at = (iso: string, id: string) => ({ timestamp: iso, id });
  const rows = [
    at('2026-01-03T00:00:00Z', 'c'),
    at('2026-01-01T00:00:00Z', 'a'),
    at('2026-01-04T00:00:00+02:00', 'd'), // = 2026-01-03T22:00Z
    at('2026-01-02T00:00:00Z', 'b'),
    at('2026-01-05T00:00:00Z', 'e'),
  ];

  it('puts earlier rows in train and later rows in validation, sorted', () => {
    const split = temporalSplit(rows, { validationFraction: 0.4 });
    expect(split.train.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(split.validation.map((r) => r.id)).toEqual(['d', 'e']);
    expect(split.cutoff).toBe('2026-01-03T22:00:00.000Z');
  });

  it('splits at an explicit cutoff, keeping boundary ties together in validation', () => {
    const tied = [...rows, at('2026-01-03T00:00:00Z', 'c2')];
    const split = temporalSplit(tied, { cutoff: '2026-01-03T00:00:00Z' });
    expect(split.train.map((r) => r.id)).toEqual(['a', 'b']);
    expect(split.validation.map((r) => r.id)).toEqual(['c', 'c2', 'd', 'e']);
  });

  it('throws a clear error when a side would be empty or a timestamp is bad', () => {
    expect(() => temporalSplit(rows, { cutoff: '2025-01-01T00:00:00Z' })).toThrow(SplitError);
    expect(() => temporalSplit(rows, { cutoff: '2025-01-01T00:00:00Z' })).toThrow(/no training rows/);
    expect(() => temporalSplit(rows, { cutoff: '2027-01-01T00:00:00Z' })).toThrow(/no validation rows/);
    const same = [at('2026-01-01T00:00:00Z', 'x'), at('2026-01-01T00:00:00Z', 'y')];
    expect(() => temporalSplit(same, { validationFraction: 0.5 })).toThrow(/no training rows/);
    expect(() => temporalSplit([at('yesterday', 'x')], { validationFraction: 0.5 })).toThrow(/unparseable/);
  });

  it('randomSplit is an explicit, seeded alternative', () => {
    const ids = Array.from({ length: 100 }, (_, i) => i);
    const a = randomSplit(ids, { validationFraction: 0.2, seed: 5 });
    expect(a.validation).toHaveLength(20);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual(ids);
    expect(randomSplit(ids, { validationFraction: 0.2, seed: 5 })).toEqual(a);
    expect(randomSplit(ids, { validationFraction: 0.2, seed: 6 })).not.toEqual(a);
  });
});

describe('createRng', () => {
  it('is deterministic, in range, and roughly standard normal', () => {
    const a = createRng(123);
    const b = createRng(123);
    const draws = Array.from({ length: 10_000 }, () => a.next());
    expect(Array.from({ length: 10_000 }, () => b.next())).toEqual(draws);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const normals = Array.from({ length: 20_000 }, () => a.normal());
    const mean = normals.reduce((s, v) => s + v, 0) / normals.length;
    const variance = normals.reduce((s, v) => s + (v - mean) ** 2, 0) / normals.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    const ints = new Set(Array.from({ length: 1000 }, () => a.int(7)));
    expect([...ints].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => a.int(0)).toThrow(RangeError);
    expect(createRng(124).next()).not.toBe(createRng(123).next());
    const shuffled = a.shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(shuffled).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
