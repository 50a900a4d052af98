import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelArtifact } from '../../src/ml/model';
import { scoreFeatures, trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import type { Blessing } from '../../src/schemas/manifests';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import type { ManifestFields } from '../../src/storage/model-registry';
import {
  AliasConflictError,
  BlessingExistsError,
  ModelRegistry,
  NoPreviousVersionError,
  NotBlessedError,
  RolloutConflictError,
  VersionConflictError,
  VersionNotFoundError,
} from '../../src/storage/model-registry';
import { jsonBody } from '../../src/storage/cas-json';
import { tempFileStore } from '../support/temporal';

/** A small binary model; different seeds give different weights, hence different content. */
function tinyArtifact(seed: number): ModelArtifact {
  const rng = createRng(seed);
  const rows = Array.from({ length: 120 }, () => {
    const x = rng.normal();
    const plan = rng.next() < 0.5 ? 'basic' : 'pro';
    return { features: { x, plan }, label: rng.next() < 1 / (1 + Math.exp(-2 * x)) ? 'churn' : 'stay' };
  });
  return trainArtifact({ rows, positiveClass: 'churn', options: { seed, maxEpochs: 5 } });
}

function fields(createdAt: string, extra: Partial<ManifestFields> = {}): ManifestFields {
  return {
    createdAt,
    trainer: 'logistic-adam',
    trainingData: ['datasets/churn/history/7/data.ndjson'],
    metrics: { f1: 0.7 },
    codeVersion: 'loopkeeper@test',
    ...extra,
  };
}

function blessing(blessed: boolean, reason = blessed ? 'all checks passed' : 'f1 too low'): Blessing {
  return {
    blessed,
    reasons: [reason],
    comparedTo: null,
    testSetKey: null,
    decidedAt: '2026-06-01T00:00:00.000Z',
    checks: [],
  };
}

/** Every getVersioned of `key` waits until `parties` callers have read it once: forces a real race. */
function racingStore(inner: BlobStore, key: string, parties: number): BlobStore {
  const waiting: Array<() => void> = [];
  let armed = true;
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'getVersioned') {
        return async (k: string) => {
          const result = await target.getVersioned(k);
          if (armed && k === key) {
            await new Promise<void>((release) => {
              waiting.push(release);
              if (waiting.length === parties) {
                armed = false;
                for (const r of waiting) r();
              }
            });
          }
          return result;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const who = { actor: 'test', reason: 'unit test' };

describe('ModelRegistry versions', () => {
  test('content-addressed registration is immutable and idempotent', async () => {
    const { store, dir } = tempFileStore();
    const registry = new ModelRegistry(store);
    const artifact = tinyArtifact(1);
    const first = await registry.registerVersion({
      modelId: 'churn',
      artifact,
      manifest: fields('2026-06-01T00:00:00.000Z'),
    });
    expect(first.created).toBe(true);
    expect(first.version).toMatch(/^v-[0-9a-f]{12}$/);
    expect(fs.existsSync(path.join(dir, layout.modelVersion('churn', first.version)))).toBe(true);
    expect(first.manifest).toMatchObject({
      modelId: 'churn',
      classes: ['stay', 'churn'],
      positiveClass: 'churn',
    });

    // A retry (new createdAt, same content) is a no-op that returns the stored manifest.
    const again = await registry.registerVersion({
      modelId: 'churn',
      artifact,
      manifest: fields('2026-06-02T00:00:00.000Z'),
    });
    expect(again).toEqual({ version: first.version, manifest: first.manifest, created: false });

    const loaded = (await registry.loadArtifact('churn', first.version)) as ModelArtifact;
    expect(loaded).toEqual(artifact);
    expect(scoreFeatures(loaded, { x: 0.3, plan: 'pro' })).toEqual(
      scoreFeatures(artifact, { x: 0.3, plan: 'pro' }),
    );
    expect(await registry.getManifest('churn', first.version)).toEqual(first.manifest);
    expect((await registry.listVersions('churn')).map((m) => m.version)).toEqual([first.version]);
  });

  test('different content under an existing version id is refused', async () => {
    const { store } = tempFileStore();
    const registry = new ModelRegistry(store);
    await registry.registerVersion({
      modelId: 'churn',
      version: 'v1',
      artifact: tinyArtifact(1),
      manifest: fields('2026-06-01T00:00:00.000Z'),
    });
    await expect(
      registry.registerVersion({
        modelId: 'churn',
        version: 'v1',
        artifact: tinyArtifact(2),
        manifest: fields('2026-06-01T00:00:00.000Z'),
      }),
    ).rejects.toThrow(VersionConflictError);
    await expect(
      registry.registerVersion({
        modelId: 'churn',
        version: 'v1',
        artifact: tinyArtifact(1),
        manifest: fields('2026-06-01T00:00:00.000Z', { trainingData: ['somewhere/else.ndjson'] }),
      }),
    ).rejects.toThrow(/version v1 already exists with different manifest/);
    await expect(registry.getManifest('churn', 'nope')).rejects.toThrow(VersionNotFoundError);
    await expect(registry.loadArtifact('churn', 'nope')).rejects.toThrow(VersionNotFoundError);
  });

  test('a corrupt model.json fails to load with the key in the message', async () => {
    const { store } = tempFileStore();
    const registry = new ModelRegistry(store);
    await registry.registerVersion({
      modelId: 'churn',
      version: 'v1',
      artifact: tinyArtifact(1),
      manifest: fields('2026-06-01T00:00:00.000Z'),
    });
    await store.put(layout.modelVersion('churn', 'v1'), '{"pipeline": 1}');
    await expect(registry.loadArtifact('churn', 'v1')).rejects.toThrow(
      /models\/churn\/versions\/v1\/model.json .*invalid model artifact/,
    );
  });

  test('updateManifest only adds a blessing (CAS), replacing one only when asked', async () => {
    const { store } = tempFileStore();
    const registry = new ModelRegistry(store);
    const { version } = await registry.registerVersion({
      modelId: 'churn',
      artifact: tinyArtifact(1),
      manifest: fields('2026-06-01T00:00:00.000Z'),
    });
    const blessed = await registry.updateManifest({ modelId: 'churn', version, blessing: blessing(true) });
    expect(blessed.blessing?.blessed).toBe(true);
    await registry.updateManifest({ modelId: 'churn', version, blessing: blessing(true) }); // same: no-op
    await expect(
      registry.updateManifest({ modelId: 'churn', version, blessing: blessing(false) }),
    ).rejects.toThrow(BlessingExistsError);
    const replaced = await registry.updateManifest({
      modelId: 'churn',
      version,
      blessing: blessing(false),
      replace: true,
    });
    expect(replaced.blessing?.blessed).toBe(false);
    expect(replaced.metrics).toEqual({ f1: 0.7 });
  });
});

describe('ModelRegistry aliases', () => {
  async function setup(n = 2): Promise<{ store: BlobStore; registry: ModelRegistry; versions: string[] }> {
    const { store } = tempFileStore();
    let clock = Date.parse('2026-06-01T00:00:00.000Z');
    const registry = new ModelRegistry(store, { now: () => new Date((clock += 1000)) });
    const versions: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await registry.registerVersion({
        modelId: 'churn',
        version: `v${i + 1}`,
        artifact: tinyArtifact(i + 1),
        manifest: fields(new Date(Date.parse('2026-06-01T00:00:00.000Z') + i * 86_400_000).toISOString()),
      });
      versions.push(r.version);
    }
    return { store, registry, versions };
  }

  test('concurrent setAlias from two registries: exactly one conflict retry, no update lost, both audited', async () => {
    const { store } = await setup();
    const shared = racingStore(store, layout.aliases('churn'), 2);
    const a = new ModelRegistry(shared);
    const b = new ModelRegistry(shared);
    const [ra, rb] = await Promise.all([
      a.setAlias({ modelId: 'churn', alias: 'challenger', version: 'v1', actor: 'alice', reason: 'race a' }),
      b.setAlias({ modelId: 'churn', alias: 'canary', version: 'v2', actor: 'bob', reason: 'race b' }),
    ]);
    expect(ra.conflicts + rb.conflicts).toBe(1);
    const { aliases, etag } = await a.getAliases('churn');
    expect(aliases).toEqual({ canary: 'v2', challenger: 'v1' });
    expect(etag).toMatch(/^[0-9a-f]{64}$/);
    const history = await a.aliasHistory('churn');
    expect(history.map((e) => [e.revision, e.alias, e.to, e.actor]).sort()).toEqual([
      [
        1,
        ra.conflicts === 0 ? 'challenger' : 'canary',
        ra.conflicts === 0 ? 'v1' : 'v2',
        ra.conflicts === 0 ? 'alice' : 'bob',
      ],
      [
        2,
        ra.conflicts === 0 ? 'canary' : 'challenger',
        ra.conflicts === 0 ? 'v2' : 'v1',
        ra.conflicts === 0 ? 'bob' : 'alice',
      ],
    ]);
  });

  test('expectedPrevious is re-checked: a stale expectation is refused', async () => {
    const { registry } = await setup();
    await registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v1', ...who });
    await expect(
      registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v2', expectedPrevious: null, ...who }),
    ).rejects.toThrow(AliasConflictError);
    const ok = await registry.setAlias({
      modelId: 'churn',
      alias: 'canary',
      version: null,
      expectedPrevious: 'v1',
      ...who,
    });
    expect(ok.changes).toEqual([{ alias: 'canary', from: 'v1', to: null }]);
    expect(ok.aliases).toEqual({});
    await expect(
      registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v9', ...who }),
    ).rejects.toThrow(VersionNotFoundError);
  });

  test('promote refuses an unblessed version; force is audited as forced', async () => {
    const { registry } = await setup();
    const refused = registry.promote({ modelId: 'churn', version: 'v1', ...who });
    await expect(refused).rejects.toThrow(NotBlessedError);
    await expect(refused).rejects.toThrow(/not blessed \(no blessing recorded\).*--force --reason/);
    await expect(
      registry.setAlias({ modelId: 'churn', alias: 'champion', version: 'v1', ...who }),
    ).rejects.toThrow(NotBlessedError);
    expect((await registry.getAliases('churn')).etag).toBeNull();

    await registry.updateManifest({
      modelId: 'churn',
      version: 'v2',
      blessing: blessing(false, 'f1 dropped 4%'),
    });
    await expect(registry.promote({ modelId: 'churn', version: 'v2', ...who })).rejects.toThrow(
      /blessing was refused: f1 dropped 4%/,
    );

    const forced = await registry.promote({
      modelId: 'churn',
      version: 'v1',
      actor: 'oncall',
      reason: 'hotfix',
      force: { reason: 'incident 42' },
    });
    expect(forced.forced).toBe(true);
    expect(forced.aliases).toEqual({ champion: 'v1' });
    const [entry] = await registry.aliasHistory('churn');
    expect(entry).toMatchObject({
      alias: 'champion',
      from: null,
      to: 'v1',
      actor: 'oncall',
      reason: 'hotfix',
      forced: true,
      forceReason: 'incident 42',
    });
  });

  test('promote moves champion to previous; rollback switches back and keeps rolled-back', async () => {
    const { registry } = await setup();
    await expect(registry.rollback({ modelId: 'churn', ...who })).rejects.toThrow(NoPreviousVersionError);
    for (const v of ['v1', 'v2'])
      await registry.updateManifest({ modelId: 'churn', version: v, blessing: blessing(true) });
    await registry.promote({ modelId: 'churn', version: 'v1', ...who });
    await expect(registry.rollback({ modelId: 'churn', ...who })).rejects.toThrow(/no previous champion/);
    const promoted = await registry.promote({ modelId: 'churn', version: 'v2', ...who });
    expect(promoted.changes).toEqual([
      { alias: 'champion', from: 'v1', to: 'v2' },
      { alias: 'previous', from: null, to: 'v1' },
    ]);
    expect((await registry.promote({ modelId: 'churn', version: 'v2', ...who })).changes).toEqual([]); // idempotent

    const rolled = await registry.rollback({
      modelId: 'churn',
      actor: 'oncall',
      reason: 'precision dropped',
    });
    expect(rolled.aliases).toEqual({ champion: 'v1', previous: 'v2', 'rolled-back': 'v2' });
    const again = await registry.rollback({ modelId: 'churn', ...who });
    expect(again.aliases).toEqual({ champion: 'v2', previous: 'v1', 'rolled-back': 'v1' });

    const history = await registry.aliasHistory('churn');
    expect(history.map((e) => `${e.revision}.${e.seq} ${e.alias} ${e.from ?? '-'}→${e.to ?? '-'}`)).toEqual([
      '1.0 champion -→v1',
      '2.0 champion v1→v2',
      '2.1 previous -→v1',
      '3.0 champion v2→v1',
      '3.1 previous v1→v2',
      '3.2 rolled-back -→v2',
      '4.0 champion v1→v2',
      '4.1 previous v2→v1',
      '4.2 rolled-back v2→v1',
    ]);
    // Timestamps follow revision order, and every entry is a plain audit record.
    expect(history.map((e) => e.at)).toEqual([...history.map((e) => e.at)].sort());
    expect(history[3]).toMatchObject({ actor: 'oncall', reason: 'precision dropped', forced: false });
  });

  /** A store whose next putIfMatch of aliases.json "crashes" before or after the write lands. */
  function crashingStore(inner: BlobStore, when: 'before-swap' | 'after-swap'): BlobStore {
    let armed = true;
    return new Proxy(inner, {
      get(target, prop) {
        if (prop === 'putIfMatch') {
          return async (k: string, body: Buffer | string, etag: string | null) => {
            if (!armed || !k.endsWith('/aliases.json')) return target.putIfMatch(k, body, etag);
            armed = false;
            if (when === 'before-swap') throw new Error('killed before the swap');
            await target.putIfMatch(k, body, etag);
            throw new Error('killed after the swap');
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  async function historyKeys(store: BlobStore): Promise<string[]> {
    const keys: string[] = [];
    for await (const { key } of store.list(layout.aliasHistoryPrefix('churn'))) keys.push(key);
    return keys;
  }

  test('write-ahead audit: a kill after the swap still leaves its audit record, with no reader repairing it', async () => {
    const { store, registry } = await setup();
    await registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v1', ...who });
    const crashing = new ModelRegistry(crashingStore(store, 'after-swap'));
    await expect(
      crashing.setAlias({ modelId: 'churn', alias: 'canary', version: 'v2', actor: 'crashy', reason: 'x' }),
    ).rejects.toThrow('killed after the swap');
    // Straight from the store, before anyone reads the history: the change and its record are both there.
    expect((await registry.getAliases('churn')).aliases).toEqual({ canary: 'v2' });
    expect((await historyKeys(store)).filter((k) => k.includes('/0000000002-'))).toHaveLength(1);
    const history = await registry.aliasHistory('churn');
    expect(history.map((e) => [e.revision, e.actor, e.from, e.to])).toEqual([
      [1, 'test', null, 'v1'],
      [2, 'crashy', 'v1', 'v2'],
    ]);
  });

  test('write-ahead audit: a kill before the swap changes nothing, and its orphan record is not in the log', async () => {
    const { store, registry } = await setup();
    await registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v1', ...who });
    const crashing = new ModelRegistry(crashingStore(store, 'before-swap'));
    await expect(
      crashing.setAlias({ modelId: 'churn', alias: 'canary', version: 'v2', actor: 'crashy', reason: 'x' }),
    ).rejects.toThrow('killed before the swap');
    expect(await registry.getAliases('churn')).toMatchObject({ aliases: { canary: 'v1' }, revision: 1 });
    expect(await historyKeys(store)).toHaveLength(2); // revision 1's record and the orphan
    expect((await registry.aliasHistory('churn')).map((e) => e.actor)).toEqual(['test']);
    // Not even the very first change shows before its swap lands.
    const fresh = await setup();
    await expect(
      new ModelRegistry(crashingStore(fresh.store, 'before-swap')).setAlias({
        modelId: 'churn',
        alias: 'canary',
        version: 'v1',
        ...who,
      }),
    ).rejects.toThrow('killed before the swap');
    expect(await fresh.registry.getAliases('churn')).toMatchObject({ aliases: {}, etag: null });
    expect(await fresh.registry.aliasHistory('churn')).toEqual([]);
    // The next writer claims revision 2 itself; the orphan stays off the chain.
    const next = await registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v2', ...who });
    expect(next.revision).toBe(2);
    expect((await registry.aliasHistory('churn')).map((e) => [e.revision, e.actor, e.to])).toEqual([
      [1, 'test', 'v1'],
      [2, 'test', 'v2'],
    ]);
  });

  test('a store written before transaction records: legacy entries are read, and a crashed legacy write is finished', async () => {
    const { store, registry } = await setup();
    const legacy = (
      revision: number,
      seq: number,
      alias: string,
      from: string | null,
      to: string | null,
    ) => ({
      at: `2026-06-0${revision}T00:00:00.000Z`,
      actor: 'old',
      reason: 'legacy',
      forced: false,
      modelId: 'churn',
      revision,
      seq,
      alias,
      from,
      to,
    });
    await store.put(
      layout.aliasHistoryEntry('churn', '0000000001-000'),
      jsonBody(legacy(1, 0, 'canary', null, 'v1')),
    );
    // Revision 2 landed in aliases.json but its writer died before writing its entry.
    await store.put(
      layout.aliases('churn'),
      jsonBody({
        modelId: 'churn',
        revision: 2,
        aliases: { canary: 'v2' },
        updatedAt: '2026-06-03T00:00:00.000Z',
        lastChange: {
          at: '2026-06-03T00:00:00.000Z',
          actor: 'crashy',
          reason: 'x',
          forced: false,
          changes: [{ alias: 'canary', from: 'v1', to: 'v2' }],
        },
      }),
    );
    expect((await registry.aliasHistory('churn')).map((e) => [e.revision, e.actor, e.to])).toEqual([
      [1, 'old', 'v1'],
      [2, 'crashy', 'v2'],
    ]);
    await registry.setAlias({ modelId: 'churn', alias: 'canary', version: 'v1', ...who });
    expect((await registry.aliasHistory('churn')).map((e) => [e.revision, e.actor, e.to])).toEqual([
      [1, 'old', 'v1'],
      [2, 'crashy', 'v2'],
      [3, 'test', 'v1'],
    ]);
  });

  test('an unreadable aliases.json: reads retry, then serve the last good table from the audit log; the next write repairs it, audited', async () => {
    const { store, registry } = await setup();
    for (const v of ['v1', 'v2'])
      await registry.updateManifest({ modelId: 'churn', version: v, blessing: blessing(true) });
    await registry.promote({ modelId: 'churn', version: 'v1', ...who });
    await registry.promote({ modelId: 'churn', version: 'v2', ...who });
    const good = await registry.getAliases('churn');
    // A torn write: half of a document.
    const body = (await store.get(layout.aliases('churn'))).toString();
    await store.put(layout.aliases('churn'), body.slice(0, body.length >> 1));

    const read = await registry.getAliases('churn');
    expect(read.aliases).toEqual(good.aliases);
    expect(read.recovered).toMatchObject({ fromRevision: 2 });
    expect(read.recovered?.unreadable).toMatch(/models\/churn\/aliases\.json .*not valid JSON/);
    expect((await registry.aliasHistory('churn')).map((e) => e.revision)).toEqual([1, 2, 2]);

    const repaired = await registry.repairAliases({
      modelId: 'churn',
      actor: 'oncall',
      reason: 'torn write',
    });
    expect(repaired).toMatchObject({ revision: 3, aliases: good.aliases, recovered: { fromRevision: 2 } });
    const after = await registry.getAliases('churn');
    expect(after).toMatchObject({ aliases: good.aliases, revision: 3 });
    expect(after.recovered).toBeUndefined();
    const history = await registry.aliasHistory('churn');
    expect(history.filter((e) => e.revision === 3)).toEqual([
      expect.objectContaining({
        alias: 'champion',
        from: 'v2',
        to: 'v2',
        actor: 'oncall',
        recovered: expect.anything(),
      }),
      expect.objectContaining({ alias: 'previous', from: 'v1', to: 'v1' }),
    ]);
    // A repair of a readable table changes nothing.
    expect((await registry.repairAliases({ modelId: 'churn', ...who })).changes).toEqual([]);

    // Torn again: a rollback goes through and writes the repaired table back (revision 5 > every claim).
    await store.put(layout.aliases('churn'), '{"modelId":"churn","revis');
    const rolled = await registry.rollback({ modelId: 'churn', ...who });
    expect(rolled).toMatchObject({ revision: 4, aliases: { champion: 'v1', previous: 'v2' } });
    expect(rolled.recovered).toMatchObject({ fromRevision: 3 });
  });

  test('an unreadable aliases.json with no audit record to rebuild from is an error naming the key', async () => {
    const { store, registry } = await setup();
    await store.put(layout.aliases('churn'), '{"oops"');
    await expect(registry.getAliases('churn')).rejects.toThrow(
      /aliases of model churn cannot be read: models\/churn\/aliases\.json in file:.*unreadable after 6 reads.*no record to rebuild/,
    );
  });

  test('promote and rollback never move an alias onto a version that does not exist', async () => {
    const { store, registry } = await setup(3);
    for (const v of ['v1', 'v2', 'v3'])
      await registry.updateManifest({ modelId: 'churn', version: v, blessing: blessing(true) });
    await registry.promote({ modelId: 'churn', version: 'v1', ...who });
    await registry.promote({ modelId: 'churn', version: 'v2', ...who }); // previous v1
    await expect(registry.promote({ modelId: 'churn', version: 'v-nope', ...who })).rejects.toThrow(
      /model churn has no version v-nope/,
    );
    // v1 (previous) disappears: rollback must refuse, naming it.
    await store.delete(layout.modelManifest('churn', 'v1'));
    await expect(registry.rollback({ modelId: 'churn', ...who })).rejects.toThrow(
      /cannot roll back model churn: alias previous of model churn points at version v1, which does not exist/,
    );
    expect((await registry.getAliases('churn')).aliases).toEqual({ champion: 'v2', previous: 'v1' });
    // The champion v2 disappears: promoting v3 works, and v2 does not become the rollback target.
    await store.delete(layout.modelManifest('churn', 'v2'));
    const promoted = await registry.promote({ modelId: 'churn', version: 'v3', ...who });
    expect(promoted.aliases).toEqual({ champion: 'v3', previous: 'v1' });
    expect(promoted.notes).toEqual([
      'the old champion v2 does not exist (no manifest), so it was not kept as previous',
    ]);
  });

  test('a corrupt artifact or manifest is refused with an error naming the object', async () => {
    const { store, registry } = await setup(3);
    for (const v of ['v1', 'v2'])
      await registry.updateManifest({ modelId: 'churn', version: v, blessing: blessing(true) });
    const modelKey = layout.modelVersion('churn', 'v2');
    const model = (await store.get(modelKey)).toString();
    await store.put(modelKey, model.slice(0, 100));
    await expect(registry.promote({ modelId: 'churn', version: 'v2', ...who })).rejects.toThrow(
      /models\/churn\/versions\/v2\/model\.json in file:.*not valid JSON/,
    );
    await store.put(modelKey, JSON.stringify({ ...JSON.parse(model), classes: 'churn' }));
    await expect(registry.loadArtifact('churn', 'v2')).rejects.toThrow(
      /models\/churn\/versions\/v2\/model\.json in file:.*invalid model artifact at classes/,
    );
    expect((await registry.getAliases('churn')).etag).toBeNull();

    await store.put(layout.modelManifest('churn', 'v3'), '{"modelId":"churn","vers');
    await expect(registry.getManifest('churn', 'v3')).rejects.toThrow(
      /models\/churn\/versions\/v3\/manifest\.json in file:.*not valid JSON/,
    );
    await expect(registry.listVersions('churn')).rejects.toThrow(/v3\/manifest\.json.*not valid JSON/);
    await store.put(layout.modelManifest('churn', 'v3'), '{"modelId":"churn"}');
    await expect(registry.getManifest('churn', 'v3')).rejects.toThrow(
      /v3\/manifest\.json .*invalid at version/,
    );
  });

  test('6 concurrent writers: one revision per landed change, the log is exactly the changes', async () => {
    const { store } = await setup(3);
    const base = new ModelRegistry(store);
    for (const v of ['v1', 'v2', 'v3'])
      await base.updateManifest({ modelId: 'churn', version: v, blessing: blessing(true) });
    await base.promote({ modelId: 'churn', version: 'v1', ...who });
    await base.promote({ modelId: 'churn', version: 'v2', ...who }); // previous is set from here on
    const results = await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        const registry = new ModelRegistry(store);
        const out = [];
        for (let round = 0; round < 6; round++) {
          const actor = `w${w}-r${round}`;
          out.push(
            (w + round) % 2 === 0
              ? await registry.promote({
                  modelId: 'churn',
                  version: `v${1 + ((w + round) % 3)}`,
                  actor,
                  reason: 'race',
                })
              : await registry.rollback({ modelId: 'churn', actor, reason: 'race' }),
          );
        }
        return out;
      }),
    );
    const landed = results.flat().filter((r) => r.changes.length > 0);
    const revisions = landed.map((r) => r.revision).sort((a, b) => a - b);
    expect(revisions).toEqual(Array.from({ length: landed.length }, (_, i) => i + 3));
    const history = await base.aliasHistory('churn');
    expect([...new Set(history.map((e) => e.revision))]).toEqual([1, 2, ...revisions]);
    // Every revision's entries come from one transaction (one actor), and replaying them gives the table.
    for (const rev of revisions)
      expect(new Set(history.filter((e) => e.revision === rev).map((e) => e.actor)).size).toBe(1);
    const replay: Record<string, string> = {};
    for (const e of history)
      if (e.to === null) delete replay[e.alias];
      else replay[e.alias] = e.to;
    expect((await base.getAliases('churn')).aliases).toEqual(replay);
  });

  test('rollout config: CAS, validation, partial updates', async () => {
    const { registry } = await setup();
    expect(await registry.getRollout('churn')).toMatchObject({ config: {}, etag: null });
    const set = await registry.setRollout({
      modelId: 'churn',
      config: { shadow: { version: 'v2', sampleShare: 1 } },
      ...who,
    });
    expect(set.config).toEqual({ shadow: { version: 'v2', sampleShare: 1 } });
    await expect(
      registry.setRollout({ modelId: 'churn', config: {}, expectedEtag: null, ...who }),
    ).rejects.toThrow(RolloutConflictError);
    await expect(
      registry.setRollout({
        modelId: 'churn',
        config: { canary: { version: 'v9', weightPercent: 5, salt: 's' } },
        ...who,
      }),
    ).rejects.toThrow(VersionNotFoundError);
    const step = await registry.updateRollout({
      modelId: 'churn',
      update: (c) => ({ ...c, canary: { version: 'v2', weightPercent: 5, salt: 'r1' } }),
      expectedEtag: set.etag,
      ...who,
    });
    expect(step.config).toEqual({
      shadow: { version: 'v2', sampleShare: 1 },
      canary: { version: 'v2', weightPercent: 5, salt: 'r1' },
    });
    expect(step.doc).toMatchObject({ updatedBy: 'test', reason: 'unit test' });
  });

  test('prunable never lists aliased or rollout versions, and keeps the newest', async () => {
    const { registry } = await setup(6);
    for (const v of ['v1', 'v2'])
      await registry.updateManifest({ modelId: 'churn', version: v, blessing: blessing(true) });
    await registry.promote({ modelId: 'churn', version: 'v1', ...who });
    await registry.promote({ modelId: 'churn', version: 'v2', ...who }); // previous = v1
    await registry.setAlias({ modelId: 'churn', alias: 'challenger', version: 'v3', ...who });
    await registry.setRollout({
      modelId: 'churn',
      config: { canary: { version: 'v4', weightPercent: 1, salt: 's' } },
      ...who,
    });
    expect(await registry.prunable('churn', 1)).toEqual(['v5']);
    expect(await registry.prunable('churn', 0)).toEqual(['v5', 'v6']);
    expect(await registry.prunable('churn', 10)).toEqual([]);
    await expect(registry.prunable('churn', -1)).rejects.toThrow(/non-negative/);
  });
});
