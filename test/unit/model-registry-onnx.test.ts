import type { ModelArtifact } from '../../src/ml/model';
import { scoreFeatures, trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import type { Blessing } from '../../src/schemas/manifests';
import type { OnnxArtifact } from '../../src/scoring/artifact';
import { OnnxArtifactSchema } from '../../src/scoring/artifact';
import { loadScorer } from '../../src/scoring/load';
import { exportLinearOnnx } from '../../src/scoring/onnx-export';
import { CorruptObjectError } from '../../src/storage/cas-json';
import { layout } from '../../src/storage/layout';
import type { ManifestFields } from '../../src/storage/model-registry';
import { ModelRegistry } from '../../src/storage/model-registry';
import { sha256Hex } from '../../src/storage/registry-versions';
import { tempFileStore } from '../support/temporal';

function linear(seed: number): ModelArtifact {
  const rng = createRng(seed);
  const rows = Array.from({ length: 200 }, () => {
    const x = rng.normal();
    const plan = rng.next() < 0.5 ? 'basic' : 'pro';
    return { features: { x, plan }, label: rng.next() < 1 / (1 + Math.exp(-2 * x)) ? 'churn' : 'stay' };
  });
  return trainArtifact({ rows, positiveClass: 'churn', options: { seed } });
}

function onnxOf(a: ModelArtifact): { artifact: OnnxArtifact; onnx: Uint8Array } {
  const onnx = exportLinearOnnx(a.model);
  const artifact = OnnxArtifactSchema.parse({
    kind: 'onnx',
    pipeline: a.pipeline,
    classes: a.classes,
    positiveClass: a.positiveClass,
    onnxSha256: sha256Hex(onnx),
    inputName: 'input',
    outputName: 'probabilities',
    opset: 15,
    producer: 'test',
    training: { trainer: 'external:test', rows: 200, validationRows: 0 },
  });
  return { artifact, onnx };
}

const blessed: Blessing = {
  blessed: true,
  reasons: ['ok'],
  comparedTo: null,
  testSetKey: null,
  decidedAt: '2026-06-01T00:00:00.000Z',
  checks: [],
};

const fields = (createdAt: string): ManifestFields => ({
  createdAt,
  trainer: 'test',
  trainingData: [],
  codeVersion: 'test',
  blessing: blessed,
});

describe('registry: onnx versions beside linear ones', () => {
  test('register, load and score; a retry is a no-op; the graph is part of the content id', async () => {
    const { store } = tempFileStore();
    const registry = new ModelRegistry(store);
    const base = linear(1);
    const { artifact, onnx } = onnxOf(base);
    const first = await registry.registerVersion({
      modelId: 'churn',
      artifact,
      onnx,
      manifest: fields('2026-06-01T00:00:00Z'),
    });
    expect(first.created).toBe(true);
    expect(first.manifest.kind).toBe('onnx');
    expect((await store.get(layout.modelOnnx('churn', first.version))).equals(Buffer.from(onnx))).toBe(true);
    const again = await registry.registerVersion({
      modelId: 'churn',
      artifact,
      onnx,
      manifest: fields('2026-06-02T00:00:00Z'),
    });
    expect(again).toMatchObject({ version: first.version, created: false });

    const files = await registry.loadModelFiles('churn', first.version);
    expect(files.artifact).toEqual(artifact);
    const scorer = await loadScorer(registry, 'churn', first.version);
    expect(scorer.kind).toBe('onnx');
    const f = { x: 0.4, plan: 'pro' };
    scorer.score(f);
    expect(scorer.result().scores.churn).toBeCloseTo(scoreFeatures(base, f).scores.churn, 6);

    // Another graph under the same pipeline is another version.
    const other = onnxOf(linear(2));
    const second = await registry.registerVersion({
      modelId: 'churn',
      artifact: { ...artifact, onnxSha256: other.artifact.onnxSha256 },
      onnx: other.onnx,
      manifest: fields('2026-06-03T00:00:00Z'),
    });
    expect(second.version).not.toBe(first.version);

    // A linear version still has no kind in its manifest and reads as linear.
    const lin = await registry.registerVersion({
      modelId: 'churn',
      artifact: base,
      manifest: fields('2026-06-04T00:00:00Z'),
    });
    expect(lin.manifest.kind).toBeUndefined();
    expect((await loadScorer(registry, 'churn', lin.version)).kind).toBe('linear');
  });

  test('bytes that do not match the artifact are refused before anything is written', async () => {
    const { store } = tempFileStore();
    const registry = new ModelRegistry(store);
    const { artifact } = onnxOf(linear(1));
    const wrong = exportLinearOnnx(linear(3).model);
    await expect(
      registry.registerVersion({
        modelId: 'churn',
        artifact,
        onnx: wrong,
        manifest: fields('2026-06-01T00:00:00Z'),
      }),
    ).rejects.toThrow(`model.onnx has sha256 ${sha256Hex(wrong)}, the artifact names ${artifact.onnxSha256}`);
    await expect(
      registry.registerVersion({ modelId: 'churn', artifact, manifest: fields('2026-06-01T00:00:00Z') }),
    ).rejects.toThrow(/registered with its model.onnx bytes/);
    expect(await registry.listVersions('churn')).toEqual([]);
  });

  test('promote and roll back between kinds; a damaged model.onnx is refused naming its key; prune deletes it', async () => {
    const { store } = tempFileStore();
    const registry = new ModelRegistry(store);
    const who = { actor: 'test', reason: 'test' };
    const lin = await registry.registerVersion({
      modelId: 'churn',
      artifact: linear(1),
      manifest: fields('2026-06-01T00:00:00Z'),
    });
    const { artifact, onnx } = onnxOf(linear(2));
    const ox = await registry.registerVersion({
      modelId: 'churn',
      artifact,
      onnx,
      manifest: fields('2026-06-02T00:00:00Z'),
    });
    await registry.promote({ modelId: 'churn', version: lin.version, ...who });
    await registry.promote({ modelId: 'churn', version: ox.version, ...who });
    expect((await registry.getAliases('churn')).aliases).toMatchObject({
      champion: ox.version,
      previous: lin.version,
    });
    await registry.rollback({ modelId: 'churn', ...who });
    expect((await registry.getAliases('churn')).aliases).toMatchObject({
      champion: lin.version,
      previous: ox.version,
    });

    // A damaged graph: serving could not load it, so promotion and rollback refuse it, naming the key.
    const key = layout.modelOnnx('churn', ox.version);
    await store.put(key, Buffer.from('damaged'));
    const promote = registry.promote({ modelId: 'churn', version: ox.version, ...who });
    await expect(promote).rejects.toThrow(CorruptObjectError);
    await expect(registry.rollback({ modelId: 'churn', ...who })).rejects.toThrow(key);
    await expect(loadScorer(registry, 'churn', ox.version)).rejects.toThrow(
      /differs from .* recorded in model.json/,
    );

    // Retention treats it like any version: every key under its prefix goes, model.onnx included.
    // Once nothing points at it (rollback kept it as previous and rolled-back).
    for (const alias of ['previous', 'rolled-back'])
      await registry.setAlias({ modelId: 'churn', alias, version: null, ...who });
    const pruned = await registry.prune({ modelId: 'churn', keep: 0, dryRun: false, ...who });
    expect(pruned.versions.map((v) => v.version)).toEqual([ox.version]);
    expect(pruned.versions[0].keys).toContain(key);
    expect(await store.head(key)).toBeFalsy();
  });
});
