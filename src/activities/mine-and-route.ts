import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  candidateFromJoinedRow,
  findRareSlices,
  perClassCutoffs,
  routeCandidates,
  summariseRouting,
} from '../policy/routing';
import { RoutingConfigSchema } from '../policy/routing';
import type { RoutingCandidate, RoutingSummary } from '../policy/routing';
import { JoinedRowSchema, ModelIdSchema } from '../schemas';
import type { JoinedRow, LabeledRow } from '../schemas';
import type { ReviewTask } from '../schemas/review';
import { primaryOutcome } from '../monitoring/window-summary';
import { layout } from '../storage/layout';
import { writeNdjson } from '../storage/ndjson';
import type { ActivityDeps } from './deps';
import { sendReviewTasks } from './enqueue-review-tasks';
import type { SendReviewTasksResult } from './enqueue-review-tasks';
import { heartbeat, lastHeartbeat } from './heartbeat';
import { readRows } from './read-rows';

export const MineAndRouteInputSchema = z.object({
  modelId: ModelIdSchema,
  cycleId: z.string().min(1),
  joinedKeys: z.array(z.string()),
  routing: RoutingConfigSchema.prefault({}),
  seed: z.number().int(),
  /** Cycle time (ISO): when the tasks are created, deterministic across retries. */
  asOf: z.string(),
});
export type MineAndRouteInput = z.input<typeof MineAndRouteInputSchema>;

export interface MineAndRouteResult {
  labelled: number;
  candidates: number;
  byKind: Record<string, number>;
  routing: RoutingSummary;
  autoLabelsKey: string | null;
  decisionsKey: string;
  /** Tasks routed to human review (sent to the queue). */
  reviewTasks: number;
  reviewQueueWorkflowId: string | null;
  /**
   * What the review queue did with them: `sent = accepted + duplicate + rejected` (rejected: refused by
   * validation, by reason). Null when no task was sent.
   */
  review: ReviewSendSummary | null;
  cutoffs: Record<string, number>;
  rareSlices: string[];
}

/** The routing summary's view of a send (see SendReviewTasksResult). */
export type ReviewSendSummary = Omit<SendReviewTasksResult, 'workflowId'>;

/**
 * Mining + routing step: from the joined window, the misclassified and suspicious rows (confidently
 * wrong, sources disagreeing) are routed by the per-model policy. Auto-relabels are written to
 * `labels/{model}/auto/{cycle}.ndjson` with lineage; human tasks are written to the store as backlog
 * segments and announced to the model's review queue (update-with-start); every decision with its reason goes to `reports/{model}/{cycle}/routing.ndjson`.
 * Keys are per cycle and task ids per request, so a retry rewrites and re-sends the same things.
 */
export function createMineAndRoute(deps: ActivityDeps) {
  return async function mineAndRoute(raw: MineAndRouteInput): Promise<MineAndRouteResult> {
    const input = MineAndRouteInputSchema.parse(raw);
    const { modelId, cycleId } = input;
    // Cutoffs and rare slices need all labelled traffic; candidates are the rows worth a second look.
    const labelledScores: Array<{ observedLabel: string; scores: Record<string, number> }> = [];
    const sliceRows: Array<{ slices?: Record<string, string> }> = [];
    const candidates: RoutingCandidate[] = [];
    const rowsById = new Map<string, JoinedRow>();
    const classes = new Set<string>();
    let labelled = 0;
    for await (const row of readRows(deps.store, input.joinedKeys, JoinedRowSchema)) {
      const label = primaryOutcome(row.outcomes);
      if (!label) continue;
      labelled++;
      for (const c of Object.keys(row.scores)) classes.add(c);
      labelledScores.push({ observedLabel: label.observedLabel, scores: row.scores });
      sliceRows.push({ slices: row.slices });
      const candidate = candidateFromJoinedRow(row, input.routing);
      if (candidate) {
        candidates.push(candidate);
        rowsById.set(row.requestId, row);
      }
      if ((labelled & 0x3fff) === 0) heartbeat({ labelled });
    }
    const cutoffs = perClassCutoffs(labelledScores);
    const rare = findRareSlices(sliceRows, input.routing.rareSliceMinShare);
    const decisions = routeCandidates({
      candidates,
      cutoffs,
      rareSlices: rare,
      config: input.routing,
      seed: input.seed,
    });
    const byKind: Record<string, number> = {};
    for (const c of candidates) byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;

    const decisionsKey = layout.report(modelId, cycleId, 'routing.ndjson');
    await writeNdjson(deps.store, decisionsKey, decisions);

    const candidateById = new Map(candidates.map((c) => [c.requestId, c]));
    const autoRows: LabeledRow[] = [];
    const tasks: ReviewTask[] = [];
    for (const d of decisions) {
      const row = rowsById.get(d.requestId)!;
      const c = candidateById.get(d.requestId)!;
      if (d.route === 'auto-relabel') {
        autoRows.push({
          requestId: row.requestId,
          timestamp: row.timestamp,
          features: row.features,
          label: c.observedLabel,
          ...(row.slices ? { slices: row.slices } : {}),
          labelSource: 'auto-relabel',
          lineage: { cycleId, reason: d.reason, source: c.labelSource, predicted: row.predictedLabel },
        });
      }
      if (d.route === 'human-review' || d.audit) {
        tasks.push({
          taskId: `${row.requestId}`,
          modelId,
          requestId: row.requestId,
          timestamp: row.timestamp,
          features: row.features,
          predictedLabel: row.predictedLabel,
          scores: row.scores,
          givenLabel: c.observedLabel,
          labelSource: c.labelSource,
          routeReason: d.audit && d.route === 'auto-relabel' ? 'audit-sample' : d.reason,
          routeDetail: d.detail.slice(0, 2000),
          hard: d.hard,
          audit: d.audit,
          classes: [...classes].sort(),
          createdAt: input.asOf,
          ...(row.slices ? { slices: row.slices } : {}),
        });
      }
    }
    const autoLabelsKey = autoRows.length ? layout.labels(modelId, 'auto', cycleId) : null;
    if (autoLabelsKey) await writeNdjson(deps.store, autoLabelsKey, autoRows);

    let reviewQueueWorkflowId: string | null = null;
    let review: ReviewSendSummary | null = null;
    if (tasks.length) {
      if (!deps.client) {
        throw ApplicationFailure.nonRetryable(
          'mineAndRoute needs a Temporal client to enqueue review tasks (ActivityDeps.client)',
          'MissingClient',
        );
      }
      // Segments are content-addressed and announced in order; a retried attempt resumes after the
      // last one it heartbeated, so the queue's answers (accepted / duplicate) are not counted twice.
      const prior = lastHeartbeat<{ review?: Parameters<typeof sendReviewTasks>[2]['resume'] }>();
      const { workflowId, ...summary } = await sendReviewTasks(deps.client, deps.store, {
        taskQueue: deps.config.temporal.taskQueue,
        modelId,
        tasks,
        ...(prior?.review ? { resume: prior.review } : {}),
        onSegment: (p) => heartbeat({ review: p }),
      });
      reviewQueueWorkflowId = workflowId;
      review = summary;
    }
    return {
      labelled,
      candidates: candidates.length,
      byKind,
      routing: summariseRouting(decisions),
      autoLabelsKey,
      decisionsKey,
      reviewTasks: tasks.length,
      reviewQueueWorkflowId,
      review,
      cutoffs,
      rareSlices: [...rare].sort().slice(0, 50),
    };
  };
}
