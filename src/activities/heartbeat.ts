import { Context } from '@temporalio/activity';

/**
 * Heartbeats when running inside a Temporal activity and does nothing otherwise, so the same step
 * function runs in benchmarks and unit tests without a worker.
 */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not in an activity context: nothing to report to.
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
