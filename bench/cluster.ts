import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { packageRoot } from '../src/config/package-root';
import { startTestServices, stopTestServices, testBucket, testS3Credentials } from '../test/support/services';

/**
 * A loopkeeper installation spread over real processes on this machine: the Temporal dev server and the
 * S3 server (versitygw) on free ports, N `loopkeeper worker` processes on one store and namespace, and
 * optionally `serve` and `ui`. Used by the multi-process check (bench/multiprocess.ts, issue 18 §5) and
 * the scaling bench (bench/scale.ts, §3). Everything started here is stopped by {@link Cluster.stop},
 * which also runs on exit and on SIGINT/SIGTERM, so a failed run leaves no process behind.
 */

const root = packageRoot();
const cli = path.join(root, 'bin', 'loopkeeper.js');

/** A child process with the first stdout line that matched its readiness pattern. */
export interface Started {
  name: string;
  child: ChildProcess;
  ready: RegExpMatchArray;
  log: string;
}

/** Peak resident set (VmHWM) of a live process in MB, from /proc; undefined when not readable. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** State dir (servers' data, process logs). */
  dir: string;
  /** Rows per columnar partition ingest writes (LOOPKEEPER_PARTITION_ROWS). */
  partitionRows: number;
  /** Extra environment for every loopkeeper process. */
  env?: Record<string, string>;
}

/** The running servers and processes; see {@link startCluster}. */
export class Cluster {
  readonly procs: Started[] = [];
  private stopped = false;
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.stopSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  private readonly onExit = (): void => this.stopSync();

  constructor(
    readonly dir: string,
    readonly env: Record<string, string>,
  ) {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    process.once('exit', this.onExit);
  }

  /** Runs `loopkeeper …args` to completion; throws with its stderr when it exits non-zero. */
  run(args: string[], timeoutMs = 600_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], {
        cwd: root,
        env: { ...process.env, ...this.env },
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
        if (code === 0) resolve(out);
        else reject(new Error(`loopkeeper ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
      });
    });
  }

  /**
   * Starts `loopkeeper …args` as a long-running process and resolves once a stdout line matches
   * `ready`; its output goes to `{dir}/{name}.log`.
   */
  start(name: string, args: string[], ready: RegExp, timeoutMs = 180_000): Promise<Started> {
    const log = path.join(this.dir, `${name}.log`);
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: root,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started: Started = { name, child, ready: [] as unknown as RegExpMatchArray, log };
    this.procs.push(started);
    const file = fs.createWriteStream(log);
    child.stderr.pipe(file);
    return new Promise((resolve, reject) => {
      let buf = '';
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        reject(new Error(`${name} not ready within ${timeoutMs} ms; see ${log}`));
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        file.write(d);
        if (done) return;
        buf += d.toString();
        const m = ready.exec(buf);
        if (m) {
          done = true;
          clearTimeout(timer);
          started.ready = m;
          resolve(started);
        }
      });
      child.on('exit', (code, signal) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before it was ready; see ${log}`));
      });
    });
  }

  /** Starts `n` worker processes (names worker-{i}) and resolves once every one polls its queue. */
  async startWorkers(n: number): Promise<Started[]> {
    const workers: Started[] = [];
    // One after another: each bundles the workflow code at start, which takes a core for seconds.
    for (let i = 0; i < n; i++)
      workers.push(
        await this.start(`worker-${i}`, ['worker'], /worker on task queue "[^"]+" in namespace (\S+)/),
      );
    return workers;
  }

  /** Stops the given processes (SIGTERM, then SIGKILL after `graceMs`) and waits until they are gone. */
  async stopProcs(procs: Started[], graceMs = 10_000): Promise<void> {
    for (const p of procs) if (p.child.pid && alive(p.child.pid)) p.child.kill('SIGTERM');
    const until = Date.now() + graceMs;
    while (procs.some((p) => p.child.pid && alive(p.child.pid)) && Date.now() < until) await sleep(50);
    for (const p of procs) if (p.child.pid && alive(p.child.pid)) p.child.kill('SIGKILL');
    while (procs.some((p) => p.child.pid && alive(p.child.pid))) await sleep(20);
    for (const p of procs) this.procs.splice(this.procs.indexOf(p), 1);
  }

  /** Stops every process and both servers; idempotent. */
  async stop(): Promise<void> {
    await this.stopProcs([...this.procs]);
    this.stopSync();
  }

  private stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.procs) if (p.child.pid && alive(p.child.pid)) p.child.kill('SIGKILL');
    try {
      stopTestServices(this.dir);
    } catch (err) {
      console.error(`stopping the servers in ${this.dir}: ${(err as Error).message}`);
    }
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    process.removeListener('exit', this.onExit);
  }

  /** A Temporal client on the cluster's server in `namespace`; close its connection when done. */
  async client(namespace: string): Promise<{ client: Client; connection: Connection }> {
    const connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS });
    return { client: new Client({ connection, namespace }), connection };
  }
}

/**
 * Starts the Temporal dev server and the S3 server on free ports under `opts.dir` and returns a
 * {@link Cluster} whose processes use one S3 store there. Processes are started with its methods.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const { temporalAddress, s3Endpoint } = await startTestServices(opts.dir);
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: temporalAddress,
    LOOPKEEPER_STORE: `s3://${testBucket}/multiprocess`,
    LOOPKEEPER_S3_ENDPOINT: s3Endpoint,
    LOOPKEEPER_S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
    LOOPKEEPER_PARTITION_ROWS: String(opts.partitionRows),
    LOOPKEEPER_LOG_LEVEL: 'WARN',
    NODE_NO_WARNINGS: '1',
    ...opts.env,
  };
  return new Cluster(opts.dir, env);
}

/** One activity as the server recorded it: who ran it and when. */
export interface ActivityRun {
  workflowId: string;
  type: string;
  identity: string;
  scheduledMs: number;
  startedMs: number;
  closedMs: number;
}

function ms(t: unknown): number {
  if (t instanceof Date) return t.getTime();
  const ts = t as { seconds?: { toNumber(): number } | number; nanos?: number } | null | undefined;
  if (!ts) return 0;
  const s = typeof ts.seconds === 'number' ? ts.seconds : (ts.seconds?.toNumber() ?? 0);
  return s * 1000 + (ts.nanos ?? 0) / 1e6;
}

/**
 * Every activity of a workflow and of its children (recursively), from their histories: the activity
 * type, the identity of the worker that ran its last attempt, and its schedule/start/close times.
 */
export async function activityRuns(client: Client, workflowId: string): Promise<ActivityRun[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const runs: ActivityRun[] = [];
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, { identity: string; at: number; scheduledId: string }>();
  const children: string[] = [];
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(id, {
        type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
        at: ms(e.eventTime),
      });
    else if (e.activityTaskStartedEventAttributes)
      started.set(id, {
        identity: e.activityTaskStartedEventAttributes.identity ?? '?',
        at: ms(e.eventTime),
        scheduledId: String(e.activityTaskStartedEventAttributes.scheduledEventId),
      });
    else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const st = started.get(String(a.startedEventId));
      const sc = scheduled.get(String(a.scheduledEventId));
      if (st && sc)
        runs.push({
          workflowId,
          type: sc.type,
          identity: st.identity,
          scheduledMs: sc.at,
          startedMs: st.at,
          closedMs: ms(e.eventTime),
        });
    } else if (e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
      children.push(e.childWorkflowExecutionStartedEventAttributes.workflowExecution.workflowId);
  }
  for (const child of children) runs.push(...(await activityRuns(client, child)));
  return runs;
}
