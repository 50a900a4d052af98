/**
 * Mount point of the model pages (`src/ui/models/routes.ts`, `createModelRoutes(deps)`), built as a
 * separate route group. It is loaded when present; a build without it answers `/models` with a page
 * saying so (viewers and admins only), so the shell works either way.
 */
import { Hono } from 'hono';
import type { UiEnv, UiRouteDeps } from './deps';
import { html } from './html';

/** The factory a model-pages module exports. */
export type ModelRoutesFactory = (deps: UiRouteDeps) => Hono<UiEnv>;

/** `createModelRoutes` from ./models/routes when that module exists, else undefined. */
export function loadModelRoutes(): ModelRoutesFactory | undefined {
  let mod: { createModelRoutes?: ModelRoutesFactory };
  try {
    // A runtime lookup on purpose: the module is optional in this build (see the file comment).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('./models/routes') as { createModelRoutes?: ModelRoutesFactory };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'MODULE_NOT_FOUND' && /models\/routes/.test(e.message ?? '')) return undefined;
    throw err;
  }
  return typeof mod.createModelRoutes === 'function' ? mod.createModelRoutes : undefined;
}

/** What `/models` answers when the model pages are not part of this build. */
export function missingModelRoutes(deps: UiRouteDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.use('*', deps.requireRole('viewer'));
  app.get('*', (c) =>
    c.html(
      deps.layout(c, {
        title: 'Models',
        nav: 'models',
        body: html`<h1>Models</h1>
          <p>
            The model pages are not part of this build. <code>loopkeeper models list</code> and
            <code>loopkeeper cycle status</code> answer the same questions on the command line.
          </p>`.value,
      }),
    ),
  );
  return app;
}
