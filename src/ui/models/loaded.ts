import type { Client } from '@temporalio/client';
import type { Loaded } from './model-data';

/** How long one Temporal call of a page may take before the part says so instead of hanging the page. */
export const TEMPORAL_DEADLINE_MS = 5000;

/** The first line of an error's message: what a page shows in place of the part. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].slice(0, 500);
}

/** Runs a loader; a failure becomes the part's one-line reason. */
export async function settle<T>(what: string, load: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await load() };
  } catch (err) {
    return { ok: false, error: `${what}: ${errorLine(err)}` };
  }
}

/** A Temporal call with a deadline (a query nobody answers would otherwise hold the page). */
export function withDeadline<T>(client: Client, fn: () => Promise<T>, ms = TEMPORAL_DEADLINE_MS): Promise<T> {
  return client.withDeadline(Date.now() + ms, fn);
}
