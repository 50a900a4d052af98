import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../src/config/package-root';
import { transformBatch } from '../src/ml/feature-pipeline';
import type { ModelArtifact } from '../src/ml/model';
import type { Features } from '../src/schemas/records';
import type { OnnxArtifact } from '../src/scoring/artifact';
import { OnnxArtifactSchema } from '../src/scoring/artifact';
import type { BlobStore } from '../src/storage/blob-store';
import { ModelRegistry } from '../src/storage/model-registry';
import { builtPythonVenv } from './python-venv';

/** Trees in the serving bench's ONNX model (issue 17 §4). */
export const BENCH_TREES = 200;

/**
 * Registers, blesses and promotes an ONNX model of exactly {@link BENCH_TREES} LightGBM trees for
 * `modelId`, trained by the Python venv (bench/lightgbm-onnx.py, the reference worker's exporter) on the
 * linear model's pipeline output, so both serve the same request bodies. Returns the version, or why the
 * row is skipped (no venv).
 */
export async function registerTreeModel(
  store: BlobStore,
  modelId: string,
  rows: ReadonlyArray<{ features: Features; label: string }>,
  linear: ModelArtifact,
): Promise<{ version: string; producer: string; trainMs: number } | { skipped: string }> {
  const venv = builtPythonVenv();
  if ('error' in venv) return { skipped: venv.error };
  const positive = linear.positiveClass ?? linear.classes[1];
  const X = transformBatch(
    linear.pipeline,
    rows.map((r) => r.features),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopkeeper-bench-trees-'));
  try {
    const xPath = path.join(dir, 'X.f32');
    const yPath = path.join(dir, 'y.u8');
    const out = path.join(dir, 'model.onnx');
    fs.writeFileSync(xPath, Buffer.from(Float32Array.from(X.data).buffer));
    fs.writeFileSync(
      yPath,
      Uint8Array.from(rows, (r) => (r.label === positive ? 1 : 0)),
    );
    const root = packageRoot();
    const started = Date.now();
    const report = JSON.parse(
      execFileSync(
        venv.python,
        [
          path.join(root, 'bench', 'lightgbm-onnx.py'),
          xPath,
          yPath,
          String(X.nRows),
          String(X.nCols),
          String(BENCH_TREES),
          out,
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, PYTHONPATH: path.join(root, 'workers', 'python') },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      ),
    ) as { opset: number; producer: string };
    const trainMs = Date.now() - started;
    const onnx = fs.readFileSync(out);
    const artifact: OnnxArtifact = OnnxArtifactSchema.parse({
      kind: 'onnx',
      pipeline: linear.pipeline,
      classes: linear.classes,
      positiveClass: positive,
      threshold: 0.5,
      onnxSha256: createHash('sha256').update(onnx).digest('hex'),
      inputName: 'input',
      outputName: 'probabilities',
      opset: report.opset,
      producer: report.producer,
      training: {
        trainer: 'bench:lightgbm',
        rows: X.nRows,
        validationRows: 0,
        details: { trees: BENCH_TREES },
      },
    });
    const registry = new ModelRegistry(store);
    const now = new Date().toISOString();
    const { version } = await registry.registerVersion({
      modelId,
      artifact,
      onnx,
      manifest: {
        createdAt: now,
        trainer: 'bench:lightgbm',
        trainingData: [],
        metrics: {},
        codeVersion: 'bench',
        blessing: {
          blessed: true,
          reasons: ['bench'],
          comparedTo: null,
          testSetKey: null,
          decidedAt: now,
          checks: [],
        },
      },
    });
    await registry.promote({ modelId, version, actor: 'bench', reason: 'bench' });
    return { version, producer: report.producer, trainMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
