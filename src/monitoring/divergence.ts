/**
 * Distances between two binned distributions (same bins, same order). Inputs may be counts or
 * proportions: each side is first divided by its own sum.
 *
 * Notation: r = reference proportions, c = current proportions, i runs over the bins, ln is the natural
 * logarithm. The exact formulas are also in src/monitoring/README.md.
 */

/** Proportion given to an empty bin before renormalising (PSI and KL are infinite on empty bins). */
export const EPSILON = 1e-4;

/** Divides by the sum after checking the input is a usable distribution. */
export function normalise(xs: readonly number[], what = 'distribution'): number[] {
  if (xs.length === 0) throw new RangeError(`${what} is empty`);
  let sum = 0;
  for (const x of xs) {
    if (!Number.isFinite(x) || x < 0)
      throw new RangeError(`${what} has a negative or non-finite entry (${x})`);
    sum += x;
  }
  if (sum <= 0) throw new RangeError(`${what} sums to 0`);
  return xs.map((x) => x / sum);
}

/**
 * ε-smoothing used by {@link psi} and {@link klDivergence}: normalise, replace every 0 by ε = 1e-4, and
 * renormalise so the result sums to 1 again:
 *
 *   p'_i = max(p_i, ε) / Σ_j max(p_j, ε)   where p_i = x_i / Σ_j x_j and max(p_i, ε) means "ε if p_i = 0".
 *
 * Only zeros are replaced (a bin holding 0.00005 keeps it), so a distribution without empty bins is
 * unchanged.
 */
export function smooth(xs: readonly number[], epsilon = EPSILON, what = 'distribution'): number[] {
  const p = normalise(xs, what).map((x) => (x === 0 ? epsilon : x));
  const sum = p.reduce((s, x) => s + x, 0);
  return p.map((x) => x / sum);
}

function sameLength(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) throw new RangeError(`distributions have ${a.length} and ${b.length} bins`);
}

/**
 * Population Stability Index of the current distribution against the reference, after ε-smoothing
 * both sides ({@link smooth}):
 *
 *   PSI = Σ_i (c_i − r_i) · ln(c_i / r_i)
 *
 * Every term is ≥ 0 (both factors have the same sign), so PSI ≥ 0, with 0 exactly when c = r. It is
 * symmetric and equals KL(c‖r) + KL(r‖c). Usual reading: < 0.1 no drift, 0.1–0.25 slight, ≥ 0.25 major.
 */
export function psi(refProportions: readonly number[], curProportions: readonly number[]): number {
  sameLength(refProportions, curProportions);
  const r = smooth(refProportions, EPSILON, 'reference');
  const c = smooth(curProportions, EPSILON, 'current');
  let sum = 0;
  for (let i = 0; i < r.length; i += 1) {
    if (c[i] !== r[i]) sum += (c[i] - r[i]) * Math.log(c[i] / r[i]);
  }
  return sum;
}

/**
 * Kullback–Leibler divergence KL(p‖q) in nats after ε-smoothing both sides ({@link smooth}):
 *
 *   KL(p‖q) = Σ_i p_i · ln(p_i / q_i)
 *
 * Drift reports call it as `klDivergence(current, reference)`, i.e. KL(c‖r) = Σ c_i ln(c_i / r_i): the
 * extra nats needed to encode current data with a code built for the reference. Not symmetric.
 * Mathematically ≥ 0; a floating-point result a hair below 0 is returned as 0.
 */
export function klDivergence(p: readonly number[], q: readonly number[]): number {
  sameLength(p, q);
  const ps = smooth(p, EPSILON, 'p');
  const qs = smooth(q, EPSILON, 'q');
  let sum = 0;
  for (let i = 0; i < ps.length; i += 1) sum += ps[i] * Math.log(ps[i] / qs[i]);
  return Math.max(0, sum);
}

/**
 * Jensen–Shannon divergence in nats, without ε-smoothing (none is needed: the mixture m is positive
 * wherever p or q is, and 0 · ln 0 is taken as 0):
 *
 *   m_i = (p_i + q_i) / 2
 *   JSD(p, q) = ½ Σ_i p_i ln(p_i / m_i) + ½ Σ_i q_i ln(q_i / m_i)
 *
 * Symmetric and in [0, ln 2]; the result is clamped to that range to absorb floating-point rounding.
 */
export function jsDivergence(p: readonly number[], q: readonly number[]): number {
  sameLength(p, q);
  const pn = normalise(p, 'p');
  const qn = normalise(q, 'q');
  let sum = 0;
  for (let i = 0; i < pn.length; i += 1) {
    const m = (pn[i] + qn[i]) / 2;
    // Both halves of a bin are added together first: a + b === b + a in floating point, so the result
    // is exactly symmetric, not just up to rounding.
    const a = pn[i] > 0 ? pn[i] * Math.log(pn[i] / m) : 0;
    const b = qn[i] > 0 ? qn[i] * Math.log(qn[i] / m) : 0;
    sum += a + b;
  }
  return Math.min(Math.LN2, Math.max(0, sum / 2));
}

/**
 * Jensen–Shannon distance: √JSD(p, q) with the natural logarithm, so it lies in [0, √(ln 2)] ≈ [0, 0.8326]
 * (0 for identical distributions, √(ln 2) for disjoint ones). Unlike JSD it is a metric (triangle
 * inequality). It matches `scipy.spatial.distance.jensenshannon(p, q)` with its default base e.
 */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  return Math.sqrt(jsDivergence(p, q));
}
