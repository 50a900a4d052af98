/**
 * The annotator's routes (role `annotator` and up). Each action is a CSRF-checked POST that talks to
 * the model's review queue with the same messages as the CLI (`claimTask`, `submitLabelUpdate` through
 * the store inbox, `skipTask`, `releaseTask`, `renewLease`), keeps the queue's answer as a message for
 * the next page, claims the next task, and redirects to the task page (POST/redirect/GET, so a reload
 * never resends a label).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { readStoredPolicy } from '../config/policy-file';
import {
  claimNextTask,
  renewReviewLease,
  reviewQueueStats,
  reviewTask,
  signalAndCheck,
  submitReviewLabel,
} from '../cli/review-client';
import { consensusAgreement, labelsPerAnnotator } from '../policy/annotator-agreement';
import { ReviewDisplayPolicySchema } from '../policy/model-policy';
import type { ReviewDisplayPolicy } from '../policy/model-policy';
import { ModelIdSchema } from '../schemas/records';
import { SubmitLabelSchema } from '../schemas/review';
import type { UiEnv } from './deps';
import { utcDayStart } from './format';
import { html } from './html';
import { idleBody, queueListBody, taskBody } from './annotate-view';
import type { PersonalStats } from './annotate-view';
import { runningReviewQueues } from './review-queues';
import type { SessionEdit } from './sessions';
import type { ShellDeps } from './shell-deps';
import { queueErrorText, withQueueDeadline } from './shell-deps';

const TaskIdField = z.string().trim().min(1, 'taskId: required').max(200);

/** The label form. An empty note is no note. */
export const SubmitFormSchema = z.object({
  taskId: TaskIdField,
  label: z.string().min(1, 'choose a label first (keys 1-9)').max(100),
  note: z
    .string()
    .max(500, 'note: at most 500 characters')
    .optional()
    .transform((n) => (n && n.trim() !== '' ? n : undefined)),
});
/** The skip / release forms. */
export const TaskFormSchema = z.object({ taskId: TaskIdField });
/** The lease renewal call (JSON). */
export const RenewBodySchema = z.strictObject({ taskId: TaskIdField });

/** Reasons after which the task is no longer ours to label: move on to the next one. */
const GONE = new Set(['task-finished', 'unknown-task', 'not-lease-holder', 'claimed-by-other']);

/** Creates the `/annotate` routes and the lease-renewal API. */
export function createAnnotateRoutes(deps: ShellDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const annotator = deps.requireRole('annotator');
  app.use('/annotate', annotator);
  app.use('/annotate/*', annotator, deps.requireCsrf);
  app.use('/api/review/*', annotator, deps.requireCsrf);

  const page = (
    c: Context<UiEnv>,
    title: string,
    body: ReturnType<typeof html>,
    status: 200 | 404 | 502 = 200,
  ) => c.html(deps.layout(c, { title, body: body.value, nav: 'annotate', scripts: ['annotate.js'] }), status);

  const model = (c: Context<UiEnv>): string | undefined => {
    const r = ModelIdSchema.safeParse(c.req.param('model'));
    return r.success ? r.data : undefined;
  };

  app.get('/annotate', async (c) => {
    let models: string[];
    try {
      models = await withQueueDeadline(deps, () => runningReviewQueues(deps.client));
    } catch (err) {
      return page(
        c,
        'Label',
        html`<h1>Label</h1>
          <p class="flash error">${queueErrorText(err)}</p>`,
        502,
      );
    }
    const queues = await Promise.all(
      models.map(async (m) => {
        try {
          const s = await withQueueDeadline(deps, () => reviewQueueStats(deps.client, m));
          return { model: m, waiting: s.pending + s.backlog };
        } catch {
          return { model: m, waiting: null };
        }
      }),
    );
    return page(c, 'Label', queueListBody(queues));
  });

  app.get('/annotate/:model', async (c) => {
    const m = model(c);
    if (!m) return page(c, 'Label', html`<p class="flash error">no such model</p>`, 404);
    const session = await deps.editSession(c);
    const user = c.get('user');
    const flashes = session.takeFlashes();
    const held = session.held(m);
    let task = held;
    if (held) {
      try {
        const view = await withQueueDeadline(deps, () => reviewTask(deps.client, m, held.taskId));
        if (view?.status === 'claimed' && view.lease?.annotator === user.name) {
          task = { ...held, lease: view.lease };
        } else {
          task = undefined;
          session.drop(m);
          flashes.push({
            kind: 'info',
            text: `your lease on task ${held.taskId} ended (${view?.status ?? 'unknown'})`,
          });
        }
      } catch (err) {
        flashes.push({ kind: 'error', text: queueErrorText(err) });
      }
    }
    const stats = await personalStats(deps, m, user.name).catch((err: unknown) => {
      flashes.push({ kind: 'error', text: `stats unavailable: ${queueErrorText(err)}` });
      return undefined;
    });
    await session.save();
    const csrf = c.get('csrf');
    if (!task) return page(c, `Label ${m}`, idleBody({ model: m, csrf, flashes, stats }));
    const display = await displayPolicy(deps, m);
    return page(
      c,
      `Label ${m}`,
      taskBody({
        model: m,
        csrf,
        task,
        display,
        flashes,
        stats,
        renewEverySeconds: Math.max(5, Math.floor(deps.leaseSeconds / 5)),
        nowMs: deps.now(),
      }),
    );
  });

  app.post('/annotate/:model/next', async (c) => {
    const m = model(c);
    if (!m) return c.text('no such model', 404);
    const session = await deps.editSession(c);
    await claimNext(deps, session, m, c.get('user').name);
    await session.save();
    return c.redirect(`/annotate/${m}`, 303);
  });

  app.post('/annotate/:model/submit', async (c) => {
    const m = model(c);
    if (!m) return c.text('no such model', 404);
    const session = await deps.editSession(c);
    const annotator = c.get('user').name;
    const form = SubmitFormSchema.safeParse(await c.req.parseBody());
    if (!form.success) {
      session.flash({ kind: 'error', text: form.error.issues[0].message });
      await session.save();
      return c.redirect(`/annotate/${m}`, 303);
    }
    const label = SubmitLabelSchema.parse({ ...form.data, annotator });
    let next = true;
    try {
      const r = await submitReviewLabel(deps.client, m, label, { store: deps.store });
      if (!r.applied) session.flash({ kind: 'info', text: `stored: ${r.detail}` });
      else if (r.accepted)
        session.flash({
          kind: 'ok',
          text: `accepted: ${form.data.taskId} labelled ${form.data.label}${r.reason === 'duplicate' ? ' (already had it)' : ''} · task ${r.status}`,
        });
      else {
        session.flash({ kind: 'error', text: `rejected (${r.reason}): ${r.detail ?? ''}` });
        next = r.reason !== undefined && GONE.has(r.reason);
      }
    } catch (err) {
      session.flash({ kind: 'error', text: queueErrorText(err) });
      next = false;
    }
    if (next) {
      session.drop(m);
      await claimNext(deps, session, m, annotator);
    }
    await session.save();
    return c.redirect(`/annotate/${m}`, 303);
  });

  for (const kind of ['skip', 'release'] as const) {
    app.post(`/annotate/:model/${kind}`, async (c) => {
      const m = model(c);
      if (!m) return c.text('no such model', 404);
      const session = await deps.editSession(c);
      const annotator = c.get('user').name;
      const form = TaskFormSchema.safeParse(await c.req.parseBody());
      if (!form.success) {
        session.flash({ kind: 'error', text: form.error.issues[0].message });
        await session.save();
        return c.redirect(`/annotate/${m}`, 303);
      }
      try {
        const r = await withQueueDeadline(deps, () =>
          signalAndCheck(deps.client, m, kind === 'skip' ? 'skipTask' : 'releaseTask', {
            taskId: form.data.taskId,
            annotator,
          }),
        );
        session.flash(
          r.rejection
            ? { kind: 'error', text: `rejected (${r.rejection.code}): ${r.rejection.detail}` }
            : { kind: 'info', text: `${kind === 'skip' ? 'skipped' : 'gave back'} ${form.data.taskId}` },
        );
        session.drop(m);
        if (kind === 'skip') await claimNext(deps, session, m, annotator);
      } catch (err) {
        session.flash({ kind: 'error', text: queueErrorText(err) });
      }
      await session.save();
      return c.redirect(`/annotate/${m}`, 303);
    });
  }

  app.post('/api/review/:model/renew', async (c) => {
    const m = model(c);
    if (!m) return c.json({ error: 'no such model' }, 404);
    const body = RenewBodySchema.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) return c.json({ error: `invalid request: ${body.error.issues[0].message}` }, 400);
    try {
      const r = await withQueueDeadline(deps, () =>
        renewReviewLease(deps.client, m, { taskId: body.data.taskId, annotator: c.get('user').name }),
      );
      const session = await deps.editSession(c);
      const held = session.held(m);
      if (r.accepted && r.leaseExpiresAt && held?.taskId === body.data.taskId) {
        session.hold(m, { ...held, lease: { ...held.lease, expiresAt: r.leaseExpiresAt } });
        await session.save();
      }
      return c.json({
        accepted: r.accepted,
        ...(r.leaseExpiresAt ? { leaseExpiresAt: r.leaseExpiresAt } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.detail ? { detail: r.detail } : {}),
      });
    } catch (err) {
      return c.json({ error: queueErrorText(err) }, 502);
    }
  });

  return app;
}

/** Claims the next task for the session (or says why there is none). */
async function claimNext(
  deps: ShellDeps,
  session: SessionEdit,
  model: string,
  annotator: string,
): Promise<void> {
  try {
    const r = await withQueueDeadline(deps, () =>
      claimNextTask(deps.client, model, { annotator, leaseSeconds: deps.leaseSeconds }),
    );
    if (r.task) session.hold(model, r.task);
    else {
      session.drop(model);
      session.flash({
        kind: 'info',
        text: r.reason === 'no-task' ? 'No tasks waiting for you: the queue is empty for now.' : r.detail,
      });
    }
  } catch (err) {
    session.flash({ kind: 'error', text: queueErrorText(err) });
  }
}

/** What the model's policy lets annotators see; hidden when the policy cannot be read. */
async function displayPolicy(deps: ShellDeps, model: string): Promise<ReviewDisplayPolicy> {
  try {
    const stored = await readStoredPolicy(deps.store, model);
    if ('policy' in stored) return stored.policy.review;
  } catch {
    // Unreadable policy: show the least (nothing that could anchor the annotator).
  }
  return ReviewDisplayPolicySchema.parse({});
}

/** The annotator's own figures: labels on tasks finished today (UTC), agreement, queue counters. */
async function personalStats(deps: ShellDeps, model: string, name: string): Promise<PersonalStats> {
  const [history, stats] = await Promise.all([
    deps.history.read(deps.client, model),
    withQueueDeadline(deps, () => reviewQueueStats(deps.client, model)),
  ]);
  const start = utcDayStart(deps.now());
  const today = labelsPerAnnotator(history.tasks, start, start + 86_400_000).get(name) ?? 0;
  const mine = consensusAgreement(history.tasks).find((a) => a.annotator === name);
  const counters = stats.annotators[name];
  return {
    labelledToday: today,
    agreement: mine,
    submitted: counters?.submitted ?? 0,
    skipped: counters?.skipped ?? 0,
    waiting: stats.pending + stats.backlog,
  };
}
