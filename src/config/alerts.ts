import { z } from 'zod';

/** The events a webhook can subscribe to (see README "Alerts"). */
export const alertEventTypes = [
  /** drift of the production window against the reference crossed the alert level */
  'drift-alert',
  /** a training-serving skew alert held a cycle's retrain */
  'skew-blocked-retrain',
  /** the promotion gate refused a retrained candidate */
  'candidate-refused',
  /** a feedback-loop cap held a retrain that a drift alert asked for */
  'cap-held-drift-retrain',
  /** a rollout step degraded (or lacked evidence) and waits for a human */
  'rollout-paused',
  /** a rollout was rolled back (automatic or after an abort) */
  'rollout-rolled-back',
  /** the review queue's oldest pending task is older than `reviewBacklogHours` */
  'review-backlog',
] as const;
export const AlertEventTypeSchema = z.enum(alertEventTypes);
export type AlertEventType = z.infer<typeof AlertEventTypeSchema>;

/** One webhook: where to POST, which events, and the optional shared secret of its HMAC signature. */
export const WebhookConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  events: z.array(AlertEventTypeSchema).min(1, 'name at least one event'),
  hmacSecret: z.string().min(16, 'at least 16 characters').optional(),
});
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;

/** `alerts` in the configuration file. */
export const AlertsConfigSchema = z.strictObject({
  webhooks: z.array(WebhookConfigSchema).default([]),
  /** A cycle alerts `review-backlog` when the oldest pending review task is older than this. */
  reviewBacklogHours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(48),
  /** Tries per webhook and event before the delivery is recorded as failed (never failing the workflow). */
  maxAttempts: z.number().int().min(1).max(10).default(4),
});
export type AlertsConfig = z.infer<typeof AlertsConfigSchema>;
