import {
  isCancellation,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setCurrentDetails,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MetricTags } from '@temporalio/common';
import type { Activities } from '../activities';
import type { AlertEventInput } from '../alerts/alert-event';
import { alertActivityOptions, contextActivityOptions } from './activity-options';
import { LoopkeeperKind, LoopkeeperModel, LoopkeeperOutcome } from './search-attributes';
import type { Outcome, WorkflowKind } from './search-attributes';
import { metricCatalog } from './metric-catalog';
import type { MetricDef } from './metric-catalog';

/**
 * What a workflow shows outside itself: search attributes (model, kind, outcome), a one-line summary
 * (current details, and the memo's `summary` once known, so a list shows it without a query) and the
 * project's counters. Runs recorded before this existed carry no patch marker and replay as before.
 */
export interface Observer {
  /** False while replaying a run started before observability: nothing is emitted. */
  readonly on: boolean;
  outcome(outcome: Outcome): void;
  /** The one-line summary of the run so far (current details; `final` also stores it in the memo). */
  summary(line: string, final?: boolean): void;
  /** Adds to a `loopkeeper_..._total` counter (workflow metrics are not emitted again on replay). */
  count(metric: MetricDef, value: number, tags?: MetricTags): void;
  /**
   * Sends an alert to the subscribed webhooks (activity `sendAlert`); returns a note when some webhook
   * did not take it. Never throws: an alert does not fail the workflow (cancellation excepted).
   */
  alert(event: Pick<AlertEventInput, 'event' | 'text' | 'details' | 'occurrence'>): Promise<string | null>;
  /** Alerts `review-backlog` when the model's oldest pending review task is overdue; never throws. */
  checkReviewBacklog(): Promise<string | null>;
}

const { sendAlert } = proxyActivities<Activities>(alertActivityOptions);
const { checkReviewBacklog } = proxyActivities<Activities>(contextActivityOptions);

const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Starts observing this workflow: model and kind are upserted at once, outcome `running`. */
export function observe(modelId: string, kind: WorkflowKind): Observer {
  const on = patched('loopkeeper-observability');
  let last: Outcome | undefined;
  if (on) {
    const sa = workflowInfo().typedSearchAttributes;
    // Set at start by loopkeeper's clients; other clients (tests, plain `temporal`) may not have.
    if (
      sa.get(LoopkeeperModel) !== modelId ||
      sa.get(LoopkeeperKind) !== kind ||
      !sa.get(LoopkeeperOutcome)
    ) {
      upsertSearchAttributes([
        { key: LoopkeeperModel, value: modelId },
        { key: LoopkeeperKind, value: kind },
        { key: LoopkeeperOutcome, value: 'running' },
      ]);
    }
    last = 'running';
  }
  const count = (metric: MetricDef, value: number, tags: MetricTags = {}): void => {
    if (!on || value <= 0) return;
    metricMeter.createCounter(metric.name, metric.unit, metric.help).add(value, { model: modelId, ...tags });
  };
  return {
    on,
    outcome(outcome) {
      if (!on || outcome === last) return;
      last = outcome;
      upsertSearchAttributes([{ key: LoopkeeperOutcome, value: outcome }]);
    },
    summary(line, final = false) {
      if (!on) return;
      setCurrentDetails(line);
      if (final) upsertMemo({ summary: line });
    },
    count,
    async alert(e) {
      if (!on) return null;
      const { workflowId } = workflowInfo();
      count(metricCatalog.alertsRaised, 1, { event: e.event });
      try {
        const r = await sendAlert({ ...e, modelId, workflowId, at: new Date(Date.now()).toISOString() });
        if (!r.failureKey) return null;
        return `alert ${e.event} not delivered to ${r.deliveries
          .filter((d) => !d.delivered)
          .map((d) => `${d.target} (${d.error})`)
          .join(', ')}; recorded at ${r.failureKey}`;
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('alert not sent', { model: modelId, event: e.event, error: why(err) });
        return `alert ${e.event} not sent: ${why(err)}`;
      }
    },
    async checkReviewBacklog() {
      if (!on) return null;
      try {
        const b = await checkReviewBacklog({ modelId });
        if (!b.overdue) return null;
        const text = `review backlog: the oldest pending task waits ${b.oldestPendingHours?.toFixed(1)} h (> ${b.thresholdHours} h); ${b.open} open, ${b.claimed} claimed`;
        const note = await this.alert({ event: 'review-backlog', text, details: { ...b } });
        return note ?? text;
      } catch (err) {
        if (isCancellation(err)) throw err;
        return `review backlog not checked: ${why(err)}`;
      }
    },
  };
}
