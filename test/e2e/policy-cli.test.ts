import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { layout } from '../../src/storage/layout';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

function policyFile(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-policy-'));
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** `loopkeeper policy show|validate|set`: strict, with every problem named and nothing half-stored. */
describe('loopkeeper policy (CLI in-process, file store)', () => {
  test('set refuses a misspelt key (it used to be ignored), naming it and the key meant', async () => {
    const { store } = tempFileStore();
    const env = { LOOPKEEPER_STORE: store.uri };
    const file = policyFile({ promotoin: 'challenger-only' });
    const r = await runCli(env, '--init', 'policy', 'set', '--model', 'churn', '--file', file);
    expect(r.code).toBe(65);
    expect(r.err).toBe(
      `loopkeeper: ${file} is invalid: promotoin: unknown key "promotoin" (did you mean "promotion"?)`,
    );
    expect(await store.head(layout.policy('churn'))).toBeUndefined();

    const v = await runCli(env, 'policy', 'validate', '--model', 'churn', '--file', file);
    expect(v.code).toBe(65);
    expect(v.err).toContain('did you mean "promotion"?');
    const broken = await runCli(
      env,
      'policy',
      'validate',
      '--model',
      'churn',
      '--file',
      policyFile('{"gate": '),
    );
    expect(broken.code).toBe(65);
    expect(broken.err).toMatch(/not valid JSON/);
  });

  test('set stores a valid policy; show tells file values from defaults; validate checks the stored one', async () => {
    const { store } = tempFileStore();
    const env = { LOOPKEEPER_STORE: store.uri };
    const file = policyFile({ promotion: 'challenger-only', retrain: { l2: 0.01 } });
    const set = await runCli(env, '--init', 'policy', 'set', '--model', 'churn', '--file', file);
    expect(set.err).toBe('');
    expect(set.code).toBe(0);

    const show = await runCli(env, 'policy', 'show', '--model', 'churn', '--json');
    expect(show.code).toBe(0);
    const shown = JSON.parse(show.out) as {
      source: string;
      policy: { promotion: string; retrain: { l2: number; testFraction: number } };
      values: { path: string; origin: string }[];
    };
    expect(shown.source).toBe('stored');
    expect(shown.policy.promotion).toBe('challenger-only');
    expect(shown.values.find((v) => v.path === 'promotion')?.origin).toBe('file');
    expect(shown.values.find((v) => v.path === 'retrain.testFraction')?.origin).toBe('default');
    const human = await runCli(env, 'policy', 'show', '--model', 'churn');
    expect(human.out).toMatch(/promotion\s+"challenger-only"\s+file/);

    expect((await runCli(env, 'policy', 'validate', '--model', 'churn')).out).toContain('valid');
    // A stored file edited by hand is checked the same way.
    await store.put(layout.policy('churn'), JSON.stringify({ gate: { minImprovment: 0.01 } }));
    const bad = await runCli(env, 'policy', 'validate', '--model', 'churn');
    expect(bad.code).toBe(65);
    expect(bad.err).toMatch(/config\/churn\/policy\.json in .* is invalid: gate\.minImprovment: unknown key/);
    expect((await runCli(env, 'policy', 'show', '--model', 'churn')).code).toBe(65);
  });
});
