/**
 * A fixed, hand-set reference scorer: a stand-in for the deployed churn model until a trained model
 * exists. It is a logistic function of the logged features whose coefficients were set by hand to
 * roughly match the launch-day ground truth (see ground-truth.ts), keyed on country CODES — so it is
 * about as good as a freshly trained model on day 0, never learns anything afterwards, and is hurt by
 * the country-encoding switch (full names fall into its "other country" bucket) and by concept drift.
 *
 * Any function with the {@link Scorer} signature can replace it (e.g. a trained model's predict).
 */
import type { Features, FeatureValue } from '../schemas/records';

/** What a scorer returns for one request. */
export interface ScoreResult {
  predictedLabel: 'churn' | 'stay';
  scores: { churn: number; stay: number };
}

/** Scores one request from its logged features. Must be pure and deterministic. */
export type Scorer = (features: Features) => ScoreResult;

/** A scorer plus the model version written into PredictionRow.modelVersion. */
export interface ScoringModel {
  modelVersion: string;
  scorer: Scorer;
}

export const REFERENCE_MODEL_VERSION = 'reference-v0';

/** The reference scorer's hand-set coefficients (per raw unit of the transformed feature). */
export const REFERENCE_COEFFICIENTS = {
  intercept: -0.25,
  /** per session per week, capped at 40 */
  sessions_per_week: -0.28,
  /** per ticket in the last 30 days, capped at 10 */
  support_tickets_30d: 0.9,
  discount_used: 1.05,
  /** per day since the last login, capped at 30 */
  days_since_last_login: 0.22,
  /** per unit of ln(1 + tenure_days) */
  log_tenure_days: -0.42,
  country: { US: -0.35, UK: -0.25, DE: -0.45, FR: 0.15, IN: 0.6, BR: 0.55 } as Readonly<
    Record<string, number>
  >,
  /** Any other country value: the rare tail, and anything it has never seen (such as 'United States'). */
  otherCountry: 0.5,
  plan: { basic: 0.2, pro: -0.2, enterprise: -0.8 } as Readonly<Record<string, number>>,
  device: { ios: -0.15, android: 0.15, web: 0 } as Readonly<Record<string, number>>,
  /** Predict 'churn' when P(churn) ≥ threshold. */
  threshold: 0.5,
} as const;

/** Values used for missing (null) numeric features: the launch population's means. */
export const REFERENCE_IMPUTATION = {
  sessions_per_week: 4.7,
  support_tickets_30d: 0.43,
  discount_used: 0.245,
  days_since_last_login: 3.1,
  log_tenure_days: 5.22,
} as const;

function numeric(v: FeatureValue | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** P(churn) under the reference coefficients. */
export function referenceChurnProbability(features: Features): number {
  const c = REFERENCE_COEFFICIENTS;
  const imp = REFERENCE_IMPUTATION;
  const sessions = numeric(features.sessions_per_week);
  const tickets = numeric(features.support_tickets_30d);
  const discount = numeric(features.discount_used);
  const login = numeric(features.days_since_last_login);
  const tenure = numeric(features.tenure_days);
  let logit = c.intercept;
  logit += c.sessions_per_week * (sessions === null ? imp.sessions_per_week : Math.min(sessions, 40));
  logit += c.support_tickets_30d * (tickets === null ? imp.support_tickets_30d : Math.min(tickets, 10));
  logit += c.discount_used * (discount ?? imp.discount_used);
  logit += c.days_since_last_login * (login === null ? imp.days_since_last_login : Math.min(login, 30));
  logit += c.log_tenure_days * (tenure === null ? imp.log_tenure_days : Math.log1p(Math.max(0, tenure)));
  const country = typeof features.country === 'string' ? features.country : '';
  logit += c.country[country] ?? c.otherCountry;
  logit += c.plan[String(features.plan)] ?? 0;
  logit += c.device[String(features.device)] ?? 0;
  return 1 / (1 + Math.exp(-logit));
}

/** The reference scorer (model version 'reference-v0'). */
export const referenceScorer: Scorer = (features) => {
  const churn = round6(referenceChurnProbability(features));
  return {
    predictedLabel: churn >= REFERENCE_COEFFICIENTS.threshold ? 'churn' : 'stay',
    scores: { churn, stay: round6(1 - churn) },
  };
};

export const referenceModel: ScoringModel = {
  modelVersion: REFERENCE_MODEL_VERSION,
  scorer: referenceScorer,
};
