import type { WebhookConfig } from '../config/alerts';
import type { AlertPayload } from './alert-event';
import { signBody } from './alert-event';

/** How one delivery ended. */
export interface DeliveryResult {
  /** The webhook's origin and path only: a URL may carry a token in its query. */
  target: string;
  delivered: boolean;
  attempts: number;
  /** Why the last attempt failed (HTTP status or network error), when it did. */
  error?: string;
}

/** A webhook's URL for logs and results: origin and path, never the query (tokens live there). */
export function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export interface DeliverOptions {
  maxAttempts: number;
  /** Per-attempt timeout; a hung receiver is a failed attempt. */
  timeoutMs?: number;
  /** Backoff before attempt n (1-based retries); tests pass a short one. */
  backoffMs?: (retry: number) => number;
  /** Called between attempts (the activity heartbeats here). */
  onWait?: () => void;
  fetchImpl?: typeof fetch;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs one alert to one webhook with bounded retries: a 2xx is delivered; a 4xx other than 408/429 is
 * final (the receiver refuses it, retrying cannot help); 5xx, 408, 429 and network errors are retried
 * with backoff up to `maxAttempts`. Never throws: the result says what happened.
 */
export async function deliverWebhook(
  hook: WebhookConfig,
  payload: AlertPayload,
  opts: DeliverOptions,
): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'loopkeeper-alerts',
    'idempotency-key': payload.loopkeeper.id,
    'x-loopkeeper-event': payload.loopkeeper.event,
    'x-loopkeeper-event-id': payload.loopkeeper.id,
  };
  if (hook.hmacSecret) headers['x-loopkeeper-signature'] = signBody(hook.hmacSecret, body);
  const doFetch = opts.fetchImpl ?? fetch;
  const backoff = opts.backoffMs ?? ((n: number) => Math.min(30_000, 1000 * 2 ** (n - 1)));
  const target = redactUrl(hook.url);
  let error = 'not attempted';
  for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
    if (attempt > 1) {
      opts.onWait?.();
      await sleep(backoff(attempt - 1));
    }
    try {
      const res = await doFetch(hook.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { target, delivered: true, attempts: attempt };
      error = `HTTP ${res.status}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
        return { target, delivered: false, attempts: attempt, error };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      error = `${(err as Error).name}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`;
    }
  }
  return { target, delivered: false, attempts: opts.maxAttempts, error };
}
