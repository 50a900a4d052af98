import { mulberry32 } from '../../src/policy/rng';
import {
  EPSILON,
  jsDistance,
  jsDivergence,
  klDivergence,
  normalise,
  psi,
  smooth,
} from '../../src/monitoring';

/** Seeded (mulberry32, shared with the policies) so every run sees the same numbers. */
const seeded = mulberry32;

/** A random distribution over `bins` bins; about a fifth of the bins are empty (but never all). */
function randomDistribution(rand: () => number, bins: number): number[] {
  const xs = Array.from({ length: bins }, () => (rand() < 0.2 ? 0 : rand()));
  if (!xs.some((x) => x > 0)) xs[Math.floor(rand() * bins)] = 1;
  return normalise(xs);
}

describe('psi', () => {
  it('matches a hand computation without empty bins', () => {
    // r = [0.5, 0.5], c = [0.25, 0.75]
    // PSI = (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5)
    //     = (−0.25)(−0.693147) + (0.25)(0.405465) = 0.173287 + 0.101366 = 0.274653 (= 0.25·ln 3)
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * Math.log(3), 12);
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 6);
  });

  it('accepts counts as well as proportions', () => {
    expect(psi([50, 50], [250, 750])).toBeCloseTo(psi([0.5, 0.5], [0.25, 0.75]), 15);
  });

  it('gives an empty reference bin ε = 1e-4 and renormalises', () => {
    // r = [0.5, 0.5, 0] → [0.5, 0.5, 1e-4] / 1.0001 = [0.49995, 0.49995, 0.00009999]; c = [0.5, 0.25, 0.25]
    // PSI = (0.5 − 0.49995)·ln(0.5/0.49995)          ≈ 0.000000005
    //     + (0.25 − 0.49995)·ln(0.25/0.49995)        ≈ (−0.24995)(−0.693047) ≈ 0.173227
    //     + (0.25 − 0.00009999)·ln(0.25/0.00009999)  = (0.24990)·ln(2500.25) = (0.24990)(7.824146) ≈ 1.955254
    //     ≈ 0.000000005 + 0.173227 + 1.955254 = 2.128481
    const r = [0.5 / 1.0001, 0.5 / 1.0001, 1e-4 / 1.0001];
    const c = [0.5, 0.25, 0.25];
    const byHand = c.reduce((s, ci, i) => s + (ci - r[i]) * Math.log(ci / r[i]), 0);
    expect(byHand).toBeCloseTo(2.128481, 5);
    expect(psi([0.5, 0.5, 0], c)).toBeCloseTo(byHand, 12);
    expect(EPSILON).toBe(1e-4);
    expect(smooth([0.5, 0.5, 0])).toEqual(r);
  });

  it('is 0 for identical distributions and ≥ 0 for 1,000 random pairs', () => {
    const rand = seeded(42);
    for (let k = 0; k < 1000; k += 1) {
      const bins = 2 + Math.floor(rand() * 12);
      const p = randomDistribution(rand, bins);
      const q = randomDistribution(rand, bins);
      expect(psi(p, p)).toBe(0);
      expect(psi(p, q)).toBeGreaterThanOrEqual(0);
      // PSI is symmetric and equals KL(c‖r) + KL(r‖c) on the smoothed distributions.
      expect(psi(p, q)).toBeCloseTo(psi(q, p), 10);
      expect(psi(p, q)).toBeCloseTo(klDivergence(q, p) + klDivergence(p, q), 10);
    }
  });

  it('rejects mismatched, empty, negative or all-zero input', () => {
    expect(() => psi([1], [0.5, 0.5])).toThrow(RangeError);
    expect(() => psi([], [])).toThrow(RangeError);
    expect(() => psi([-1, 2], [1, 1])).toThrow(RangeError);
    expect(() => psi([0, 0], [1, 1])).toThrow(RangeError);
  });
});

describe('klDivergence', () => {
  it('matches a hand computation', () => {
    // KL(c‖r) with c = [0.25, 0.75], r = [0.5, 0.5]
    //   = 0.25·ln(0.25/0.5) + 0.75·ln(0.75/0.5) = 0.25(−0.693147) + 0.75(0.405465)
    //   = −0.173287 + 0.304099 = 0.130812
    expect(klDivergence([0.25, 0.75], [0.5, 0.5])).toBeCloseTo(0.130812, 6);
    // Not symmetric: KL(r‖c) = 0.5·ln(0.5/0.25) + 0.5·ln(0.5/0.75) = 0.346574 − 0.202733 = 0.143841
    expect(klDivergence([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.143841, 6);
  });

  it('smooths an empty bin in q', () => {
    // p = [0.5, 0.25, 0.25], q = [0.5, 0.5, 0] → q' = [0.49995, 0.49995, 0.00009999]
    // KL = 0.5·ln(0.5/0.49995) + 0.25·ln(0.25/0.49995) + 0.25·ln(0.25/0.00009999)
    //    = 0.00005 − 0.173262 + 1.956037 = 1.782825
    expect(klDivergence([0.5, 0.25, 0.25], [0.5, 0.5, 0])).toBeCloseTo(1.782825, 5);
  });

  it('is 0 for identical distributions and ≥ 0 for random pairs', () => {
    const rand = seeded(7);
    for (let k = 0; k < 500; k += 1) {
      const bins = 2 + Math.floor(rand() * 10);
      const p = randomDistribution(rand, bins);
      const q = randomDistribution(rand, bins);
      expect(klDivergence(p, p)).toBeCloseTo(0, 12);
      expect(klDivergence(p, q)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('jsDistance', () => {
  it('matches a hand computation', () => {
    // p = [0.5, 0.5], q = [0.25, 0.75], m = [0.375, 0.625]
    // KL(p‖m) = 0.5·ln(0.5/0.375) + 0.5·ln(0.5/0.625) = 0.143841 − 0.111572 = 0.032269
    // KL(q‖m) = 0.25·ln(0.25/0.375) + 0.75·ln(0.75/0.625) = −0.101366 + 0.136741 = 0.035375
    // JSD = (0.032269 + 0.035375) / 2 = 0.033822;  distance = √0.033822 = 0.183908
    expect(jsDivergence([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.033822, 6);
    expect(jsDistance([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.183908, 6);
  });

  it('needs no smoothing: disjoint distributions give exactly √(ln 2)', () => {
    // m = [0.5, 0.5]; KL(p‖m) = 1·ln(1/0.5) = ln 2 = KL(q‖m); JSD = ln 2
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 15);
    // p = [0.5, 0.5, 0], q = [0.5, 0.25, 0.25], m = [0.5, 0.375, 0.125]
    // JSD = ½[0.5·ln(0.5/0.375)] + ½[0.25·ln(0.25/0.375) + 0.25·ln(0.25/0.125)]
    //     = ½(0.143841) + ½(−0.101366 + 0.173287) = 0.071921 + 0.035960 = 0.107881
    expect(jsDivergence([0.5, 0.5, 0], [0.5, 0.25, 0.25])).toBeCloseTo(0.107881, 6);
  });

  it('is symmetric, 0 on identical input and bounded by √(ln 2) for 1,000 random pairs', () => {
    const rand = seeded(2024);
    const bound = Math.sqrt(Math.LN2);
    for (let k = 0; k < 1000; k += 1) {
      const bins = 2 + Math.floor(rand() * 12);
      const p = randomDistribution(rand, bins);
      const q = randomDistribution(rand, bins);
      const d = jsDistance(p, q);
      expect(d).toBe(jsDistance(q, p));
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(bound);
      expect(jsDistance(p, p)).toBe(0);
    }
  });
});
