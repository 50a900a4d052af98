import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { ModelRegistry } from '../../src/storage/model-registry';
import { writeJson } from '../../src/storage/ndjson';
import { createUiApp } from '../../src/ui/app';
import { addUser } from '../../src/ui/users';
import { cycleScheduleId, scheduledCycleWorkflowId } from '../../src/workflows/cycle-ids';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import { rolloutStatus } from '../../src/workflows/messages';
import type { RolloutInput, RolloutResult } from '../../src/workflows/rollout';
import { ROLLOUT_WORKFLOW_TYPE, rolloutWorkflowId } from '../../src/workflows/rollout-ids';
import { runCli } from '../support/cli';
import { tempFileStore, withInstalledWorker } from '../support/temporal';

const MODEL = 'uimodels';
const CYCLE = `cycle-${MODEL}-2026-06-08_2026-06-15`;

type App = ReturnType<typeof createUiApp>['app'];

/** A signed-in browser: its session cookie and the session's CSRF token. */
interface Who {
  cookie: string;
  csrf: string;
}

/** Signs in through the real form (pre-session CSRF cookie, token in the body) and reads the CSRF token. */
async function signInAs(app: App, token: string): Promise<Who> {
  const form = await app.request('/login');
  const loginCookie = /lk_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')![1];
  const loginCsrf = /name="_csrf" value="([0-9a-f]+)"/.exec(await form.text())![1];
  const res = await app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `lk_login=${loginCookie}` },
    body: new URLSearchParams({ token, _csrf: loginCsrf }).toString(),
  });
  expect(res.status).toBe(303);
  const cookie = `lk_session=${/lk_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]}`;
  const home = await (await app.request('/annotate', { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf-token" content="([0-9a-f]+)"/.exec(home)![1] };
}

async function get(app: App, path: string, who: Who): Promise<Response> {
  return app.request(path, { headers: { cookie: who.cookie } });
}

async function post(app: App, path: string, form: Record<string, string>, who: Who) {
  return app.request(path, {
    method: 'POST',
    headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

/** The model page once visibility lists the cycle (it lags the workflow's close by a moment). */
async function pageListing(app: App, workflowId: string, who: Who): Promise<string> {
  let text = '';
  for (let i = 0; i < 60; i++) {
    text = await (await get(app, `/models/${MODEL}`, who)).text();
    if (text.includes(`<code>${workflowId}</code>`)) return text;
    await new Promise((r) => setTimeout(r, 500));
  }
  return text;
}

async function createSchedule(client: Client, taskQueue: string): Promise<void> {
  await client.schedule.create({
    scheduleId: cycleScheduleId(MODEL),
    spec: { intervals: [{ every: '1d' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'continuousLearningCycle',
      args: [{ modelId: MODEL, windowDays: 7 }],
      taskQueue,
      workflowId: scheduledCycleWorkflowId(MODEL),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  });
}

/**
 * The model pages on the real dev server: a real cycle, then `/models/:id` through the whole web app
 * (`createUiApp`: token sign-in, sessions, roles, CSRF) shows the cycle's outcome, the drift chart and its report, production quality and the
 * schedule; the admin actions are refused without CSRF or below admin and, confirmed with a token,
 * pause the schedule and abort a rollout with the person as the recorded actor.
 */
test('model page after a real cycle; admin actions need CSRF and record the actor', async () => {
  const { store } = tempFileStore();
  await writeJson(store, `config/${MODEL}/policy.json`, { retrain: { positiveClass: 'churn' } });
  await writeSimulatedLogs(store, {
    modelId: MODEL,
    config: { name: 'concept-drift', seed: 3, start: '2026-06-01', days: 15, rowsPerDay: 400 },
    historyDays: 28,
  });
  await withInstalledWorker(store, async ({ client, taskQueue, config }) => {
    const st = (await client.workflow.execute('continuousLearningCycle', {
      taskQueue,
      workflowId: CYCLE,
      args: [{ modelId: MODEL, window: { from: '2026-06-08', to: '2026-06-15' } }],
    })) as CycleStatus;
    expect(st.retrain?.registeredAs).toBe('champion');
    await createSchedule(client, taskQueue);
    const app = createUiApp({ store, client, namespace: config.temporal.namespace, config }).app;
    const tokens = {
      vera: (await addUser(store, { name: 'vera', role: 'viewer' })).token,
      alice: (await addUser(store, { name: 'alice', role: 'admin' })).token,
    };
    const vera = await signInAs(app, tokens.vera);
    const alice = await signInAs(app, tokens.alice);

    // The list and the page: the cycle's outcome, the drift chart, production quality, the schedule.
    const page = await pageListing(app, CYCLE, vera);
    expect(page).toContain(`<code>${CYCLE}</code>`);
    expect(page).toContain('data-outcome="promoted"');
    expect(page).toMatch(/<figure class="chart drift-chart"><svg/);
    expect(page).toMatch(/<figure class="chart efficacy-chart"><svg/);
    expect(page).toContain(`<code class="champion">${st.retrain!.train.version}</code>`);
    expect(page).toMatch(/Next scheduled run:\s*<b class="next-run">\d{4}-\d{2}-\d{2}T/);
    // A viewer sees no admin buttons.
    expect(page).not.toContain('/confirm/');
    const list = await (await get(app, '/models', vera)).text();
    expect(list).toContain(`href="/models/${MODEL}"`);
    expect(list).toContain('promoted');

    const report = await get(app, `/models/${MODEL}/reports/${CYCLE}/drift.html`, vera);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await report.text()).toContain(`Drift and skew report: ${MODEL}`);

    // Refusals: no session, unknown or malformed model, wrong role, no CSRF token.
    expect((await app.request(`/models/${MODEL}`)).status).toBe(401);
    expect((await get(app, '/models/nosuchmodel', vera)).status).toBe(404);
    const hostile = await get(app, `/models/${encodeURIComponent('<script>x</script>')}`, vera);
    expect(hostile.status).toBe(400);
    expect(await hostile.text()).not.toContain('<script>x');
    const schedule = client.schedule.getHandle(cycleScheduleId(MODEL));
    const pauseForm = { reason: 'holiday freeze', confirm: 'yes' };
    expect((await post(app, `/models/${MODEL}/actions/pause-schedule`, pauseForm, alice)).status).toBe(403);
    // Another session's token is no token.
    expect(
      (await post(app, `/models/${MODEL}/actions/pause-schedule`, { ...pauseForm, _csrf: vera.csrf }, alice))
        .status,
    ).toBe(403);
    expect(
      (await post(app, `/models/${MODEL}/actions/pause-schedule`, { ...pauseForm, _csrf: vera.csrf }, vera))
        .status,
    ).toBe(403);
    expect((await get(app, `/models/${MODEL}/confirm/pause-schedule`, vera)).status).toBe(403);
    expect((await schedule.describe()).state.paused).toBe(false);
    // Without a reason the confirmation comes back with the reason to give.
    const noReason = await post(
      app,
      `/models/${MODEL}/actions/pause-schedule`,
      { confirm: 'yes', _csrf: alice.csrf },
      alice,
    );
    expect(noReason.status).toBe(400);
    expect((await schedule.describe()).state.paused).toBe(false);

    // The admin's page offers the button, the confirmation step carries the token, the POST pauses.
    const adminPage = await (await get(app, `/models/${MODEL}`, alice)).text();
    expect(adminPage).toContain(`href="/models/${MODEL}/confirm/pause-schedule"`);
    const confirm = await (await get(app, `/models/${MODEL}/confirm/pause-schedule`, alice)).text();
    expect(confirm).toContain(`name="_csrf" value="${alice.csrf}"`);
    const paused = await post(
      app,
      `/models/${MODEL}/actions/pause-schedule`,
      { ...pauseForm, _csrf: alice.csrf },
      alice,
    );
    expect(paused.status).toBe(303);
    expect(paused.headers.get('location')).toBe(`/models/${MODEL}?done=pause-schedule`);
    const described = await schedule.describe();
    expect(described.state.paused).toBe(true);
    expect(described.state.note).toBe('holiday freeze (ui:alice)');
    expect(await (await get(app, `/models/${MODEL}`, vera)).text()).toContain('none while paused');

    // A rollout held in shadow; the admin aborts it from the page; the rollout records who and why.
    const registry = new ModelRegistry(store);
    const champion = st.retrain!.train.version;
    const artifact = await registry.loadArtifact(MODEL, champion);
    const manifest = await registry.getManifest(MODEL, champion);
    const { version: candidate } = await registry.registerVersion({
      modelId: MODEL,
      artifact: { ...artifact, threshold: 0.55 },
      manifest: { ...manifest, createdAt: new Date().toISOString(), lineage: { trigger: 'test' } },
    });
    expect(candidate).not.toBe(champion);
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
    const withRollout = await (await get(app, `/models/${MODEL}`, alice)).text();
    expect(withRollout).toContain(`href="/models/${MODEL}/confirm/abort-rollout"`);
    expect(withRollout).toContain(`shadow (logged only) ${candidate}`);
    const abortForm = { reason: 'not this week', confirm: 'yes' };
    expect((await post(app, `/models/${MODEL}/actions/abort-rollout`, abortForm, alice)).status).toBe(403);
    const aborted = await post(
      app,
      `/models/${MODEL}/actions/abort-rollout`,
      { ...abortForm, _csrf: alice.csrf },
      alice,
    );
    expect(aborted.status).toBe(303);
    const result = (await rollout.result()) as RolloutResult;
    expect(result.outcome).toBe('aborted');
    expect(result.status.decisions).toEqual(
      expect.arrayContaining([expect.objectContaining({ actor: 'ui:alice', reason: 'not this week' })]),
    );
    // Nothing left running: the next abort is refused with the reason, not a server error.
    const again = await post(
      app,
      `/models/${MODEL}/actions/abort-rollout`,
      { ...abortForm, _csrf: alice.csrf },
      alice,
    );
    expect(again.status).toBe(409);
    expect(await again.text()).toContain(`no running rollout of model &quot;${MODEL}&quot;`);

    // Rollback from the page writes the alias audit log as the CLI does, with the person as actor.
    await registry.promote({ modelId: MODEL, version: candidate, actor: 'test', reason: 'second model' });
    const rolledBack = await post(
      app,
      `/models/${MODEL}/actions/rollback`,
      { reason: 'precision dropped', confirm: 'yes', _csrf: alice.csrf },
      alice,
    );
    expect(rolledBack.status).toBe(303);
    expect((await registry.getAliases(MODEL)).aliases.champion).toBe(champion);
    const history = await registry.aliasHistory(MODEL);
    expect(history.at(-1)).toMatchObject({ actor: 'ui:alice', reason: 'precision dropped' });
    // ...and the CLI's own audit view shows the page's rollback like one of its own.
    const cli = await runCli({ LOOPKEEPER_STORE: store.uri }, 'models', 'history', '--model', MODEL);
    expect(cli.code).toBe(0);
    const lastLine = cli.out.trim().split('\n').at(-1)!;
    expect(lastLine).toContain('ui:alice');
    expect(lastLine).toContain('precision dropped');
  });
}, 600_000);
