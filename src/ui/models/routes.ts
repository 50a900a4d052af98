import { Hono } from 'hono';
import type { Context } from 'hono';
import { modelExists } from '../../cli/known-models';
import { ModelIdSchema } from '../../schemas/records';
import { layout } from '../../storage/layout';
import type { UiEnv, UiRouteDeps } from '../deps';
import { html } from '../html';
import { ActionFormSchema, ModelActionSchema } from './actions';
import type { ModelAction } from './actions';
import { loadModelPage } from './load-model-page';
import { RunIdSchema } from './load-drift';
import { loadModels } from './load-models';
import { ActionRefusedError, performAction, uiActor } from './perform-action';
import { modelPath } from './paths';
import { renderActionError, renderConfirm } from './render-confirm';
import { renderModelPage } from './render-model-page';
import { renderModels } from './render-models';

/** The Content-Security-Policy of a stored drift report: it needs nothing but its inline styles. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'";

/**
 * The model pages, mounted by the shell at `/models`: `/` lists the models, `/:id` is one model's
 * screen, `/:id/reports/:runId/drift.html` a stored drift report, `/:id/confirm/:action` and
 * `POST /:id/actions/:action` the admin actions (role admin, CSRF token, a reason, the CLI's code path).
 * Pages need the role viewer.
 */
export function createModelRoutes(deps: UiRouteDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const viewer = deps.requireRole('viewer');
  const admin = deps.requireRole('admin');

  const page = (c: Context<UiEnv>, title: string, body: string, status: 200 | 400 | 404 | 409 = 200) =>
    c.html(deps.layout(c, { title, body, nav: 'models' }), status);

  /** The model id of the path, or the response that refuses it (400 malformed, 404 unknown). */
  const modelOf = async (c: Context<UiEnv>): Promise<{ modelId: string } | { refused: Response }> => {
    const raw = c.req.param('id') ?? '';
    const parsed = ModelIdSchema.safeParse(raw);
    if (!parsed.success)
      return {
        refused: page(
          c,
          'Bad model id',
          html`<p class="problem">model id "${raw}": ${parsed.error.issues[0].message}</p>`.value,
          400,
        ),
      };
    if (!(await modelExists(deps.store, parsed.data)))
      return {
        refused: page(
          c,
          'Unknown model',
          html`<p class="problem">no model "${parsed.data}" in this store</p>`.value,
          404,
        ),
      };
    return { modelId: parsed.data };
  };

  const actionOf = (c: Context<UiEnv>): ModelAction | undefined =>
    ModelActionSchema.safeParse(c.req.param('action')).data;

  app.get('/', viewer, async (c) => page(c, 'Models', renderModels(await loadModels(deps))));

  app.get('/:id', viewer, async (c) => {
    const m = await modelOf(c);
    if ('refused' in m) return m.refused;
    const data = await loadModelPage(deps, m.modelId);
    const done = ModelActionSchema.safeParse(c.req.query('done')).data;
    return page(
      c,
      `Model ${m.modelId}`,
      renderModelPage(data, { isAdmin: c.get('user').role === 'admin', done }),
    );
  });

  app.get('/:id/reports/:runId/drift.html', viewer, async (c) => {
    const m = await modelOf(c);
    if ('refused' in m) return m.refused;
    const runId = RunIdSchema.safeParse(c.req.param('runId'));
    if (!runId.success)
      return page(c, 'Bad run id', html`<p class="problem">${runId.error.issues[0].message}</p>`.value, 400);
    const key = layout.report(m.modelId, runId.data, 'drift.html');
    if (!(await deps.store.head(key)))
      return page(
        c,
        'No report',
        html`<p class="problem">no drift report for run "${runId.data}"</p>`.value,
        404,
      );
    const body = await deps.store.get(key);
    return c.body(body.toString('utf8'), 200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': REPORT_CSP,
      'x-content-type-options': 'nosniff',
    });
  });

  app.get('/:id/confirm/:action', admin, async (c) => {
    const m = await modelOf(c);
    if ('refused' in m) return m.refused;
    const action = actionOf(c);
    if (!action) return page(c, 'Unknown action', html`<p class="problem">unknown action</p>`.value, 404);
    return page(c, 'Confirm', renderConfirm({ modelId: m.modelId, action, csrf: deps.csrfToken(c) }));
  });

  app.post('/:id/actions/:action', admin, deps.requireCsrf, async (c) => {
    const m = await modelOf(c);
    if ('refused' in m) return m.refused;
    const action = actionOf(c);
    if (!action) return page(c, 'Unknown action', html`<p class="problem">unknown action</p>`.value, 404);
    const form = ActionFormSchema.safeParse(await c.req.parseBody());
    if (!form.success)
      return page(
        c,
        'Confirm',
        renderConfirm({
          modelId: m.modelId,
          action,
          csrf: deps.csrfToken(c),
          error: form.error.issues[0].message,
        }),
        400,
      );
    try {
      await performAction(deps, m.modelId, action, {
        actor: uiActor(c.get('user').name),
        reason: form.data.reason,
      });
    } catch (err) {
      if (err instanceof ActionRefusedError)
        return page(
          c,
          'Refused',
          renderActionError({ modelId: m.modelId, action, message: err.message }),
          409,
        );
      throw err;
    }
    return c.redirect(`${modelPath(m.modelId)}?done=${action}`, 303);
  });

  return app;
}
