import { sendReviewTasks } from '../../src/activities/enqueue-review-tasks';
import { claimTask, task as taskQuery } from '../../src/workflows/messages';
import { reviewQueueWorkflowId } from '../../src/workflows/review-ids';
import { createUiApp } from '../../src/ui/app';
import { startUiServer } from '../../src/ui/server';
import { addUser } from '../../src/ui/users';
import { tempFileStore, withInstalledWorker } from '../support/temporal';
import { churnTask, launchChromium, pressAndLoad, signIn } from './ui-support';

jest.setTimeout(300_000);

/**
 * Issue 15 §1: the lease of the task on screen is renewed while the page is open. With a 10 s lease
 * (renewed every 5 s by the page), the task is still the annotator's 15 s after the claim, and its
 * lease ends later than the first one did; without the page's renewals it would be pending again.
 * When renewals stop, the lease lapses and a label sent after someone else took the task is refused
 * with the queue's reason on the page.
 */
test('the open annotator page keeps renewing its lease', async () => {
  const { store } = tempFileStore();
  const model = 'churn';
  await withInstalledWorker(store, async ({ client, taskQueue, config }) => {
    await sendReviewTasks(client, store, { taskQueue, modelId: model, tasks: [churnTask(model, 1)] });
    const alice = await addUser(store, { name: 'alice', role: 'annotator' });
    const ui = createUiApp({ store, client, namespace: config.temporal.namespace, config, leaseSeconds: 10 });
    const server = await startUiServer({ app: ui.app, port: 0 });
    const browser = await launchChromium(config);
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/annotate/${model}`);
      await signIn(page, alice.token);
      await pressAndLoad(page, 'Enter');
      const first = await page.getAttribute('#task', 'data-expires');
      expect(first).not.toBeNull();
      const queue = client.workflow.getHandle(reviewQueueWorkflowId(model));

      // Past the first lease's end, the task is still claimed by alice under a later lease.
      await page.waitForTimeout(15_000);
      const view = await queue.query(taskQuery, { taskId: 't-001' });
      expect(view?.status).toBe('claimed');
      expect(view?.lease?.annotator).toBe('alice');
      expect(Date.parse(view!.lease!.expiresAt)).toBeGreaterThan(Date.parse(first!));
      expect(await page.textContent('#lease-status')).toBe('');
      expect(await page.textContent('#lease-left')).not.toBe('expired');

      // Renewals cut off (a lost connection): the lease runs out, the task is offered again and bob
      // takes it. Alice's label is then refused, and the page says why at once.
      await page.route('**/api/review/**', (route) => route.abort());
      let status = view?.status;
      for (let i = 0; i < 60 && status === 'claimed'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        status = (await queue.query(taskQuery, { taskId: 't-001' }))?.status;
      }
      expect(status).toBe('pending');
      const bob = await queue.executeUpdate(claimTask, { args: [{ annotator: 'bob' }] });
      expect(bob.task?.taskId).toBe('t-001');
      await page.keyboard.press('1');
      await pressAndLoad(page, 'Enter');
      expect(await page.textContent('.flash.error')).toMatch(
        /^rejected \(claimed-by-other\): task is claimed by bob/,
      );
      expect(await page.textContent('main')).toContain('the queue is empty');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
