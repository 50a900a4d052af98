/**
 * The web app (`loopkeeper ui`): hono, server-rendered HTML, a little plain JS from /static/, no
 * build step and nothing from a CDN. Public: /static/*, /login. Everything else needs a session
 * (401 otherwise), the route group's role (403) and, for state-changing requests, the CSRF token.
 */
import type { Client } from '@temporalio/client';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { LoopkeeperConfig } from '../config';
import type { BlobStore } from '../storage/blob-store';
import { createAnnotateRoutes } from './annotate-routes';
import { createAuth } from './auth';
import type { UiAuth } from './auth';
import { createAuthRoutes } from './auth-routes';
import type { UiEnv, UiRouteDeps } from './deps';
import { html } from './html';
import { LabelHistoryReader } from './label-history';
import { layoutFor } from './layout';
import { createLeadRoutes } from './lead-routes';
import { forbiddenPage } from './login-view';
import { createModelRoutes } from './models/routes';
import { homeOf } from './roles';
import { SessionStore } from './sessions';
import type { ShellDeps } from './shell-deps';
import { ANNOTATE_JS } from './static/annotate-js';
import { UI_CSS } from './static/ui-css';
import { UserDirectory } from './users';

/** Options of {@link createUiApp}. */
export interface UiAppOptions {
  store: BlobStore;
  client: Client;
  namespace: string;
  config: LoopkeeperConfig;
  /** Lease the annotator page claims tasks for [300 s]; renewed every fifth of it while the page is open. */
  leaseSeconds?: number;
  /** Longest wait for a review queue's answer [10 s]. */
  queueDeadlineMs?: number;
  /**
   * How long a process trusts what it read of a session and of the user table [session 2 s, users 5 s]:
   * a sign-out or a revoked token takes effect on every replica within it. Tests pass 0.
   */
  cacheMs?: { sessions?: number; users?: number };
  /** The model pages [`createModelRoutes` from ./models/routes]; tests mount their own. */
  modelRoutes?: (deps: UiRouteDeps) => Hono<UiEnv>;
  now?: () => number;
}

/** The app and what tests and the CLI need of it. */
export interface UiApp {
  app: Hono<UiEnv>;
  deps: UiRouteDeps;
  auth: UiAuth;
  sessions: SessionStore;
}

/** Content-Security-Policy: scripts only from this origin's /static/, nothing from elsewhere. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Inline SVG charts (echarts SSR) carry style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'none'",
].join('; ');

/** Builds the web app over an installation's store and Temporal client. */
export function createUiApp(opts: UiAppOptions): UiApp {
  const now = opts.now ?? (() => Date.now());
  const sessions = new SessionStore({
    store: opts.store,
    lifetimeMs: opts.config.ui.sessionHours * 3_600_000,
    cacheMs: opts.cacheMs?.sessions,
    now,
  });
  const users = new UserDirectory(opts.store, opts.config.ui.users, opts.cacheMs?.users);
  const auth = createAuth({ users, sessions });
  const deps: UiRouteDeps = {
    store: opts.store,
    client: opts.client,
    namespace: opts.namespace,
    config: opts.config,
    requireRole: auth.requireRole,
    csrfToken: auth.csrfToken,
    requireCsrf: auth.requireCsrf,
    layout: layoutFor,
  };
  const shell: ShellDeps = {
    ...deps,
    editSession: auth.edit,
    history: new LabelHistoryReader(opts.store),
    leaseSeconds: opts.leaseSeconds ?? 300,
    queueDeadlineMs: opts.queueDeadlineMs ?? 10_000,
    now,
  };

  const app = new Hono<UiEnv>();
  app.use('*', async (c, next) => {
    await next();
    // A route that set a stricter policy keeps it (a stored drift report: `default-src 'none'`).
    if (!c.res.headers.has('Content-Security-Policy')) c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    if (!c.req.path.startsWith('/static/')) c.header('Cache-Control', 'no-store');
  });
  app.use(
    '*',
    bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.text('request body too large (limit 256 kB)', 413) }),
  );

  app.get('/static/ui.css', (c) => c.body(UI_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }));
  app.get('/static/annotate.js', (c) =>
    c.body(ANNOTATE_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/healthz', (c) => c.text('ok'));
  app.route('/', createAuthRoutes(auth, users));

  // Everything below needs a session.
  app.use('*', auth.authenticate);
  app.get('/', (c) => c.redirect(homeOf(c.get('user').role), 303));
  app.route('/', createAnnotateRoutes(shell));
  app.route('/', createLeadRoutes(shell));
  app.route('/models', (opts.modelRoutes ?? createModelRoutes)(deps));

  app.notFound((c) =>
    c.html(
      c.get('user')
        ? layoutFor(c, {
            title: 'Not found',
            body: html`<h1>Not found</h1>
              <p><a href="/">Home</a></p>`.value,
          })
        : forbiddenPage({ what: 'not found' }),
      404,
    ),
  );
  app.onError((err, c) => {
    // One line, no request data: a token or a label never reaches the log.
    console.error(
      `loopkeeper ui: ${c.req.method} ${c.req.path}: ${(err.message || String(err)).split('\n')[0]}`,
    );
    return c.text('internal error (see the server log)', 500);
  });
  return { app, deps, auth, sessions };
}
