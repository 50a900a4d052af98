import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { claimNamespace, installationNamespace, openInstallation } from '../../src/config/installation';
import type { BlobStore } from '../../src/storage/blob-store';
import { ModelRegistry } from '../../src/storage/model-registry';
import { openBlobStore } from '../../src/storage/open-store';
import type { CycleStatus } from '../../src/workflows/cycle-status';
import type { RolloutStatus } from '../../src/workflows/rollout';
import { runCliProcess, s3Server, serviceEnv, sleep, temporalServer } from '../support/processes';
import { testBucket } from '../support/services';

/** One scenario's own model id, task queue and store, so no scenario sees another's data or work. */
export interface ScenarioEnv {
  modelId: string;
  taskQueue: string;
  storeUri: string;
  env: Record<string, string>;
  store: BlobStore;
}

/** A fresh model id / task queue / store (`s3` under its own prefix of the test bucket, or a temp dir). */
export function scenarioEnv(name: string, kind: 's3' | 'file' = 's3'): ScenarioEnv {
  const suffix = randomUUID().slice(0, 6);
  const modelId = `${name}-${suffix}`;
  const taskQueue = `chaos-${name}-${suffix}`;
  const storeUri =
    kind === 's3'
      ? `s3://${testBucket}/chaos-${name}-${suffix}`
      : `file://${fs.mkdtempSync(path.join(os.tmpdir(), `loopkeeper-chaos-${name}-`))}`;
  const env = serviceEnv(storeUri, taskQueue);
  const config = loadConfig(env);
  return { modelId, taskQueue, storeUri, env, store: openBlobStore(storeUri, config.store.s3) };
}

/** A client on this run's Temporal server (reconnects on its own after a server restart). */
export async function connectClient(namespace?: string): Promise<Client> {
  const connection = await Connection.connect({ address: temporalServer.address() });
  return new Client({ connection, ...(namespace ? { namespace } : {}) });
}

/**
 * The scenario as `loopkeeper` itself runs it: the store's installation is created and its own Temporal
 * namespace claimed, and workers, CLI and client all work there (for scenarios that drive Temporal
 * through the CLI, which always uses the store's namespace).
 */
export async function installed(s: ScenarioEnv): Promise<ScenarioEnv & { namespace: string }> {
  const installation = await openInstallation(s.store, { create: true });
  const namespace = installationNamespace(installation);
  const client = await connectClient(namespace);
  try {
    await claimNamespace(client, namespace, installation, s.store);
  } finally {
    await client.connection.close();
  }
  return { ...s, namespace, env: { ...s.env, TEMPORAL_NAMESPACE: namespace } };
}

/** Writes a few thousand rows a day of seeded traffic and labelled history with `loopkeeper simulate`. */
export async function simulate(
  s: ScenarioEnv,
  opts: { days?: number; rowsPerDay?: number; historyDays?: number; seed?: number; model?: string } = {},
): Promise<void> {
  const res = await runCliProcess(s.env, [
    'simulate',
    '--model',
    opts.model ?? s.modelId,
    '--scenario',
    'concept-drift',
    '--seed',
    String(opts.seed ?? 7),
    '--start',
    '2026-06-01',
    '--days',
    String(opts.days ?? 21),
    '--rows-per-day',
    String(opts.rowsPerDay ?? 300),
    '--history-days',
    String(opts.historyDays ?? 21),
    '--score-with',
    'reference',
  ]);
  if (res.code !== 0) throw new Error(`loopkeeper simulate failed (${res.code}): ${res.err || res.out}`);
}

/** The workflow id `loopkeeper cycle run` gives a model and window. */
export function cycleId(modelId: string, from: string, to: string): string {
  return `cycle-${modelId}-${from}_${to}`;
}

/** Starts a cycle the way `loopkeeper cycle run` does (same id, same input). */
export async function startCycle(
  client: Client,
  s: ScenarioEnv,
  window: { from: string; to: string },
  modelId = s.modelId,
): Promise<string> {
  const workflowId = cycleId(modelId, window.from, window.to);
  await client.workflow.start('continuousLearningCycle', {
    taskQueue: s.taskQueue,
    workflowId,
    args: [{ modelId, window }],
    workflowIdConflictPolicy: 'FAIL',
  });
  return workflowId;
}

/** How one cycle ended: completed (with its status), failed with a reason, or still stuck at the deadline. */
export type CycleEnd =
  | { workflowId: string; outcome: 'completed'; status: CycleStatus }
  | { workflowId: string; outcome: 'failed'; reason: string }
  | { workflowId: string; outcome: 'stuck'; reason: string };

/** The root cause's message of a failed workflow (activity / child failures wrap it). */
function rootCause(err: unknown): string {
  let e = err as { cause?: unknown; message?: string } | undefined;
  const seen: string[] = [];
  while (e) {
    if (e.message) seen.push(e.message);
    e = e.cause as typeof e;
  }
  return seen[seen.length - 1] ?? String(err);
}

/** What a running workflow waits for, from the server (needs no worker): pending activities and children. */
export async function describeWaiting(client: Client, workflowId: string): Promise<string> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    const parts: string[] = [];
    for (const a of d.raw.pendingActivities ?? []) {
      const name = a.activityType?.name ?? '?';
      const fail = a.lastFailure?.message ? `, last failure: ${a.lastFailure.message.slice(0, 160)}` : '';
      parts.push(`activity ${name} attempt ${a.attempt ?? 1} state ${String(a.state)}${fail}`);
    }
    for (const c of d.raw.pendingChildren ?? []) {
      parts.push(`child ${c.workflowId}: ${await describeWaiting(client, c.workflowId ?? '')}`);
    }
    if (workflowId.startsWith('rollout-') && d.status.name === 'RUNNING')
      parts.push(await rolloutPhase(client, workflowId));
    return parts.join('; ') || `status ${d.status.name}, no pending activity`;
  } catch (err) {
    return `describe failed: ${(err as Error).message}`;
  }
}

/** A running rollout's phase, weight and what it waits for (its status query, answered by a worker). */
async function rolloutPhase(client: Client, workflowId: string): Promise<string> {
  try {
    const st = await client.workflow.getHandle(workflowId).query<RolloutStatus>('rolloutStatus');
    const last = st.decisions[st.decisions.length - 1];
    return (
      `rollout phase ${st.phase} at ${st.weightPercent}%` +
      (st.awaitingApproval ? `, awaiting approval: ${st.awaitingApproval.reason}` : '') +
      (st.paused ? `, paused by ${st.paused.actor}` : '') +
      (last ? `, last decision ${last.decision}: ${last.reason}` : '')
    );
  } catch (err) {
    return `rollout status unavailable: ${(err as Error).message}`;
  }
}

/** Activity types currently pending in these workflows and their children, and who runs them. */
export async function pendingActivities(
  client: Client,
  workflowIds: string[],
): Promise<Array<{ workflowId: string; name: string; state: string; identity: string }>> {
  const out: Array<{ workflowId: string; name: string; state: string; identity: string }> = [];
  const visit = async (id: string): Promise<void> => {
    const d = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    if (!d || d.status.name !== 'RUNNING') return;
    for (const a of d.raw.pendingActivities ?? [])
      out.push({
        workflowId: id,
        name: a.activityType?.name ?? '?',
        state: String(a.state),
        identity: a.lastWorkerIdentity ?? '',
      });
    for (const c of d.raw.pendingChildren ?? []) if (c.workflowId) await visit(c.workflowId);
  };
  await Promise.all(workflowIds.map(visit));
  return out;
}

/**
 * Waits until each cycle has closed or the deadline passes. A completed cycle brings its status; a
 * failed one its root reason; one still open at the deadline is `stuck`, with what it waits for.
 */
export async function awaitCycles(
  client: Client,
  workflowIds: string[],
  deadlineMs: number,
): Promise<CycleEnd[]> {
  const until = Date.now() + deadlineMs;
  return Promise.all(
    workflowIds.map(async (workflowId): Promise<CycleEnd> => {
      const handle = client.workflow.getHandle(workflowId);
      for (;;) {
        const d = await handle.describe().catch(() => undefined);
        const state = d?.status.name;
        if (state && state !== 'RUNNING') {
          try {
            const status = (await handle.result()) as CycleStatus;
            return { workflowId, outcome: 'completed', status };
          } catch (err) {
            const reason = err instanceof WorkflowFailedError ? rootCause(err) : (err as Error).message;
            return { workflowId, outcome: 'failed', reason: `${state}: ${reason}` };
          }
        }
        if (Date.now() > until)
          return {
            workflowId,
            outcome: 'stuck',
            reason: `still running ${Math.round(deadlineMs / 1000)} s after the faults: ${await describeWaiting(client, workflowId)}`,
          };
        await sleep(500);
      }
    }),
  );
}

/** Keys of stray partial objects under the store: temp files of interrupted writes, leftover locks. */
export async function strayObjects(store: BlobStore): Promise<string[]> {
  const stray: string[] = [];
  const root = store.uri.startsWith('file://') ? store.uri.slice('file://'.length) : undefined;
  if (root) {
    // The file store hides its own temp files from list(); look at the directory itself.
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.lk-tmp|\.tmp$|\.lock$/.test(e.name)) stray.push(path.relative(root, p));
      }
    };
    if (fs.existsSync(root)) walk(root);
    return stray;
  }
  for await (const info of store.listSizes(''))
    if (/\.lk-tmp|\.tmp$|\.lock$/.test(info.key)) stray.push(info.key);
  return stray;
}

/**
 * Registry invariants of one model: every version belongs to a different cycle (a retried or re-run
 * training never registers a second version), every alias points at a registered version, and the
 * alias audit log replays to the alias table (each change's `from` is the previous change's `to`,
 * revisions strictly ordered, the last revision is the table's).
 */
export async function registryProblems(
  store: BlobStore,
  modelId: string,
): Promise<{ problems: string[]; versions: number; duplicates: number }> {
  const registry = new ModelRegistry(store);
  const problems: string[] = [];
  const versions = await registry.listVersions(modelId);
  const byCycle = new Map<string, string[]>();
  for (const v of versions) {
    const key = String(v.lineage.cycleId ?? v.trainingData.join(','));
    byCycle.set(key, [...(byCycle.get(key) ?? []), v.version]);
  }
  let duplicates = 0;
  for (const [cycle, vs] of byCycle)
    if (vs.length > 1) {
      duplicates += vs.length - 1;
      problems.push(`${vs.length} versions registered for ${cycle}: ${vs.join(', ')}`);
    }
  let table;
  try {
    table = await registry.getAliases(modelId);
  } catch (err) {
    problems.push(`aliases of ${modelId} unreadable: ${(err as Error).message}`);
    return { problems, versions: versions.length, duplicates };
  }
  const known = new Set(versions.map((v) => v.version));
  for (const [alias, v] of Object.entries(table.aliases))
    if (!known.has(v)) problems.push(`alias ${alias} points at ${v}, which is not a registered version`);
  let history;
  try {
    history = await registry.aliasHistory(modelId);
  } catch (err) {
    problems.push(`alias history of ${modelId} unreadable: ${(err as Error).message}`);
    return { problems, versions: versions.length, duplicates };
  }
  const replayed: Record<string, string> = {};
  let lastRevision = 0;
  const actorOf = new Map<number, string>();
  for (const e of history) {
    if (e.revision < lastRevision) problems.push(`alias history out of order at revision ${e.revision}`);
    const prevActor = actorOf.get(e.revision);
    if (prevActor !== undefined && prevActor !== `${e.actor}|${e.at}|${e.reason}`)
      problems.push(`revision ${e.revision} holds changes of two different writers`);
    actorOf.set(e.revision, `${e.actor}|${e.at}|${e.reason}`);
    lastRevision = e.revision;
    const current = replayed[e.alias] ?? null;
    if (current !== e.from)
      problems.push(
        `alias history: revision ${e.revision} moves ${e.alias} from ${e.from} but it was ${current}`,
      );
    if (e.to === null) delete replayed[e.alias];
    else replayed[e.alias] = e.to;
  }
  const tableAliases = JSON.stringify(Object.entries(table.aliases).sort());
  if (JSON.stringify(Object.entries(replayed).sort()) !== tableAliases)
    problems.push(`alias history replays to ${JSON.stringify(replayed)}, table holds ${tableAliases}`);
  if (history.length && table.revision !== lastRevision)
    problems.push(`aliases.json at revision ${table.revision}, history ends at ${lastRevision}`);
  return { problems, versions: versions.length, duplicates };
}

/** Seeded RNG (mulberry32) for fault timing: the same seed, the same delays. */
export function seededRng(seed: number): { next(): number; between(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, between: (lo, hi) => lo + (hi - lo) * next() };
}

/**
 * How long cycles get to finish after the last fault (LOOPKEEPER_CHAOS_RECOVERY_S, default 90 s): a
 * crashed activity is noticed after its heartbeat timeout, so this bounds the timeouts the suite accepts.
 */
export function recoveryMs(): number {
  const s = Number(process.env.LOOPKEEPER_CHAOS_RECOVERY_S ?? 90);
  return (Number.isFinite(s) && s > 0 ? s : 90) * 1000;
}

/** The chaos seed (LOOPKEEPER_CHAOS_SEED, default 16), printed so a failing run can be repeated. */
export function chaosSeed(): number {
  const s = Number(process.env.LOOPKEEPER_CHAOS_SEED ?? 16);
  return Number.isInteger(s) ? s : 16;
}

export { s3Server, temporalServer, sleep };
