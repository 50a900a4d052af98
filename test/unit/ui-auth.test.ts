import type { Client } from '@temporalio/client';
import { openInstallation } from '../../src/config/installation';
import { createUiApp } from '../../src/ui/app';
import { escapeHtml, html } from '../../src/ui/html';
import { Hono } from 'hono';
import type { UiEnv, UiRouteDeps } from '../../src/ui/deps';
import { SessionStore } from '../../src/ui/sessions';
import { addUser, revokeUser } from '../../src/ui/users';
import { loadConfig } from '../../src/config';
import { tempFileStore } from '../support/temporal';

/**
 * The guards without Temporal: every refusal happens before a route talks to a queue, so a client
 * that throws on any use proves nothing reached it.
 */
const noClient = new Proxy(
  {},
  {
    get: () => {
      throw new Error('the client must not be used by a refused request');
    },
  },
) as Client;

async function setup() {
  const { store } = tempFileStore();
  await openInstallation(store, { create: true });
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const ui = createUiApp({ store, client: noClient, namespace: 'test', config });
  const annotator = await addUser(store, { name: 'alice', role: 'annotator' });
  const viewer = await addUser(store, { name: 'vic', role: 'viewer' });
  return { store, ui, annotator, viewer };
}

/** Signs in through the form like a browser: GET /login (pre-session cookie), POST the token. */
async function signIn(app: ReturnType<typeof createUiApp>['app'], token: string) {
  const form = await app.request('/login');
  const loginCookie = /lk_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')![1];
  const page = await form.text();
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(page)![1];
  const res = await app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `lk_login=${loginCookie}` },
    body: new URLSearchParams({ token, _csrf: csrf, next: '/' }).toString(),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const session = /lk_session=([^;]+)/.exec(setCookie)?.[1];
  return { res, setCookie, cookie: `lk_session=${session}` };
}

test('no session: 401 (sign-in page for HTML, JSON for the API); the token never appears in a URL', async () => {
  const { ui } = await setup();
  const page = await ui.app.request('/annotate');
  expect(page.status).toBe(401);
  expect(await page.text()).toContain('<form method="post" action="/login"');
  const api = await ui.app.request('/api/review/churn/renew', { method: 'POST' });
  expect(api.status).toBe(401);
  expect(await api.json()).toEqual({ error: 'sign in first' });
  expect((await ui.app.request('/lead')).status).toBe(401);
  expect((await ui.app.request('/models')).status).toBe(401);
});

test('sign-in sets an HttpOnly SameSite=Strict session cookie and lands on the role page', async () => {
  const { ui, annotator } = await setup();
  const { res, setCookie } = await signIn(ui.app, annotator.token);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/annotate');
  expect(setCookie).toMatch(/lk_session=[A-Za-z0-9_-]{43}/);
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  expect(setCookie).toMatch(/Path=\//);
  expect(setCookie).not.toMatch(/Secure/);
  expect(res.headers.get('location')).not.toContain(annotator.token);
});

test('behind https (X-Forwarded-Proto) the session cookie is also Secure', async () => {
  const { ui, annotator } = await setup();
  const form = await ui.app.request('/login', { headers: { 'x-forwarded-proto': 'https' } });
  const loginCookie = /lk_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')![1];
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(await form.text())![1];
  const res = await ui.app.request('/login', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `lk_login=${loginCookie}`,
      'x-forwarded-proto': 'https',
    },
    body: new URLSearchParams({ token: annotator.token, _csrf: csrf }).toString(),
  });
  expect(res.headers.get('set-cookie')).toMatch(/lk_session=.*; Secure/);
});

test('a session ends after its lifetime', async () => {
  const { store } = tempFileStore();
  let nowMs = 10_000;
  const sessions = new SessionStore({ store, lifetimeMs: 1000, now: () => nowMs });
  const s = await sessions.create('0'.repeat(64), { name: 'alice', role: 'annotator' });
  nowMs = 10_999;
  expect((await sessions.get(s.id))?.user.name).toBe('alice');
  nowMs = 11_000;
  expect(await sessions.get(s.id)).toBeUndefined();
  nowMs = 10_500;
  expect(await sessions.get(s.id)).toBeUndefined(); // removed once expired
});

test('a wrong token, or a sign-in form without its pre-session CSRF cookie, is refused', async () => {
  const { ui } = await setup();
  const wrong = await signIn(ui.app, 'lk_not-a-real-token');
  expect(wrong.res.status).toBe(401);
  expect(wrong.setCookie).not.toMatch(/lk_session=[A-Za-z0-9]/);
  const forged = await ui.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: 'x', _csrf: 'abc' }).toString(),
  });
  expect(forged.status).toBe(403);
});

test('a weaker role gets 403: an annotator on the lead view and the model pages, a viewer on the lead view', async () => {
  const { ui, annotator, viewer } = await setup();
  const a = await signIn(ui.app, annotator.token);
  expect((await ui.app.request('/lead', { headers: { cookie: a.cookie } })).status).toBe(403);
  expect((await ui.app.request('/models', { headers: { cookie: a.cookie } })).status).toBe(403);
  const v = await signIn(ui.app, viewer.token);
  expect((await ui.app.request('/lead', { headers: { cookie: v.cookie } })).status).toBe(403);
  // A viewer includes the annotator role: the refusal is the guard's, not a missing route.
  expect((await ui.app.request('/models', { headers: { cookie: v.cookie } })).status).toBe(200);
});

test('state-changing requests without the session CSRF token get 403 before anything reaches a queue', async () => {
  const { ui, annotator } = await setup();
  const { cookie } = await signIn(ui.app, annotator.token);
  const form = { 'content-type': 'application/x-www-form-urlencoded', cookie };
  const none = await ui.app.request('/annotate/churn/submit', {
    method: 'POST',
    headers: form,
    body: 'taskId=t1&label=churn',
  });
  expect(none.status).toBe(403);
  const wrong = await ui.app.request('/annotate/churn/submit', {
    method: 'POST',
    headers: form,
    body: `taskId=t1&label=churn&_csrf=${'0'.repeat(64)}`,
  });
  expect(wrong.status).toBe(403);
  const api = await ui.app.request('/api/review/churn/renew', {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': 'nope' },
    body: JSON.stringify({ taskId: 't1' }),
  });
  expect(api.status).toBe(403);
  const logout = await ui.app.request('/logout', { method: 'POST', headers: form, body: '' });
  expect(logout.status).toBe(403);
});

test('a revoked token ends its sessions', async () => {
  const { ui, store, annotator } = await setup();
  const { cookie } = await signIn(ui.app, annotator.token);
  const csrfPage = await ui.app.request('/models', { headers: { cookie } });
  expect(csrfPage.status).toBe(403); // signed in (not 401)
  expect(await revokeUser(store, 'alice')).toBe(1);
  // The directory re-reads the store at most every 5 s.
  await new Promise((r) => setTimeout(r, 5200));
  expect((await ui.app.request('/models', { headers: { cookie } })).status).toBe(401);
});

test('every interpolated value is escaped', () => {
  expect(escapeHtml(`<script>alert("x")</script>&'\``)).toBe(
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;',
  );
  const hostile = '<img src=x onerror=alert(1)>';
  expect(html`<td title="${hostile}">${hostile}</td>`.value).toBe(
    '<td title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</td>',
  );
  const list = html`<ul>
    ${['<a>', html`<b>ok</b>`]}
  </ul>`.value;
  expect(list.replace(/\s+/g, '')).toBe('<ul>&lt;a&gt;<b>ok</b></ul>');
});

test('a model-pages group is mounted at /models behind the session wall, with the guards it was given', async () => {
  const { store } = tempFileStore();
  await openInstallation(store, { create: true });
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const modelRoutes = (deps: UiRouteDeps) => {
    const app = new Hono<UiEnv>();
    app.get('/', deps.requireRole('viewer'), (c) =>
      c.html(
        deps.layout(c, { title: 'Models', body: `<p id="who">${c.get('user').name}</p>`, nav: 'models' }),
      ),
    );
    app.post('/x', deps.requireRole('admin'), deps.requireCsrf, (c) =>
      c.text(`done ${deps.csrfToken(c).length}`),
    );
    return app;
  };
  const ui = createUiApp({ store, client: noClient, namespace: 'test', config, modelRoutes });
  const viewer = await addUser(store, { name: 'vic', role: 'viewer' });
  const admin = await addUser(store, { name: 'ada', role: 'admin' });
  expect((await ui.app.request('/models')).status).toBe(401);
  const v = await signIn(ui.app, viewer.token);
  const page = await ui.app.request('/models', { headers: { cookie: v.cookie } });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<p id="who">vic</p>');
  expect((await ui.app.request('/models/x', { method: 'POST', headers: { cookie: v.cookie } })).status).toBe(
    403,
  );
  const a = await signIn(ui.app, admin.token);
  const csrf = /name="csrf-token" content="([0-9a-f]+)"/.exec(
    await (await ui.app.request('/models', { headers: { cookie: a.cookie } })).text(),
  )![1];
  expect((await ui.app.request('/models/x', { method: 'POST', headers: { cookie: a.cookie } })).status).toBe(
    403,
  );
  const ok = await ui.app.request('/models/x', {
    method: 'POST',
    headers: { cookie: a.cookie, 'x-csrf-token': csrf },
  });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toBe('done 64');
});

test("the shell's Content-Security-Policy applies unless a route set a stricter one (a stored report)", async () => {
  const { store } = tempFileStore();
  await openInstallation(store, { create: true });
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri });
  const modelRoutes = (deps: UiRouteDeps) => {
    const app = new Hono<UiEnv>();
    app.get('/report', deps.requireRole('viewer'), (c) =>
      c.html('<p>report</p>', 200, { 'Content-Security-Policy': "default-src 'none'" }),
    );
    return app;
  };
  const ui = createUiApp({ store, client: noClient, namespace: 'test', config, modelRoutes });
  const viewer = await addUser(store, { name: 'vic', role: 'viewer' });
  const { cookie } = await signIn(ui.app, viewer.token);
  const report = await ui.app.request('/models/report', { headers: { cookie } });
  expect(report.headers.get('content-security-policy')).toBe("default-src 'none'");
  const login = await ui.app.request('/login');
  expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
});
