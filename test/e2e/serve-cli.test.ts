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
