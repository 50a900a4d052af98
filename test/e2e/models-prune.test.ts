import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import { ModelRegistry } from '../../src/storage/model-registry';
import { readRetentionRecords } from '../../src/storage/registry-retention';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

const cli = (storeUri: string, ...args: string[]) => runCli({ LOOPKEEPER_STORE: storeUri }, ...args);
const actor = { actor: 'test', reason: 'setting up' };

/** Every key in the store with its etag: equal snapshots mean nothing was written or deleted. */
async function snapshot(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.list('')) out.push(`${b.key} ${b.etag}`);
  return out;
}

/**
 * Seven versions v1..v7 a day apart: champion v2 (previous v1), rollout canary v3, and a profile beside
 * v4 so a version holds more than model.json and manifest.json. With --keep 2, only v4 and v5 may go.
 */
async function seed(): Promise<{ store: BlobStore; uri: string; registry: ModelRegistry }> {
  const { store } = tempFileStore();
  const registry = new ModelRegistry(store);
  const rng = createRng(5);
  const rows = Array.from({ length: 200 }, () => {
    const x = rng.normal();
    return { features: { x, plan: rng.next() < 0.5 ? 'a' : 'b' }, label: x < 0 ? 'churn' : 'stay' };
  });
  const artifact = trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1, maxEpochs: 3 } });
  for (let i = 1; i <= 7; i++) {
    await registry.registerVersion({
      modelId: 'churn',
      version: `v${i}`,
      artifact,
      manifest: {
        createdAt: new Date(Date.UTC(2026, 5, i)).toISOString(),
        trainer: 'logistic-adam',
        trainingData: [],
        metrics: { f1: 0.5 + i / 100 },
        codeVersion: 'test',
      },
    });
  }
  const force = { reason: 'test setup' };
  await registry.promote({ modelId: 'churn', version: 'v1', ...actor, force });
  await registry.promote({ modelId: 'churn', version: 'v2', ...actor, force });
  await registry.setRollout({
    modelId: 'churn',
    config: { canary: { version: 'v3', weightPercent: 10, salt: 's' } },
    ...actor,
  });
  await store.put(layout.versionProfile('churn', 'v4'), '{}\n');
  return { store, uri: store.uri, registry };
}

/** Keys under a version's prefix. */
async function keysOf(store: BlobStore, version: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const b of store.list(layout.modelVersionPrefix('churn', version))) keys.push(b.key);
  return keys;
}

/** The store, with `before(key)` run before each delete (to race or fail a deletion). */
function onDelete(store: BlobStore, before: (key: string) => Promise<void>): BlobStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'delete')
        return async (key: string) => {
          await before(key);
          return target.delete(key);
        };
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('loopkeeper models prune', () => {
  test('a dry run by default deletes nothing; --yes deletes the prunable versions and records each', async () => {
    const { store, uri, registry } = await seed();
    const before = await snapshot(store);

    const dry = await cli(uri, 'models', 'prune', '--model', 'churn', '--keep', '2', '--json');
    expect(dry.err).toBe('');
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out) as {
      dryRun: boolean;
      versions: Array<{ version: string; keys: string[] }>;
    };
    expect(planned.dryRun).toBe(true);
    expect(planned.versions.map((v) => v.version)).toEqual(['v4', 'v5']);
    expect(planned.versions[0].keys).toEqual([
      layout.modelManifest('churn', 'v4'),
      layout.modelVersion('churn', 'v4'),
      layout.versionProfile('churn', 'v4'),
    ]);
    const dryText = await cli(uri, 'models', 'prune', '--model', 'churn', '--keep', '2', '--dry-run');
    expect(dryText.code).toBe(0);
    expect(dryText.out).toMatch(/would delete 2 version\(s\), 5 object\(s\)/);
    expect(dryText.out).toMatch(/nothing deleted: run again with --yes/);
    expect(await snapshot(store)).toEqual(before);

    const run = await cli(
      uri,
      'models',
      'prune',
      '--model',
      'churn',
      '--keep',
      '2',
      '--yes',
      '--actor',
      'ops',
      '--json',
    );
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(
      (JSON.parse(run.out) as { versions: Array<{ version: string }> }).versions.map((v) => v.version),
    ).toEqual(['v4', 'v5']);
    expect(await keysOf(store, 'v4')).toEqual([]);
    expect(await keysOf(store, 'v5')).toEqual([]);
    // Alias targets (v1 previous, v2 champion), the canary (v3) and the newest two (v6, v7) remain whole.
    expect((await registry.listVersions('churn')).map((m) => m.version)).toEqual([
      'v1',
      'v2',
      'v3',
      'v6',
      'v7',
    ]);
    for (const v of ['v1', 'v2', 'v3', 'v6', 'v7']) await registry.loadArtifact('churn', v);
    expect((await registry.getAliases('churn')).aliases).toEqual({ champion: 'v2', previous: 'v1' });

    const records = await readRetentionRecords(store, 'churn');
    expect(records.map((r) => [r.version, r.actor, r.keep, r.manifest.metrics.f1])).toEqual([
      ['v4', 'ops', 2, 0.54],
      ['v5', 'ops', 2, 0.55],
    ]);
    expect(records[0].keys).toHaveLength(3);

    const again = await cli(uri, 'models', 'prune', '--model', 'churn', '--keep', '2', '--yes');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/deleted 0 version\(s\)/);
  });

  test('bad flags are refused with one line naming them', async () => {
    const { uri } = await seed();
    const badKeep = await cli(uri, 'models', 'prune', '--model', 'churn', '--keep', 'two');
    expect(badKeep.code).toBe(64);
    expect(badKeep.err).toMatch(/--keep must be a whole number of versions \(0 or more\), got "two"/);
    const both = await cli(uri, 'models', 'prune', '--model', 'churn', '--keep', '1', '--yes', '--dry-run');
    expect(both.code).toBe(64);
    expect(both.err).toMatch(/--yes and --dry-run contradict/);
  });

  test('a version an alias points at between listing and deleting is kept whole', async () => {
    const { store, registry } = await seed();
    const racer = new ModelRegistry(store);
    // A promotion that checked v4's manifest just before the prune removed it lands right then.
    const racing = onDelete(store, async (key) => {
      if (key === layout.modelManifest('churn', 'v4'))
        await racer.setAlias({ modelId: 'churn', alias: 'challenger', version: 'v4', ...actor });
    });
    const result = await new ModelRegistry(racing).prune({
      modelId: 'churn',
      keep: 2,
      dryRun: false,
      actor: 'ops',
      reason: 'retention',
    });
    expect(result.versions.map((v) => v.version)).toEqual(['v5']);
    expect(result.skipped).toEqual([
      { version: 'v4', reason: 'alias challenger pointed at it during the prune' },
    ]);
    expect(await keysOf(store, 'v4')).toHaveLength(3);
    await registry.loadArtifact('churn', 'v4');
    expect((await registry.getManifest('churn', 'v4')).metrics.f1).toBe(0.54);
    expect((await readRetentionRecords(store, 'churn')).map((r) => r.version)).toEqual(['v5']);
  });

  test('a prune interrupted after unregistering a version is finished by the next one', async () => {
    const { store, registry } = await seed();
    const crashing = onDelete(store, async (key) => {
      if (key === layout.modelVersion('churn', 'v5')) throw new Error('connection reset');
    });
    await expect(
      new ModelRegistry(crashing).prune({
        modelId: 'churn',
        keep: 2,
        dryRun: false,
        actor: 'ops',
        reason: 'r',
      }),
    ).rejects.toThrow('connection reset');
    expect(await keysOf(store, 'v5')).toEqual([layout.modelVersion('churn', 'v5')]);

    const dry = await registry.prune({ modelId: 'churn', keep: 2, dryRun: true, actor: 'ops', reason: 'r' });
    expect(dry.resumed).toEqual([{ version: 'v5', keys: [layout.modelVersion('churn', 'v5')] }]);
    expect(await keysOf(store, 'v5')).toHaveLength(1);

    const next = await registry.prune({
      modelId: 'churn',
      keep: 2,
      dryRun: false,
      actor: 'ops',
      reason: 'r',
    });
    expect(next.versions).toEqual([]);
    expect(next.resumed.map((r) => r.version)).toEqual(['v5']);
    expect(await keysOf(store, 'v5')).toEqual([]);
  });
});
