import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoopkeeperConfig } from '../config';
import { CliError } from './context';
import { packageRoot } from '../config/package-root';

/** Whether the dev server recorded in `dir` (its pid file) is alive: the server on the port is ours. */
function ownServerRunning(dir: string): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'temporal.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts (or reuses) the pinned Temporal dev server for `loopkeeper dev`, persisted in
 * `{home}/temporal/temporal.db` so workflows survive a restart. Returns a function that stops it
 * when this call started it, and whether the server found on the port was started elsewhere
 * (`foreign`: the caller says so; the installation's own namespace keeps its work apart).
 */
export function startDevTemporal(config: LoopkeeperConfig): {
  stop: () => void;
  uiUrl: string | null;
  foreign: boolean;
  dir: string;
} {
  const root = packageRoot();
  const port = config.temporal.address.split(':').pop() ?? '7233';
  const dir = path.resolve(config.home, 'temporal');
  const env = {
    ...process.env,
    LOOPKEEPER_TEMPORAL_DIR: dir,
    LOOPKEEPER_TEMPORAL_PORT: port,
    LOOPKEEPER_TEMPORAL_UI_PORT: String(config.temporalUiPort),
  };
  const healthy = (): boolean => {
    try {
      const bin = execFileSync('bash', [path.join(root, 'infra', 'paths.sh'), 'temporal'], {
        encoding: 'utf8',
      }).trim();
      execFileSync(bin, ['operator', 'cluster', 'health', '--address', config.temporal.address], {
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  };
  const wasRunning = healthy();
  const foreign = wasRunning && !ownServerRunning(dir);
  try {
    execFileSync('bash', [path.join(root, 'infra', 'start-temporal.sh')], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    throw new CliError(
      `could not start the Temporal dev server (see the message above and ${dir}/temporal.log)`,
    );
  }
  return {
    foreign,
    dir,
    uiUrl: foreign ? null : `http://127.0.0.1:${config.temporalUiPort}`,
    stop: () => {
      if (!wasRunning) execFileSync('bash', [path.join(root, 'infra', 'stop.sh'), dir], { stdio: 'ignore' });
    },
  };
}
