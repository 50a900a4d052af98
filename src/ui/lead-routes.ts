/** The lead's view (role `admin`): `/lead` (all queues) and `/lead/:model` (one queue in detail). */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { listReviewTasks, reviewQueueStats } from '../cli/review-client';
import { consensusAgreement, labelsPerAnnotator, pairwiseKappa } from '../policy/annotator-agreement';
import { ModelIdSchema } from '../schemas/records';
import type { UiEnv } from './deps';
import { html } from './html';
import type { SafeHtml } from './html';
import { leadOverviewBody, leadQueueBody } from './lead-view';
import type { AnnotatorRow } from './lead-view';
import { runningReviewQueues } from './review-queues';
import type { ShellDeps } from './shell-deps';
import { queueErrorText, withQueueDeadline } from './shell-deps';

const DAY_MS = 86_400_000;

/** Creates the lead's routes. */
export function createLeadRoutes(deps: ShellDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.use('/lead', deps.requireRole('admin'));
  app.use('/lead/*', deps.requireRole('admin'));

  const page = (c: Context<UiEnv>, title: string, body: SafeHtml, status: 200 | 404 | 502 = 200) =>
    c.html(deps.layout(c, { title, body: body.value, nav: 'lead' }), status);

  app.get('/lead', async (c) => {
    let models: string[];
    try {
      models = await withQueueDeadline(deps, () => runningReviewQueues(deps.client));
    } catch (err) {
      return page(c, 'Lead', html`<p class="flash error">${queueErrorText(err)}</p>`, 502);
    }
    const rows = await Promise.all(
      models.map(async (model) => {
        try {
          return { model, stats: await withQueueDeadline(deps, () => reviewQueueStats(deps.client, model)) };
        } catch (err) {
          return { model, error: queueErrorText(err) };
        }
      }),
    );
    return page(c, 'Review queues', leadOverviewBody(rows));
  });

  app.get('/lead/:model', async (c) => {
    const parsed = ModelIdSchema.safeParse(c.req.param('model'));
    if (!parsed.success) return page(c, 'Lead', html`<p class="flash error">no such model</p>`, 404);
    const model = parsed.data;
    try {
      const [stats, history, escalated] = await withQueueDeadline(deps, () =>
        Promise.all([
          reviewQueueStats(deps.client, model),
          deps.history.read(deps.client, model),
          listReviewTasks(deps.client, model, { statuses: ['escalated'], limit: 200 }),
        ]),
      );
      const now = deps.now();
      const day = labelsPerAnnotator(history.tasks, now - DAY_MS, now + 1);
      const week = labelsPerAnnotator(history.tasks, now - 7 * DAY_MS, now + 1);
      const agreement = new Map(consensusAgreement(history.tasks).map((a) => [a.annotator, a]));
      const names = new Set([...Object.keys(stats.annotators), ...week.keys(), ...agreement.keys()]);
      const annotators: AnnotatorRow[] = [...names].sort().map((annotator) => ({
        annotator,
        claimed: stats.annotators[annotator]?.claimed ?? 0,
        submitted: stats.annotators[annotator]?.submitted ?? 0,
        skipped: stats.annotators[annotator]?.skipped ?? 0,
        last24h: day.get(annotator) ?? 0,
        last7d: week.get(annotator) ?? 0,
        ...(agreement.has(annotator) ? { agreement: agreement.get(annotator) } : {}),
      }));
      return page(
        c,
        `Queue ${model}`,
        leadQueueBody({
          model,
          stats,
          annotators,
          pairs: pairwiseKappa(history.tasks),
          escalated,
          unreadableRows: history.unreadableRows,
          nowMs: now,
        }),
      );
    } catch (err) {
      return page(c, `Queue ${model}`, html`<p class="flash error">${queueErrorText(err)}</p>`, 502);
    }
  });

  return app;
}
