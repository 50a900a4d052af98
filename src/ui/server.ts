/** Runs the web app on a port (node:http through @hono/node-server). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { UiEnv } from './deps';

/** A listening web app. */
export interface RunningUi {
  url: string;
  port: number;
  host: string;
  /** Stops accepting connections and closes idle ones; resolves when all are closed. */
  close(): Promise<void>;
}

/** Listens on `host:port` (0 picks a free port); default host 127.0.0.1 (this machine only). */
export function startUiServer(p: { app: Hono<UiEnv>; port: number; host?: string }): Promise<RunningUi> {
  const host = p.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = createServer(getRequestListener(p.app.fetch, { hostname: host }));
    server.once('error', reject);
    server.listen(p.port, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}`,
        port,
        host,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
