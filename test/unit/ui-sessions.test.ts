/**
 * Sessions live in the store: two app instances over one store (two replicas behind a load balancer,
 * or one process before and after a restart) share them, CSRF included; sign-out, revocation and
 * expiry end them everywhere; the session id itself is never written to the store, a URL or a log.
 */
import type { Client } from '@temporalio/client';
import { Hono } from 'hono';
import { loadConfig } from '../../src/config';
import { openInstallation } from '../../src/config/installation';
import type { BlobStore } from '../../src/storage/blob-store';
import { createUiApp } from '../../src/ui/app';
import type { UiEnv, UiRouteDeps } from '../../src/ui/deps';
import { hashSessionId, SessionStore } from '../../src/ui/sessions';
import { addUser, revokeUser } from '../../src/ui/users';
import { churnTask } from '../browser/ui-support';
import { tempFileStore } from '../support/temporal';

const noClient = new Proxy(
  {},
  {
    get: () => {
      throw new Error('no Temporal in these tests');
    },
  },
) as Client;

/** A model-pages group with one CSRF-checked admin action, to prove CSRF across instances. */
const modelRoutes = (deps: UiRouteDeps) => {
  const app = new Hono<UiEnv>();
  app.get('/', deps.requireRole('viewer'), (c) =>
    c.html(deps.layout(c, { title: 'Models', body: '<p>m</p>' })),
  );
  app.post('/act', deps.requireRole('admin'), deps.requireCsrf, (c) => c.text('acted'));
  app.get('/boom', () => {
    throw new Error('boom');
  });
  return app;
};

/** One "replica": an app over the shared store, with its own clock and no caches (tests decide time). */
function replica(store: BlobStore, clock: { ms: number }) {
  const config = loadConfig({ LOOPKEEPER_STORE: store.uri, LOOPKEEPER_UI_SESSION_HOURS: '1' });
  return createUiApp({
    store,
    client: noClient,
    namespace: 'test',
    config,
    modelRoutes,
    now: () => clock.ms,
    cacheMs: { sessions: 0, users: 0 },
  }).app;
}

type App = ReturnType<typeof replica>;

async function signIn(app: App, token: string) {
  const form = await app.request('/login');
  const loginCookie = /lk_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')![1];
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(await form.text())![1];
  const res = await app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `lk_login=${loginCookie}` },
    body: new URLSearchParams({ token, _csrf: csrf, next: '/models' }).toString(),
  });
  const id = /lk_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1];
  return { res, id, cookie: `lk_session=${id}` };
}

async function csrfOf(app: App, cookie: string): Promise<string> {
  const page = await app.request('/models', { headers: { cookie } });
  expect(page.status).toBe(200);
  return /name="csrf-token" content="([0-9a-f]+)"/.exec(await page.text())![1];
}

async function setup() {
  const { store } = tempFileStore();
  await openInstallation(store, { create: true });
  const admin = await addUser(store, { name: 'ada', role: 'admin' });
  const clock = { ms: Date.parse('2026-06-01T08:00:00Z') };
  return { store, admin, clock, a: replica(store, clock), b: replica(store, clock) };
}

test('a session made by one instance works on another over the same store, CSRF included', async () => {
  const { admin, a, b } = await setup();
  const { cookie } = await signIn(a, admin.token);
  const csrf = await csrfOf(a, cookie);
  expect(await csrfOf(b, cookie)).toBe(csrf);
  const acted = await b.request('/models/act', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
  expect(acted.status).toBe(200);
  expect(await acted.text()).toBe('acted');
  const noCsrf = await b.request('/models/act', { method: 'POST', headers: { cookie } });
  expect(noCsrf.status).toBe(403);
});

test('a restart keeps everyone signed in', async () => {
  const { store, admin, clock, a } = await setup();
  const { cookie } = await signIn(a, admin.token);
  const csrf = await csrfOf(a, cookie);
  const restarted = replica(store, clock);
  expect(await csrfOf(restarted, cookie)).toBe(csrf);
});

test('sign-out on one instance ends the session on the other', async () => {
  const { admin, a, b } = await setup();
  const { cookie } = await signIn(a, admin.token);
  const csrf = await csrfOf(b, cookie);
  const out = await a.request('/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
  expect(out.status).toBe(303);
  expect((await b.request('/models', { headers: { cookie } })).status).toBe(401);
  expect((await a.request('/models', { headers: { cookie } })).status).toBe(401);
});

test('a revoked token ends its sessions on every instance', async () => {
  const { store, admin, a, b } = await setup();
  const { cookie } = await signIn(a, admin.token);
  expect((await b.request('/models', { headers: { cookie } })).status).toBe(200);
  expect(await revokeUser(store, 'ada')).toBe(1);
  expect((await a.request('/models', { headers: { cookie } })).status).toBe(401);
  expect((await b.request('/models', { headers: { cookie } })).status).toBe(401);
});

test('an expired session is refused by every instance and its object deleted', async () => {
  const { store, admin, clock, a, b } = await setup();
  const { cookie, id } = await signIn(a, admin.token);
  const key = `ui/sessions/${hashSessionId(id)}.json`;
  expect(await store.head(key)).toBeDefined();
  clock.ms += 3_600_000 - 1;
  expect((await b.request('/models', { headers: { cookie } })).status).toBe(200);
  clock.ms += 1;
  expect((await b.request('/models', { headers: { cookie } })).status).toBe(401);
  expect((await a.request('/models', { headers: { cookie } })).status).toBe(401);
  expect(await store.head(key)).toBeUndefined();
});

test('stale session objects are swept; live ones stay', async () => {
  const { store } = tempFileStore();
  const clock = { ms: 1_000_000 };
  const sessions = new SessionStore({ store, lifetimeMs: 1000, now: () => clock.ms, cacheMs: 0 });
  const old = await sessions.create('0'.repeat(64), { name: 'x', role: 'viewer' });
  clock.ms += 2000;
  const live = await sessions.create('1'.repeat(64), { name: 'y', role: 'viewer' });
  expect(await sessions.sweepExpired()).toBe(1);
  expect(await store.head(`ui/sessions/${hashSessionId(old.id)}.json`)).toBeUndefined();
  expect((await sessions.get(live.id))?.user.name).toBe('y');
});

test('messages and held tasks written by one instance reach the other; concurrent edits both survive', async () => {
  const { store } = tempFileStore();
  const one = new SessionStore({ store, lifetimeMs: 60_000, cacheMs: 0 });
  const two = new SessionStore({ store, lifetimeMs: 60_000, cacheMs: 0 });
  const s = await one.create('0'.repeat(64), { name: 'x', role: 'annotator' });
  const e1 = await one.edit(s.id);
  const e2 = await two.edit(s.id);
  e1.flash({ kind: 'ok', text: 'from one' });
  e2.flash({ kind: 'info', text: 'from two' });
  await e1.save();
  await e2.save();
  const seen = await two.edit(s.id);
  expect(seen.takeFlashes().map((f) => f.text)).toEqual(['from one', 'from two']);
  const meanwhile = await one.edit(s.id);
  meanwhile.flash({ kind: 'error', text: 'later' });
  await meanwhile.save();
  await seen.save(); // removes only what it showed
  expect((await one.edit(s.id)).takeFlashes().map((f) => f.text)).toEqual(['later']);
  // An over-long message is cut, never a reason the session cannot be written.
  const long = await one.edit(s.id);
  long.flash({ kind: 'error', text: 'x'.repeat(5000) });
  await long.save();
  expect((await two.edit(s.id)).takeFlashes().at(-1)!.text).toHaveLength(2000);
  // The task a page holds, set on one instance, is what the other shows; a drop there clears it.
  const task = {
    ...churnTask('churn', 1),
    lease: { annotator: 'x', expiresAt: '2026-06-10T10:05:00.000Z' },
    labelsNeeded: 1,
    labelsSoFar: 0,
  };
  const holding = await one.edit(s.id);
  holding.hold('churn', task);
  await holding.save();
  const other = await two.edit(s.id);
  expect(other.held('churn')).toEqual(task);
  other.drop('churn');
  await other.save();
  expect((await one.edit(s.id)).held('churn')).toBeUndefined();
});

test('the session id is never stored, put in a URL or logged', async () => {
  const { store, admin, a, b } = await setup();
  const lines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
    jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    }),
  );
  try {
    const { res, cookie, id } = await signIn(a, admin.token);
    const locations = [res.headers.get('location') ?? ''];
    const boom = await b.request('/models/boom', { headers: { cookie } });
    expect(boom.status).toBe(500);
    let sessionObjects = 0;
    for await (const item of store.list('')) {
      if (item.key.startsWith('ui/sessions/')) sessionObjects++;
      expect(item.key).not.toContain(id);
      expect((await store.get(item.key)).toString('utf8')).not.toContain(id);
    }
    expect(sessionObjects).toBe(1);
    const csrf = await csrfOf(b, cookie);
    const out = await b.request('/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    locations.push(out.headers.get('location') ?? '');
    expect(lines.some((l) => l.includes('/models/boom'))).toBe(true); // the error was logged...
    for (const l of [...lines, ...locations]) expect(l).not.toContain(id); // ...without the id
  } finally {
    for (const s of spies) s.mockRestore();
  }
});
