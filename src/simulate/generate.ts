/**
 * Turns the population, the ground truth and a scorer into log rows (pure). Each day has its own
 * seeded streams (times, population, labels, outcomes, latency), so any day can be generated on its
 * own, in any order, and always gives the same rows.
 */
import type { LabeledRow, OutcomeRow, PredictionRow } from '../schemas/records';
import { truthModel } from './ground-truth';
import type { SimulatedRequest } from './population';
import { dayContext, drawRequest } from './population';
import type { Scorer, ScoringModel } from './reference-scorer';
import { referenceModel, referenceScorer, REFERENCE_MODEL_VERSION } from './reference-scorer';
import { Categorical, Rng } from './rng';
import type { ScenarioConfig, ScenarioConfigInput } from './scenario';
import { DAY_MS, dayDate, dayStartMs, rowsForDay, scenarioConfig } from './scenario';

export const DEFAULT_MODEL_ID = 'churn';
export const CHURN = 'churn';
export const STAY = 'stay';

/** Relative traffic per UTC hour: quiet nights, a morning ramp and an evening peak. */
export const HOURLY_TRAFFIC = [
  0.6, 0.4, 0.3, 0.3, 0.3, 0.4, 0.7, 1.1, 1.4, 1.5, 1.5, 1.5, 1.6, 1.5, 1.4, 1.4, 1.5, 1.7, 2.0, 2.2, 2.1,
  1.8, 1.3, 0.9,
] as const;
const hourDist = new Categorical(
  HOURLY_TRAFFIC.map((_, h) => h),
  HOURLY_TRAFFIC,
);

/** The truth behind one generated request (for benches and tests; never logged). */
export interface TruthRow {
  requestId: string;
  /** True P(churn) on that day. */
  probability: number;
  label: 'churn' | 'stay';
}

export interface GeneratedDay {
  dayIndex: number;
  /** YYYY-MM-DD (UTC) of the predictions. */
  date: string;
  /** In timestamp order. */
  predictions: PredictionRow[];
  /** In timestamp order; an observed outcome per prediction plus some user reports and heuristics. */
  outcomes: OutcomeRow[];
  /** Only with `includeTruth`. */
  truth?: TruthRow[];
}

export interface GenerateDayOptions {
  /** PredictionRow.modelId; default 'churn'. */
  modelId?: string;
  /** Overrides the model version (required when passing a bare scorer other than the reference one). */
  modelVersion?: string;
  /** Also return the true probability and label of every request. */
  includeTruth?: boolean;
}

/** A ScoringModel from a model or a bare scorer (a bare scorer other than the reference one needs a version). */
export function resolveScoringModel(model: ScoringModel | Scorer, modelVersion?: string): ScoringModel {
  if (typeof model !== 'function') return modelVersion ? { ...model, modelVersion } : model;
  if (modelVersion) return { modelVersion, scorer: model };
  if (model === referenceScorer) return { modelVersion: REFERENCE_MODEL_VERSION, scorer: model };
  throw new Error('generateDay: a bare scorer needs options.modelVersion (or pass { modelVersion, scorer })');
}

function requestTimes(config: ScenarioConfig, dayIndex: number, n: number): number[] {
  const rng = Rng.derive(config.seed, 'day', dayIndex, 'time');
  const start = dayStartMs(config, dayIndex);
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) times[i] = start + hourDist.sample(rng) * 3_600_000 + rng.int(3_600_000);
  return times.sort((a, b) => a - b);
}

interface SimulatedDayRow {
  index: number;
  timeMs: number;
  request: SimulatedRequest;
  probability: number;
  label: 'churn' | 'stay';
}

/** The requests of one day with their true labels, before any scoring or logging. */
function* simulateRequests(config: ScenarioConfig, dayIndex: number): Generator<SimulatedDayRow> {
  const n = rowsForDay(config, dayIndex);
  const times = requestTimes(config, dayIndex, n);
  const population = Rng.derive(config.seed, 'day', dayIndex, 'population');
  const labels = Rng.derive(config.seed, 'day', dayIndex, 'labels');
  const ctx = dayContext(config, dayIndex);
  const truth = truthModel(config, dayIndex);
  for (let i = 0; i < n; i++) {
    const request = drawRequest(config, dayIndex, population, ctx);
    const probability = truth.probability(request.truth);
    const label = labels.next() < probability ? CHURN : STAY;
    yield { index: i, timeMs: times[i], request, probability, label };
  }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const iso = (ms: number): string => new Date(ms).toISOString();
const flip = (label: 'churn' | 'stay'): 'churn' | 'stay' => (label === CHURN ? STAY : CHURN);

/** The deterministic request id of request `i` of production day `dayIndex`. */
export function requestIdOf(config: ScenarioConfig, dayIndex: number, i: number): string {
  return `${config.name}-${config.seed}-d${dayIndex}-${i}`;
}

/**
 * One production day: the prediction log rows (scored by `model`, the reference scorer by default)
 * and every outcome the day's requests will produce — the observed label `labelDelayDays` later
 * (confidence 1), and for some requests an earlier user report (confidence 0.6-0.9, right with
 * probability = confidence) and/or a heuristic label (confidence 0.3-0.6, right with probability
 * 0.5 + confidence/2), so sources sometimes disagree.
 */
export function generateDay(
  input: ScenarioConfigInput,
  dayIndex: number,
  model: ScoringModel | Scorer = referenceModel,
  options: GenerateDayOptions = {},
): GeneratedDay {
  const config = scenarioConfig(input);
  if (!Number.isInteger(dayIndex) || dayIndex < 0)
    throw new Error(`dayIndex must be a non-negative integer, got ${dayIndex}`);
  const { modelVersion, scorer } = resolveScoringModel(model, options.modelVersion);
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  const outcomeRng = Rng.derive(config.seed, 'day', dayIndex, 'outcomes');
  const latencyRng = Rng.derive(config.seed, 'day', dayIndex, 'latency');
  const delayMs = config.labelDelayDays * DAY_MS;

  const predictions: PredictionRow[] = [];
  const outcomes: OutcomeRow[] = [];
  const truth: TruthRow[] = [];
  for (const row of simulateRequests(config, dayIndex)) {
    const requestId = requestIdOf(config, dayIndex, row.index);
    const scored = scorer(row.request.features);
    const churnScore = scored.scores.churn;
    const stayScore = scored.scores.stay;
    if (!(churnScore >= 0 && churnScore <= 1 && stayScore >= 0 && stayScore <= 1)) {
      throw new Error(`scorer ${modelVersion} returned scores outside [0, 1] for ${requestId}`);
    }
    predictions.push({
      requestId,
      timestamp: iso(row.timeMs),
      modelId,
      modelVersion,
      entityId: row.request.entityId,
      features: row.request.features,
      predictedLabel: scored.predictedLabel,
      scores: { churn: churnScore, stay: stayScore },
      slices: row.request.slices,
      role: 'champion',
      latencyMs: round1(latencyRng.lognormal(Math.log(8), 0.35)),
    });
    outcomes.push({
      requestId,
      observedLabel: row.label,
      source: 'observed',
      confidence: 1,
      timestamp: iso(row.timeMs + delayMs),
    });
    // Fixed draw count per request keeps the stream aligned whatever the labels are.
    const reportDraw = outcomeRng.next();
    const reportConfidence = round2(outcomeRng.uniform(0.6, 0.9));
    const reportCorrect = outcomeRng.next() < reportConfidence;
    const reportDelay = Math.round(outcomeRng.uniform(0.05, 0.9) * delayMs);
    if (reportDraw < config.userReportShare) {
      outcomes.push({
        requestId,
        observedLabel: reportCorrect ? row.label : flip(row.label),
        source: 'user-report',
        confidence: reportConfidence,
        timestamp: iso(row.timeMs + reportDelay),
      });
    }
    const heuristicDraw = outcomeRng.next();
    const heuristicConfidence = round2(outcomeRng.uniform(0.3, 0.6));
    const heuristicCorrect = outcomeRng.next() < 0.5 + heuristicConfidence / 2;
    const heuristicDelay = Math.round(outcomeRng.uniform(0.25, 0.45) * delayMs);
    if (heuristicDraw < config.heuristicShare) {
      outcomes.push({
        requestId,
        observedLabel: heuristicCorrect ? row.label : flip(row.label),
        source: 'heuristic',
        confidence: heuristicConfidence,
        timestamp: iso(row.timeMs + heuristicDelay),
      });
    }
    if (options.includeTruth) truth.push({ requestId, probability: row.probability, label: row.label });
  }
  // ISO timestamps of one format sort lexicographically; Array#sort is stable, so ties keep request order.
  outcomes.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  const day: GeneratedDay = { dayIndex, date: dayDate(config, dayIndex), predictions, outcomes };
  if (options.includeTruth) day.truth = truth;
  return day;
}

/** The deterministic request id of request `i` of the history day `daysBefore` days before the start. */
export function historyRequestIdOf(config: ScenarioConfig, daysBefore: number, i: number): string {
  return `${config.name}-${config.seed}-h${daysBefore}-${i}`;
}

/**
 * Labelled history before the start date (oldest day first), one array per day, so a writer never
 * holds more than a day. History is pre-launch: launch regime, no feature drift, country codes.
 */
export function* iterateHistory(
  input: ScenarioConfigInput,
  options: { days?: number } = {},
): Generator<{ dayIndex: number; date: string; rows: LabeledRow[] }> {
  const config = scenarioConfig(input);
  const days = options.days ?? 28;
  if (!Number.isInteger(days) || days < 0)
    throw new Error(`history days must be a non-negative integer, got ${days}`);
  for (let back = days; back >= 1; back--) {
    const dayIndex = -back;
    const rows: LabeledRow[] = [];
    for (const row of simulateRequests(config, dayIndex)) {
      rows.push({
        requestId: historyRequestIdOf(config, back, row.index),
        timestamp: iso(row.timeMs),
        features: row.request.features,
        label: row.label,
        slices: row.request.slices,
        labelSource: 'historical',
      });
    }
    yield { dayIndex, date: dayDate(config, dayIndex), rows };
  }
}

/** `days` days (default 28) of labelled history before the start date, oldest first. */
export function generateHistory(input: ScenarioConfigInput, options: { days?: number } = {}): LabeledRow[] {
  const out: LabeledRow[] = [];
  for (const day of iterateHistory(input, options)) for (const row of day.rows) out.push(row);
  return out;
}
