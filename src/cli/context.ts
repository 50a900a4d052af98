import type { Client } from '@temporalio/client';
import { loadConfig } from '../config';
import type { LoopkeeperConfig } from '../config';
import {
  bindInstallation,
  claimNamespace,
  ForeignStoreError,
  openInstallation,
  readInstallation,
  storeIdentity,
} from '../config/installation';
import type { Installation, StoreIdentity } from '../config/installation';
import { MissingSearchAttributesError } from '../config/search-attributes';
import type { BlobStore } from '../storage/blob-store';
import { GuardedBlobStore } from '../storage/guarded-store';
import { openBlobStore } from '../storage/open-store';
import { connectClient } from '../workers/connect';
import { EXIT } from './exit-codes';
import { jsonTerminalSafe, terminalSafe } from './printable';

/**
 * Lazily opened resources shared by CLI commands; closed once at exit. The store is checked on first
 * use: a store that does not exist is an error (MissingStoreError) unless `createStore` is set
 * (`--init`, `simulate`, `dev`). Temporal is reached in the store's installation namespace.
 */
export class CliContext {
  private readonly loaded: LoopkeeperConfig;
  private bound?: LoopkeeperConfig;
  private rawStore?: BlobStore;
  private storeInstance?: BlobStore;
  private installationInstance?: Promise<Installation>;
  private clientInstance?: Promise<Client>;
  /** Create the store (its installation marker) when it does not exist yet. */
  createStore = false;

  constructor(env: Record<string, string | undefined> = process.env) {
    this.loaded = loadConfig(env);
  }

  /** The configuration; once the installation is known, bound to it (its namespace, its identity). */
  get config(): LoopkeeperConfig {
    return this.bound ?? this.loaded;
  }

  private get raw(): BlobStore {
    this.rawStore ??= openBlobStore(this.loaded.store.uri, this.loaded.store.s3);
    return this.rawStore;
  }

  /** The store, checked to exist (or created, with `createStore`) before its first use. */
  get store(): BlobStore {
    this.storeInstance ??= new GuardedBlobStore(this.raw, async () => {
      if (this.createStore) await this.installation();
      else await readInstallation(this.raw);
    });
    return this.storeInstance;
  }

  /** The store's installation (created with `createStore`, or adopted for a store with data); binds the config. */
  installation(): Promise<Installation> {
    this.installationInstance ??= openInstallation(this.raw, { create: this.createStore }).then((inst) => {
      this.bound = bindInstallation(this.loaded, inst);
      return inst;
    });
    return this.installationInstance;
  }

  /** What workflow inputs carry so a worker of another store refuses them. */
  async storeIdentity(): Promise<StoreIdentity> {
    return storeIdentity(await this.installation(), this.raw);
  }

  /** A client in the installation's namespace (registered and claimed for this store when needed). */
  client(): Promise<Client> {
    this.clientInstance ??= (async () => {
      const inst = await this.installation();
      const { temporal } = this.config;
      let client: Client;
      try {
        client = await connectClient(temporal);
      } catch (err) {
        throw unreachable(temporal.address, err);
      }
      try {
        await claimNamespace(client, temporal.namespace, inst, this.raw);
      } catch (err) {
        await client.connection.close().catch(() => undefined);
        if (err instanceof ForeignStoreError) throw new CliError(err.message, EXIT.foreignStore);
        if (err instanceof MissingSearchAttributesError) throw new CliError(err.message, EXIT.config);
        throw unreachable(temporal.address, err);
      }
      return client;
    })();
    return this.clientInstance;
  }

  async close(): Promise<void> {
    if (this.clientInstance) await (await this.clientInstance.catch(() => undefined))?.connection.close();
    await this.rawStore?.close();
  }
}

/** The one-line error for a Temporal server that cannot be reached. */
export function unreachable(address: string, err: unknown): CliError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new CliError(
    `cannot reach Temporal at ${address} (${why}). Start it with \`loopkeeper dev\` or set TEMPORAL_ADDRESS.`,
    EXIT.unavailable,
  );
}

/** An error meant for the user: printed without a stack, exit code 1 (or the given code). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Prints a value as JSON or through a human formatter. Either way nothing a user or the store wrote can
 * act on the terminal: control and direction characters left in the text are printed as escapes
 * (in JSON as `\uXXXX`, so it parses to the same value).
 */
export function output(json: boolean | undefined, value: unknown, human: () => string): void {
  console.log(json ? jsonTerminalSafe(JSON.stringify(value, null, 2)) : terminalSafe(human()));
}
