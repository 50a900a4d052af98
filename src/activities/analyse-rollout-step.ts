/**
 * Analyses one interval of a rollout: candidate (shadow or canary) against the champion, from what the
 * serving fleet wrote. Requests, latency and answers come from the prediction log
 * (logs/{model}/predictions/, rows tagged `role`), errors and load failures from the fleet reports
 * (models/{model}/fleet/). Two model metrics, each with the number of outcomes it rests on:
 * - accuracy on matured outcomes (logs/{model}/outcomes/), both sides over the same window; judged
 *   only with `minLabelledRows` on each side, "insufficient evidence" below;
 * - agreement with the champion on requests both models scored (the shadow keeps scoring the
 *   champion's traffic during the canary). The champion's agreement with itself is 1 by construction,
 *   so its control is the agreement the two models had offline on the gate's test set
 *   (`offlineAgreement`, measured when the rollout started): live agreement well below it means
 *   production differs from what the gate saw. Without it, agreement is information only.
 * Every interval is the current step's own window. At 100 % the champion serves no live traffic: the
 * control is `baseline`, the champion's figures over the window of the step before the switch.
 * The verdict is `analyseStep` from src/policy/canary-analysis.ts; a candidate that fails to load on any
 * live instance is a rollback, whatever the numbers say.
 */
import { z } from 'zod';
import type { CanaryMeasure, CanarySide, Degradation, StepAnalysis } from '../policy/canary-analysis';
import { analyseStep, CanaryConfigSchema } from '../policy/canary-analysis';
import { parseLine } from '../schemas/parse-line';
import type { PredictionRow } from '../schemas/records';
import { ModelIdSchema, OutcomeRowSchema, PredictionRowSchema, TimestampSchema } from '../schemas/records';
import { readFleetReports } from '../serving/fleet-report';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { readLines } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';

/** One side's figures, as compared (`CanarySide`) plus what they were computed from. */
export const RolloutSideSchema = z.object({
  version: z.string().nullable(),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  latencyP99Ms: z.number().nonnegative(),
  /** Rows with a matured outcome. */
  labelled: z.number().int().nonnegative(),
  metrics: z
    .array(
      z.object({
        name: z.string(),
        value: z.number(),
        higherIsBetter: z.boolean(),
        n: z.number().int().nonnegative().optional(),
        unit: z.string().optional(),
        source: z.string().optional(),
      }),
    )
    .optional(),
});
export type RolloutSide = z.infer<typeof RolloutSideSchema>;

export const AnalyseRolloutStepInputSchema = z.object({
  modelId: ModelIdSchema,
  candidateVersion: z.string().min(1),
  phase: z.enum(['shadow', 'canary']),
  /** Canary weight during the interval (informational; 100 means no champion traffic is expected). */
  weightPercent: z.number().min(0).max(100).default(0),
  from: TimestampSchema,
  to: TimestampSchema,
  analysis: CanaryConfigSchema.prefault({}),
  /** Outcomes (labelled rows; shared requests for agreement) each side needs before a model metric is judged. */
  minLabelledRows: z.number().int().positive().default(200),
  /**
   * The champion's figures over the window of the step before the switch, used as the control when the
   * champion serves too little (100 % canary).
   */
  baseline: RolloutSideSchema.extend({
    from: TimestampSchema,
    to: TimestampSchema,
    weightPercent: z.number().min(0).max(100),
  }).optional(),
  /** Candidate vs champion agreement on the gate's test set: the control of the live agreement. */
  offlineAgreement: z
    .object({ rate: z.number().min(0).max(1), n: z.number().int().positive(), testSetKey: z.string() })
    .nullable()
    .optional(),
  /** Fleet reports older than this (before `to`) are stale: their instance is gone. */
  fleetStaleMs: z.number().positive().default(60_000),
});
export type AnalyseRolloutStepInput = z.input<typeof AnalyseRolloutStepInputSchema>;

/** A candidate version that a live serving instance could not load. */
export interface CandidateLoadFailure {
  instanceId: string;
  role: string;
  version: string;
  error: string;
}

/** What {@link createAnalyseRolloutStep} returns: small, kept in the workflow's status. */
export interface RolloutAnalysis {
  phase: 'shadow' | 'canary';
  weightPercent: number;
  from: string;
  to: string;
  control: RolloutSide;
  candidate: RolloutSide;
  /** Which model metric the quality verdict rests on (judged with enough outcomes and a control). */
  metricSource: 'outcomes' | 'agreement' | 'none';
  /** Every measure with its own verdict line (n included). */
  measures: CanaryMeasure[];
  /** Candidate vs champion on the requests both scored. */
  agreement: { pairs: number; agreements: number; rate: number | null; meanScoreShift: number | null };
  loadFailures: CandidateLoadFailure[];
  fleet: { live: number; stale: number; invalid: number; servingCandidate: number };
  usedBaseline: boolean;
  verdict: StepAnalysis['verdict'];
  degradations: Degradation[];
  notes: string[];
}

/** Days (YYYY-MM-DD, UTC) from `from`'s day through `to`'s day, at most `max`. */
function daysBetween(from: string, to: string, max = 31): string[] {
  const out: string[] = [];
  const end = to.slice(0, 10);
  for (let t = Date.parse(`${from.slice(0, 10)}T00:00:00.000Z`); out.length < max; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    if (day > end) break;
    out.push(day);
  }
  return out;
}

async function* rowsUnder<T>(store: BlobStore, prefix: string, schema: z.ZodType<T>): AsyncIterable<T> {
  for await (const info of store.list(prefix)) {
    if (!/\.ndjson(\.gz)?$/.test(info.key)) continue;
    for await (const { line } of readLines(store, info.key)) {
      const parsed = parseLine(line, schema);
      if (parsed.ok) yield parsed.row;
    }
    heartbeat();
  }
}

/** The fields of a prediction row an analysis uses. */
type SlimRow = Pick<
  PredictionRow,
  'requestId' | 'timestamp' | 'modelVersion' | 'predictedLabel' | 'scores' | 'role' | 'latencyMs'
> & { t: number };

/**
 * Parsed prediction parts by key. Parts are immutable (each is written once under a unique name), so a
 * rollout that analyses every minute reads each part once per worker process, not once per analysis.
 */
class PartCache {
  private readonly parts = new Map<string, SlimRow[]>();
  constructor(private readonly maxParts: number) {}

  async rows(store: BlobStore, key: string): Promise<SlimRow[]> {
    const hit = this.parts.get(key);
    if (hit) {
      // Re-insert: Map order is the LRU order.
      this.parts.delete(key);
      this.parts.set(key, hit);
      return hit;
    }
    const rows: SlimRow[] = [];
    for await (const { line } of readLines(store, key)) {
      const parsed = parseLine(line, PredictionRowSchema);
      if (!parsed.ok) continue;
      const r = parsed.row;
      rows.push({
        requestId: r.requestId,
        timestamp: r.timestamp,
        t: Date.parse(r.timestamp),
        modelVersion: r.modelVersion,
        predictedLabel: r.predictedLabel,
        scores: r.scores,
        role: r.role,
        latencyMs: r.latencyMs,
      });
    }
    this.parts.set(key, rows);
    while (this.parts.size > this.maxParts) this.parts.delete(this.parts.keys().next().value!);
    return rows;
  }
}

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

function scoreShift(a: Record<string, number>, b: Record<string, number>): number {
  let l1 = 0;
  for (const cls of new Set([...Object.keys(a), ...Object.keys(b)]))
    l1 += Math.abs((a[cls] ?? 0) - (b[cls] ?? 0));
  return l1 / 2;
}

/** Analyses one interval of a rollout; pure reads, so retries are safe. */
export function createAnalyseRolloutStep(deps: ActivityDeps) {
  const cache = new PartCache(5000);
  return async function analyseRolloutStep(raw: AnalyseRolloutStepInput): Promise<RolloutAnalysis> {
    const input = AnalyseRolloutStepInputSchema.parse(raw);
    const { modelId, candidateVersion: candidate, phase } = input;
    const fromMs = Date.parse(input.from);
    const toMs = Date.parse(input.to);
    const notes: string[] = [];

    // --- prediction log: rows of the interval, by side ---
    const championRows = new Map<string, SlimRow>();
    const candidateRows = new Map<string, SlimRow>();
    const candidateRole = phase === 'shadow' ? 'shadow' : 'canary';
    const shadowRows = new Map<string, SlimRow>();
    const rowsInWindow = async function* (): AsyncIterable<SlimRow> {
      for (const day of daysBetween(input.from, input.to)) {
        for await (const info of deps.store.list(layout.predictionDay(modelId, day))) {
          if (!/\.ndjson$/.test(info.key)) continue;
          for (const row of await cache.rows(deps.store, info.key))
            if (row.t >= fromMs && row.t <= toMs) yield row;
          heartbeat();
        }
      }
    };
    {
      for await (const row of rowsInWindow()) {
        const role = row.role ?? 'champion';
        if (role === 'champion') championRows.set(row.requestId, row);
        else if (row.modelVersion === candidate) {
          if (role === candidateRole) candidateRows.set(row.requestId, row);
          if (role === 'shadow') shadowRows.set(row.requestId, row);
        }
      }
    }

    // Pairs: the candidate (as shadow) and the champion answering the same request.
    let pairs = 0;
    let agreements = 0;
    let shiftSum = 0;
    for (const [requestId, s] of shadowRows) {
      const c = championRows.get(requestId);
      if (!c) continue;
      pairs++;
      if (c.predictedLabel === s.predictedLabel) agreements++;
      shiftSum += scoreShift(c.scores, s.scores);
    }
    // In shadow the control is the champion on the very requests the shadow scored.
    const controlRows =
      phase === 'shadow'
        ? [...championRows.values()].filter((r) => shadowRows.has(r.requestId))
        : [...championRows.values()];
    const candRows = [...candidateRows.values()];

    // --- outcomes matured so far for these requests ---
    const observed = new Map<string, string>();
    const wanted = new Set([...controlRows, ...candRows].map((r) => r.requestId));
    const today = (deps.now?.() ?? new Date()).toISOString();
    if (wanted.size > 0) {
      for (const day of daysBetween(input.from, today > input.to ? today : input.to)) {
        for await (const o of rowsUnder(deps.store, layout.outcomeDay(modelId, day), OutcomeRowSchema)) {
          if (wanted.has(o.requestId)) observed.set(o.requestId, o.observedLabel);
        }
      }
    }

    // --- fleet reports: errors in the interval and load failures of the candidate ---
    const { reports, invalid } = await readFleetReports(deps.store, modelId);
    const live = reports.filter(
      (r) => Date.parse(r.reportedAt) >= toMs - Math.max(input.fleetStaleMs, 3 * r.intervalMs),
    );
    const errorsOf = (role: string, version: (v: string) => boolean) =>
      live
        .flatMap((r) => r.errorBuckets)
        .filter((b) => b.role === role && version(b.version) && b.second + 999 >= fromMs && b.second <= toMs)
        .reduce((n, b) => n + b.count, 0);
    const controlErrors = errorsOf('champion', (v) => v !== candidate);
    const candidateErrors = errorsOf(candidateRole, (v) => v === candidate);
    const loadFailures: CandidateLoadFailure[] = [];
    for (const r of live) {
      const pending = r.loadFailures.pending.filter((p) => p.version === candidate);
      for (const p of pending) {
        const last = [...r.loadFailures.recent].reverse().find((f) => f.version === candidate);
        loadFailures.push({
          instanceId: r.instanceId,
          role: p.role,
          version: candidate,
          error: last?.error ?? 'failed to load',
        });
      }
    }
    const servingCandidate = live.filter(
      (r) => r.models.shadow?.version === candidate || r.models.canary?.version === candidate,
    ).length;
    if (live.length === 0) notes.push('no live fleet report: errors and load failures unknown');

    const side = (rows: SlimRow[], errors: number): RolloutSide => ({
      version: rows[0]?.modelVersion ?? null,
      requests: rows.length + errors,
      errors,
      latencyP99Ms: p99(rows.map((r) => r.latencyMs ?? 0)),
      labelled: rows.filter((r) => observed.has(r.requestId)).length,
    });
    let control = side(controlRows, controlErrors);
    const cand = side(candRows, candidateErrors);
    if (cand.version === null) cand.version = candidate;

    // --- the model metrics ---
    const accuracy = (rows: SlimRow[]) => {
      const labelled = rows.filter((r) => observed.has(r.requestId));
      return labelled.filter((r) => r.predictedLabel === observed.get(r.requestId)).length / labelled.length;
    };
    const outcomes = 'labelled outcomes';
    control.metrics = [];
    cand.metrics = [];
    if (control.labelled > 0)
      control.metrics.push({
        name: 'accuracy',
        value: accuracy(controlRows),
        higherIsBetter: true,
        n: control.labelled,
        unit: outcomes,
      });
    if (cand.labelled > 0)
      cand.metrics.push({
        name: 'accuracy',
        value: accuracy(candRows),
        higherIsBetter: true,
        n: cand.labelled,
        unit: outcomes,
      });
    const agreementName = 'agreement-with-champion';
    if (pairs > 0) {
      cand.metrics.push({
        name: agreementName,
        value: agreements / pairs,
        higherIsBetter: true,
        n: pairs,
        unit: 'shared requests',
      });
      if (input.offlineAgreement)
        control.metrics.push({
          name: agreementName,
          value: input.offlineAgreement.rate,
          higherIsBetter: true,
          n: input.offlineAgreement.n,
          unit: 'test-set rows',
          source: 'offline, on the gate test set',
        });
    }

    let usedBaseline = false;
    if (input.weightPercent >= 100 && control.requests < input.analysis.minRequests && input.baseline) {
      // At 100% the champion serves nobody: its figures over the window of the step before the switch
      // are the control. Accuracy needs both sides on the same traffic, so only the offline agreement
      // (a fixed number) is still compared.
      const { from, to, weightPercent, ...before } = input.baseline;
      control = {
        ...before,
        metrics: control.metrics.filter((m) => m.name === agreementName),
      };
      cand.metrics = cand.metrics.filter((m) => m.name !== 'accuracy');
      usedBaseline = true;
      notes.push(
        `control: the champion over the ${weightPercent > 0 ? `${weightPercent}% step's` : 'shadow phase'} window ${from}..${to} (n ${before.requests} requests), recorded before the switch to 100%; accuracy not compared (no live control)`,
      );
    }
    let step: StepAnalysis;
    if (loadFailures.length > 0) {
      step = {
        verdict: 'rollback',
        degradations: [
          {
            measure: 'load-failure',
            relativeChange: 1,
            n: { control: 0, canary: loadFailures.length },
            verdict: 'rollback',
            severity: 'rollback',
            detail: `candidate ${candidate} failed to load on ${loadFailures.length} instance(s): ${loadFailures[0].error}`,
          },
        ],
        measures: [],
        notes: [],
      };
      step.measures = step.degradations;
    } else {
      const strip = (s: RolloutSide): CanarySide => ({
        requests: s.requests,
        errors: s.errors,
        latencyP99Ms: s.latencyP99Ms,
        ...(s.metrics ? { metrics: s.metrics } : {}),
      });
      step = analyseStep({
        control: strip(control),
        canary: strip(cand),
        config: input.analysis,
        minMetricSamples: input.minLabelledRows,
      });
    }

    const judged = (name: string) =>
      step.measures.some(
        (m) =>
          m.measure === `metric:${name}` && m.verdict !== 'info' && m.verdict !== 'insufficient-evidence',
      );
    const metricSource: RolloutAnalysis['metricSource'] = judged('accuracy')
      ? 'outcomes'
      : judged(agreementName)
        ? 'agreement'
        : 'none';

    return {
      phase,
      weightPercent: input.weightPercent,
      from: input.from,
      to: input.to,
      control,
      candidate: cand,
      metricSource,
      agreement: {
        pairs,
        agreements,
        rate: pairs ? agreements / pairs : null,
        meanScoreShift: pairs ? shiftSum / pairs : null,
      },
      loadFailures,
      fleet: {
        live: live.length,
        stale: reports.length - live.length,
        invalid: invalid.length,
        servingCandidate,
      },
      usedBaseline,
      measures: step.measures,
      verdict: step.verdict,
      degradations: step.degradations,
      notes: [...notes, ...step.notes],
    };
  };
}
