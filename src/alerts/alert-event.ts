import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { AlertEventTypeSchema } from '../config/alerts';

/** What a workflow raises: one event, named by its workflow (the idempotency key derives from both). */
export const AlertEventSchema = z.strictObject({
  event: AlertEventTypeSchema,
  modelId: z.string().min(1),
  workflowId: z.string().min(1),
  /**
   * Distinguishes several events of one type in one workflow (e.g. the canary step a rollout paused at);
   * empty when a workflow raises the event at most once.
   */
  occurrence: z.string().default(''),
  /** One line for people (Slack's `text`). */
  text: z.string().min(1).max(2000),
  /** Workflow time (ISO) the event happened at. */
  at: z.string().min(1),
  /** Structured detail for machines: numbers, reasons, keys. */
  details: z.record(z.string(), z.unknown()).default({}),
});
export type AlertEvent = z.infer<typeof AlertEventSchema>;
export type AlertEventInput = z.input<typeof AlertEventSchema>;

/**
 * The event's stable id: the same workflow raising the same event (and occurrence) always gets the same
 * id, across activity retries and worker crashes, so a receiver drops duplicates by it.
 */
export function alertEventId(e: Pick<AlertEvent, 'workflowId' | 'event' | 'occurrence'>): string {
  const digest = createHash('sha256')
    .update(`${e.workflowId}\u0000${e.event}\u0000${e.occurrence}`)
    .digest('hex');
  return `lk-${digest.slice(0, 32)}`;
}

/** The JSON body POSTed: Slack-compatible `text`, plus the structured event. */
export interface AlertPayload {
  text: string;
  loopkeeper: AlertEvent & { id: string };
}

/** Builds the body of one event. */
export function alertPayload(e: AlertEvent): AlertPayload {
  return { text: `[loopkeeper] ${e.modelId}: ${e.text}`, loopkeeper: { id: alertEventId(e), ...e } };
}

/** `sha256=<hex>` HMAC of the exact body bytes (what `X-Loopkeeper-Signature` carries). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
