import { trainArtifact } from '../../src/ml/model';
import { linearScorer } from '../../src/scoring/scorer';
import { createRng } from '../../src/ml/rng';
import type { LoadedModel, ServingModels } from '../../src/serving/model-watcher';
import { DEFAULT_SERVING_POLICY } from '../../src/serving/model-watcher';
import { contractOf, inspectFeatures, listNames } from '../../src/serving/feature-contract';
import { RecentIds } from '../../src/serving/recent-ids';

function model(version: string, names: string[]): LoadedModel {
  const rng = createRng(names.length);
  const rows = Array.from({ length: 200 }, () => ({
    features: Object.fromEntries(names.map((n) => [n, rng.normal()])),
    label: rng.next() < 0.5 ? 'a' : 'b',
  }));
  const artifact = trainArtifact({ rows, options: { seed: 1 } });
  return { version, artifact, kind: 'linear', scorer: linearScorer(artifact), loadedAt: '', loadMs: 0 };
}

describe('feature contract', () => {
  const champion = model('v1', ['x', 'y']);
  const canary = model('v2', ['x', 'z']);
  const shadow = model('v3', ['w']);

  test('requires what champion and canary read, knows what any served model reads', () => {
    const models: ServingModels = {
      champion,
      canary: { model: canary, weightPercent: 10, salt: 's' },
      shadow: { model: shadow, sampleShare: 1 },
      policy: { ...DEFAULT_SERVING_POLICY, allowMissing: ['z'] },
    };
    const contract = contractOf(models);
    expect(contract.required).toEqual(['x', 'y']);
    expect([...contract.known].sort()).toEqual(['w', 'x', 'y', 'z']);
    expect(contractOf(models)).toBe(contract);
    expect(inspectFeatures(contract, { x: 1, y: null })).toEqual({});
    expect(inspectFeatures(contract, { y: 1, extra: 2, w: 3 })).toEqual({
      missing: ['x'],
      unknown: ['extra'],
    });
  });

  test('names are listed JSON-quoted, cut to 64 characters, at most 10', () => {
    expect(listNames(['a\u0000b', 'x'.repeat(100)])).toBe(`"a\\u0000b", "${'x'.repeat(64)}…"`);
    expect(listNames(Array.from({ length: 12 }, (_, i) => `f${i}`))).toMatch(/"f9" and 2 more$/);
  });
});

describe('RecentIds', () => {
  test('remembers the last `capacity` ids and forgets the oldest first', () => {
    const ids = new RecentIds(2);
    ids.add('a');
    ids.add('b');
    ids.add('a'); // already known: does not push b out
    expect([ids.has('a'), ids.has('b')]).toEqual([true, true]);
    ids.add('c');
    expect([ids.has('a'), ids.has('b'), ids.has('c')]).toEqual([false, true, true]);
  });

  test('capacity 0 remembers nothing; a bad capacity is refused', () => {
    const none = new RecentIds(0);
    none.add('a');
    expect(none.has('a')).toBe(false);
    expect(() => new RecentIds(-1)).toThrow(/requestIdWindow must be a non-negative integer, got -1/);
  });
});
