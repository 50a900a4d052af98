/**
 * Runs a serving app on a port with node:http (POST /predict answered directly, the rest by the hono
 * app through @hono/node-server: node-listener.ts), and shuts it down without losing predictions: stop
 * accepting connections, let in-flight requests finish (they log their predictions), then close the
 * app, which flushes the prediction log.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { ServingApp } from './app';
import { BusyPoll } from './busy-poll';
import { createNodeListener } from './node-listener';

/** A listening server. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** The bound address, e.g. 127.0.0.1 (the default) or 0.0.0.0. */
  host: string;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** Graceful shutdown: drain requests, then `app.close()`. Idempotent. */
  close(): Promise<void>;
  /** Turns of the event loop spent busy-polling so far (0 with `busyPollMs` off): its CPU cost. */
  readonly busyPollTurns: number;
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  app: ServingApp;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1 (this machine only): pass 0.0.0.0 or an interface address to serve others. */
  hostname?: string;
  /** In-flight requests get this long to finish before their connections are cut (default 10 s). */
  shutdownTimeoutMs?: number;
  /**
   * Keep the event loop polling for this long after each request instead of sleeping until the next
   * one (default 0: off). Lowers the tail where wake-ups are slow (small VMs) at the cost of up to a
   * core of CPU while traffic flows: see busy-poll.ts.
   */
  busyPollMs?: number;
}

/** Starts listening; resolves once the port is bound, rejects if it cannot be (e.g. EADDRINUSE). */
export function startServer(options: StartServerOptions): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const busyPollMs = options.busyPollMs ?? 0;
  return new Promise((resolve, reject) => {
    // A bad value rejects here, before anything listens.
    const poll = new BusyPoll(busyPollMs);
    const rest = getRequestListener(options.app.app.fetch, { hostname });
    const listener = createNodeListener(options.app.predictEndpoint, rest);
    const server = createServer(
      busyPollMs > 0
        ? (req, res) => {
            poll.touch();
            listener(req, res);
          }
        : listener,
    );
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const { port, address } = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        get busyPollTurns() {
          return poll.pollTurns;
        },
        port,
        host: address,
        url: `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${port}`,
        close() {
          closing ??= (async () => {
            await new Promise<void>((done) => {
              const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
              force.unref();
              server.close(() => {
                clearTimeout(force);
                done();
              });
              // Keep-alive connections with no request in flight would otherwise hold close() open.
              server.closeIdleConnections();
            });
            poll.stop();
            await options.app.close();
          })();
          return closing;
        },
      });
    });
    server.listen(options.port, hostname);
  });
}
