/**
 * Server-side sessions of the web app: a random id in an `HttpOnly; SameSite=Strict` cookie, the rest
 * (user, CSRF token, expiry, one-shot messages, the task each model's page holds) in memory. A restart
 * signs everyone out, which is the safe direction; nothing about a session is ever written to a log.
 */
import { randomBytes } from 'node:crypto';
import type { ClaimedTask } from '../schemas/review';
import type { UiUser } from './deps';

/** A message shown once on the next page (e.g. the queue's answer to a submitted label). */
export interface Flash {
  kind: 'ok' | 'error' | 'info';
  text: string;
}

/** One signed-in browser. */
export interface Session {
  id: string;
  /** Hash of the token used to sign in: the session ends when that token is revoked. */
  tokenHash: string;
  user: UiUser;
  csrf: string;
  expiresAtMs: number;
  /** Messages for the next page, oldest first. */
  flashes: Flash[];
  /** Per model, the task this session claimed last (shown again on reload while its lease lasts). */
  held: Map<string, ClaimedTask>;
}

/** Sessions kept at most; the oldest is dropped beyond it (bounded memory whatever the sign-in rate). */
const MAX_SESSIONS = 10_000;

/** The in-memory session table. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly lifetimeMs: number) {}

  /** Starts a session for a user who just proved a token. */
  create(tokenHash: string, user: UiUser, nowMs = Date.now()): Session {
    this.sweep(nowMs);
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      tokenHash,
      user,
      csrf: randomBytes(32).toString('hex'),
      expiresAtMs: nowMs + this.lifetimeMs,
      flashes: [],
      held: new Map(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, if any (expired ones are removed). */
  get(id: string | undefined, nowMs = Date.now()): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAtMs <= nowMs) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  /** Takes (and clears) a session's pending messages. */
  takeFlashes(s: Session): Flash[] {
    const out = s.flashes;
    s.flashes = [];
    return out;
  }

  /** Ends a session (sign-out, revoked token). */
  delete(id: string): void {
    this.sessions.delete(id);
  }

  /** Sessions alive now. */
  get size(): number {
    return this.sessions.size;
  }

  private sweep(nowMs: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAtMs <= nowMs) this.sessions.delete(id);
  }
}
