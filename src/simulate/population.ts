/**
 * The simulated user population and one request's features (pure: every value comes from a seeded
 * {@link Rng}). Users live in a fixed pool of slots derived from the scenario seed, so entities repeat
 * across days with stable attributes (country, plan, device, engagement; tenure grows day by day);
 * each request then draws the behavioural features of that visit.
 */
import type { Features } from '../schemas/records';
import { Categorical, Rng } from './rng';
import type { ScenarioConfig } from './scenario';
import { isWeekend } from './scenario';

export const PLANS = ['basic', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];
export const DEVICES = ['ios', 'android', 'web'] as const;
export type Device = (typeof DEVICES)[number];

/** The six big markets and their share of users before the rare tail is carved out. */
export const MAIN_COUNTRIES: ReadonlyArray<readonly [code: string, share: number]> = [
  ['US', 0.35],
  ['UK', 0.12],
  ['DE', 0.11],
  ['FR', 0.09],
  ['IN', 0.18],
  ['BR', 0.15],
];

/** The long tail: rare slices, sharing `rareSliceShare` between them in these proportions. */
export const RARE_COUNTRIES: ReadonlyArray<readonly [code: string, weight: number]> = [
  ['IS', 0.3],
  ['LU', 0.25],
  ['MT', 0.2],
  ['EE', 0.15],
  ['CY', 0.1],
];

/** What the country-encoding scenario logs instead of the code from `switchDay` on. */
export const COUNTRY_NAMES: Readonly<Record<string, string>> = {
  US: 'United States',
  UK: 'United Kingdom',
  DE: 'Germany',
};

const COUNTRY_CODES_BY_NAME: ReadonlyMap<string, string> = new Map(
  Object.entries(COUNTRY_NAMES).map(([code, name]) => [name, code]),
);

/** Maps a logged country (code or full name) back to its code. */
export function countryCode(logged: string): string {
  return COUNTRY_CODES_BY_NAME.get(logged) ?? logged;
}

/** The logged feature names, in logging order. */
export const FEATURE_NAMES = [
  'tenure_days',
  'sessions_per_week',
  'avg_session_minutes',
  'query_length',
  'support_tickets_30d',
  'days_since_last_login',
  'monthly_spend',
  'payment_failures_90d',
  'discount_used',
  'plan',
  'country',
  'device',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** Per-feature probability that the logged value is null (a missing value; the truth is unaffected). */
export const MISSING_RATES: Readonly<Partial<Record<FeatureName, number>>> = {
  avg_session_minutes: 0.02,
  days_since_last_login: 0.015,
  monthly_spend: 0.01,
  query_length: 0.005,
  support_tickets_30d: 0.005,
};

/** True (complete, code-encoded) feature values of one request. */
export interface ChurnFeatures {
  tenure_days: number;
  sessions_per_week: number;
  avg_session_minutes: number;
  query_length: number;
  support_tickets_30d: number;
  days_since_last_login: number;
  monthly_spend: number;
  payment_failures_90d: number;
  discount_used: boolean;
  plan: Plan;
  country: string;
  device: Device;
}

/**
 * One user: the current occupant of a pool slot. Each slot has a fixed lifetime; when it runs out the
 * user leaves and a new one (next generation, new entity id, new attributes) takes the slot with
 * tenure 0. So tenures stay stationary over time while entities repeat for weeks or months.
 */
export interface UserProfile {
  slot: number;
  generation: number;
  entityId: string;
  country: string;
  plan: Plan;
  device: Device;
  /** Tenure on the day asked for. */
  tenureDays: number;
  /** Latent engagement, N(0, 1): drives sessions, logins and tickets. */
  engagement: number;
  discountUsed: boolean;
  /** Monthly spend before any discount. */
  listSpend: number;
}

/** One simulated request: what really holds, and what the serving process logged. */
export interface SimulatedRequest {
  entityId: string;
  weekend: boolean;
  truth: ChurnFeatures;
  /** As logged in PredictionRow.features: may hold nulls and (country-encoding) full country names. */
  features: Features;
  slices: { country: string; plan: string; device: string };
}

const planDist = new Categorical<Plan>(PLANS, [0.6, 0.3, 0.1]);
const deviceDist = new Categorical<Device>(DEVICES, [0.35, 0.4, 0.25]);
const planPrice: Record<Plan, number> = { basic: 12, pro: 39, enterprise: 199 };
const planPaymentFailures: Record<Plan, number> = { basic: 0.22, pro: 0.12, enterprise: 0.05 };

/** Country shares for a config: the main markets scaled to 1 - rareSliceShare, plus the rare tail. */
export function countryShares(config: Pick<ScenarioConfig, 'rareSliceShare'>): Array<[string, number]> {
  const mainTotal = MAIN_COUNTRIES.reduce((a, [, s]) => a + s, 0);
  const rareTotal = RARE_COUNTRIES.reduce((a, [, w]) => a + w, 0);
  return [
    ...MAIN_COUNTRIES.map(([c, s]): [string, number] => [c, ((1 - config.rareSliceShare) * s) / mainTotal]),
    ...RARE_COUNTRIES.map(([c, w]): [string, number] => [c, (config.rareSliceShare * w) / rareTotal]),
  ];
}

const countryDists = new Map<number, Categorical<string>>();
function countryDist(rareSliceShare: number): Categorical<string> {
  let dist = countryDists.get(rareSliceShare);
  if (!dist) {
    const shares = countryShares({ rareSliceShare });
    dist = new Categorical(
      shares.map(([c]) => c),
      shares.map(([, s]) => s),
    );
    countryDists.set(rareSliceShare, dist);
  }
  return dist;
}

/** The entity id of generation `generation` of pool slot `slot`. */
export function entityIdOf(slot: number, generation: number): string {
  return `user-${String(slot).padStart(6, '0')}-g${generation}`;
}

/** Lifetime (days) and phase of a pool slot. */
function slotCycle(config: ScenarioConfig, slot: number): { lifetime: number; phase: number } {
  const rng = Rng.derive(config.seed, 'slot', slot);
  const lifetime = Math.min(3000, Math.max(30, Math.round(rng.lognormal(Math.log(500), 0.7))));
  return { lifetime, phase: rng.int(lifetime) };
}

/** The user in pool slot `slot` on day `dayIndex` (pure: derived from the seed, slot and day only). */
export function userProfile(config: ScenarioConfig, slot: number, dayIndex: number): UserProfile {
  const { lifetime, phase } = slotCycle(config, slot);
  const t = dayIndex + phase;
  const generation = Math.floor(t / lifetime);
  const rng = Rng.derive(config.seed, 'user', slot, generation);
  const engagement = rng.normal();
  const country = countryDist(config.rareSliceShare).sample(rng);
  const plan = planDist.sample(rng);
  const device = deviceDist.sample(rng);
  const discountUsed = rng.bernoulli(0.25);
  const listSpend = planPrice[plan] * rng.lognormal(0, 0.25);
  return {
    slot,
    generation,
    entityId: entityIdOf(slot, generation),
    country,
    plan,
    device,
    tenureDays: t - generation * lifetime,
    engagement,
    discountUsed,
    listSpend,
  };
}

/** Multiplicative daily growth of query_length and avg_session_minutes in the feature-drift scenario. */
export function featureDriftRates(config: ScenarioConfig): {
  queryLengthPerDay: number;
  sessionMinutesPerDay: number;
} {
  if (config.name !== 'feature-drift') return { queryLengthPerDay: 0, sessionMinutesPerDay: 0 };
  return {
    queryLengthPerDay: 0.02 * config.driftStrength,
    sessionMinutesPerDay: 0.01 * config.driftStrength,
  };
}

/** Whether day `dayIndex` logs full country names (country-encoding scenario only). */
export function logsCountryNames(config: ScenarioConfig, dayIndex: number): boolean {
  return config.name === 'country-encoding' && dayIndex >= config.switchDay;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Per-day constants of request drawing (computed once per day, not per request). */
export interface DayContext {
  dayIndex: number;
  weekend: boolean;
  /** Days of feature drift applied (0 before the start). */
  driftDays: number;
  queryLengthPerDay: number;
  sessionMinutesPerDay: number;
  countryNames: boolean;
}

export function dayContext(config: ScenarioConfig, dayIndex: number): DayContext {
  const drift = featureDriftRates(config);
  return {
    dayIndex,
    weekend: isWeekend(config, dayIndex),
    driftDays: Math.max(0, dayIndex),
    queryLengthPerDay: drift.queryLengthPerDay,
    sessionMinutesPerDay: drift.sessionMinutesPerDay,
    countryNames: logsCountryNames(config, dayIndex),
  };
}

/**
 * Draws one request of day `dayIndex` from `rng` (the day's population stream). The number of
 * uniform draws per request does not depend on the scenario, so for one seed every scenario sees the
 * same users and the same noise; only the scenario's own change differs.
 */
export function drawRequest(
  config: ScenarioConfig,
  dayIndex: number,
  rng: Rng,
  ctx: DayContext = dayContext(config, dayIndex),
): SimulatedRequest {
  const user = userProfile(config, rng.int(config.userPoolSize), dayIndex);
  const weekend = ctx.weekend;
  const w = weekend ? 1 : 0;
  const e = user.engagement;

  const sessions = rng.poisson(Math.exp(1.5 + 0.45 * e - 0.3 * w));
  const minutes = rng.lognormal(
    Math.log(11) + 0.15 * e + 0.3 * w + ctx.sessionMinutesPerDay * ctx.driftDays,
    0.45,
  );
  const query = rng.lognormal(Math.log(7) + 0.1 * w + ctx.queryLengthPerDay * ctx.driftDays, 0.45);
  const tickets = rng.poisson(Math.exp(-1 - 0.35 * e + (user.plan === 'basic' ? 0 : 0.2)));
  const sinceLogin = rng.poisson(Math.exp(0.9 - 0.6 * e + 0.2 * w));
  const paymentFailures = rng.poisson(planPaymentFailures[user.plan]);

  const truth: ChurnFeatures = {
    tenure_days: user.tenureDays,
    sessions_per_week: sessions,
    avg_session_minutes: Math.max(0.5, round1(minutes)),
    query_length: Math.max(1, Math.round(query)),
    support_tickets_30d: tickets,
    days_since_last_login: Math.min(60, sinceLogin),
    monthly_spend: round2(user.listSpend * (user.discountUsed ? 0.8 : 1)),
    payment_failures_90d: paymentFailures,
    discount_used: user.discountUsed,
    plan: user.plan,
    country: user.country,
    device: user.device,
  };

  const loggedCountry =
    ctx.countryNames && COUNTRY_NAMES[user.country] ? COUNTRY_NAMES[user.country] : user.country;
  // Fixed draw count: one uniform per feature that can go missing, used or not.
  const missing = (name: FeatureName): boolean => rng.next() < (MISSING_RATES[name] ?? 0);
  const missMinutes = missing('avg_session_minutes');
  const missLogin = missing('days_since_last_login');
  const missSpend = missing('monthly_spend');
  const missQuery = missing('query_length');
  const missTickets = missing('support_tickets_30d');

  const features: Features = {
    tenure_days: truth.tenure_days,
    sessions_per_week: truth.sessions_per_week,
    avg_session_minutes: missMinutes ? null : truth.avg_session_minutes,
    query_length: missQuery ? null : truth.query_length,
    support_tickets_30d: missTickets ? null : truth.support_tickets_30d,
    days_since_last_login: missLogin ? null : truth.days_since_last_login,
    monthly_spend: missSpend ? null : truth.monthly_spend,
    payment_failures_90d: truth.payment_failures_90d,
    discount_used: truth.discount_used,
    plan: truth.plan,
    country: loggedCountry,
    device: truth.device,
  };
  return {
    entityId: user.entityId,
    weekend,
    truth,
    features,
    slices: { country: loggedCountry, plan: truth.plan, device: truth.device },
  };
}
