/**
 * The model registry on the real S3 server under a real race: concurrent promote/rollback callers,
 * each with its own client (as separate CLI processes would have), against one model.
 */
import { randomUUID } from 'node:crypto';
import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import type { BlobStore } from '../../src/storage/blob-store';
import { layout } from '../../src/storage/layout';
import type { AliasResult } from '../../src/storage/model-registry';
import { ModelRegistry } from '../../src/storage/model-registry';
import { S3BlobStore } from '../../src/storage/s3-blob-store';

const prefix = `registry-s3-test/${Date.now()}-${randomUUID().slice(0, 8)}/`;

function openStore(): BlobStore {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is unset: the jest global setup should start the S3 server`);
    return value;
  };
  const bucket = env('LOOPKEEPER_TEST_S3_BUCKET');
  return new S3BlobStore({
    bucket,
    prefix,
    uri: `s3://${bucket}/${prefix}`,
    options: {
      endpoint: env('LOOPKEEPER_TEST_S3_ENDPOINT'),
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: env('LOOPKEEPER_TEST_S3_ACCESS_KEY_ID'),
      secretAccessKey: env('LOOPKEEPER_TEST_S3_SECRET_ACCESS_KEY'),
    },
  });
}

function artifact(seed: number) {
  const rng = createRng(seed);
  const rows = Array.from({ length: 80 }, () => {
    const x = rng.normal();
    return { features: { x }, label: x + rng.normal() * 0.3 > 0 ? 'churn' : 'stay' };
  });
  return trainArtifact({ rows, positiveClass: 'churn', options: { seed, maxEpochs: 3 } });
}

describe('ModelRegistry on S3 under concurrent promote/rollback', () => {
  const stores: BlobStore[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
  });

  test('4 callers x 25 rounds: no call fails, one revision per landed change, the log replays to the table', async () => {
    const admin = openStore();
    stores.push(admin);
    const registry = new ModelRegistry(admin);
    const versions = ['v1', 'v2', 'v3'];
    for (const [i, version] of versions.entries()) {
      await registry.registerVersion({
        modelId: 'churn',
        version,
        artifact: artifact(i + 1),
        manifest: {
          createdAt: `2026-06-0${i + 1}T00:00:00.000Z`,
          trainer: 'logistic-adam',
          trainingData: [],
          codeVersion: 'test',
          blessing: {
            blessed: true,
            reasons: ['test'],
            comparedTo: null,
            testSetKey: null,
            decidedAt: '2026-06-01T00:00:00.000Z',
            checks: [],
          },
        },
      });
    }
    await registry.promote({ modelId: 'churn', version: 'v1', actor: 'setup', reason: 'seed' });
    await registry.promote({ modelId: 'churn', version: 'v2', actor: 'setup', reason: 'seed' });

    const callers = 4;
    const rounds = 25;
    const outcomes = await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        const store = openStore();
        stores.push(store);
        const caller = new ModelRegistry(store);
        const results: Array<PromiseSettledResult<AliasResult>> = [];
        for (let round = 0; round < rounds; round++) {
          const actor = `caller${c}-round${round}`;
          const call =
            (c + round) % 2 === 0
              ? caller.promote({
                  modelId: 'churn',
                  version: versions[(c + round) % 3],
                  actor,
                  reason: 'race',
                })
              : caller.rollback({ modelId: 'churn', actor, reason: 'race' });
          results.push(...(await Promise.allSettled([call])));
        }
        return results;
      }),
    );
    const settled = outcomes.flat();
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
    const landed = settled
      .flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
      .filter((r) => r.changes.length > 0);
    const revisions = landed.map((r) => r.revision).sort((a, b) => a - b);
    // Unique and gap-free: each successful swap claimed its own revision.
    expect(revisions).toEqual(Array.from({ length: landed.length }, (_, i) => i + 3));

    const history = await registry.aliasHistory('churn');
    expect([...new Set(history.map((e) => e.revision))]).toEqual([1, 2, ...revisions]);
    for (const result of landed) {
      const entries = history.filter((e) => e.revision === result.revision);
      expect(entries.map(({ alias, from, to }) => ({ alias, from, to }))).toEqual(result.changes);
    }
    const replay: Record<string, string> = {};
    for (const e of history) {
      if (e.to === null) delete replay[e.alias];
      else replay[e.alias] = e.to;
    }
    const table = await registry.getAliases('churn');
    expect(table.recovered).toBeUndefined();
    expect(table.aliases).toEqual(replay);
    expect(table.revision).toBe(revisions[revisions.length - 1]);
    // aliases.json reads back whole, with the body its etag names.
    const stored = await admin.getVersioned(layout.aliases('churn'));
    expect(stored?.etag).toBe(table.etag);
  });
});
