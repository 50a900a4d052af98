import { Context } from '@temporalio/activity';

/**
 * Heartbeats when running inside a Temporal activity and does nothing otherwise, so the same step
 * function runs in benchmarks and unit tests without a worker.
 */
export function heartbeat(details?: unknown): void {
  try {
    const ctx = Context.current();
    lastDetails.set(ctx, details);
    ctx.heartbeat(details);
  } catch {
    // Not in an activity context: nothing to report to.
  }
}

/** The details each running activity last reported, so a keep-alive does not overwrite its progress. */
const lastDetails = new WeakMap<Context, unknown>();

/**
 * Heartbeats again with the details the running activity last reported (say while waiting out a store
 * outage): Temporal learns the worker is alive, and a retry still resumes from the real progress.
 */
export function keepAlive(): void {
  try {
    const ctx = Context.current();
    ctx.heartbeat(lastDetails.get(ctx) ?? ctx.info.heartbeatDetails);
  } catch {
    // Not in an activity context.
  }
}

/** The details of the last heartbeat of a previous attempt, when this attempt is a retry. */
export function lastHeartbeat<T>(): T | undefined {
  try {
    return Context.current().info.heartbeatDetails as T | undefined;
  } catch {
    return undefined;
  }
}

/**
 * A promise that rejects when Temporal cancels the running activity (delivered with a heartbeat), or
 * undefined outside an activity. Lets long work that runs elsewhere (threads) be stopped.
 */
export function activityCancelled(): Promise<never> | undefined {
  try {
    return Context.current().cancelled;
  } catch {
    return undefined;
  }
}

/** How often {@link whileHeartbeating} reports; well inside the shortest heartbeat timeout (30 s). */
export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Runs `work` while heartbeating every few seconds (and once at the start), so a worker crash is
 * noticed within the activity's heartbeat timeout even when the work itself has no natural progress
 * points. The work must leave the event loop free (await I/O, run CPU loops on a thread).
 */
export async function whileHeartbeating<T>(details: unknown, work: () => Promise<T>): Promise<T> {
  heartbeat(details);
  const timer = setInterval(() => heartbeat(details), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
