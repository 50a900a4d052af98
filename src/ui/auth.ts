/**
 * The web app's guard API: sessions from a token sign-in, `requireRole(role)` (401 without a session,
 * 403 for a weaker role), the CSRF token of a session and `requireCsrf` for state-changing requests.
 * Mounted route groups get these through `UiRouteDeps` (./deps.ts).
 *
 * 401 answers HTML requests with the sign-in page and `/api/` requests with JSON; so do 403s. A token
 * is only ever read from a POST body, compared by its sha256, and never written to a log or a URL.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { UiRole } from '../config/ui-config';
import type { UiEnv } from './deps';
import { forbiddenPage, loginPage } from './login-view';
import { roleAtLeast } from './roles';
import type { Session, SessionEdit, SessionStore } from './sessions';
import type { UserDirectory } from './users';
import { randomBytes } from 'node:crypto';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'lk_session';
/** Name of the pre-session cookie that protects the sign-in form against login CSRF. */
export const LOGIN_COOKIE = 'lk_login';
/** Header carrying the CSRF token for `fetch` calls. */
export const CSRF_HEADER = 'x-csrf-token';
/** Form field carrying the CSRF token. */
export const CSRF_FIELD = '_csrf';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Whether the browser reached us over https (directly or through a TLS-terminating proxy). */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

function wantsJson(c: Context): boolean {
  return (
    new URL(c.req.url).pathname.startsWith('/api/') ||
    (c.req.header('accept') ?? '').startsWith('application/json')
  );
}

/** Sets the pre-session cookie for the sign-in form and returns its value. */
export function issueLoginCsrf(c: Context): string {
  // Reused while it lasts: the page's other requests (a favicon, a second tab) answered 401 must not
  // replace the value the form on screen carries.
  const existing = getCookie(c, LOGIN_COOKIE);
  const value = existing && /^[0-9a-f]{48}$/.test(existing) ? existing : randomBytes(24).toString('hex');
  setCookie(c, LOGIN_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: isHttps(c),
    maxAge: 3600,
  });
  return value;
}

/** The 401 answer: the sign-in page (status 401) for HTML, JSON for APIs. */
export function unauthorized(c: Context): Response {
  if (wantsJson(c)) return c.json({ error: 'sign in first' }, 401);
  const path = new URL(c.req.url).pathname;
  return c.html(loginPage({ loginCsrf: issueLoginCsrf(c), next: c.req.method === 'GET' ? path : '/' }), 401);
}

/** The 403 answer. */
export function forbidden(c: Context, what: string): Response {
  if (wantsJson(c)) return c.json({ error: what }, 403);
  return c.html(forbiddenPage({ what }), 403);
}

/** What the guard API needs. */
export interface AuthOptions {
  users: UserDirectory;
  sessions: SessionStore;
}

/** The guards, bound to one session table. */
export interface UiAuth {
  /** Middleware for every non-public route: 401 without a valid session, else sets user/csrf/sessionId. */
  authenticate: MiddlewareHandler<UiEnv>;
  requireRole: (role: UiRole) => MiddlewareHandler<UiEnv>;
  csrfToken: (c: Context<UiEnv>) => string;
  requireCsrf: MiddlewareHandler<UiEnv>;
  /** The messages and held tasks of an authenticated request's session (read fresh; `save()` writes). */
  edit: (c: Context<UiEnv>) => Promise<SessionEdit>;
  /** Starts a session after a proven token and sets its cookie. */
  signIn: (c: Context, tokenHash: string, user: Session['user']) => Promise<Session>;
  /** Ends the request's session (on every replica) and clears the cookie. */
  signOut: (c: Context<UiEnv>) => Promise<void>;
}

/** Builds the guard API over a user directory and a session table. */
export function createAuth(opts: AuthOptions): UiAuth {
  const { sessions, users } = opts;

  const authenticate: MiddlewareHandler<UiEnv> = async (c, next) => {
    const session = await sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) return unauthorized(c);
    // A token revoked (or its role changed) since sign-in takes effect within the directory's cache time.
    const current = await users.lookup(session.tokenHash);
    if (!current) {
      await sessions.delete(session.id);
      return unauthorized(c);
    }
    c.set('user', { name: current.name, role: current.role });
    c.set('csrf', session.csrf);
    c.set('sessionId', session.id);
    await next();
  };

  const requireRole =
    (role: UiRole): MiddlewareHandler<UiEnv> =>
    async (c, next) => {
      const user = c.get('user');
      if (!user) return unauthorized(c);
      if (!roleAtLeast(user.role, role))
        return forbidden(c, `this needs the ${role} role; you are ${user.role}`);
      await next();
    };

  const requireCsrf: MiddlewareHandler<UiEnv> = async (c, next) => {
    if (!STATE_CHANGING.has(c.req.method)) return next();
    const expected = c.get('csrf');
    let sent = c.req.header(CSRF_HEADER);
    if (
      sent === undefined &&
      /^(application\/x-www-form-urlencoded|multipart\/form-data)/.test(c.req.header('content-type') ?? '')
    ) {
      const body = await c.req.parseBody();
      const field = body[CSRF_FIELD];
      sent = typeof field === 'string' ? field : undefined;
    }
    if (!expected || sent === undefined || !sameSecret(sent, expected))
      return forbidden(c, 'missing or wrong CSRF token: reload the page and try again');
    await next();
  };

  const edit = (c: Context<UiEnv>): Promise<SessionEdit> => sessions.edit(c.get('sessionId'));

  const signIn = async (c: Context, tokenHash: string, user: Session['user']): Promise<Session> => {
    const s = await sessions.create(tokenHash, user);
    setCookie(c, SESSION_COOKIE, s.id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: isHttps(c),
      expires: new Date(s.expiresAtMs),
    });
    return s;
  };

  const signOut = async (c: Context<UiEnv>): Promise<void> => {
    const id = c.get('sessionId');
    if (id) await sessions.delete(id);
    setCookie(c, SESSION_COOKIE, '', {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: isHttps(c),
      maxAge: 0,
    });
  };

  return {
    authenticate,
    requireRole,
    csrfToken: (c) => c.get('csrf'),
    requireCsrf,
    edit,
    signIn,
    signOut,
  };
}
