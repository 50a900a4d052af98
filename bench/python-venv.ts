import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { packageRoot } from '../src/config/package-root';

/**
 * The reference Python trainer's venv for the benches, if it is built (`infra/install-python.sh
 * --check` installs nothing); otherwise the one-line reason, for the bench to print.
 */
export function builtPythonVenv(): { python: string } | { error: string } {
  try {
    const venv = execFileSync('bash', [path.join(packageRoot(), 'infra', 'install-python.sh'), '--check'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    return { python: path.join(venv, 'bin', 'python') };
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    return { error: stderr || (err as Error).message };
  }
}
