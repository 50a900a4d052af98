/** What the shell's own route groups get beyond `UiRouteDeps`: the session table and shared readers. */
import type { Context } from 'hono';
import type { UiEnv, UiRouteDeps } from './deps';
import type { LabelHistoryReader } from './label-history';
import type { SessionEdit } from './sessions';

/** Dependencies of the annotator and lead route groups. */
export interface ShellDeps extends UiRouteDeps {
  /** The messages and held tasks of the request's session, read fresh; call `save()` after changing them. */
  editSession: (c: Context<UiEnv>) => Promise<SessionEdit>;
  /** Written review labels, cached. */
  history: LabelHistoryReader;
  /** Lease the annotator page claims tasks for; the page renews it while open. */
  leaseSeconds: number;
  /** Longest the app waits for a review queue to answer before it says so. */
  queueDeadlineMs: number;
  /** The clock (tests). */
  now: () => number;
}

/** Runs a call against Temporal with the shell's deadline. */
export function withQueueDeadline<T>(deps: ShellDeps, fn: () => Promise<T>): Promise<T> {
  return deps.client.withDeadline(deps.now() + deps.queueDeadlineMs, fn);
}

/** One line for an error from a queue call (CLI errors are already written for people). */
export function queueErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: number };
  if (e?.name === 'ServiceError' && (e.code === 4 || /deadline/i.test(e.message ?? '')))
    return 'the review queue did not answer in time: is a worker running?';
  return (e?.message ?? String(err)).split('\n')[0];
}
