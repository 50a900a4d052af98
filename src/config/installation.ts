/**
 * The identity of one loopkeeper installation: one store, one Temporal namespace. Everything that ties
 * Temporal work to a store is decided here, so two installations sharing one Temporal server never mix
 * their data:
 *
 * - the store holds `installation.json` (`{ id, createdAt, storeUri }`), created on purpose only
 *   (`--init`, `simulate`, `dev`); a store without it and without data does not exist (an error, not
 *   an empty store);
 * - the installation's namespace is `loopkeeper-{id}` unless TEMPORAL_NAMESPACE (or the config file)
 *   names one. Task queues and workflow ids (`cycle-{model}-…`, `review-{model}`, `rollout-{model}`,
 *   schedules) are scoped by the namespace, so they keep their readable names;
 * - the namespace records the installation that owns it (namespace data `loopkeeper.installation`,
 *   `loopkeeper.store`): a worker or CLI of another store refuses to use it (`ForeignStore`);
 * - workflow inputs carry the store identity (`{ installationId, uri }`), and the first activity of a
 *   cycle refuses work for another store, non-retryably (`ForeignStore`, naming both stores).
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { BlobStore } from '../storage/blob-store';
import { BlobConflictError } from '../storage/blob-store';
import type { LoopkeeperConfig } from './config';
import { parseStrict } from './strict-json';
import { ensureSearchAttributes } from './search-attributes';

/** Key of the installation marker at the store's root. */
export const INSTALLATION_KEY = 'installation.json';

export const InstallationIdSchema = z.string().regex(/^[a-z0-9]{6,32}$/, 'expected 6-32 of a-z, 0-9');

/** `installation.json`: who this store belongs to. */
export const InstallationSchema = z.strictObject({
  id: InstallationIdSchema,
  createdAt: z.iso.datetime(),
  /** The URI the store was created under (informative: the same store may be reached by another URI). */
  storeUri: z.string().min(1),
});
export type Installation = z.infer<typeof InstallationSchema>;

/** What workflow inputs carry so a worker can tell its own store's work from another's. */
export const StoreIdentitySchema = z.object({ installationId: InstallationIdSchema, uri: z.string().min(1) });
export type StoreIdentity = z.infer<typeof StoreIdentitySchema>;

/** Thrown when a store does not exist and was not meant to be created. */
export class MissingStoreError extends Error {
  constructor(
    readonly uri: string,
    detail: string,
  ) {
    super(
      `store ${uri} does not exist (${detail}); create it on purpose with \`loopkeeper --init …\` (or \`loopkeeper simulate\` / \`loopkeeper dev\`), or check LOOPKEEPER_STORE`,
    );
    this.name = 'MissingStoreError';
  }
}

/** Thrown when a namespace or a workflow belongs to another installation's store. */
export class ForeignStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForeignStoreError';
  }
}

/** The store identity workflow inputs carry. */
export function storeIdentity(installation: Installation, store: BlobStore): StoreIdentity {
  return { installationId: installation.id, uri: store.uri };
}

/** The installation's own Temporal namespace. */
export function installationNamespace(installation: Pick<Installation, 'id'>): string {
  return `loopkeeper-${installation.id}`;
}

function isMissingBucket(err: unknown): boolean {
  const e = err as { name?: string; Code?: string } | undefined;
  return e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket';
}

/**
 * Reads the store's installation marker. Undefined when the store holds data but no marker (a store
 * from before installations existed); throws MissingStoreError when the store holds nothing at all.
 */
export async function readInstallation(store: BlobStore): Promise<Installation | undefined> {
  let found: Awaited<ReturnType<BlobStore['getVersioned']>>;
  try {
    found = await store.getVersioned(INSTALLATION_KEY);
  } catch (err) {
    if (isMissingBucket(err)) throw new MissingStoreError(store.uri, 'no such bucket');
    throw err;
  }
  if (found) return parseInstallation(store, found.body);
  const page = await store.listPage('', { limit: 1 });
  if (page.items.length === 0) throw new MissingStoreError(store.uri, 'nothing there');
  return undefined;
}

function parseInstallation(store: BlobStore, body: Buffer): Installation {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new Error(`${INSTALLATION_KEY} in ${store.uri} is not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  const r = parseStrict(InstallationSchema, raw);
  if (!r.ok) throw new Error(`${INSTALLATION_KEY} in ${store.uri} is invalid: ${r.problems.join('; ')}`);
  return r.data;
}

/** Throws MissingStoreError unless the store exists (holds a marker or any data). */
export async function assertStoreExists(store: BlobStore): Promise<void> {
  await readInstallation(store);
}

/**
 * The store's installation, creating the marker when `create` is set (a new store) or when the store
 * already holds data (adopting a store from before installations). Safe under concurrent callers: the
 * marker is written only if absent, and a loser reads the winner's.
 */
export async function openInstallation(
  store: BlobStore,
  opts: { create: boolean; now?: () => Date },
): Promise<Installation> {
  let existing: Installation | undefined;
  try {
    existing = await readInstallation(store);
  } catch (err) {
    if (!(err instanceof MissingStoreError) || !opts.create) throw err;
  }
  if (existing) return existing;
  const installation: Installation = {
    id: randomBytes(6).toString('hex'),
    createdAt: (opts.now?.() ?? new Date()).toISOString(),
    storeUri: store.uri,
  };
  try {
    await store.putIfMatch(INSTALLATION_KEY, `${JSON.stringify(installation, null, 2)}\n`, null);
    return installation;
  } catch (err) {
    if (!(err instanceof BlobConflictError)) throw err;
    const winner = await store.getVersioned(INSTALLATION_KEY);
    if (!winner) throw err;
    return parseInstallation(store, winner.body);
  }
}

/**
 * The configuration bound to an installation: its identity recorded, and its own namespace unless one
 * was named explicitly.
 */
export function bindInstallation(config: LoopkeeperConfig, installation: Installation): LoopkeeperConfig {
  return {
    ...config,
    installation: { id: installation.id, storeUri: installation.storeUri },
    temporal: {
      ...config.temporal,
      namespace: config.temporal.namespacePerInstallation
        ? installationNamespace(installation)
        : config.temporal.namespace,
    },
  };
}

/** Namespace data keys recording the owner. */
const OWNER_KEY = 'loopkeeper.installation';
const OWNER_STORE_KEY = 'loopkeeper.store';

function grpcCode(err: unknown): number | undefined {
  return (err as { code?: number } | undefined)?.code;
}

/**
 * Makes sure the bound namespace exists and belongs to this installation: registers the installation's
 * own namespace when absent, records the owner on a namespace that has none, and refuses a namespace
 * another installation owns (ForeignStoreError naming both stores), and registers loopkeeper's search
 * attributes there (`ensureSearchAttributes`). Servers that do not allow namespace changes (managed
 * clusters) are used as configured.
 */
export async function claimNamespace(
  temporal: Pick<Client, 'workflowService' | 'connection'>,
  namespace: string,
  installation: Installation,
  store: BlobStore,
): Promise<void> {
  await claimOwner(temporal, namespace, installation, store);
  // Per namespace on current servers: the installation's own namespace needs them before any workflow runs.
  await ensureSearchAttributes(temporal.connection, namespace);
}

async function claimOwner(
  temporal: Pick<Client, 'workflowService'>,
  namespace: string,
  installation: Installation,
  store: BlobStore,
): Promise<void> {
  const service = temporal.workflowService;
  let data: Record<string, string> | undefined;
  try {
    const d = await service.describeNamespace({ namespace });
    data = (d.namespaceInfo?.data ?? {}) as Record<string, string>;
  } catch (err) {
    if (grpcCode(err) !== 5 /* NOT_FOUND */) throw err;
  }
  if (data === undefined) {
    try {
      await service.registerNamespace({
        namespace,
        description: `loopkeeper installation ${installation.id} (store ${store.uri})`,
        workflowExecutionRetentionPeriod: msToTs('30 days'),
        data: { [OWNER_KEY]: installation.id, [OWNER_STORE_KEY]: store.uri },
      });
      await untilUsable(temporal, namespace);
      return;
    } catch (err) {
      if (grpcCode(err) === 6 /* ALREADY_EXISTS: a concurrent caller */) {
        // The other caller registered it a moment ago: wait, as it does, until the server serves it.
        await untilUsable(temporal, namespace);
        return claimOwner(temporal, namespace, installation, store);
      }
      throw err;
    }
  }
  const owner = data[OWNER_KEY];
  // Registered by a concurrent caller moments ago, it may not be served everywhere yet (one cheap call
  // when it is).
  if (owner === installation.id) return untilUsable(temporal, namespace);
  if (owner) {
    throw new ForeignStoreError(
      `Temporal namespace "${namespace}" belongs to loopkeeper installation ${owner} (store ${data[OWNER_STORE_KEY] ?? '?'}), ` +
        `not to this store ${store.uri} (installation ${installation.id}); unset TEMPORAL_NAMESPACE to use this store's own namespace (${installationNamespace(installation)})`,
    );
  }
  try {
    await service.updateNamespace({
      namespace,
      updateInfo: { data: { [OWNER_KEY]: installation.id, [OWNER_STORE_KEY]: store.uri } },
    });
  } catch (err) {
    // PERMISSION_DENIED / UNIMPLEMENTED: a managed namespace; the per-workflow check still guards it.
    if (grpcCode(err) !== 7 && grpcCode(err) !== 12) throw err;
  }
}

/** Longest wait for a new namespace to reach every server cache (the server refreshes them every ~10 s). */
const NAMESPACE_READY_MS = 30_000;

/**
 * Waits until a just-registered namespace answers every API: starting workflows works at once, but
 * listing (visibility) answers "namespace not found" until the server's namespace caches refresh.
 */
async function untilUsable(temporal: Pick<Client, 'workflowService'>, namespace: string): Promise<void> {
  const deadline = Date.now() + NAMESPACE_READY_MS;
  for (;;) {
    try {
      await temporal.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (err) {
      if (grpcCode(err) !== 5 || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The installations recorded on a server's namespaces (for `dev`, to say whose a server is). */
export async function installationsOnServer(
  client: Client,
): Promise<{ namespace: string; id: string; store: string }[]> {
  const out: { namespace: string; id: string; store: string }[] = [];
  const r = await client.workflowService.listNamespaces({});
  for (const ns of r.namespaces ?? []) {
    const data = (ns.namespaceInfo?.data ?? {}) as Record<string, string>;
    if (data[OWNER_KEY])
      out.push({
        namespace: ns.namespaceInfo?.name ?? '?',
        id: data[OWNER_KEY],
        store: data[OWNER_STORE_KEY] ?? '?',
      });
  }
  return out;
}

/**
 * Worker-side check of a workflow's store identity: work started for another store fails at once and
 * for good (`ForeignStore`), naming both stores. Workers without an installation (tests) and inputs
 * without an identity (started before identities existed) pass.
 */
export function checkStoreIdentity(
  deps: { store: BlobStore; config: LoopkeeperConfig },
  identity: StoreIdentity | undefined,
  what: string,
): void {
  const own = deps.config.installation;
  if (!identity || !own || identity.installationId === own.id) return;
  throw ApplicationFailure.nonRetryable(
    `${what} was started for store ${identity.uri} (installation ${identity.installationId}), but this worker serves store ${deps.store.uri} (installation ${own.id}); ` +
      'run a worker on that store, or start the work with this store',
    'ForeignStore',
  );
}
