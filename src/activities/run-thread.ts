import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';

/** A message a thread entry posts: progress events, then exactly one result or error. */
export type ThreadMessage<TEvent, TResult> =
  | { type: 'event'; event: TEvent }
  | { type: 'result'; result: TResult }
  | { type: 'error'; message: string; stack?: string };

/** A running thread: its result, and a way to stop it early (say when the activity is cancelled). */
export interface ThreadRun<TResult> {
  result: Promise<TResult>;
  /** Posts a message to the thread (its parentPort), moving the `transfer` buffers rather than copying. */
  send(message: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): Promise<void>;
}

/**
 * Compiles TypeScript on require inside the thread. Only used when the code runs from sources (tests
 * under ts-jest); builds run the compiled .js entry and never load the compiler.
 */
const TS_BOOTSTRAP = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const ts = require(workerData.__typescript);
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(out.outputText, filename);
};
require(workerData.__entry);
`;

/**
 * Runs a module as a worker thread. `entryWithoutExtension` is resolved to the .js beside a build or
 * the .ts beside the sources; `data` reaches the thread as `workerData` (structured-cloned, so keep it
 * small: threads open their own store clients). Rejects when the thread reports an error or exits
 * without a result.
 *
 * @param options.youngGenerationMb V8 young generation size of the thread (default: V8's).
 */
export function runThread<TEvent, TResult>(
  entryWithoutExtension: string,
  data: Record<string, unknown>,
  onEvent: (event: TEvent) => void,
  options: { youngGenerationMb?: number } = {},
): ThreadRun<TResult> {
  // Parsing-heavy threads make short-lived garbage fast; a larger young generation means fewer,
  // cheaper scavenges (ingest: 10-15% less CPU at 24-48 MB than V8's default). Each MB is paid
  // per thread in RSS.
  const resourceLimits = options.youngGenerationMb
    ? { maxYoungGenerationSizeMb: options.youngGenerationMb }
    : {};
  let worker: Worker;
  if (fs.existsSync(`${entryWithoutExtension}.js`)) {
    worker = new Worker(`${entryWithoutExtension}.js`, { workerData: data, resourceLimits });
  } else {
    worker = new Worker(TS_BOOTSTRAP, {
      eval: true,
      resourceLimits,
      workerData: {
        ...data,
        __entry: `${entryWithoutExtension}.ts`,
        __typescript: require.resolve('typescript'),
      },
    });
  }
  const result = new Promise<TResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: ThreadMessage<TEvent, TResult>) => {
      if (m.type === 'event') onEvent(m.event);
      else if (m.type === 'result') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        const err = new Error(m.message);
        if (m.stack) err.stack = m.stack;
        reject(err);
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled)
        reject(new Error(`thread ${entryWithoutExtension} exited with code ${code} before its result`));
    });
  });
  return {
    result,
    send: (message, transfer) => worker.postMessage(message, transfer),
    terminate: async () => {
      await worker.terminate();
    },
  };
}
