/**
 * Hostile `--model` values (issue 16 §3) for every command that takes one: each is refused before the
 * store or Temporal is touched (the store does not exist and Temporal is unreachable here, which would
 * give 66 or 69) with one short line, exit 64, that shows the value escaped and cut.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { runCli } from '../support/cli';

/** Characters that act on a terminal: C0/C1 controls, DEL, bidi controls, line separators. */
// eslint-disable-next-line no-control-regex -- finding raw control characters is the point
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ['1 MB', 'm'.repeat(1 << 20)],
  ['ESC colour', '\u001b[31m'],
  ['traversal', '../x'],
  ['newline', 'a\nb'],
  ['RTL override', 'x\u202Egpj.exe'],
  ['C1 CSI', 'x\u009b31m'],
];

/** Every command with `--model`, with the other options it requires. */
const COMMANDS: string[][] = [
  ['cycle', 'run'],
  ['drift'],
  ['models', 'list'],
  ['models', 'show', '--version', 'v1'],
  ['models', 'promote', '--version', 'v1'],
  ['models', 'rollback'],
  ['models', 'repair'],
  ['models', 'prune', '--keep', '1'],
  ['models', 'history'],
  ['rollout', 'start', '--version', 'v1'],
  ['rollout', 'status'],
  ['rollout', 'approve'],
  ['rollout', 'abort'],
  ['rollout', 'pause'],
  ['rollout', 'resume'],
  ['schedule', 'create'],
  ['schedule', 'pause'],
  ['schedule', 'unpause'],
  ['schedule', 'trigger'],
  ['schedule', 'delete'],
  ['schedule', 'describe'],
  ['train'],
  ['policy', 'show'],
  ['policy', 'validate'],
  ['policy', 'set', '--file', '/nonexistent/policy.json'],
  ['serve', '--port', '0'],
  ['review', 'stats'],
  ['review', 'list'],
  ['review', 'next', '--annotator', 'ann'],
];

const env = () => ({
  LOOPKEEPER_STORE: `file://${path.join(os.tmpdir(), `loopkeeper-missing-${randomUUID()}`)}`,
  TEMPORAL_ADDRESS: '127.0.0.1:1',
});

describe('--model with a hostile value: one short escaped line, exit 64', () => {
  test.each(COMMANDS.map((c) => [c.join(' '), c] as const))('%s', async (_name, args) => {
    for (const [name, value] of HOSTILE) {
      const r = await runCli(env(), ...args, '--model', value);
      const err = r.err.replace(/\n$/, '');
      expect({ name, code: r.code, lines: err.split('\n').length, out: r.out }).toEqual({
        name,
        code: 64,
        lines: 1,
        out: '',
      });
      expect(err.length).toBeLessThan(300);
      expect(err).toMatch(/--model/);
      expect(RAW_CONTROL.test(err)).toBe(false);
    }
  });
});

describe('other flags of these commands quote a hostile value the same way, keeping their exit codes', () => {
  test.each([
    [['cycle', 'run', '--model', 'churn', '--as-of'], 64],
    [['cycle', 'run', '--model', 'churn', '--window'], 1],
    [['drift', '--model', 'churn', '--fail-on'], 1],
    [['drift', '--model', 'churn', '--as-of'], 1],
    [['models', 'prune', '--model', 'churn', '--keep'], 64],
    [['schedule', 'create', '--model', 'churn', '--every'], 1],
    [['schedule', 'create', '--model', 'churn', '--cron'], 64],
    [['train', '--model', 'churn', '--seed'], 64],
  ] as const)('%p', async (args, code) => {
    for (const [name, value] of HOSTILE) {
      const r = await runCli(env(), ...args, value);
      const err = r.err.replace(/\n$/, '');
      expect({ name, code: r.code, lines: err.split('\n').length }).toEqual({ name, code, lines: 1 });
      expect(err.length).toBeLessThan(300);
      expect(RAW_CONTROL.test(err)).toBe(false);
    }
  });
});
