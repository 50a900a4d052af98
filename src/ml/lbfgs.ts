/**
 * Limited-memory BFGS for a smooth function of a Float64Array: the full-batch solver for the linear
 * models' (convex) regularised log loss. Backtracking line search with the Armijo condition; a
 * correction pair is kept only when its curvature s·y is positive, so the implicit Hessian stays
 * positive definite. Pure and deterministic.
 */

/** Options of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Correction pairs kept. */
  memory?: number;
  maxIterations?: number;
  /** Converged when the largest gradient component is at most this. */
  gradientTolerance?: number;
}

/** What {@link minimizeLbfgs} found. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  /** Largest gradient component at `x`. */
  gradientNorm: number;
  iterations: number;
  /** True when the gradient tolerance was met (false: iteration cap, or no further decrease possible). */
  converged: boolean;
}

const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 60;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * Minimises `fg`, which returns f(x) and writes ∇f(x) into `grad`, starting from `x0` (not changed).
 */
export function minimizeLbfgs(
  fg: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  options: LbfgsOptions = {},
): LbfgsResult {
  const m = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.gradientTolerance ?? 1e-8;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  const direction = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  let iterations = 0;
  let converged = maxAbs(g) <= tolerance;

  while (!converged && iterations < maxIterations) {
    // Two-loop recursion: direction = −H·g.
    direction.set(g);
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(s[k], direction);
      const yk = y[k];
      for (let i = 0; i < n; i++) direction[i] -= alpha[k] * yk[i];
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const gamma = dot(s[last], y[last]) / dot(y[last], y[last]);
      for (let i = 0; i < n; i++) direction[i] *= gamma;
    }
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k] * dot(y[k], direction);
      const sk = s[k];
      for (let i = 0; i < n; i++) direction[i] += (alpha[k] - beta) * sk[i];
    }
    for (let i = 0; i < n; i++) direction[i] = -direction[i];
    let slope = dot(g, direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i];
      slope = dot(g, direction);
    }
    // First step without curvature information: a unit step along −g would be scaled by ‖g‖.
    let step = s.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = NaN;
    let accepted = false;
    for (let t = 0; t < MAX_BACKTRACKS; t++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * direction[i];
      fNew = fg(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + ARMIJO * step * slope) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    iterations++;
    if (!accepted) break; // No decrease representable in floating point: as good as it gets.
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i] - x[i];
      yk[i] = gNew[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12 * Math.sqrt(dot(sk, sk) * dot(yk, yk))) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    const previous = f;
    f = fNew;
    converged = maxAbs(g) <= tolerance;
    if (!converged && previous - f <= 1e-16 * Math.max(1, Math.abs(f)) && s.length > 0) {
      // Progress below rounding for a full step: further iterations cannot improve f.
      break;
    }
  }
  return { x, f, gradientNorm: maxAbs(g), iterations, converged };
}
