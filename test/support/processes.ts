import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/config/package-root';
import { testBucket, testS3Credentials } from './services';

/**
 * Processes the fault-injection suite starts, kills with SIGKILL and restarts itself: loopkeeper workers
 * and CLI calls as child processes, and the Temporal and S3 servers the jest global setup started (same
 * state dir, same port, so a restart finds its persisted database and objects again).
 */

const root = packageRoot();

function stateDir(): string {
  const dir = process.env.LOOPKEEPER_TEST_STATE_DIR;
  if (!dir)
    throw new Error('LOOPKEEPER_TEST_STATE_DIR unset: run through jest (global setup starts the servers)');
  return dir;
}

function portOf(addressOrUrl: string): string {
  const m = /:(\d+)\/?$/.exec(addressOrUrl);
  if (!m) throw new Error(`no port in "${addressOrUrl}"`);
  return m[1];
}

function infra(script: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('bash', [path.join(root, 'infra', script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  }).trim();
}

function pidIn(dir: string, file: string): number | undefined {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) return undefined;
  const pid = Number(fs.readFileSync(p, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function waitGone(pid: number, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  throw new Error(`process ${pid} still alive after ${ms} ms`);
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The Temporal dev server of this jest run: stop it and start it again on its persisted SQLite db. */
export const temporalServer = {
  dir: (): string => path.join(stateDir(), 'temporal'),
  address: (): string => {
    const a = process.env.LOOPKEEPER_TEST_TEMPORAL_ADDRESS;
    if (!a) throw new Error('LOOPKEEPER_TEST_TEMPORAL_ADDRESS unset');
    return a;
  },
  /** Kills the server (SIGKILL when `hard`, else SIGTERM) and waits until its process is gone. */
  async stop(hard = false): Promise<void> {
    const pid = pidIn(this.dir(), 'temporal.pid');
    if (!pid) throw new Error(`no temporal.pid in ${this.dir()}`);
    process.kill(pid, hard ? 'SIGKILL' : 'SIGTERM');
    await waitGone(pid);
  },
  /** Starts it again with the same db file and port; resolves once it reports healthy. */
  start(): void {
    infra('start-temporal.sh', [], {
      LOOPKEEPER_TEMPORAL_DIR: this.dir(),
      LOOPKEEPER_TEMPORAL_PORT: portOf(this.address()),
      LOOPKEEPER_TEMPORAL_UI_PORT: 'off',
    });
  },
};

/** The S3 server (versitygw) of this jest run: stopped and started again on the same objects. */
export const s3Server = {
  dir: (): string => path.join(stateDir(), 's3'),
  endpoint: (): string => {
    const e = process.env.LOOPKEEPER_TEST_S3_ENDPOINT;
    if (!e) throw new Error('LOOPKEEPER_TEST_S3_ENDPOINT unset');
    return e;
  },
  async stop(): Promise<void> {
    const pid = pidIn(this.dir(), 'versitygw.pid');
    if (!pid) throw new Error(`no versitygw.pid in ${this.dir()}`);
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
  },
  start(): void {
    infra('start-s3.sh', [], {
      LOOPKEEPER_S3_DIR: this.dir(),
      LOOPKEEPER_S3_PORT: portOf(this.endpoint()),
      LOOPKEEPER_S3_BUCKET: testBucket,
      AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
    });
  },
};

/** Environment that points a loopkeeper process at this run's servers and the given store. */
export function serviceEnv(storeUri: string, taskQueue: string): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporalServer.address(),
    LOOPKEEPER_STORE: storeUri,
    LOOPKEEPER_TASK_QUEUE: taskQueue,
    LOOPKEEPER_S3_ENDPOINT: s3Server.endpoint(),
    LOOPKEEPER_S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
    LOOPKEEPER_LOG_LEVEL: 'ERROR',
    // The AWS SDK warns about the Node version on stderr; the suite reads stderr for one-line errors.
    NODE_NO_WARNINGS: '1',
  };
}

/** Runs `node bin/loopkeeper.js …args` (the built CLI) as a child process, as a user's shell would. */
export function runCliProcess(
  env: Record<string, string>,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'loopkeeper.js'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/**
 * A loopkeeper worker as a child process: the CLI worker's body (`test/chaos/worker-main.js` over the
 * built `dist/`) with the workflow code bundled once per run, so a restart after kill -9 takes about a
 * second instead of a webpack build. Output goes to a log file per worker, kept for post-mortems.
 */
export class WorkerProcess {
  private child?: ChildProcess;
  private starts = 0;
  /** Kills done by this handle (SIGKILL). */
  kills = 0;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The worker identity Temporal records for activities this process runs (SDK default: pid@host). */
  identityPrefix(): string | undefined {
    return this.pid === undefined ? undefined : `${this.pid}@`;
  }

  logFile(): string {
    return path.join(stateDir(), `worker-${this.name}.log`);
  }

  /** Starts the process and resolves once it polls its task queue. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.alive) throw new Error(`worker ${this.name} already running`);
    const bundle = process.env.LOOPKEEPER_CHAOS_WORKFLOW_BUNDLE;
    if (!bundle) throw new Error('LOOPKEEPER_CHAOS_WORKFLOW_BUNDLE unset: run through jest.chaos.config.js');
    const log = fs.openSync(this.logFile(), 'a');
    fs.writeSync(log, `--- start #${++this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [path.join(root, 'test', 'chaos', 'worker-main.js')], {
      cwd: root,
      env: { ...process.env, ...this.env, LOOPKEEPER_CHAOS_WORKFLOW_BUNDLE: bundle },
      stdio: ['ignore', 'pipe', log],
    });
    fs.closeSync(log);
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`worker ${this.name} not ready within ${timeoutMs} ms; see ${this.logFile()}`));
      }, timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        fs.appendFileSync(this.logFile(), d);
        if (out.includes('worker on task queue')) {
          fs.appendFileSync(this.logFile(), `--- ready at ${new Date().toISOString()}\n`);
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`worker ${this.name} exited during start (${code ?? signal}); see ${this.logFile()}`),
        );
      });
    });
  }

  /** kill -9, then waits until the process is gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    this.kills++;
    await gone;
  }

  /** Graceful stop (SIGTERM: the worker finishes its tasks' bookkeeping and exits). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(t);
  }
}
