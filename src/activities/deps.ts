import type { Client } from '@temporalio/client';
import type { LoopkeeperConfig } from '../config';
import type { BlobStore } from '../storage/blob-store';

/** What every activity factory is given: its clients, never globals. */
export interface ActivityDeps {
  store: BlobStore;
  config: LoopkeeperConfig;
  /** A Temporal client, for activities that signal other workflows (e.g. enqueueing review tasks). */
  client?: Client;
  /** Wall clock for records (createdAt); injected so tests can pin it. */
  now?: () => Date;
}
