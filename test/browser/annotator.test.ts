import { sendReviewTasks } from '../../src/activities/enqueue-review-tasks';
import { claimTask, submitLabelUpdate } from '../../src/workflows/messages';
import { reviewQueueWorkflowId } from '../../src/workflows/review-ids';
import { layout } from '../../src/storage/layout';
import { createUiApp } from '../../src/ui/app';
import { startUiServer } from '../../src/ui/server';
import { addUser } from '../../src/ui/users';
import { tempFileStore, withInstalledWorker } from '../support/temporal';
import {
  churnTask,
  eventually,
  launchChromium,
  pressAndLoad,
  screenshot,
  signIn,
  storedHumanRows,
} from './ui-support';

jest.setTimeout(300_000);

const HOSTILE = '<script>window.__pwned = 1</script>';

/**
 * Issue 15 §1/§4: an annotator signs in, labels the queue with the keyboard until it is empty, and the
 * labels reach the store; 401 / 403 / CSRF refusals in the browser; a hostile feature value shows as
 * text; the lead's view shows depth, agreement, kappa and escalated tasks from the same data.
 */
test('an annotator labels a queue with the keyboard; the lead sees agreement, kappa and escalations', async () => {
  const { store } = tempFileStore();
  // Each temp store is its own installation (own namespace), so a readable model id cannot clash.
  const model = 'churn';
  await withInstalledWorker(store, async ({ client, taskQueue, config }) => {
    // Two hard tasks first (bob and carol label them through the queue's own messages), then four
    // for alice, the first with a hostile feature value, slice and route detail.
    const tasks = [
      churnTask(model, 1, { taskId: 'h-1', hard: true }),
      churnTask(model, 2, { taskId: 'h-2', hard: true }),
      churnTask(model, 3, {
        features: { tenure_days: 12, plan: HOSTILE, note: '<img src=x onerror="window.__pwned=2">' },
        slices: { country: '<b>DE</b>' },
        routeDetail: HOSTILE,
        classes: ['churn', '<i>stay</i>'],
      }),
      churnTask(model, 4),
      churnTask(model, 5),
      churnTask(model, 6),
    ];
    const sent = await sendReviewTasks(client, store, {
      taskQueue,
      modelId: model,
      tasks,
      config: { flushEveryMs: 300, consensusK: 2, maxAnnotatorsPerHardTask: 2 },
    });
    expect(sent.accepted).toBe(6);
    const queue = client.workflow.getHandle(reviewQueueWorkflowId(model));
    for (const [annotator, labels] of [
      ['bob', ['churn', 'churn']],
      ['carol', ['churn', 'stay']],
    ] as const) {
      for (const label of labels) {
        const claim = await queue.executeUpdate(claimTask, { args: [{ annotator }] });
        expect(claim.task?.hard).toBe(true);
        const r = await queue.executeUpdate(submitLabelUpdate, {
          args: [{ taskId: claim.task!.taskId, label, annotator }],
        });
        expect(r.accepted).toBe(true);
      }
    }

    const alice = await addUser(store, { name: 'alice', role: 'annotator' });
    const lead = await addUser(store, { name: 'lead', role: 'admin' });
    const ui = createUiApp({ store, client, namespace: config.temporal.namespace, config });
    const server = await startUiServer({ app: ui.app, port: 0 });
    const browser = await launchChromium(config);
    try {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));

      // 401: no session, the sign-in page; the token goes in the form body, never in the URL.
      const first = await page.goto(`${server.url}/annotate/${model}`);
      expect(first?.status()).toBe(401);
      await screenshot(page, 'sign-in');
      await signIn(page, alice.token);
      expect(page.url()).toBe(`${server.url}/annotate/${model}`);
      expect(page.url()).not.toContain(alice.token);
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'lk_session')!;
      expect(session.httpOnly).toBe(true);
      expect(session.sameSite).toBe('Strict');

      // 403: the lead's view needs admin.
      expect((await page.request.get(`${server.url}/lead`)).status()).toBe(403);

      // Start with Enter; the first task is the hostile one: shown as text, never run.
      await pressAndLoad(page, 'Enter');
      expect(await page.textContent('#task-id')).toBe('t-003');
      const plan = page.locator('#features tr', { hasText: 'plan' }).locator('td');
      expect(await plan.textContent()).toBe(HOSTILE);
      expect(await page.textContent('#slices')).toContain('<b>DE</b>');
      expect(await page.textContent('#task')).toContain(HOSTILE);
      expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
      expect(await page.textContent('#label-form fieldset')).toContain('<i>stay</i>');
      expect(await page.locator('#features script, #features img, #slices b, #label-form i').count()).toBe(0);
      // Prediction and given label are hidden by default (the policy says otherwise below).
      expect(await page.locator('#prediction').count()).toBe(0);
      expect(await page.locator('#given-label').count()).toBe(0);
      expect(await page.textContent('#lease-left')).toMatch(/^(\d+m )?\d+s$/);

      // CSRF: the same session without the token is refused, and the task stays claimed.
      const taskId = await page.textContent('#task-id');
      const forged = await page.request.post(`${server.url}/annotate/${model}/submit`, {
        form: { taskId: taskId!, label: 'churn' },
      });
      expect(forged.status()).toBe(403);

      // Label with the keyboard: 1 = churn, 2 = stay; Enter submits; the answer shows at once.
      await page.keyboard.press('1');
      await pressAndLoad(page, 'Enter');
      expect(await page.textContent('.flash.ok')).toContain('accepted: t-003 labelled churn');
      expect(await page.textContent('#task-id')).toBe('t-004');

      // The policy lets this queue show the model's prediction (not the given label).
      await store.put(layout.policy(model), JSON.stringify({ review: { showPrediction: true } }));
      await page.reload();
      expect(await page.textContent('#prediction')).toContain('stay');
      expect(await page.locator('#given-label').count()).toBe(0);
      await screenshot(page, 'annotator-task');

      // n focuses the note, Escape leaves it, then s skips (t-004 goes back to others).
      await page.keyboard.press('n');
      await page.keyboard.type('needs a second look');
      await page.keyboard.press('Escape');
      await pressAndLoad(page, 's');
      expect(await page.textContent('.flash.info')).toContain('skipped t-004');

      // The rest until the queue is empty.
      const chosen: Record<string, string> = { 't-003': 'churn' };
      for (let guard = 0; guard < 10 && (await page.locator('#task').count()) > 0; guard++) {
        const id = (await page.textContent('#task-id'))!;
        const key = guard % 2 ? '1' : '2';
        chosen[id] = key === '1' ? 'churn' : 'stay';
        await page.keyboard.press(key);
        await pressAndLoad(page, 'Enter');
        expect(await page.textContent('.flash.ok')).toContain(`accepted: ${id}`);
      }
      expect(await page.textContent('main')).toContain('the queue is empty');
      expect(Object.keys(chosen).sort()).toEqual(['t-003', 't-005', 't-006']);
      await screenshot(page, 'annotator-done');
      expect(pageErrors).toEqual([]);

      // The labels reach the store: alice's three, plus bob and carol's consensus on h-1.
      const rows = await eventually(async () => {
        const r = await storedHumanRows(store, model);
        return r.length >= 4 ? r : undefined;
      }, 'four label rows');
      const byTask = Object.fromEntries(rows.map((r) => [r.lineage.taskId, r]));
      for (const [id, label] of Object.entries(chosen)) {
        expect(byTask[id].label).toBe(label);
        expect(JSON.parse(byTask[id].lineage.annotators)).toEqual(['alice']);
      }
      expect(JSON.parse(byTask['h-1'].lineage.annotators)).toEqual(['bob', 'carol']);
      expect(byTask['h-2']).toBeUndefined(); // escalated: no consensus, no row

      // The queue list links to this queue (visibility may take a moment to list a new workflow).
      await eventually(async () => {
        await page.goto(`${server.url}/annotate`);
        return (await page.locator(`ul.queues a[href="/annotate/${model}"]`).count()) > 0 ? true : undefined;
      }, 'the queue in the list');
      await page.goto(`${server.url}/annotate/${model}`);

      // Personal stats count what reached the store.
      await page.reload();
      expect(await page.textContent('#stat-today')).toBe('3');

      // The lead's view: depth, throughput, agreement, kappa (bob/carol: 1 of 2 agree, chance 1/2 → 0).
      const leadPage = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
      await leadPage.goto(`${server.url}/lead/${model}`);
      await signIn(leadPage, lead.token);
      expect(leadPage.url()).toBe(`${server.url}/lead/${model}`);
      expect(await leadPage.textContent('#pending')).toBe('1'); // t-004, skipped by alice
      expect(await leadPage.textContent('#escalated-count')).toBe('1');
      expect(await leadPage.textContent('#escalated')).toContain('h-2');
      expect(await leadPage.textContent('#escalated')).toContain('carol: stay');
      expect(await leadPage.textContent('[data-pair="bob|carol"] .kappa')).toBe('0.000');
      const aliceRow = leadPage.locator('#annotators tr[data-annotator="alice"]');
      expect(await aliceRow.locator('td').nth(1).textContent()).toBe('3');
      expect(await leadPage.textContent('#annotators tr[data-annotator="bob"] .agreement')).toContain(
        '100.0%',
      );
      await screenshot(leadPage, 'lead-queue');
      await leadPage.goto(`${server.url}/lead`);
      const row = leadPage.locator('#queues tr', { hasText: model });
      expect(await row.locator('td').nth(6).textContent()).toBe('1'); // escalated
      expect(await row.locator('td').nth(5).textContent()).toBe('4'); // done
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
