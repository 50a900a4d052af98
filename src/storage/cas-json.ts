/**
 * Compare-and-swap updates of small JSON objects (aliases, rollout config, manifests) over
 * BlobStore.putIfMatch. Two writers can never lose each other's update: the loser of a race gets a
 * BlobConflictError, re-reads, re-runs its decision on the fresh state and tries again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import type { BlobStore } from './blob-store';
import { BlobConflictError } from './blob-store';

/** A parsed object with the version token it was read at (`etag` null: absent). */
export interface Versioned<T> {
  value: T | undefined;
  etag: string | null;
}

/** What a CAS decision returns: the object to write (or nothing, to leave it as is) and a result. */
export interface CasDecision<T, R> {
  next?: T;
  result: R;
}

/** Outcome of {@link updateJsonCas}. */
export interface CasOutcome<T, R> {
  result: R;
  /** The stored object after the update (unchanged when nothing was written). */
  value: T | undefined;
  etag: string | null;
  written: boolean;
  /** How many times another writer got in first and the decision was re-run. */
  conflicts: number;
}

/** Attempts before giving up; each conflict means another writer made progress, so this is generous. */
const DEFAULT_MAX_ATTEMPTS = 20;

/** Parses a stored JSON body, naming the key and the first offending field on failure. */
export function parseStoredJson<T>(store: BlobStore, key: string, body: Buffer, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new Error(`${key} in ${store.uri}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new Error(`${key} in ${store.uri}: invalid at ${where}: ${issue.message}`, { cause: parsed.error });
}

/** Reads and validates a JSON object together with its etag; absent → `{ value: undefined, etag: null }`. */
export async function readVersionedJson<T>(
  store: BlobStore,
  key: string,
  schema: z.ZodType<T>,
): Promise<Versioned<T>> {
  const found = await store.getVersioned(key);
  if (!found) return { value: undefined, etag: null };
  return { value: parseStoredJson(store, key, found.body, schema), etag: found.etag };
}

/** The bytes the registry writes for a small JSON object (pretty, newline-terminated, diff-friendly). */
export function jsonBody(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Read → decide → putIfMatch, retried on BlobConflictError. `decide` sees the freshly read state on
 * every attempt, so its checks (expected previous value, blessing, existence) are re-done after a lost
 * race; throwing from it aborts without writing.
 */
export async function updateJsonCas<T, R>(
  store: BlobStore,
  key: string,
  schema: z.ZodType<T>,
  decide: (current: Versioned<T>) => CasDecision<T, R> | Promise<CasDecision<T, R>>,
  opts: { maxAttempts?: number } = {},
): Promise<CasOutcome<T, R>> {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  let conflicts = 0;
  for (;;) {
    const current = await readVersionedJson(store, key, schema);
    const { next, result } = await decide(current);
    if (next === undefined)
      return { result, value: current.value, etag: current.etag, written: false, conflicts };
    // Validate before writing: a bad object must never reach a key that serving polls.
    const checked = schema.parse(next);
    try {
      const info = await store.putIfMatch(key, jsonBody(checked), current.etag);
      return { result, value: checked, etag: info.etag, written: true, conflicts };
    } catch (err) {
      if (!(err instanceof BlobConflictError)) throw err;
      conflicts++;
      if (conflicts >= maxAttempts) {
        throw new Error(`${key} in ${store.uri}: gave up after ${conflicts} conflicting concurrent updates`, {
          cause: err,
        });
      }
      // Jittered backoff so two writers that keep colliding drift apart.
      await sleep(Math.random() * Math.min(50, 2 ** conflicts));
    }
  }
}
