import type { Client } from '@temporalio/client';
import { loadConfig } from '../config';
import type { LoopkeeperConfig } from '../config';
import type { BlobStore } from '../storage/blob-store';
import { openBlobStore } from '../storage/open-store';
import { connectClient } from '../workers/connect';

/** Lazily opened resources shared by CLI commands; closed once at exit. */
export class CliContext {
  readonly config: LoopkeeperConfig;
  private storeInstance?: BlobStore;
  private clientInstance?: Promise<Client>;

  constructor(env: Record<string, string | undefined> = process.env) {
    this.config = loadConfig(env);
  }

  get store(): BlobStore {
    this.storeInstance ??= openBlobStore(this.config.store.uri, this.config.store.s3);
    return this.storeInstance;
  }

  client(): Promise<Client> {
    this.clientInstance ??= connectClient(this.config.temporal).catch((err: Error) => {
      throw new CliError(
        `cannot reach Temporal at ${this.config.temporal.address} (${err.message}). Start it with \`loopkeeper dev\` or set TEMPORAL_ADDRESS.`,
      );
    });
    return this.clientInstance;
  }

  async close(): Promise<void> {
    if (this.clientInstance) await (await this.clientInstance.catch(() => undefined))?.connection.close();
    await this.storeInstance?.close();
  }
}

/** An error meant for the user: printed without a stack, exit code 1 (or the given code). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Prints a value as JSON or through a human formatter. */
export function output(json: boolean | undefined, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}
