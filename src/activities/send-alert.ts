import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { AlertEventSchema, alertEventId, alertPayload } from '../alerts/alert-event';
import type { AlertEventInput } from '../alerts/alert-event';
import { deliverWebhook } from '../alerts/deliver-webhook';
import type { DeliveryResult } from '../alerts/deliver-webhook';
import { layout } from '../storage/layout';
import { heartbeat } from './heartbeat';
import { countInActivity } from './metrics';
import { metricCatalog } from '../workflows/metric-catalog';

/** What one alert came to: the event id and each subscribed webhook's delivery. */
export interface SendAlertResult {
  eventId: string;
  deliveries: DeliveryResult[];
  /** Set when some webhook did not take it: the store key of the failure record. */
  failureKey?: string;
}

/**
 * Sends one alert to every webhook subscribed to its event, each with bounded retries and the event's
 * idempotency key. A dead webhook never fails the workflow: after its retries the failure is logged,
 * counted (`loopkeeper_alert_delivery_failures_total`) and recorded in the store, and the activity
 * returns. Webhooks that took the event in an earlier attempt (heartbeat) are not sent it again.
 */
export function createSendAlert(deps: ActivityDeps) {
  return async function sendAlert(input: AlertEventInput): Promise<SendAlertResult> {
    const event = AlertEventSchema.parse(input);
    const eventId = alertEventId(event);
    const payload = alertPayload(event);
    const { webhooks, maxAttempts } = deps.config.alerts;
    const hooks = webhooks.map((h, i) => ({ h, i })).filter(({ h }) => h.events.includes(event.event));
    let done: number[] = [];
    try {
      const prior = Context.current().info.heartbeatDetails as { done?: number[] } | undefined;
      done = Array.isArray(prior?.done) ? prior.done : [];
    } catch {
      // Not in an activity: nothing delivered before.
    }
    const deliveries: DeliveryResult[] = [];
    for (const { h, i } of hooks) {
      if (done.includes(i)) continue;
      const r = await deliverWebhook(h, payload, { maxAttempts, onWait: () => heartbeat({ done }) });
      deliveries.push(r);
      const tags = { model: event.modelId, event: event.event };
      if (r.delivered) {
        done = [...done, i];
        heartbeat({ done });
        countInActivity(metricCatalog.alertsDelivered, 1, tags);
      } else {
        countInActivity(metricCatalog.alertFailures, 1, tags);
      }
    }
    const failed = deliveries.filter((d) => !d.delivered);
    if (failed.length === 0) return { eventId, deliveries };
    const failureKey = layout.alertFailure(event.modelId, eventId);
    await deps.store.put(
      failureKey,
      JSON.stringify({ eventId, event, failed, recordedAt: (deps.now?.() ?? new Date()).toISOString() }),
    );
    try {
      Context.current().log.warn('alert not delivered', { eventId, event: event.event, failed });
    } catch {
      // Not in an activity.
    }
    return { eventId, deliveries, failureKey };
  };
}
