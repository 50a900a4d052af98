import { openInstallation } from '../../src/config/installation';
import { trainArtifact } from '../../src/ml/model';
import { createRng } from '../../src/ml/rng';
import { OnnxArtifactSchema } from '../../src/scoring/artifact';
import { exportLinearOnnx } from '../../src/scoring/onnx-export';
import { layout } from '../../src/storage/layout';
import { ModelRegistry } from '../../src/storage/model-registry';
import { sha256Hex } from '../../src/storage/registry-versions';
import { runCli } from '../support/cli';
import { tempFileStore } from '../support/temporal';

test('models list / show name each version kind; show refuses an onnx version whose graph is damaged', async () => {
  const { store, dir } = tempFileStore();
  await openInstallation(store, { create: true });
  const cli = (...args: string[]) => runCli({ LOOPKEEPER_STORE: `file://${dir}` }, ...args);
  const rng = createRng(3);
  const rows = Array.from({ length: 200 }, () => {
    const x = rng.normal();
    return { features: { x, plan: rng.next() < 0.5 ? 'basic' : 'pro' }, label: x < 0 ? 'churn' : 'stay' };
  });
  const linear = trainArtifact({ rows, positiveClass: 'churn', options: { seed: 1 } });
  const onnx = exportLinearOnnx(linear.model);
  const registry = new ModelRegistry(store);
  const fields = (createdAt: string, trainer: string) => ({
    createdAt,
    trainer,
    trainingData: [],
    codeVersion: 'test',
  });
  const lin = await registry.registerVersion({
    modelId: 'churn',
    artifact: linear,
    manifest: fields('2026-06-01T00:00:00.000Z', 'logistic-lbfgs'),
  });
  const ox = await registry.registerVersion({
    modelId: 'churn',
    artifact: OnnxArtifactSchema.parse({
      kind: 'onnx',
      pipeline: linear.pipeline,
      classes: linear.classes,
      positiveClass: 'churn',
      onnxSha256: sha256Hex(onnx),
      inputName: 'input',
      outputName: 'probabilities',
      opset: 15,
      producer: 'lightgbm 4.7.0 + onnxmltools 1.16.0',
      training: { trainer: 'external:lightgbm', rows: 200, validationRows: 0 },
    }),
    onnx,
    manifest: fields('2026-06-02T00:00:00.000Z', 'external:lightgbm'),
  });

  const list = await cli('models', 'list', '--model', 'churn');
  expect(list.code).toBe(0);
  expect(list.out).toMatch(/TRAINER\s+KIND/);
  expect(list.out).toMatch(new RegExp(`${lin.version}\\s+\\S+\\s+logistic-lbfgs\\s+linear`));
  expect(list.out).toMatch(new RegExp(`${ox.version}\\s+\\S+\\s+external:lightgbm\\s+onnx`));
  const json = JSON.parse((await cli('models', 'list', '--model', 'churn', '--json')).out) as {
    versions: Array<{ version: string; kind: string }>;
  };
  expect(json.versions.map((v) => [v.version, v.kind])).toEqual([
    [lin.version, 'linear'],
    [ox.version, 'onnx'],
  ]);

  const show = await cli('models', 'show', '--model', 'churn', '--version', ox.version);
  expect(show.code).toBe(0);
  expect(show.out).toContain(
    `artifact:  onnx, loads (2 features; opset 15, lightgbm 4.7.0 + onnxmltools 1.16.0, model.onnx sha256 ${sha256Hex(onnx).slice(0, 12)}…)`,
  );
  expect((await cli('models', 'show', '--model', 'churn', '--version', lin.version)).out).toContain(
    'artifact:  linear, loads (2 features)',
  );

  await store.put(layout.modelOnnx('churn', ox.version), Buffer.from('damaged'));
  const broken = await cli('models', 'show', '--model', 'churn', '--version', ox.version);
  expect(broken.code).not.toBe(0);
  expect(broken.err).toContain(`models/churn/versions/${ox.version}/model.onnx`);
});
