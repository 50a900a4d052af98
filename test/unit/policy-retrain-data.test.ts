import { capFeedbackShare } from '../../src/policy/retrain-data';

const feedback = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ requestId: `fb-${i}`, label: i % 2 ? 'a' : 'b' }));

describe('capFeedbackShare', () => {
  it.each([
    // base, offered, maxShare, expected kept
    [700, 1000, 0.3, 300],
    [100, 1000, 0.3, 42],
    [1000, 50, 0.3, 50],
    [0, 10, 0.3, 0],
    [500, 10, 0, 0],
    [500, 10, 1, 10],
    [100, 1000, 0.5, 100],
  ])('base %p, %p offered, max %p → %p kept', (base, offered, maxShare, expected) => {
    const r = capFeedbackShare({ base, feedback: feedback(offered), maxShare, seed: 1 });
    expect(r.kept).toHaveLength(expected);
    expect(r.report).toMatchObject({
      baseRows: base,
      feedbackOffered: offered,
      feedbackKept: expected,
      maxShare,
    });
    expect(r.report.share).toBeLessThanOrEqual(maxShare + 1e-12);
  });

  it('defaults to a 30% cap', () => {
    expect(capFeedbackShare({ base: 700, feedback: feedback(1000), seed: 1 }).report.share).toBeCloseTo(
      0.3,
      12,
    );
  });

  it('keeps a deterministic, seed-dependent subset in the original order', () => {
    const rows = feedback(1000);
    const a = capFeedbackShare({ base: 700, feedback: rows, seed: 1 }).kept;
    const b = capFeedbackShare({ base: 700, feedback: rows, seed: 1 }).kept;
    const c = capFeedbackShare({ base: 700, feedback: rows, seed: 2 }).kept;
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const index = a.map((row) => rows.indexOf(row));
    expect(index.every((x) => x >= 0)).toBe(true);
    expect([...index].sort((x, y) => x - y)).toEqual(index);
  });

  it('rejects a bad base count or share', () => {
    expect(() => capFeedbackShare({ base: -1, feedback: [], seed: 1 })).toThrow('non-negative');
    expect(() => capFeedbackShare({ base: 1, feedback: [], seed: 1, maxShare: 2 })).toThrow();
  });
});
