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

/** A stored object that is not what its key should hold (not JSON, or not the expected schema). */
export class CorruptObjectError extends Error {
  override readonly name = 'CorruptObjectError';
  constructor(
    readonly uri: string,
    readonly key: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${key} in ${uri}: ${detail}`, options);
  }
}

/** Names the first offending field of a zod error: `path: message`. */
export function firstIssue(err: unknown): string {
  const issue = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues?.[0];
  if (!issue) return (err as Error).message;
  return `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`;
}

/** Parses a stored JSON body, naming the key and the first offending field on failure. */
export function parseStoredJson<T>(store: BlobStore, key: string, body: Buffer, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new CorruptObjectError(store.uri, key, `not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new CorruptObjectError(store.uri, key, `invalid at ${firstIssue(parsed.error)}`, {
    cause: parsed.error,
  });
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

/** Thrown when a mutable object stayed unreadable (torn or corrupt) over every retry. */
export class UnreadableObjectError extends Error {
  override readonly name = 'UnreadableObjectError';
  constructor(
    readonly uri: string,
    readonly key: string,
    readonly attempts: number,
    readonly detail: string,
  ) {
    super(`${key} in ${uri}: unreadable after ${attempts} reads (${detail})`);
  }
}

/** Reads of a mutable object before it is declared unreadable; backoff doubles from 25 ms (~0.8 s in all). */
export const TORN_READ_ATTEMPTS = 6;

/**
 * A torn read: the body did not parse or validate, or the server's checksum did not match what it sent.
 * A writer racing the read on a server without atomic writes can cause any of these, and a fresh read
 * can succeed; an unreachable server is not one (it is retried by whoever handles outages).
 */
function isTornRead(err: unknown): boolean {
  const message = (err as Error | undefined)?.message ?? '';
  return (
    err instanceof CorruptObjectError ||
    (err as { name?: string } | undefined)?.name === 'TornReadError' ||
    /checksum mismatch/i.test(message) ||
    (err as { name?: string } | undefined)?.name === 'InvalidChunkSizeError'
  );
}

/**
 * {@link readVersionedJson} for objects that are rewritten in place (aliases, rollout config): a torn
 * read is retried with backoff, then reported as UnreadableObjectError naming the key.
 */
export async function readMutableJson<T>(
  store: BlobStore,
  key: string,
  schema: z.ZodType<T>,
  opts: { attempts?: number } = {},
): Promise<Versioned<T>> {
  const attempts = opts.attempts ?? TORN_READ_ATTEMPTS;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await readVersionedJson(store, key, schema);
    } catch (err) {
      if (!isTornRead(err)) throw err;
      last = err;
      if (attempt < attempts) await sleep(25 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    }
  }
  throw new UnreadableObjectError(store.uri, key, attempts, (last as Error).message);
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
    const current = await readMutableJson(store, key, schema);
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
