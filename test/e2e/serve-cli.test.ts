import { openInstallation } from '../../src/config/installation';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

describe('loopkeeper serve (CLI in-process): a bad --busy-poll-ms', () => {
  test.each(['abc', '-1', '1.5'])('--busy-poll-ms %p exits 64 naming the flag', async (value) => {
    const { dir } = tempFileStore();
    const res = await runCli(
      { LOOPKEEPER_STORE: `file://${dir}` },
      'serve',
      '--model',
      'churn',
      '--port',
      '0',
      '--busy-poll-ms',
      value,
    );
    expect(res.code).toBe(64);
    expect(res.err).toContain(`--busy-poll-ms "${value}": expected a non-negative integer`);
  });
});

describe('loopkeeper serve (CLI in-process): refuses to start what cannot serve', () => {
  test('a model with no champion (here: a typo) fails at start with one line and exit 69', async () => {
    const { dir, store } = tempFileStore();
    await openInstallation(store, { create: true }); // the store exists; only the model is unknown
    const res = await runCli(
      { LOOPKEEPER_STORE: `file://${dir}` },
      'serve',
      '--model',
      'churnn',
      '--port',
      '0',
    );
    expect(res.code).toBe(69);
    expect(res.err.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^loopkeeper: cannot serve model churnn: model "churnn" has no models\/churnn\/aliases.json in the store: .*\(--allow-no-champion starts anyway\)$/,
      ),
    ]);
    expect(res.out).toBe('');
  });

  test('an unreadable --token-file exits 66 and a blank token 64, before anything listens', async () => {
    const { dir } = tempFileStore();
    const env = { LOOPKEEPER_STORE: `file://${dir}` };
    const missing = await runCli(
      env,
      'serve',
      '--model',
      'churn',
      '--port',
      '0',
      '--token-file',
      `${dir}/none`,
    );
    expect(missing.code).toBe(66);
    expect(missing.err).toMatch(/--token-file ".*\/none": cannot read it \(ENOENT\)/);
    const blank = await runCli(
      { ...env, LOOPKEEPER_SERVE_TOKEN: ' \n' },
      'serve',
      '--model',
      'churn',
      '--port',
      '0',
    );
    expect(blank.code).toBe(64);
    expect(blank.err).toMatch(/LOOPKEEPER_SERVE_TOKEN: the token must be non-empty printable ASCII/);
  });
});
