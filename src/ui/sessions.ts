/**
 * Sessions of the web app, kept in the installation's blob store so that a restart keeps everyone
 * signed in and any number of `loopkeeper ui` replicas behind a load balancer share them. The browser
 * holds a random id in an `HttpOnly; SameSite=Strict` cookie; the store holds
 * `ui/sessions/{sha256(id)}.json` (user, token hash, CSRF token, expiry, one-shot messages, the task
 * each model's page holds). Only the hash names the object, so a listing of the store (or a leaked
 * backup) gives no usable session. Nothing about a session is ever written to a log.
 *
 * Each process caches what the guards need (user, CSRF token, expiry) for `cacheMs` (2 s), so a sign-out
 * on one replica ends the session on the others within that time; the mutable parts (messages, held
 * tasks) are always read fresh and written with compare-and-swap, so two replicas never lose each
 * other's changes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TokenHashSchema, UiRoleSchema } from '../config/ui-config';
import { ClaimedTaskSchema } from '../schemas/review';
import type { ClaimedTask } from '../schemas/review';
import type { BlobStore } from '../storage/blob-store';
import { jsonBody, readMutableJson, updateJsonCas } from '../storage/cas-json';
import { layout } from '../storage/layout';
import type { UiUser } from './deps';

/** Longest message kept (a longer one is cut with an ellipsis). */
const MAX_FLASH_TEXT = 2000;

/** A message shown once on the next page (e.g. the queue's answer to a submitted label). */
export const FlashSchema = z.strictObject({
  kind: z.enum(['ok', 'error', 'info']),
  text: z.string().max(MAX_FLASH_TEXT),
});
export type Flash = z.infer<typeof FlashSchema>;

/** A stored message; its id lets a page remove exactly what it showed, whatever another replica added. */
export const StoredFlashSchema = FlashSchema.extend({ id: z.string().regex(/^[0-9a-f]{16}$/) });
export type StoredFlash = z.infer<typeof StoredFlashSchema>;

/** Messages kept per session at most (oldest dropped): a page never shown cannot grow a session. */
const MAX_FLASHES = 20;

/** What `ui/sessions/{sha256(id)}.json` holds. */
export const SessionRecordSchema = z.strictObject({
  /** Hash of the token used to sign in: the session ends when that token is revoked. */
  tokenHash: TokenHashSchema,
  user: z.strictObject({ name: z.string().min(1).max(200), role: UiRoleSchema }),
  csrf: z.string().regex(/^[0-9a-f]{64}$/),
  createdAtMs: z.number().int().nonnegative(),
  expiresAtMs: z.number().int().nonnegative(),
  /** Messages for the next page, oldest first. */
  flashes: z.array(StoredFlashSchema).max(MAX_FLASHES),
  /** Per model, the task this session claimed last (shown again on reload while its lease lasts). */
  held: z.record(z.string(), ClaimedTaskSchema),
});
export type SessionRecord = z.infer<typeof SessionRecordSchema>;

/** What the guards know of one signed-in browser. */
export interface Session {
  id: string;
  tokenHash: string;
  user: UiUser;
  csrf: string;
  expiresAtMs: number;
}

/** The shape of a session id: 32 random bytes, base64url. Anything else is refused before any I/O. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** sha256 hex of a session id: the only form in which an id is stored. */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  store: BlobStore;
  /** A session ends this long after sign-in. */
  lifetimeMs: number;
  /** How long a process trusts what it read of a session [2000 ms]; 0 reads the store on every request. */
  cacheMs?: number;
  now?: () => number;
}

/** Stale session objects are looked for at most this often per process. */
const SWEEP_EVERY_MS = 3_600_000;

/** The session table, in the store, with a short per-process cache. */
export class SessionStore {
  private readonly store: BlobStore;
  private readonly lifetimeMs: number;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { at: number; session: Session }>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(opts: SessionStoreOptions) {
    this.store = opts.store;
    this.lifetimeMs = opts.lifetimeMs;
    this.cacheMs = opts.cacheMs ?? 2000;
    this.now = opts.now ?? (() => Date.now());
  }

  /** Starts a session for a user who just proved a token (create-only write: an id is never reused). */
  async create(tokenHash: string, user: UiUser): Promise<Session> {
    const nowMs = this.now();
    const id = randomBytes(32).toString('base64url');
    const record: SessionRecord = SessionRecordSchema.parse({
      tokenHash,
      user: { name: user.name, role: user.role },
      csrf: randomBytes(32).toString('hex'),
      createdAtMs: nowMs,
      expiresAtMs: nowMs + this.lifetimeMs,
      flashes: [],
      held: {},
    });
    await this.store.putIfMatch(layout.uiSession(hashSessionId(id)), jsonBody(record), null);
    const session = toSession(id, record);
    this.remember(session, nowMs);
    this.maybeSweep(nowMs);
    return session;
  }

  /** The live session with this id, if any (an expired one is deleted). */
  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || !SESSION_ID.test(id)) return undefined;
    const nowMs = this.now();
    const hit = this.cache.get(id);
    if (hit && nowMs - hit.at < this.cacheMs) {
      if (hit.session.expiresAtMs > nowMs) return hit.session;
      await this.delete(id);
      return undefined;
    }
    const record = await this.read(id);
    if (!record) {
      this.cache.delete(id);
      return undefined;
    }
    if (record.expiresAtMs <= nowMs) {
      await this.delete(id);
      return undefined;
    }
    const session = toSession(id, record);
    this.remember(session, nowMs);
    return session;
  }

  /** The stored record, read fresh (messages and held tasks change on every replica). */
  async read(id: string): Promise<SessionRecord | undefined> {
    try {
      return (await readMutableJson(this.store, layout.uiSession(hashSessionId(id)), SessionRecordSchema))
        .value;
    } catch (err) {
      // A session object nobody can read is no session: refusing it signs the browser out (safe),
      // and the line names neither the id nor its key.
      if ((err as Error).name !== 'UnreadableObjectError') throw err;
      console.error('loopkeeper ui: an unreadable stored session was refused (the browser must sign in)');
      return undefined;
    }
  }

  /**
   * Applies `change` to the stored record with compare-and-swap (re-run on a concurrent write). Does
   * nothing when the session is gone (signed out meanwhile).
   */
  async update(id: string, change: (record: SessionRecord) => SessionRecord): Promise<void> {
    await updateJsonCas(this.store, layout.uiSession(hashSessionId(id)), SessionRecordSchema, (cur) =>
      cur.value ? { next: change(cur.value), result: undefined } : { result: undefined },
    );
  }

  /** Opens a session's mutable state for one request; `save` writes what the request changed. */
  async edit(id: string): Promise<SessionEdit> {
    return new SessionEdit(id, (await this.read(id)) ?? undefined, this);
  }

  /** Ends a session (sign-out, revoked token, expired) on every replica (others within `cacheMs`). */
  async delete(id: string): Promise<void> {
    this.cache.delete(id);
    await this.store.delete(layout.uiSession(hashSessionId(id)));
  }

  /** Deletes stored sessions that have expired; returns how many. */
  async sweepExpired(): Promise<number> {
    const nowMs = this.now();
    let removed = 0;
    for await (const item of this.store.list(layout.uiSessionsPrefix)) {
      try {
        const found = await readMutableJson(this.store, item.key, SessionRecordSchema, { attempts: 2 });
        // Gone meanwhile (signed out), or still alive.
        if (!found.value || found.value.expiresAtMs > nowMs) continue;
      } catch (err) {
        // Unreadable: it can never be used (get refuses it), so it goes too; an outage stops the sweep.
        if ((err as Error).name !== 'UnreadableObjectError') throw err;
      }
      await this.store.delete(item.key);
      removed++;
    }
    return removed;
  }

  private remember(session: Session, nowMs: number): void {
    if (this.cacheMs <= 0) return;
    // Bounded whatever the sign-in rate: the oldest entry goes first (a miss only costs one read).
    if (this.cache.size >= 10_000) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(session.id, { at: nowMs, session });
  }

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_EVERY_MS) return;
    this.lastSweepMs = nowMs;
    this.sweepExpired().catch((err: unknown) => {
      console.error(`loopkeeper ui: sweeping expired sessions failed: ${String(err).split('\n')[0]}`);
    });
  }
}

function toSession(id: string, r: SessionRecord): Session {
  return { id, tokenHash: r.tokenHash, user: { ...r.user }, csrf: r.csrf, expiresAtMs: r.expiresAtMs };
}

/**
 * One request's view of a session's messages and held tasks. The request reads them once, records
 * what it changes, and `save` replays those changes on the freshly read record (compare-and-swap), so a
 * concurrent request on another replica keeps its own changes.
 */
export class SessionEdit {
  private readonly added: StoredFlash[] = [];
  private readonly taken = new Set<string>();
  private readonly holds = new Map<string, ClaimedTask | null>();

  constructor(
    private readonly id: string,
    private readonly record: SessionRecord | undefined,
    private readonly sessions: SessionStore,
  ) {}

  /** The task held for `model`, as this request sees it. */
  held(model: string): ClaimedTask | undefined {
    const local = this.holds.get(model);
    if (local !== undefined) return local ?? undefined;
    return this.record && Object.prototype.hasOwnProperty.call(this.record.held, model)
      ? this.record.held[model]
      : undefined;
  }

  /** Remembers the task this session now holds for `model`. */
  hold(model: string, task: ClaimedTask): void {
    this.holds.set(model, task);
  }

  /** Forgets the task held for `model`. */
  drop(model: string): void {
    this.holds.set(model, null);
  }

  /** Queues a message for the next page. */
  flash(f: Flash): void {
    // Bounded like the stored schema wants it: a message never makes the session unwritable.
    const text = f.text.length > MAX_FLASH_TEXT ? `${f.text.slice(0, MAX_FLASH_TEXT - 1)}…` : f.text;
    this.added.push({ kind: f.kind, text, id: randomBytes(8).toString('hex') });
  }

  /** Takes the pending messages (they are removed on `save`). */
  takeFlashes(): Flash[] {
    const stored = (this.record?.flashes ?? []).filter((f) => !this.taken.has(f.id));
    for (const f of stored) this.taken.add(f.id);
    const local = this.added.splice(0);
    return [...stored, ...local].map(({ kind, text }) => ({ kind, text }));
  }

  /** Writes this request's changes, if any. */
  async save(): Promise<void> {
    if (this.added.length === 0 && this.taken.size === 0 && this.holds.size === 0) return;
    await this.sessions.update(this.id, (cur) => {
      const held = { ...cur.held };
      for (const [model, task] of this.holds) {
        if (task) held[model] = task;
        else delete held[model];
      }
      const flashes = [...cur.flashes.filter((f) => !this.taken.has(f.id)), ...this.added];
      return { ...cur, held, flashes: flashes.slice(-MAX_FLASHES) };
    });
  }
}
