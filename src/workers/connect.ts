import * as fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from '../config';

function tlsOptions(cfg: TemporalConfig) {
  const { tls } = cfg;
  if (!tls.enabled && !tls.clientCertPath && !cfg.apiKey) return undefined;
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: tls.serverCaCertPath ? fs.readFileSync(tls.serverCaCertPath) : undefined,
    clientCertPair:
      tls.clientCertPath && tls.clientKeyPath
        ? { crt: fs.readFileSync(tls.clientCertPath), key: fs.readFileSync(tls.clientKeyPath) }
        : undefined,
  };
}

/** Connects a Temporal client (CLI, schedules, tests) with the configured address, TLS and API key. */
export async function connectClient(cfg: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect({
    address: cfg.address,
    tls: tlsOptions(cfg),
    apiKey: cfg.apiKey,
  });
  return new Client({ connection, namespace: cfg.namespace });
}

/** Connects a worker's native connection with the same settings. */
export async function connectWorker(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect({ address: cfg.address, tls: tlsOptions(cfg), apiKey: cfg.apiKey });
}

/**
 * How many workers poll a task queue for workflow tasks right now (DescribeTaskQueue), so a client can
 * say "no worker is running" instead of waiting in silence.
 */
export async function workflowPollers(client: Client, namespace: string, taskQueue: string): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ },
    taskQueueType: 1 /* WORKFLOW */,
  });
  return r.pollers?.length ?? 0;
}
