import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import { writeSimulatedLogs } from '../../src/simulate/write-logs';
import type { BlobStore } from '../../src/storage/blob-store';
import { ModelRegistry } from '../../src/storage/model-registry';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

/** Runs the CLI in-process against `storeUri`, capturing stdout/stderr and the exit code. */
const cli = (storeUri: string, ...args: string[]) => runCli({ LOOPKEEPER_STORE: storeUri }, ...args);

/** An unblessed candidate registered the way a retraining activity would (no blessing yet). */
async function registerCandidate(store: BlobStore): Promise<string> {
  const rng = createRng(11);
  const rows = Array.from({ length: 400 }, () => {
    const x = rng.normal();
    return {
      features: { sessions_per_week: x, plan: rng.next() < 0.5 ? 'basic' : 'pro' },
      label: x < 0 ? 'churn' : 'stay',
    };
  });
  const { version } = await new ModelRegistry(store).registerVersion({
    modelId: 'churn',
    artifact: trainArtifact({ rows, positiveClass: 'churn', options: { seed: 3, maxEpochs: 5 } }),
    manifest: {
      createdAt: new Date(Date.now() + 60_000).toISOString(),
      trainer: 'logistic-adam',
      trainingData: ['datasets/churn/train/test/data.ndjson'],
      metrics: { f1: 0.5 },
      codeVersion: 'test',
    },
  });
  return version;
}

describe('loopkeeper train + models (CLI in-process, file store)', () => {
  test('train a first model, then list / show / promote / rollback / history', async () => {
    const { store, dir } = tempFileStore();
    const uri = `file://${dir}`;
    await writeSimulatedLogs(store, {
      modelId: 'churn',
      config: { name: 'concept-drift', seed: 7, start: '2026-06-01', days: 1, rowsPerDay: 150 },
      historyDays: 14,
    });

    // train: registers, blesses (no champion, enough test rows) and promotes.
    const trained = await cli(uri, 'train', '--model', 'churn', '--from-history', '--json');
    expect(trained.err).toBe('');
    expect(trained.code).toBe(0);
    const t = JSON.parse(trained.out) as {
      version: string;
      blessed: boolean;
      promoted: boolean;
      champion: string;
      blessingReasons: string[];
      split: { testRows: number };
    };
    expect(t).toMatchObject({ blessed: true, promoted: true, champion: t.version });
    expect(t.blessingReasons).toEqual(['first model: no champion to compare against']);
    expect(t.split.testRows).toBeGreaterThanOrEqual(200);
    const v1 = t.version;
    // Re-running is idempotent: same data and seed, same version, nothing changes.
    const again = await cli(uri, 'train', '--model', 'churn', '--json');
    expect(JSON.parse(again.out)).toMatchObject({
      version: v1,
      created: false,
      promoted: false,
      champion: v1,
    });

    const v2 = await registerCandidate(store);

    const list = await cli(uri, 'models', 'list', '--model', 'churn', '--json');
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.out) as {
      aliases: Record<string, string>;
      versions: Array<{
        version: string;
        blessed: boolean | null;
        aliases: string[];
        trainer: string;
        metrics: Record<string, number>;
      }>;
    };
    expect(listed.aliases).toEqual({ champion: v1 });
    expect(listed.versions.map((v) => [v.version, v.blessed, v.aliases])).toEqual([
      [v1, true, ['champion']],
      [v2, null, []],
    ]);
    expect(listed.versions[0].trainer).toBe('logistic-adam');
    expect(Object.keys(listed.versions[0].metrics)).toEqual(
      expect.arrayContaining(['f1', 'roc_auc', 'test_rows']),
    );

    // Promoting the unblessed candidate without --force is refused with exit code 3 and a clear message.
    const refused = await cli(uri, 'models', 'promote', '--model', 'churn', '--version', v2);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain(
      `loopkeeper: refusing to make version ${v2} the champion of model churn: it is not blessed (no blessing recorded)`,
    );
    expect(refused.err).toContain('--force --reason');
    const noReason = await cli(uri, 'models', 'promote', '--model', 'churn', '--version', v2, '--force');
    expect(noReason.code).toBe(64);
    expect(noReason.err).toContain('--force needs --reason');
    const missing = await cli(uri, 'models', 'promote', '--model', 'churn', '--version', 'v-nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('model churn has no version v-nope');

    const forced = await cli(
      uri,
      'models',
      'promote',
      '--model',
      'churn',
      '--version',
      v2,
      '--force',
      '--reason',
      'hotfix for incident 42',
      '--actor',
      'alice',
      '--json',
    );
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.out)).toMatchObject({
      forced: true,
      aliases: { champion: v2, previous: v1 },
      changes: [
        { alias: 'champion', from: v1, to: v2 },
        { alias: 'previous', from: null, to: v1 },
      ],
    });

    const human = await cli(uri, 'models', 'list', '--model', 'churn');
    expect(human.out).toMatch(new RegExp(`${v1} .* yes +previous`));
    expect(human.out).toMatch(new RegExp(`${v2} .* no +champion`));

    const show = await cli(uri, 'models', 'show', '--model', 'churn', '--version', v1);
    expect(show.code).toBe(0);
    expect(show.out).toContain('blessing:  BLESSED');
    expect(show.out).toContain('first model: no champion to compare against');

    const rollback = await cli(
      uri,
      'models',
      'rollback',
      '--model',
      'churn',
      '--reason',
      'precision dropped',
      '--actor',
      'bob',
      '--json',
    );
    expect(rollback.code).toBe(0);
    expect(JSON.parse(rollback.out).aliases).toEqual({ champion: v1, previous: v2, 'rolled-back': v2 });

    const history = await cli(uri, 'models', 'history', '--model', 'churn', '--json');
    const entries = (JSON.parse(history.out) as { entries: Array<Record<string, unknown>> }).entries;
    expect(entries.map((e) => [e.revision, e.alias, e.from, e.to, e.actor, e.forced])).toEqual([
      [1, 'champion', null, v1, expect.stringMatching(/^cli:/), false],
      [2, 'champion', v1, v2, 'alice', true],
      [2, 'previous', null, v1, 'alice', true],
      [3, 'champion', v2, v1, 'bob', false],
      [3, 'previous', v1, v2, 'bob', false],
      [3, 'rolled-back', null, v2, 'bob', false],
    ]);
    expect(entries[1]).toMatchObject({
      reason: 'hotfix for incident 42',
      forceReason: 'hotfix for incident 42',
    });
    const historyText = await cli(uri, 'models', 'history', '--model', 'churn');
    expect(historyText.out).toContain('[FORCED: hotfix for incident 42]');
  });

  test('rollback without a previous champion, and empty listings, explain themselves', async () => {
    const { dir } = tempFileStore();
    const uri = `file://${dir}`;
    // An empty store: created on purpose (a missing store is an error).
    const rollback = await cli(uri, '--init', 'models', 'rollback', '--model', 'churn');
    expect(rollback.code).toBe(1);
    expect(rollback.err).toContain('model churn has no previous champion to roll back to');
    const list = await cli(uri, 'models', 'list', '--model', 'churn');
    expect(list.out).toContain('model churn has no registered versions');
    const train = await cli(uri, 'train', '--model', 'churn');
    expect(train.code).toBe(1);
    expect(train.err).toContain('no bootstrap history for model churn');
    const badModel = await cli(uri, 'models', 'list', '--model', 'Bad Id');
    expect(badModel.code).toBe(64);
  });
});
