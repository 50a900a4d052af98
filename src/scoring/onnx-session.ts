/**
 * One onnxruntime-node inference session with a synchronous `run`. Serving answers a /predict request
 * synchronously on purpose (a request that got past validation is scored and logged in full before
 * anything else runs; see src/serving/predict.ts), and evaluation scores whole test sets in one call.
 * The package's public `InferenceSession.run` wraps the native session's synchronous `run` in a
 * setImmediate promise, one event-loop turn per request; this file uses the native session that the
 * package exports as `onnxruntime-node/dist/binding` (typed there) directly, behind this one class, so
 * an upgrade that moves it breaks one file and its test (test/unit/scoring-onnx.test.ts compares this
 * path with the public API on the same graph).
 */
import { Tensor } from 'onnxruntime-node';
import type { Binding } from 'onnxruntime-node/dist/binding';
import { binding, initOrt } from 'onnxruntime-node/dist/binding';

/** Why an ONNX graph cannot be served: unreadable, or its input/output do not match the artifact. */
export class OnnxModelError extends Error {
  override readonly name = 'OnnxModelError';
}

/** What the artifact says the graph looks like. */
export interface OnnxSignature {
  inputName: string;
  outputName: string;
  nFeatures: number;
  nClasses: number;
}

/** ONNX TensorProto.DataType FLOAT, as the native session reports tensor types. */
const FLOAT = 1;

/** A loaded graph that maps Float32 [N, nFeatures] to Float32 [N, nClasses] probabilities. */
export class OnnxSession {
  private constructor(
    private readonly native: Binding.InferenceSession,
    readonly signature: OnnxSignature,
  ) {}

  /**
   * Loads `bytes` into a single-threaded CPU session (serving and evaluation run many models beside
   * other work on few cores) and checks its signature against `expected`.
   *
   * @throws OnnxModelError when the graph cannot be loaded or its input/output differ from `expected`.
   */
  static async load(bytes: Uint8Array, expected: OnnxSignature): Promise<OnnxSession> {
    initOrt();
    const native = new binding.InferenceSession();
    try {
      await native.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new OnnxModelError(`onnxruntime cannot load the graph: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const fail = (why: string): never => {
      native.dispose();
      throw new OnnxModelError(why);
    };
    const input = native.inputMetadata.find((m) => m.name === expected.inputName);
    const output = native.outputMetadata.find((m) => m.name === expected.outputName);
    if (!input)
      fail(
        `the graph has no input "${expected.inputName}" (inputs: ${native.inputMetadata.map((m) => m.name).join(', ')})`,
      );
    if (!output)
      fail(
        `the graph has no output "${expected.outputName}" (outputs: ${native.outputMetadata.map((m) => m.name).join(', ')})`,
      );
    if (native.inputMetadata.length !== 1)
      fail(`the graph must take exactly one input, it takes ${native.inputMetadata.length}`);
    if (input!.type !== FLOAT || output!.type !== FLOAT)
      fail('the graph input and output must be Float32 tensors (no ZipMap or sequence outputs)');
    const fixed = (dims: number[], at: number): number | undefined => (dims[at] >= 0 ? dims[at] : undefined);
    const width = fixed(input!.shape, 1);
    if (input!.shape.length !== 2 || (width !== undefined && width !== expected.nFeatures))
      fail(`the graph input is [${input!.shape.join(', ')}], expected [N, ${expected.nFeatures}]`);
    const classes = fixed(output!.shape, 1);
    if (output!.shape.length !== 2 || (classes !== undefined && classes !== expected.nClasses))
      fail(`the graph output is [${output!.shape.join(', ')}], expected [N, ${expected.nClasses}]`);
    return new OnnxSession(native, expected);
  }

  /**
   * Probabilities of `nRows` rows of `x` (row-major Float32, nRows × nFeatures), row-major
   * nRows × nClasses.
   *
   * @throws OnnxModelError when the graph returns another shape.
   */
  run(x: Float32Array, nRows: number): Float32Array {
    const { inputName, outputName, nFeatures, nClasses } = this.signature;
    if (x.length !== nRows * nFeatures)
      throw new RangeError(`${x.length} values for ${nRows} rows of ${nFeatures} features`);
    const out = this.native.run(
      { [inputName]: new Tensor('float32', x, [nRows, nFeatures]) },
      { [outputName]: null },
      {},
    )[outputName] as Tensor;
    const data = out.data;
    if (!(data instanceof Float32Array) || data.length !== nRows * nClasses)
      throw new OnnxModelError(
        `the graph returned [${out.dims.join(', ')}] ${out.type}, expected float32 [${nRows}, ${nClasses}]`,
      );
    return data;
  }

  /** Frees the native session. */
  dispose(): void {
    this.native.dispose();
  }
}
