/**
 * The reference Python trainer (workers/python) as a child process, for the tests under test/python.
 * The venv comes from `LOOPKEEPER_PYTHON_VENV`, which infra/test-python.sh sets after building it: a
 * missing venv is an error, never a skip.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/config/package-root';

/** The venv's python, or a one-line error naming what is missing. */
export function pythonVenvPython(env: NodeJS.ProcessEnv = process.env): string {
  const venv = env.LOOPKEEPER_PYTHON_VENV;
  if (!venv)
    throw new Error(
      'LOOPKEEPER_PYTHON_VENV is unset: run these tests with `npm run test:python` (it builds the venv)',
    );
  const python = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(python))
    throw new Error(`LOOPKEEPER_PYTHON_VENV=${venv} has no bin/python: run bash infra/install-python.sh`);
  return python;
}

/** A running Python trainer: its output so far, and a stop that waits for the process to end. */
export interface PythonWorker {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `python -m loopkeeper_trainer.worker` with the given environment (TEMPORAL_ADDRESS,
 * LOOPKEEPER_STORE, LOOPKEEPER_PYTHON_TASK_QUEUE...; the namespace is read from the store's
 * installation unless TEMPORAL_NAMESPACE is given) and resolves once it polls its task queue.
 */
export async function startPythonWorker(
  python: string,
  env: Record<string, string>,
  readyMs = 120_000,
): Promise<PythonWorker> {
  const root = packageRoot();
  const child = spawn(python, ['-m', 'loopkeeper_trainer.worker'], {
    cwd: path.join(root, 'workers', 'python'),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PYTHONPATH: path.join(root, 'workers', 'python'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = Date.now();
  while (!out.includes('trainExternalModel on task queue')) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the Python trainer exited (${child.exitCode ?? child.signalCode}): ${out.trim()}`);
    if (Date.now() - started > readyMs) {
      child.kill('SIGKILL');
      throw new Error(`the Python trainer did not start polling within ${readyMs} ms: ${out.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
