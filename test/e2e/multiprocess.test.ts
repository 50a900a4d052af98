import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/config/package-root';

/**
 * Issue 18 §5: the multi-process path, run for real by the script behind `infra/run-multiprocess.sh`
 * (its own Temporal and S3 servers, three worker processes, serve, ui, one cycle over ≥ 6 partitions).
 * Needs the built dist/ (CI builds before `npm test`).
 */
const root = packageRoot();
const script = path.join(root, 'dist', 'bench', 'multiprocess.js');

interface Summary {
  cycleState: string | null;
  workers: number[];
  partitions: number;
  partitionsByWorker: Record<string, number>;
  distinctWorkerIdentities: number;
  serveReadyz: number;
  uiHealthz: number;
  orphans: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a cycle fans its drift partitions out over three worker processes; serve and ui answer; nothing is left running', async () => {
  if (!fs.existsSync(script)) throw new Error(`${script} missing: run \`npm run build\` first`);
  const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, out, err }));
    },
  );
  if (code !== 0) throw new Error(`multiprocess exited ${code}:\n${err}\n${out}`);
  const summary = JSON.parse(out) as Summary;
  expect(summary.cycleState).toBe('completed');
  expect(summary.workers).toHaveLength(3);
  expect(summary.partitions).toBeGreaterThanOrEqual(6);
  expect(summary.distinctWorkerIdentities).toBeGreaterThan(1);
  // Every partition was run by one of the three processes the script started.
  expect(Object.values(summary.partitionsByWorker).reduce((a, b) => a + b, 0)).toBe(summary.partitions);
  expect(summary.serveReadyz).toBe(200);
  expect(summary.uiHealthz).toBe(200);
  expect(summary.orphans).toEqual([]);
  expect(summary.workers.filter(alive)).toEqual([]);
}, 300_000);
