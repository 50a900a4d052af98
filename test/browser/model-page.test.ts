import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeJson } from '../../src/storage/ndjson';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { rolloutStatus } from '../../src/workflows/messages';
import type { RolloutInput } from '../../src/workflows/rollout';
import { ROLLOUT_WORKFLOW_TYPE, rolloutWorkflowId } from '../../src/workflows/rollout-ids';
import { createUiApp } from '../../src/ui/app';
import { cycleOutcome } from '../../src/ui/models/cycle-outcome';
import { startUiServer } from '../../src/ui/server';
import { addUser } from '../../src/ui/users';
import { tempFileStore, withInstalledWorker } from '../support/temporal';
import { launchChromium, screenshot, signIn } from './ui-support';

const MODEL = 'uibrowser';
const FIRST = `cycle-${MODEL}-2026-06-08_2026-06-15`;
const CYCLE = `cycle-${MODEL}-2026-06-15_2026-06-22`;

/**
 * The model page in a real browser (Debian's chromium through playwright-core) against the whole web
 * app (`createUiApp`: an admin signs in with a token, sessions, CSRF, the shell's layout): after two real cycles, the page shows the last cycle's outcome and the drift chart; an admin pauses
 * a running rollout through the button and its confirmation step, and the page then shows who holds it.
 */
test('model page in a browser: last cycle outcome, drift chart, an admin pauses a rollout', async () => {
  const { store } = tempFileStore();
  await writeJson(store, `config/${MODEL}/policy.json`, { retrain: { positiveClass: 'churn' } });
  await writeSimulatedLogs(store, {
    modelId: MODEL,
    config: { name: 'concept-drift', seed: 3, start: '2026-06-01', days: 22, rowsPerDay: 400 },
    historyDays: 28,
  });
  await withInstalledWorker(store, async ({ client, taskQueue, config }) => {
    const run = async (workflowId: string, from: string, to: string) =>
      (await client.workflow.execute('continuousLearningCycle', {
        taskQueue,
        workflowId,
        args: [{ modelId: MODEL, window: { from, to } }],
      })) as CycleStatus;
    const first = await run(FIRST, '2026-06-08', '2026-06-15');
    expect(first.retrain?.registeredAs).toBe('champion');
    // The last cycle: whatever it came to (a new champion, a refusal, held by the caps) is what the page must show.
    const last = await run(CYCLE, '2026-06-15', '2026-06-22');
    const lastOutcome = cycleOutcome(last).outcome;
    // A candidate held in shadow, so there is a running rollout to pause.
    const registry = new ModelRegistry(store);
    const champion = (await registry.getAliases(MODEL)).aliases.champion;
    const { version: candidate } = await registry.registerVersion({
      modelId: MODEL,
      artifact: { ...(await registry.loadArtifact(MODEL, champion)), threshold: 0.55 },
      manifest: { ...(await registry.getManifest(MODEL, champion)), createdAt: new Date().toISOString() },
    });
    const input: RolloutInput = {
      modelId: MODEL,
      candidateVersion: candidate,
      config: { shadow: { minDurationMs: 600_000 } },
    };
    const rollout = await client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: rolloutWorkflowId(MODEL),
      args: [input],
    });
    for (let i = 0; i < 100 && (await rollout.query(rolloutStatus)).phase !== 'shadow'; i++)
      await new Promise((r) => setTimeout(r, 200));

    const alice = await addUser(store, { name: 'alice', role: 'admin' });
    const ui = createUiApp({ store, client, namespace: config.temporal.namespace, config });
    const server = await startUiServer({ app: ui.app, port: 0 });
    const base = server.url;
    const browser = await launchChromium(config);
    try {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();

      // No session: the sign-in page; after it, the page asked for.
      expect((await page.goto(`${base}/models`))?.status()).toBe(401);
      await signIn(page, alice.token);
      expect(page.url()).toBe(`${base}/models`);
      await page.click(`a[href="/models/${MODEL}"]`);
      // Visibility lists a closed cycle a moment after it closes: reload until the timeline has it.
      const cycle = page.locator(`li.cycle:has(code:text-is("${CYCLE}"))`);
      for (let i = 0; i < 60 && (await cycle.count()) === 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        await page.reload();
      }
      // The newest cycle comes first in the timeline, with its outcome.
      expect(await page.locator('li.cycle').first().locator('code').first().textContent()).toBe(CYCLE);
      expect(await cycle.getAttribute('data-outcome')).toBe(lastOutcome);
      expect(await cycle.locator('.badge').first().textContent()).toBe(lastOutcome);
      const chart = page.locator('figure.drift-chart svg');
      expect(await chart.isVisible()).toBe(true);
      expect((await chart.boundingBox())!.width).toBeGreaterThan(300);
      expect(await page.locator(`a[href$="/reports/${CYCLE}/drift.html"]`).count()).toBeGreaterThan(0);
      // One run per cycle in the drift table beside the chart (PSI per feature over both windows).
      expect(await page.locator('table.drift-runs tbody tr').count()).toBe(2);
      await screenshot(page, 'model-page');

      // The admin pauses the rollout: the button leads to a confirmation step that asks for a reason.
      await page.click('a.action-pause-rollout');
      expect(await page.locator('p.question').textContent()).toContain('Hold the rollout');
      await page.fill('input[name="reason"]', 'waiting for the Monday traffic');
      await screenshot(page, 'model-action-confirm');
      await page.click('button.confirm');
      await page.waitForURL(`${base}/models/${MODEL}?done=pause-rollout`);
      expect(await page.locator('p.flash').textContent()).toContain('Pause sent to the rollout');
      // The signal is applied by the workflow; the page shows the hold once the query reflects it.
      for (let i = 0; i < 50 && !(await rollout.query(rolloutStatus)).paused; i++)
        await new Promise((r) => setTimeout(r, 200));
      await page.reload();
      expect(await page.locator('section#serving').textContent()).toContain(
        'held by ui:alice: waiting for the Monday traffic',
      );
      expect((await rollout.query(rolloutStatus)).paused).toMatchObject({ actor: 'ui:alice' });
    } finally {
      await browser.close();
      await server.close();
    }
  });
}, 600_000);
