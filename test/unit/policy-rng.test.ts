import { compareStrings, fnv1a32, hashUnit, mulberry32, rankByHash } from '../../src/policy/rng';
import { toEpochMs, utcDay } from '../../src/policy/time';

describe('policy rng', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('fnv1a32(%j) matches the reference vector', (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
  });

  it('hashes UTF-8 bytes, so non-ASCII text matches other implementations', () => {
    // "é" is C3 A9 in UTF-8: FNV-1a over those two bytes.
    let h = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(h);
  });

  it('hashUnit is in [0,1), deterministic, and seed-dependent', () => {
    const a = hashUnit(1, 'row-1');
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    expect(hashUnit(1, 'row-1')).toBe(a);
    expect(hashUnit(2, 'row-1')).not.toBe(a);
  });

  it('mulberry32 repeats for a seed', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('rankByHash is a permutation independent of input order', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `id-${i}`);
    const ranked = rankByHash(ids, 7, (x) => x);
    expect([...ranked].sort(compareStrings)).toEqual([...ids].sort(compareStrings));
    expect(rankByHash([...ids].reverse(), 7, (x) => x)).toEqual(ranked);
  });

  it('time helpers parse ISO and epoch ms and reject garbage', () => {
    expect(toEpochMs('2026-01-01T00:00:00.000Z')).toBe(Date.UTC(2026, 0, 1));
    expect(toEpochMs(5)).toBe(5);
    expect(() => toEpochMs('yesterday')).toThrow('invalid time');
    expect(utcDay('2026-01-01T23:59:59+00:00')).toBe('2026-01-01');
  });
});
