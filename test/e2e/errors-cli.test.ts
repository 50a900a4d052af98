import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError } from '../../src/cli/index';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import { runCli } from '../support/cli';
import { tempFileStore, testTemporalAddress } from '../support/temporal';

/** A stack trace line as Node prints it. */
const STACK = /\n\s+at /;

/** A file:// URI of a folder that does not exist. */
function missingStore(): string {
  return `file://${path.join(os.tmpdir(), `loopkeeper-missing-${randomUUID()}`)}`;
}

async function storeWithLogs(modelId = 'churn'): Promise<string> {
  const { store } = tempFileStore();
  await writeSimulatedLogs(store, {
    modelId,
    config: { name: 'stable', seed: 3, start: '2026-06-01', days: 2, rowsPerDay: 40 },
    historyDays: 0,
  });
  return store.uri;
}

function expectOneLine(r: { code: number; err: string }, code: number, text: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.err).toMatch(text);
  expect(r.err).not.toMatch(STACK);
  expect(r.err.trim().split('\n')).toHaveLength(1);
}

describe('one-line errors with their own exit code', () => {
  // What the repo's before-stop hook runs: a missing store, an unreachable server.
  const hookEnv = () => ({ LOOPKEEPER_STORE: missingStore(), TEMPORAL_ADDRESS: '127.0.0.1:1' });

  test.each([
    [['models', 'list', '--model', 'churn']],
    [['drift', '--model', 'nosuchmodel']],
    [['policy', 'validate', '--model', 'churn']],
    [['cycle', 'run', '--model', 'churn']],
    [['worker']],
  ])('a missing store is an error, not an empty store: %p', async (args) => {
    const env = hookEnv();
    const r = await runCli(env, ...args);
    expectOneLine(r, 66, new RegExp(`store ${env.LOOPKEEPER_STORE} does not exist .*--init`));
    expect(fs.existsSync(env.LOOPKEEPER_STORE.slice('file://'.length))).toBe(false);
  });

  test('--init creates the store on purpose', async () => {
    const env = hookEnv();
    const r = await runCli(env, '--init', 'policy', 'validate', '--model', 'churn');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('the default policy: valid');
    expect((await runCli(env, 'models', 'list', '--model', 'churn')).code).toBe(0);
  });

  test('an unknown model names the store and the closest known model', async () => {
    const uri = await storeWithLogs('churn');
    const r = await runCli({ LOOPKEEPER_STORE: uri }, 'drift', '--model', 'churnn');
    expectOneLine(
      r,
      66,
      /unknown model "churnn" in store .* \(did you mean "churn"\?\); known models: churn/,
    );
  });

  test('--html into a missing folder fails before any work', async () => {
    const uri = await storeWithLogs('churn');
    const file = path.join(os.tmpdir(), `no-such-dir-${randomUUID()}`, 'report.html');
    const r = await runCli({ LOOPKEEPER_STORE: uri }, 'drift', '--model', 'churn', '--html', file);
    expectOneLine(r, 73, /--html .*report\.html: folder .* does not exist/);
  });

  test('a bad --cron is a usage error', async () => {
    const uri = await storeWithLogs('churn');
    const r = await runCli(
      { LOOPKEEPER_STORE: uri, TEMPORAL_ADDRESS: testTemporalAddress() },
      'schedule',
      'create',
      '--model',
      'churn',
      '--cron',
      'every tuesday',
    );
    expectOneLine(r, 64, /--cron "every tuesday": expected 5 fields/);
    // Shaped right, but a value out of range: the server's verdict, as one line.
    const outOfRange = await runCli(
      { LOOPKEEPER_STORE: uri, TEMPORAL_ADDRESS: testTemporalAddress() },
      'schedule',
      'create',
      '--model',
      'churn',
      '--cron',
      '61 * * * *',
    );
    expectOneLine(outOfRange, 64, /schedule refused: Minute is not in range/);
  });

  test.each([[['worker']], [['cycle', 'run', '--model', 'churn']], [['dev', '--once']]])(
    'an unreachable Temporal server: %p',
    async (args) => {
      const uri = await storeWithLogs('churn');
      const r = await runCli({ LOOPKEEPER_STORE: uri, TEMPORAL_ADDRESS: '127.0.0.1:1' }, ...args);
      expectOneLine(r, 69, /cannot reach Temporal at 127\.0\.0\.1:1 .*loopkeeper dev/);
    },
  );

  test('cycle status with no worker says so instead of timing out', async () => {
    const uri = await storeWithLogs('churn');
    const env = {
      LOOPKEEPER_STORE: uri,
      TEMPORAL_ADDRESS: testTemporalAddress(),
      LOOPKEEPER_TASK_QUEUE: `idle-${randomUUID()}`,
    };
    const started = await runCli(
      env,
      'cycle',
      'run',
      '--model',
      'churn',
      '--window',
      '2026-06-01..2026-06-03',
      '--json',
    );
    expect(started.code).toBe(0);
    const { workflowId } = JSON.parse(started.out) as { workflowId: string };
    const r = await runCli(env, 'cycle', 'status', workflowId);
    expectOneLine(r, 69, /no worker polls task queue "idle-.*loopkeeper worker/);
    const missing = await runCli(env, 'cycle', 'status', 'cycle-nope-2026-01-01_2026-01-08');
    expectOneLine(missing, 66, /no cycle with workflow id "cycle-nope-2026-01-01_2026-01-08"/);
  });

  test('cycle run --wait with no worker says that no worker polls the queue, and keeps waiting', async () => {
    const uri = await storeWithLogs('churn');
    const env = {
      LOOPKEEPER_STORE: uri,
      TEMPORAL_ADDRESS: testTemporalAddress(),
      LOOPKEEPER_TASK_QUEUE: `idle-${randomUUID()}`,
    };
    let noticed!: (line: string) => void;
    const notice = new Promise<string>((resolve) => (noticed = resolve));
    const warn = jest.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => noticed(a.join(' ')));
    try {
      const waiting = runCli(
        env,
        'cycle',
        'run',
        '--model',
        'churn',
        '--window',
        '2026-06-01..2026-06-03',
        '--wait',
      );
      const line = await notice;
      expect(line).toMatch(
        /no worker polls task queue "idle-.*Still waiting for cycle-churn-2026-06-01_2026-06-03/,
      );
      // Still waiting: end the cycle from outside; the command then reports and exits non-zero.
      const ended = await runCli({ ...env }, 'cycle', 'status', 'cycle-churn-2026-06-01_2026-06-03');
      expect(ended.code).toBe(69);
      const { Client, Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address: testTemporalAddress() });
      try {
        const namespaces = await connection.workflowService.listNamespaces({});
        for (const ns of namespaces.namespaces ?? []) {
          const name = ns.namespaceInfo?.name ?? '';
          if (!name.startsWith('loopkeeper-')) continue;
          await new Client({ connection, namespace: name }).workflow
            .getHandle('cycle-churn-2026-06-01_2026-06-03')
            .terminate('test done')
            .catch(() => undefined);
        }
      } finally {
        await connection.close();
      }
      const r = await waiting;
      expect(r.code).not.toBe(0);
      expect(r.err).not.toMatch(STACK);
    } finally {
      warn.mockRestore();
    }
  });
});

test('any other error is one line with exit 70, the stack only with LOOPKEEPER_DEBUG=1', () => {
  const err = new TypeError('boom\nsecond line');
  const d = describeError(err, () => undefined);
  expect(d.code).toBe(70);
  expect(d.message).toBe('unexpected TypeError: boom … (LOOPKEEPER_DEBUG=1 shows the stack)');
});
