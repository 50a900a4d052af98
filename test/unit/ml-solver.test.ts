import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainingRow } from '../../src/ml';
import { trainArtifact, transformBatch } from '../../src/ml';
import { minimizeLbfgs } from '../../src/ml/lbfgs';
import type { LinearProblem } from '../../src/ml/linear-full-batch';
import { linearObjective, linearProblem, thetaOf } from '../../src/ml/linear-full-batch';
import { generateHistory } from '../../src/simulate/generate';

/**
 * The built-in trainers reach the minimum of their own objective (issue 17 §3): the final objective
 * of the default (full-batch L-BFGS) solve is within 1e-4 relative of an independent, tight Newton
 * solve of the same objective, on two real data sets.
 */
const dataDir = path.join(__dirname, '../../node_modules/vega-datasets/data');

function penguins(): TrainingRow[] {
  const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
  const raw = JSON.parse(fs.readFileSync(path.join(dataDir, 'penguins.json'), 'utf8')) as Record<
    string,
    unknown
  >[];
  return raw
    .filter((r) => typeof r.Species === 'string' && r.Species !== '')
    .map((r) => ({
      label: r.Species as string,
      features: Object.fromEntries(
        [...numeric, 'Island', 'Sex'].map((key) => {
          const v = r[key];
          return [key, typeof v === 'number' || typeof v === 'string' ? v : null];
        }),
      ),
    }));
}

function seattle(): TrainingRow[] {
  const [header, ...lines] = fs
    .readFileSync(path.join(dataDir, 'seattle-weather.csv'), 'utf8')
    .trim()
    .split(/\r?\n/);
  const columns = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const r = Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
    return {
      label: r.weather,
      features: {
        precipitation: Number(r.precipitation),
        temp_max: Number(r.temp_max),
        temp_min: Number(r.temp_min),
        wind: Number(r.wind),
      },
    };
  });
}

/** Solves H·x = b for a symmetric positive definite H (Cholesky); H is n × n row-major. */
function solveSpd(H: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = H[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(s) : s / L[j * n + j];
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** The exact Hessian of the objective at θ (softmax or logistic head). */
function hessian(p: LinearProblem, theta: Float64Array): Float64Array {
  const { data, y, n, d, nOut } = p;
  const P = nOut * d + nOut;
  const H = new Float64Array(P * P);
  const idx = (k: number, a: number): number => (a === d ? nOut * d + k : k * d + a);
  const xt = new Float64Array(d + 1);
  const prob = new Float64Array(nOut);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) xt[a] = data[i * d + a];
    xt[d] = 1;
    const sw = p.classWeight[y[i]] / n;
    const curvature: number[][] = [];
    if (!p.softmax) {
      let z = theta[nOut * d];
      for (let a = 0; a < d; a++) z += theta[a] * xt[a];
      const s = 1 / (1 + Math.exp(-z));
      curvature.push([s * (1 - s)]);
    } else {
      let top = -Infinity;
      for (let k = 0; k < nOut; k++) {
        let z = theta[nOut * d + k];
        for (let a = 0; a < d; a++) z += theta[k * d + a] * xt[a];
        prob[k] = z;
        top = Math.max(top, z);
      }
      let total = 0;
      for (let k = 0; k < nOut; k++) total += prob[k] = Math.exp(prob[k] - top);
      for (let k = 0; k < nOut; k++) prob[k] /= total;
      for (let k = 0; k < nOut; k++)
        curvature.push(Array.from({ length: nOut }, (_, l) => prob[k] * ((k === l ? 1 : 0) - prob[l])));
    }
    for (let k = 0; k < nOut; k++)
      for (let l = 0; l < nOut; l++) {
        const c = sw * curvature[k][l];
        if (c === 0) continue;
        for (let a = 0; a <= d; a++)
          for (let b = 0; b <= d; b++) H[idx(k, a) * P + idx(l, b)] += c * xt[a] * xt[b];
      }
  }
  for (let q = 0; q < nOut * d; q++) H[q * P + q] += p.l2;
  return H;
}

/** Damped Newton to a gradient below 1e-11: the reference minimum. */
function newtonMinimum(p: LinearProblem): number {
  const P = p.nOut * p.d + p.nOut;
  let theta = new Float64Array(P);
  const g = new Float64Array(P);
  let f = linearObjective(p, theta, g).objective;
  for (let it = 0; it < 200; it++) {
    if (Math.max(...g.map(Math.abs)) < 1e-11) break;
    const H = hessian(p, theta);
    // A tiny ridge: softmax biases are only determined up to a common constant.
    for (let q = 0; q < P; q++) H[q * P + q] += 1e-12;
    const step = solveSpd(
      H,
      g.map((v) => -v),
      P,
    );
    let t = 1;
    for (;;) {
      const next = theta.map((v, q) => v + t * step[q]);
      const gNext = new Float64Array(P);
      const fNext = linearObjective(p, next, gNext).objective;
      if (fNext <= f || t < 1e-12) {
        theta = next;
        f = fNext;
        g.set(gNext);
        break;
      }
      t /= 2;
    }
  }
  return f;
}

function objectives(rows: TrainingRow[], solver: 'auto' | 'adam'): { trained: number; reference: number } {
  const artifact = trainArtifact({ rows, options: { seed: 1, solver } });
  const X = transformBatch(
    artifact.pipeline,
    rows.map((r) => r.features),
  );
  const index = new Map(artifact.classes.map((c, k) => [c, k]));
  const y = Int32Array.from(rows, (r) => index.get(r.label)!);
  const problem = linearProblem({ X, y, classes: artifact.classes }, artifact.model.kind, { l2: 1e-4 });
  return {
    trained: linearObjective(problem, thetaOf(artifact.model)).objective,
    reference: newtonMinimum(problem),
  };
}

describe('the default solver reaches the objective minimum', () => {
  it.each([
    ['penguins, 3-class softmax', penguins],
    ['seattle-weather, 5-class softmax', seattle],
    ['bundled simulator, churn (logistic)', () => generateHistory({ name: 'stable', seed: 2 }, { days: 3 })],
    [
      'seattle-weather, rain vs not (logistic)',
      () => seattle().map((r) => ({ ...r, label: r.label === 'rain' ? 'rain' : 'dry' })),
    ],
  ])('%s: within 1e-4 relative of a Newton solve', (_name, rows) => {
    const data = rows();
    const { trained, reference } = objectives(data, 'auto');
    const adam = objectives(data, 'adam').trained;
    console.log(
      `${_name}: L-BFGS ${trained.toPrecision(8)}, Newton ${reference.toPrecision(8)}, Adam ${adam.toPrecision(8)}`,
    );
    expect(Math.abs(trained - reference) / reference).toBeLessThanOrEqual(1e-4);
    expect(trained).toBeLessThanOrEqual(adam);
  });
});

describe('minimizeLbfgs', () => {
  it('finds the minimum of the Rosenbrock function', () => {
    const result = minimizeLbfgs(
      (x, g) => {
        const [a, b] = x;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { gradientTolerance: 1e-10 },
    );
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 8);
    expect(result.x[1]).toBeCloseTo(1, 8);
  });
});
