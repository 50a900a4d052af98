/**
 * The true churn mechanism (pure). P(churn within a week | request) is a logistic function of the
 * request's features:
 *
 *   logit = intercept(θ) + β(θ)·z + country + plan + device + weekend
 *
 * where z are the behavioural features, standardised on a fixed reference sample, and θ is the
 * concept-drift angle of the day (0 outside the concept-drift scenario). β(θ) = cos θ·β_launch +
 * sin θ·β_new rotates the launch coefficients towards a new regime; β_new is made orthogonal to
 * β_launch with the same norm in the features' covariance metric, so the spread of the true logit —
 * and with it the best achievable precision — is the same every week, and the intercept is re-solved
 * so the weekday churn rate stays at `churnBase`. Only *which* users churn changes, not how many.
 *
 * query_length and avg_session_minutes carry no churn signal at all, so the feature-drift scenario
 * (which inflates them) leaves P(churn | user) exactly as it was.
 */
import type { Features, FeatureValue } from '../schemas/records';
import type { ChurnFeatures } from './population';
import {
  COUNTRY_NAMES,
  countryCode,
  countryShares,
  dayContext,
  DEVICES,
  drawRequest,
  featureDriftRates,
  PLANS,
} from './population';
import { Rng } from './rng';
import type { ScenarioConfig, ScenarioConfigInput } from './scenario';
import { isWeekend, rowsForDay, scenarioConfig, weekOf } from './scenario';

/** Behavioural features in the rotating part of the truth, with the transform applied before standardising. */
export const BEHAVIOURAL_FEATURES = [
  'sessions_per_week',
  'support_tickets_30d',
  'discount_used',
  'days_since_last_login',
  'tenure_days',
  'monthly_spend',
  'payment_failures_90d',
] as const;
export type BehaviouralFeature = (typeof BEHAVIOURAL_FEATURES)[number];

/** How each behavioural feature is transformed before standardising (documentation and bench output). */
export const BEHAVIOURAL_TRANSFORMS: Readonly<Record<BehaviouralFeature, string>> = {
  sessions_per_week: 'min(x, 40)',
  support_tickets_30d: 'min(x, 10)',
  discount_used: 'x ? 1 : 0',
  days_since_last_login: 'min(x, 30)',
  tenure_days: 'ln(1 + x)',
  monthly_spend: 'ln(max(x, 1))',
  payment_failures_90d: 'min(x, 5)',
};

function num(v: FeatureValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** Transformed behavioural values (null = missing). */
export function behaviouralValues(features: Features | ChurnFeatures): Array<number | null> {
  const f = features as Record<string, FeatureValue | undefined>;
  const sessions = num(f.sessions_per_week);
  const tickets = num(f.support_tickets_30d);
  const discount = num(f.discount_used);
  const login = num(f.days_since_last_login);
  const tenure = num(f.tenure_days);
  const spend = num(f.monthly_spend);
  const failures = num(f.payment_failures_90d);
  return [
    sessions === null ? null : Math.min(sessions, 40),
    tickets === null ? null : Math.min(tickets, 10),
    discount,
    login === null ? null : Math.min(login, 30),
    tenure === null ? null : Math.log1p(Math.max(0, tenure)),
    spend === null ? null : Math.log(Math.max(spend, 1)),
    failures === null ? null : Math.min(failures, 5),
  ];
}

/** Launch-regime effects per standard deviation (what pre-launch history and the reference scorer reflect). */
export const LAUNCH_COEFFICIENTS: Readonly<Record<BehaviouralFeature, number>> = {
  sessions_per_week: -0.9,
  support_tickets_30d: 0.6,
  discount_used: 0.45,
  days_since_last_login: 0.6,
  tenure_days: -0.5,
  monthly_spend: 0,
  payment_failures_90d: 0,
};

/**
 * The regime concept drift rotates towards (before orthogonalisation): heavy users now leave (a
 * competitor targets them), tickets and discounts flip sign, and payment failures and monthly spend
 * (a price rise) become new churn drivers.
 */
export const NEW_REGIME_COEFFICIENTS: Readonly<Record<BehaviouralFeature, number>> = {
  sessions_per_week: 0.6,
  support_tickets_30d: -0.3,
  discount_used: -0.5,
  days_since_last_login: 0.2,
  tenure_days: -0.2,
  monthly_spend: 0.7,
  payment_failures_90d: 0.9,
};

/** Static effects (logit), centred on the population at run time. Unknown countries get 0. */
export const COUNTRY_EFFECTS: Readonly<Record<string, number>> = {
  US: -0.5,
  UK: -0.4,
  DE: -0.6,
  FR: 0,
  IN: 0.5,
  BR: 0.4,
  IS: 0.3,
  LU: -0.2,
  MT: 0.4,
  EE: 0.3,
  CY: 0.5,
};
export const PLAN_EFFECTS: Readonly<Record<string, number>> = { basic: 0.3, pro: -0.1, enterprise: -0.7 };
export const DEVICE_EFFECTS: Readonly<Record<string, number>> = { ios: -0.15, android: 0.15, web: 0 };
const PLAN_SHARES: Record<string, number> = { basic: 0.6, pro: 0.3, enterprise: 0.1 };
const DEVICE_SHARES: Record<string, number> = { ios: 0.35, android: 0.4, web: 0.25 };
/** Weekend visitors are more casual: a direct logit bump on top of their (lower) activity. */
export const WEEKEND_EFFECT = 0.3;
/** Concept drift: rotation per production week at driftStrength 1 (90° after 7 weeks), capped at 180°. */
export const DEGREES_PER_WEEK = 90 / 7;

interface Calibration {
  mean: number[];
  sd: number[];
  /** Covariance of the standardised features (their correlation matrix). */
  cov: number[][];
  /** Standardised features and static keys of the weekday rows of the sample (for intercept solving). */
  rows: Array<{ z: number[]; country: string; plan: string; device: string }>;
}

let calibrationCache: Calibration | undefined;

/** Standardisation statistics, from a fixed reference sample (one stable week, seed 0x5eed). */
export function calibration(): Calibration {
  if (calibrationCache) return calibrationCache;
  const config = scenarioConfig({ name: 'stable', seed: 0x5eed, rowsPerDay: 3000 });
  const raw: number[][] = [];
  const keys: Array<{ country: string; plan: string; device: string; weekend: boolean }> = [];
  for (let day = 0; day < 7; day++) {
    const rng = Rng.derive(config.seed, 'calibration', day);
    const ctx = dayContext(config, day);
    const n = rowsForDay(config, day);
    for (let i = 0; i < n; i++) {
      const req = drawRequest(config, day, rng, ctx);
      raw.push(behaviouralValues(req.truth) as number[]);
      keys.push({
        country: req.truth.country,
        plan: req.truth.plan,
        device: req.truth.device,
        weekend: req.weekend,
      });
    }
  }
  const k = BEHAVIOURAL_FEATURES.length;
  const n = raw.length;
  const mean = Array.from({ length: k }, (_, j) => raw.reduce((a, r) => a + r[j], 0) / n);
  const sd = Array.from({ length: k }, (_, j) =>
    Math.sqrt(raw.reduce((a, r) => a + (r[j] - mean[j]) ** 2, 0) / (n - 1)),
  );
  const zs = raw.map((r) => r.map((x, j) => (x - mean[j]) / sd[j]));
  const cov = Array.from({ length: k }, (_, a) =>
    Array.from({ length: k }, (_, b) => zs.reduce((s, z) => s + z[a] * z[b], 0) / (n - 1)),
  );
  const rows = zs
    .map((z, i) => ({ z, ...keys[i] }))
    .filter((r) => !r.weekend)
    .map(({ z, country, plan, device }) => ({ z, country, plan, device }));
  calibrationCache = { mean, sd, cov, rows };
  return calibrationCache;
}

const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);
const quad = (cov: number[][], a: number[], b: number[]): number =>
  a.reduce((s, x, i) => s + x * dot(cov[i], b), 0);
const vec = (c: Readonly<Record<BehaviouralFeature, number>>): number[] =>
  BEHAVIOURAL_FEATURES.map((f) => c[f]);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

let regimeCache: { launch: number[]; next: number[] } | undefined;

/** β_launch and β_new (orthogonal to β_launch, same norm, in the covariance metric). */
function regimes(): { launch: number[]; next: number[] } {
  if (regimeCache) return regimeCache;
  const { cov } = calibration();
  const launch = vec(LAUNCH_COEFFICIENTS);
  const designed = vec(NEW_REGIME_COEFFICIENTS);
  const proj = quad(cov, launch, designed) / quad(cov, launch, launch);
  const orth = designed.map((x, i) => x - proj * launch[i]);
  const scale = Math.sqrt(quad(cov, launch, launch) / quad(cov, orth, orth));
  regimeCache = { launch, next: orth.map((x) => x * scale) };
  return regimeCache;
}

/** Centred static effects for a config (country shares depend on rareSliceShare). */
function staticEffects(config: ScenarioConfig): {
  country: Record<string, number>;
  plan: Record<string, number>;
  device: Record<string, number>;
  unknownCountry: number;
} {
  const shares = countryShares(config);
  const countryMean = shares.reduce((a, [c, s]) => a + s * (COUNTRY_EFFECTS[c] ?? 0), 0);
  const planMean = PLANS.reduce((a, p) => a + PLAN_SHARES[p] * PLAN_EFFECTS[p], 0);
  const deviceMean = DEVICES.reduce((a, d) => a + DEVICE_SHARES[d] * DEVICE_EFFECTS[d], 0);
  return {
    country: Object.fromEntries(shares.map(([c]) => [c, (COUNTRY_EFFECTS[c] ?? 0) - countryMean])),
    plan: Object.fromEntries(PLANS.map((p) => [p, PLAN_EFFECTS[p] - planMean])),
    device: Object.fromEntries(DEVICES.map((d) => [d, DEVICE_EFFECTS[d] - deviceMean])),
    unknownCountry: -countryMean,
  };
}

/** Concept-drift angle (radians) of a day: 0 before the start and outside the concept-drift scenario. */
export function driftAngle(config: ScenarioConfig, dayIndex: number): number {
  if (config.name !== 'concept-drift') return 0;
  const week = Math.max(0, weekOf(dayIndex));
  return Math.min(Math.PI, (config.driftStrength * week * DEGREES_PER_WEEK * Math.PI) / 180);
}

/** The ground truth of one day, ready to evaluate many requests. */
export interface TruthModel {
  dayIndex: number;
  weekend: boolean;
  /** Concept-drift angle in degrees. */
  angleDeg: number;
  intercept: number;
  /** Coefficient per standard deviation of each (transformed) behavioural feature. */
  coefficients: Record<BehaviouralFeature, number>;
  logit(features: Features | ChurnFeatures): number;
  probability(features: Features | ChurnFeatures): number;
}

const interceptCache = new Map<string, number>();

/** Intercept that makes the mean weekday churn probability on the reference sample equal churnBase. */
function solveIntercept(config: ScenarioConfig, beta: number[]): number {
  const key = `${config.churnBase}|${config.rareSliceShare}|${beta.join(',')}`;
  const cached = interceptCache.get(key);
  if (cached !== undefined) return cached;
  const { rows } = calibration();
  const st = staticEffects(config);
  const offsets = rows.map(
    (r) =>
      dot(beta, r.z) + (st.country[r.country] ?? st.unknownCountry) + st.plan[r.plan] + st.device[r.device],
  );
  // Newton's method on mean(sigmoid(b + offset)) = churnBase (monotone and smooth: a few steps).
  let b = Math.log(config.churnBase / (1 - config.churnBase));
  for (let it = 0; it < 50; it++) {
    let mean = 0;
    let slope = 0;
    for (const o of offsets) {
      const p = sigmoid(b + o);
      mean += p;
      slope += p * (1 - p);
    }
    const step = (mean - config.churnBase * offsets.length) / slope;
    b -= Math.max(-2, Math.min(2, step));
    if (Math.abs(step) < 1e-10) break;
  }
  interceptCache.set(key, b);
  return b;
}

/** The true churn model of day `dayIndex` (negative days: pre-launch history, launch regime). */
export function truthModel(config: ScenarioConfig, dayIndex: number): TruthModel {
  const { mean, sd } = calibration();
  const { launch, next } = regimes();
  const theta = driftAngle(config, dayIndex);
  const beta = launch.map((b, i) => Math.cos(theta) * b + Math.sin(theta) * next[i]);
  const intercept = solveIntercept(config, beta);
  const st = staticEffects(config);
  const weekend = isWeekend(config, dayIndex);
  const base = intercept + (weekend ? WEEKEND_EFFECT : 0);
  const logit = (features: Features | ChurnFeatures): number => {
    const values = behaviouralValues(features);
    let l = base;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== null) l += (beta[i] * (v - mean[i])) / sd[i];
    }
    const f = features as Record<string, FeatureValue | undefined>;
    const country = typeof f.country === 'string' ? countryCode(f.country) : '';
    l += st.country[country] ?? st.unknownCountry;
    l += st.plan[String(f.plan)] ?? 0;
    l += st.device[String(f.device)] ?? 0;
    return l;
  };
  return {
    dayIndex,
    weekend,
    angleDeg: (theta * 180) / Math.PI,
    intercept,
    coefficients: Object.fromEntries(BEHAVIOURAL_FEATURES.map((f, i) => [f, beta[i]])) as Record<
      BehaviouralFeature,
      number
    >,
    logit,
    probability: (features) => sigmoid(logit(features)),
  };
}

/** True P(churn) of a request on day `dayIndex`. Logged features work too: full country names map back to codes, nulls count as average. */
export function churnProbability(
  config: ScenarioConfigInput,
  dayIndex: number,
  features: Features | ChurnFeatures,
): number {
  return truthModel(scenarioConfig(config), dayIndex).probability(features);
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Everything that defines the scenario's truth and drift, for benches and reports (plain JSON). */
export function driftParameters(input: ScenarioConfigInput): {
  scenario: ScenarioConfig;
  behaviouralTransforms: Record<BehaviouralFeature, string>;
  standardisation: Record<BehaviouralFeature, { mean: number; sd: number }>;
  launchCoefficients: Record<BehaviouralFeature, number>;
  newRegimeCoefficients: Record<BehaviouralFeature, number>;
  staticEffects: {
    country: Record<string, number>;
    plan: Record<string, number>;
    device: Record<string, number>;
  };
  weekendEffect: number;
  conceptDrift: {
    degreesPerWeek: number;
    weeks: Array<{
      week: number;
      fromDay: number;
      angleDeg: number;
      intercept: number;
      coefficients: Record<string, number>;
    }>;
  } | null;
  featureDrift: { queryLengthGrowthPerDay: number; sessionMinutesGrowthPerDay: number } | null;
  countryEncoding: { switchDay: number; names: Record<string, string> } | null;
} {
  const config = scenarioConfig(input);
  const { mean, sd } = calibration();
  const { launch, next } = regimes();
  const st = staticEffects(config);
  const round = (o: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, r4(v)]));
  const byFeature = (v: number[]): Record<BehaviouralFeature, number> =>
    Object.fromEntries(BEHAVIOURAL_FEATURES.map((f, i) => [f, r4(v[i])])) as Record<
      BehaviouralFeature,
      number
    >;
  const weeks = Math.ceil(config.days / 7);
  return {
    scenario: config,
    behaviouralTransforms: { ...BEHAVIOURAL_TRANSFORMS },
    standardisation: Object.fromEntries(
      BEHAVIOURAL_FEATURES.map((f, i) => [f, { mean: r4(mean[i]), sd: r4(sd[i]) }]),
    ) as Record<BehaviouralFeature, { mean: number; sd: number }>,
    launchCoefficients: byFeature(launch),
    newRegimeCoefficients: byFeature(next),
    staticEffects: { country: round(st.country), plan: round(st.plan), device: round(st.device) },
    weekendEffect: WEEKEND_EFFECT,
    conceptDrift:
      config.name === 'concept-drift'
        ? {
            degreesPerWeek: r4(DEGREES_PER_WEEK * config.driftStrength),
            weeks: Array.from({ length: weeks }, (_, week) => {
              const m = truthModel(config, week * 7);
              return {
                week: week + 1,
                fromDay: week * 7,
                angleDeg: r4(m.angleDeg),
                intercept: r4(m.intercept),
                coefficients: round(m.coefficients),
              };
            }),
          }
        : null,
    featureDrift:
      config.name === 'feature-drift'
        ? {
            queryLengthGrowthPerDay: featureDriftRates(config).queryLengthPerDay,
            sessionMinutesGrowthPerDay: featureDriftRates(config).sessionMinutesPerDay,
          }
        : null,
    countryEncoding:
      config.name === 'country-encoding'
        ? { switchDay: config.switchDay, names: { ...COUNTRY_NAMES } }
        : null,
  };
}
