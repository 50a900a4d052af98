import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

import { packageRoot } from '../../src/config/package-root';

// packageRoot() works from test/ under ts-jest and from dist/ when a bench imports this file.
const root = packageRoot();

export const testBucket = 'loopkeeper-test';
export const testS3Credentials = { accessKeyId: 'loopkeeper', secretAccessKey: 'loopkeeper-secret' } as const;

/** A port the OS reports free right now (the services bind it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(script: string, env: Record<string, string>): string {
  return execFileSync('bash', [path.join(root, 'infra', script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }).trim();
}

/**
 * Starts a real Temporal dev server and a real S3 server for one test run, each on its own free port
 * and state dir, so concurrent runs (two terminals, CI beside a dev stack) never share or kill them.
 */
export async function startTestServices(
  stateDir: string,
): Promise<{ temporalAddress: string; s3Endpoint: string }> {
  const temporalAddress = run('start-temporal.sh', {
    LOOPKEEPER_TEMPORAL_DIR: path.join(stateDir, 'temporal'),
    LOOPKEEPER_TEMPORAL_PORT: String(await freePort()),
    LOOPKEEPER_TEMPORAL_UI_PORT: 'off',
  });
  const s3Endpoint = run('start-s3.sh', {
    LOOPKEEPER_S3_DIR: path.join(stateDir, 's3'),
    LOOPKEEPER_S3_PORT: String(await freePort()),
    LOOPKEEPER_S3_BUCKET: testBucket,
    AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
  });
  return { temporalAddress, s3Endpoint };
}

/** Stops what startTestServices started in `stateDir`. */
export function stopTestServices(stateDir: string): void {
  execFileSync('bash', [
    path.join(root, 'infra', 'stop.sh'),
    path.join(stateDir, 'temporal'),
    path.join(stateDir, 's3'),
  ]);
}

/**
 * A private S3 server (its own port and state dir) that a test may stop and start again, e.g. to
 * simulate a storage outage without disturbing the run's shared server. Objects persist across restarts.
 */
export interface PrivateS3 {
  endpoint: string;
  start(): void;
  stop(): void;
}

/** Starts a private S3 server with the test bucket under `dir`. */
export async function startPrivateS3(dir: string): Promise<PrivateS3> {
  const port = String(await freePort());
  const start = (): string =>
    run('start-s3.sh', {
      LOOPKEEPER_S3_DIR: dir,
      LOOPKEEPER_S3_PORT: port,
      LOOPKEEPER_S3_BUCKET: testBucket,
      AWS_ACCESS_KEY_ID: testS3Credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: testS3Credentials.secretAccessKey,
    });
  const endpoint = start();
  return {
    endpoint,
    start: () => void start(),
    stop: () => execFileSync('bash', [path.join(root, 'infra', 'stop.sh'), dir]),
  };
}
