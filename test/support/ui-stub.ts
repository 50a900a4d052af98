import type { Client } from '@temporalio/client';
import { Hono } from 'hono';
import type { MiddlewareHandler } from 'hono';
import type { LoopkeeperConfig } from '../../src/config';
import type { BlobStore } from '../../src/storage/blob-store';
import type { UiEnv, UiRole, UiRouteDeps } from '../../src/ui/deps';
import { UI_ROLES } from '../../src/ui/deps';
import { escapeHtml } from '../../src/ui/html';
import { createModelRoutes } from '../../src/ui/models/routes';

/** The CSRF token every stub session has. */
export const STUB_CSRF = 'stub-csrf-0123456789abcdef';

/** The header naming the stub session's user: `name:role`, e.g. `alice:admin`. */
export const STUB_USER_HEADER = 'x-test-user';

/**
 * Route deps whose guards read the user from a test header (or a `test-user` cookie, for a browser)
 * instead of a session: 401 without it, 403 below the role; CSRF must equal {@link STUB_CSRF}. The
 * real shell's guards are tested with the shell; these test what the model routes do with them.
 */
export function stubDeps(input: {
  store: BlobStore;
  client: Client;
  namespace: string;
  config: LoopkeeperConfig;
}): UiRouteDeps {
  const requireRole =
    (role: UiRole): MiddlewareHandler<UiEnv> =>
    async (c, next) => {
      const cookie = /(?:^|;\s*)test-user=([^;]+)/.exec(c.req.header('cookie') ?? '')?.[1];
      const who = c.req.header(STUB_USER_HEADER) ?? (cookie ? decodeURIComponent(cookie) : undefined);
      const [name, r] = (who ?? '').split(':');
      if (!name || !UI_ROLES.includes(r as UiRole)) return c.text('sign in', 401);
      if (UI_ROLES.indexOf(r as UiRole) < UI_ROLES.indexOf(role)) return c.text('forbidden', 403);
      c.set('user', { name, role: r as UiRole });
      c.set('csrf', STUB_CSRF);
      await next();
    };
  const requireCsrf: MiddlewareHandler<UiEnv> = async (c, next) => {
    const header = c.req.header('x-csrf-token');
    const form = header ? undefined : (await c.req.parseBody())._csrf;
    if ((header ?? form) !== STUB_CSRF) return c.text('missing or wrong CSRF token', 403);
    await next();
  };
  return {
    ...input,
    requireRole,
    requireCsrf,
    csrfToken: () => STUB_CSRF,
    layout: (_c, page) =>
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title></head><body>${page.body}</body></html>`,
  };
}

/** An app with the model routes mounted where the shell mounts them. */
export function stubModelsApp(deps: UiRouteDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.route('/models', createModelRoutes(deps));
  return app;
}
