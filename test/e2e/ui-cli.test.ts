import { openInstallation } from '../../src/config/installation';
import { readStoredUsers, hashToken } from '../../src/ui/users';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

test('ui token add prints a token once and stores only its hash; list shows names, revoke removes them', async () => {
  const { store } = tempFileStore();
  await openInstallation(store, { create: true });
  const env = { LOOPKEEPER_STORE: store.uri };

  const added = await runCli(env, 'ui', 'token', 'add', '--name', 'alice', '--role', 'annotator');
  expect(added.code).toBe(0);
  const token = added.out.trim();
  expect(token).toMatch(/^lk_[A-Za-z0-9_-]{43}$/);
  expect(added.err).toContain('shown only now');
  expect(added.err).not.toContain(token);

  const users = await readStoredUsers(store);
  expect(users).toEqual({
    [hashToken(token)]: expect.objectContaining({ name: 'alice', role: 'annotator' }),
  });
  expect((await store.get('ui/users.json')).toString('utf8')).not.toContain(token);

  const list = await runCli(env, 'ui', 'token', 'list');
  expect(list.out).toMatch(/alice\s+annotator/);
  expect(list.out).not.toContain(token);

  const badRole = await runCli(env, 'ui', 'token', 'add', '--name', 'bob', '--role', 'root');
  expect(badRole.code).toBe(64);
  expect(badRole.err).toContain('--role "root": expected annotator, viewer or admin');
  const badName = await runCli(env, 'ui', 'token', 'add', '--name', '<b>', '--role', 'viewer');
  expect(badName.code).toBe(64);

  expect((await runCli(env, 'ui', 'token', 'revoke', '--name', 'alice')).code).toBe(0);
  expect(await readStoredUsers(store)).toEqual({});
  expect((await runCli(env, 'ui', 'token', 'revoke', '--name', 'alice')).code).toBe(66);
});
