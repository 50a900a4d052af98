/**
 * The contract between the web app's shell (`loopkeeper ui`: sessions, roles, CSRF, layout) and the
 * route groups mounted into it (annotator pages, the lead's view, the model pages).
 *
 * A route group is a function `createXRoutes(deps: UiRouteDeps): Hono<UiEnv>`; the shell mounts it
 * with `app.route(prefix, group)`, e.g. `app.route('/models', createModelRoutes(deps))`.
 *
 * What the shell guarantees before any mounted route runs:
 * - a request without a valid session got 401 already (the login page for HTML, JSON for `/api/`),
 *   so `c.get('user')` is always set inside a group;
 * - nothing else: each group applies `deps.requireRole(role)` to its routes (403 for a wrong role)
 *   and `deps.requireCsrf` to every state-changing route (POST/PUT/PATCH/DELETE).
 *
 * Roles are ordered `annotator` < `viewer` < `admin`, and a higher role implies the lower ones:
 * `requireRole('viewer')` admits viewers and admins, `requireRole('annotator')` admits everyone,
 * `requireRole('admin')` admits admins only.
 *
 * Forms: put `<input type="hidden" name="_csrf" value="${deps.csrfToken(c)}">` in every form that
 * POSTs (the value is safe to embed unescaped: hex only); `fetch` calls send the same value in the
 * `X-CSRF-Token` header. `deps.layout(c, {...})` wraps a page's body in the shell's header and
 * navigation, so every page looks alike and carries the CSRF token for its scripts.
 *
 * Every value shown in a page must pass through `escapeHtml` (exported by `./html`) or be built with
 * its `html` tagged template, which escapes each interpolated value unless it is `raw(...)`.
 */
import type { Client } from '@temporalio/client';
import type { Context, MiddlewareHandler } from 'hono';
import type { LoopkeeperConfig } from '../config';
import type { BlobStore } from '../storage/blob-store';

/** The roles of the web app, weakest first; each includes the ones before it. */
export const UI_ROLES = ['annotator', 'viewer', 'admin'] as const;
/** A role of the web app: `annotator` labels, `viewer` reads models, `admin` may do everything. */
export type UiRole = (typeof UI_ROLES)[number];

/** The person behind a session. */
export interface UiUser {
  /** Display name, also the annotator id sent to the review queue. */
  name: string;
  role: UiRole;
}

/** Hono's environment for every route of the web app (`new Hono<UiEnv>()`). */
export interface UiEnv {
  Variables: {
    /** Set by the shell for every authenticated request. */
    user: UiUser;
    /** The session's CSRF token (what `csrfToken(c)` returns). */
    csrf: string;
  };
}

/** What a page body is wrapped in by `layout`. */
export interface UiPage {
  /** Page title (plain text: escaped by the layout). */
  title: string;
  /** The page's HTML, already escaped (build it with `html` from `./html`). */
  body: string;
  /** Which navigation entry to highlight, e.g. 'models'. */
  nav?: string;
}

/** Everything a route group gets from the shell. */
export interface UiRouteDeps {
  /** The installation's blob store (checked to exist). */
  store: BlobStore;
  /** A Temporal client connected to the installation's namespace. */
  client: Client;
  /** The Temporal namespace of the installation (for links to the Temporal UI). */
  namespace: string;
  /** The loaded configuration, bound to the installation. */
  config: LoopkeeperConfig;
  /** Middleware: 403 unless the session's role is at least `role` (401 without a session). */
  requireRole: (role: UiRole) => MiddlewareHandler<UiEnv>;
  /** The session's CSRF token, for hidden form fields and the `X-CSRF-Token` header. */
  csrfToken: (c: Context<UiEnv>) => string;
  /** Middleware: 403 unless the request carries the session's CSRF token (form field `_csrf` or header). */
  requireCsrf: MiddlewareHandler<UiEnv>;
  /** Wraps a page body in the shell's full HTML document (header, navigation, signed-in user, CSRF meta). */
  layout: (c: Context<UiEnv>, page: UiPage) => string;
}
