/**
 * Misclassification routing: decide, for every row where the model and a label disagree, whether the
 * label is trusted enough to relabel automatically, needs a human, or should be dropped.
 *
 * The rules follow confident learning (Northcutt et al., Cleanlab): a per-class threshold — the mean
 * probability the model gives a class over rows labelled with it — tells whether the model finds a given
 * label plausible. Combined with per-source trust this keeps cheap, noisy labels (heuristics, user
 * reports) from silently rewriting the training set while still sending plausible ones to review.
 * Budgets cap human and automatic work per cycle, and a seeded audit share of automatic relabels also
 * goes to humans (as in Amazon A2I) so the automation's error rate stays measured.
 */
import { z } from 'zod';
import { LabelSourceSchema } from '../schemas/records';
import type { JoinedRow } from '../schemas/records';
import { compareStrings, hashUnit } from './rng';

/** Where a candidate goes. */
export const RouteSchema = z.enum(['auto-relabel', 'human-review', 'drop']);
export type Route = z.infer<typeof RouteSchema>;

/** Stable reason codes: dashboards and tests key on these, so never rename one. */
export const RouteReasonSchema = z.enum([
  'trusted-source',
  'audit-sample',
  'rare-slice',
  'source-disagreement',
  'model-disputes-label',
  'low-label-confidence',
  'model-confident-in-given-label',
  'untrusted-source',
  'human-budget-exhausted',
  'auto-budget-exhausted',
]);
export type RouteReason = z.infer<typeof RouteReasonSchema>;

/** Why the row became a candidate in the first place. */
export const CandidateKindSchema = z.enum(['misclassified', 'confidently-wrong', 'source-disagreement']);
export type CandidateKind = z.infer<typeof CandidateKindSchema>;

/** One row offered to the router. */
export const RoutingCandidateSchema = z.object({
  requestId: z.string().min(1),
  predictedLabel: z.string(),
  /** Class → predicted probability. Missing classes count as probability 0. */
  scores: z.record(z.string(), z.number().min(0).max(1)),
  /** The label the outcome sources gave (the "given" label in confident-learning terms). */
  observedLabel: z.string().min(1),
  labelSource: LabelSourceSchema,
  labelConfidence: z.number().min(0).max(1),
  slices: z.record(z.string(), z.string()).optional(),
  /** True when several outcome sources reported different labels for this request. */
  disagreeingSources: z.boolean(),
  kind: CandidateKindSchema,
});
export type RoutingCandidate = z.infer<typeof RoutingCandidateSchema>;

const share = z.number().min(0).max(1);

/** How far each label source is trusted (0..1). `observed` outcomes are ground truth by definition. */
export const SourceTrustSchema = z.object({
  observed: share.default(1),
  annotator: share.default(0.95),
  'user-report': share.default(0.6),
  heuristic: share.default(0.3),
});
export type SourceTrust = z.infer<typeof SourceTrustSchema>;

/** Routing policy knobs. Parse with `RoutingConfigSchema.parse({})` for the defaults. */
export const RoutingConfigSchema = z.object({
  sourceTrust: SourceTrustSchema.prefault({}),
  /** A source at or above this trust may relabel without a human. */
  minTrustForAuto: share.default(0.8),
  /** Labels whose own confidence is below this never relabel automatically. */
  minLabelConfidence: share.default(0.7),
  /** Review queues have finite people; overflow is dropped and recorded, not queued forever. */
  maxHumanTasksPerCycle: z.number().int().nonnegative().default(200),
  /** Bounds how much of the training set one cycle can rewrite. */
  maxAutoRelabelsPerCycle: z.number().int().nonnegative().default(5000),
  /** Share of automatic relabels also sent to humans, to measure the automation's precision. */
  auditShare: share.default(0.05),
  /** A slice value held by less than this share of rows is "rare": its rows always get a human. */
  rareSliceMinShare: share.default(0.01),
  /** Used by {@link candidateFromJoinedRow}: a wrong prediction at or above this score is "confidently wrong". */
  confidentlyWrongAt: share.default(0.9),
});
export type RoutingConfig = z.infer<typeof RoutingConfigSchema>;
export type RoutingConfigInput = z.input<typeof RoutingConfigSchema>;

/** The router's verdict for one candidate. */
export interface RoutingDecision {
  requestId: string;
  route: Route;
  reason: RouteReason;
  /** Hard cases need several annotators to agree (consensus) rather than one. */
  hard: boolean;
  /** Auto-relabelled AND sent to a human as a quality audit. */
  audit: boolean;
  /** For budget drops: the route the row would have taken had there been capacity. */
  overflowedFrom?: 'auto-relabel' | 'human-review';
  /** −ln p(given label): how surprised the model is by the label; budgets serve the highest first. */
  loss: number;
  /** Model probability for the given (observed) label. */
  givenLabelProbability: number;
  /** Confident-learning threshold for the given label's class, or null when the class has none. */
  cutoff: number | null;
  /** Human-readable explanation with the numbers behind the decision. */
  detail: string;
}

/** Counts of routing decisions, for cycle reports and metrics. */
export interface RoutingSummary {
  total: number;
  byRoute: Record<Route, number>;
  byReason: Record<RouteReason, number>;
  audited: number;
  hard: number;
}

/** Minimal shape for computing cutoffs: a given label and the model's scores. */
export interface LabelledScores {
  observedLabel: string;
  scores: Record<string, number>;
}

/** Smallest probability used in the loss, so a zero score gives a large finite loss, not Infinity. */
const MIN_PROBABILITY = 1e-12;

/**
 * Confident-learning per-class thresholds (Cleanlab's default): for each given class, the mean predicted
 * probability of that class over rows labelled with it. Classes with no labelled rows are absent.
 *
 * Per-class rather than global because models are systematically less confident on some classes; a
 * single threshold would call every label of a hard class implausible.
 */
export function perClassCutoffs(rows: readonly LabelledScores[]): Record<string, number> {
  const sums = new Map<string, { total: number; count: number }>();
  for (const row of rows) {
    const entry = sums.get(row.observedLabel) ?? { total: 0, count: 0 };
    entry.total += row.scores[row.observedLabel] ?? 0;
    entry.count += 1;
    sums.set(row.observedLabel, entry);
  }
  const cutoffs: Record<string, number> = {};
  for (const label of [...sums.keys()].sort(compareStrings)) {
    const entry = sums.get(label)!;
    cutoffs[label] = entry.total / entry.count;
  }
  return cutoffs;
}

/** Canonical key for one slice value, e.g. `country=DE`; rare-slice sets hold these keys. */
export function sliceKey(name: string, value: string): string {
  return `${name}=${value}`;
}

/**
 * Slice values held by fewer than `minShare` of the rows that carry that slice dimension.
 * Pass all recent traffic, not only candidates: misclassified rows over-represent hard slices.
 */
export function findRareSlices(
  rows: readonly { slices?: Record<string, string> }[],
  minShare: number,
): Set<string> {
  const perDimension = new Map<string, number>();
  const perValue = new Map<string, { dimension: string; count: number }>();
  for (const row of rows) {
    for (const [name, value] of Object.entries(row.slices ?? {})) {
      perDimension.set(name, (perDimension.get(name) ?? 0) + 1);
      const key = sliceKey(name, value);
      const entry = perValue.get(key) ?? { dimension: name, count: 0 };
      entry.count += 1;
      perValue.set(key, entry);
    }
  }
  const rare = new Set<string>();
  for (const key of [...perValue.keys()].sort(compareStrings)) {
    const { dimension, count } = perValue.get(key)!;
    if (count / perDimension.get(dimension)! < minShare) rare.add(key);
  }
  return rare;
}

/**
 * Turns a joined prediction+outcomes row into a routing candidate, or null when there is nothing to
 * route (no outcome, or every source agrees with the prediction).
 *
 * The given label is the one from the most trusted source (trust × confidence; later outcome wins ties)
 * so a late annotator correction outranks an early heuristic guess.
 */
export function candidateFromJoinedRow(
  row: JoinedRow,
  config: RoutingConfigInput = {},
): RoutingCandidate | null {
  const cfg = RoutingConfigSchema.parse(config);
  if (row.outcomes.length === 0) return null;
  let best = row.outcomes[0];
  let bestWeight = -1;
  for (const outcome of row.outcomes) {
    const weight = cfg.sourceTrust[outcome.source] * outcome.confidence;
    if (weight >= bestWeight) {
      best = outcome;
      bestWeight = weight;
    }
  }
  const disagreeingSources = new Set(row.outcomes.map((o) => o.observedLabel)).size > 1;
  const wrong = best.observedLabel !== row.predictedLabel;
  if (!wrong && !disagreeingSources) return null;
  const predictedScore = row.scores[row.predictedLabel] ?? 0;
  const kind: CandidateKind = disagreeingSources
    ? 'source-disagreement'
    : predictedScore >= cfg.confidentlyWrongAt
      ? 'confidently-wrong'
      : 'misclassified';
  return {
    requestId: row.requestId,
    predictedLabel: row.predictedLabel,
    scores: row.scores,
    observedLabel: best.observedLabel,
    labelSource: best.source,
    labelConfidence: best.confidence,
    ...(row.slices ? { slices: row.slices } : {}),
    disagreeingSources,
    kind,
  };
}

/** Arguments of {@link routeCandidates}. */
export interface RouteCandidatesInput {
  candidates: readonly RoutingCandidate[];
  /** From {@link perClassCutoffs}; a class without a cutoff makes its labels implausible. */
  cutoffs: Record<string, number>;
  /** Slice keys from {@link sliceKey} / {@link findRareSlices}. */
  rareSlices?: Iterable<string>;
  config?: RoutingConfigInput;
  /** Seed for the audit sample; same seed + same requestId → same audit decision. */
  seed: number;
}

type Draft = Omit<RoutingDecision, 'audit'> & { audit: false };

/**
 * Routes every candidate. Output order matches input order; one decision per candidate.
 *
 * Rules, first match wins: rare slice → human; sources disagree → human (hard); trusted source with a
 * confident label → auto-relabel, unless the model finds the label implausible and the source is not
 * fully trusted → human (hard); low label confidence → human if plausible else drop; untrusted source →
 * human if plausible else drop. Then budgets (highest loss first) and the audit sample.
 *
 * @throws when two candidates share a requestId (a caller bug that would double-count budgets).
 */
export function routeCandidates(input: RouteCandidatesInput): RoutingDecision[] {
  const cfg = RoutingConfigSchema.parse(input.config ?? {});
  const rare = new Set(input.rareSlices ?? []);
  const seen = new Set<string>();
  const drafts = input.candidates.map((candidate) => {
    if (seen.has(candidate.requestId))
      throw new Error(`duplicate candidate requestId "${candidate.requestId}"`);
    seen.add(candidate.requestId);
    return classify(candidate, input.cutoffs, rare, cfg);
  });

  const decisions: RoutingDecision[] = drafts.map((draft) => ({ ...draft }));
  applyBudget(decisions, 'human-review', cfg.maxHumanTasksPerCycle, 'human-budget-exhausted');
  applyBudget(decisions, 'auto-relabel', cfg.maxAutoRelabelsPerCycle, 'auto-budget-exhausted');

  // Audit after budgets: only rows actually relabelled can be audited. Hash per row, so adding rows to
  // the batch never changes whether an existing row is audited.
  for (const decision of decisions) {
    if (decision.route !== 'auto-relabel') continue;
    if (hashUnit(input.seed, `audit:${decision.requestId}`) < cfg.auditShare) {
      decision.audit = true;
      decision.reason = 'audit-sample';
      decision.detail = `${decision.detail}; sampled for human audit (share ${cfg.auditShare})`;
    }
  }
  return decisions;
}

function classify(
  c: RoutingCandidate,
  cutoffs: Record<string, number>,
  rareSlices: ReadonlySet<string>,
  cfg: RoutingConfig,
): Draft {
  const p = c.scores[c.observedLabel] ?? 0;
  const cutoff = Object.prototype.hasOwnProperty.call(cutoffs, c.observedLabel)
    ? cutoffs[c.observedLabel]
    : null;
  const plausible = cutoff !== null && p >= cutoff;
  const trust = cfg.sourceTrust[c.labelSource];
  const loss = -Math.log(Math.max(p, MIN_PROBABILITY));
  const evidence =
    `given "${c.observedLabel}" from ${c.labelSource} (trust ${trust}, confidence ${c.labelConfidence}); ` +
    `p=${round(p)} ${cutoff === null ? 'no cutoff for class' : `${plausible ? '>=' : '<'} cutoff ${round(cutoff)}`}; ` +
    `predicted "${c.predictedLabel}" (${c.kind})`;
  const decide = (route: Route, reason: RouteReason, hard: boolean, why: string): Draft => ({
    requestId: c.requestId,
    route,
    reason,
    hard,
    audit: false,
    loss,
    givenLabelProbability: p,
    cutoff,
    detail: `${why}: ${evidence}`,
  });

  const rareHit = Object.entries(c.slices ?? {})
    .map(([name, value]) => sliceKey(name, value))
    .find((key) => rareSlices.has(key));
  if (rareHit !== undefined) {
    // Rare slices are where automation is least tested and errors cost most; hard if anything is contested.
    return decide('human-review', 'rare-slice', c.disagreeingSources || !plausible, `rare slice ${rareHit}`);
  }
  if (c.disagreeingSources) {
    return decide('human-review', 'source-disagreement', true, 'outcome sources disagree');
  }
  const trusted = trust >= cfg.minTrustForAuto;
  const confident = c.labelConfidence >= cfg.minLabelConfidence;
  if (trusted && confident) {
    if (plausible || trust >= 1) return decide('auto-relabel', 'trusted-source', false, 'trusted source');
    // Model and a not-quite-perfect source contradict each other: exactly the case consensus is for.
    return decide('human-review', 'model-disputes-label', true, 'model finds trusted label implausible');
  }
  if (trusted) {
    return plausible
      ? decide('human-review', 'low-label-confidence', false, 'label confidence below minimum but plausible')
      : decide('drop', 'low-label-confidence', false, 'label confidence below minimum and implausible');
  }
  return plausible
    ? decide(
        'human-review',
        'model-confident-in-given-label',
        false,
        'untrusted source but model finds label plausible',
      )
    : decide('drop', 'untrusted-source', false, 'untrusted source and model finds label implausible');
}

/** Keeps the `limit` highest-loss rows on `route` (ties by requestId) and drops the rest, recorded. */
function applyBudget(
  decisions: RoutingDecision[],
  route: 'human-review' | 'auto-relabel',
  limit: number,
  reason: RouteReason,
): void {
  const onRoute = decisions.filter((d) => d.route === route);
  if (onRoute.length <= limit) return;
  const ordered = [...onRoute].sort((a, b) => b.loss - a.loss || compareStrings(a.requestId, b.requestId));
  for (const decision of ordered.slice(limit)) {
    decision.overflowedFrom = route;
    decision.route = 'drop';
    decision.reason = reason;
    decision.detail = `${route} budget of ${limit} exhausted (was ${decision.detail})`;
  }
}

/** Counts decisions per route and per reason (every code present, zero when unused). */
export function summariseRouting(decisions: readonly RoutingDecision[]): RoutingSummary {
  const byRoute = Object.fromEntries(RouteSchema.options.map((r) => [r, 0])) as Record<Route, number>;
  const byReason = Object.fromEntries(RouteReasonSchema.options.map((r) => [r, 0])) as Record<
    RouteReason,
    number
  >;
  let audited = 0;
  let hard = 0;
  for (const d of decisions) {
    byRoute[d.route] += 1;
    byReason[d.reason] += 1;
    if (d.audit) audited += 1;
    if (d.hard) hard += 1;
  }
  return { total: decisions.length, byRoute, byReason, audited, hard };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
