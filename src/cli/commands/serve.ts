import { readFileSync } from 'node:fs';
import { EventLogger, formatFor, logLevelOf } from '../../logging/event-logger';
import type { Command } from 'commander';
import { createServingApp } from '../../serving/app';
import { isValidToken } from '../../serving/auth';
import { startServer } from '../../serving/server';
import type { CliContext } from '../context';
import { parseModelId } from '../user-input';
import { CliError } from '../context';
import { isLoopback, shutdownSignal } from '../process-signals';

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`${flag} "${text}": expected a non-negative integer`, 64);
  return n;
}

/** Exit code of `serve` when the model has no champion to serve at start (sysexits EX_UNAVAILABLE). */
export const NO_CHAMPION_EXIT_CODE = 69;

/**
 * The bearer token from `--token-file` (first) or LOOPKEEPER_SERVE_TOKEN; surrounding whitespace (a
 * file's final newline) is dropped. Never printed.
 */
function readToken(tokenFile: string | undefined): string | undefined {
  let token: string | undefined;
  let source: string;
  if (tokenFile !== undefined) {
    source = `--token-file ${JSON.stringify(tokenFile)}`;
    try {
      token = readFileSync(tokenFile, 'utf8');
    } catch (err) {
      throw new CliError(`${source}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 66);
    }
  } else {
    source = 'LOOPKEEPER_SERVE_TOKEN';
    token = process.env.LOOPKEEPER_SERVE_TOKEN;
    if (token === undefined) return undefined;
  }
  token = token.trim();
  if (!isValidToken(token))
    throw new CliError(`${source}: the token must be non-empty printable ASCII, without whitespace`, 64);
  return token;
}

/** `loopkeeper serve`: the HTTP prediction service until SIGTERM/SIGINT, then drain, flush logs, exit 0. */
export function registerServe(program: Command, ctx: () => CliContext): void {
  program
    .command('serve')
    .description(
      'serve predictions over HTTP: champion by alias, canary/shadow from the rollout config; logs every prediction',
    )
    .requiredOption('--model <id>', 'model id')
    .option('--port <n>', 'port (0 picks a free one)', '8080')
    .option('--host <addr>', 'address to bind (0.0.0.0 serves every interface: set a token)', '127.0.0.1')
    .option(
      '--token-file <path>',
      'file holding a bearer token that /predict, /status and /metrics require (else LOOPKEEPER_SERVE_TOKEN; /healthz and /readyz stay open)',
    )
    .option(
      '--allow-no-champion',
      'start even if the model has no champion yet (/predict answers 503 with the reason until one loads)',
    )
    .option('--alias-poll-ms <n>', 'how often aliases.json/rollout.json are checked', '1000')
    .option('--log-flush-rows <n>', 'prediction log part size in rows', '5000')
    .option('--log-flush-ms <n>', 'longest time a prediction stays unwritten', '2000')
    .option(
      '--busy-poll-ms <n>',
      'keep the event loop polling this long after each request instead of sleeping: a lower p99 where wake-ups are slow (small VMs), for up to a core of CPU while traffic flows; 0 is off',
      '0',
    )
    .action(
      async (opts: {
        model: string;
        port: string;
        host: string;
        aliasPollMs: string;
        logFlushRows: string;
        logFlushMs: string;
        busyPollMs: string;
        tokenFile?: string;
        allowNoChampion?: boolean;
      }) => {
        const modelId = parseModelId(opts.model);
        // Parsed before the app starts: a typo fails at once instead of after the model loads.
        const busyPollMs = positiveInt('--busy-poll-ms', opts.busyPollMs);
        const token = readToken(opts.tokenFile);
        const c = ctx();
        const events = new EventLogger(
          logLevelOf(process.env.LOOPKEEPER_LOG_LEVEL, 'INFO'),
          formatFor(process.stderr, process.env.LOOPKEEPER_LOG_FORMAT),
        ).child({ component: 'serve', model: modelId });
        const serving = await createServingApp({
          log: events,
          store: c.store,
          modelId: modelId,
          aliasPollMs: positiveInt('--alias-poll-ms', opts.aliasPollMs) || 1000,
          logFlushRows: positiveInt('--log-flush-rows', opts.logFlushRows) || 5000,
          logFlushMs: positiveInt('--log-flush-ms', opts.logFlushMs) || 2000,
          // Rollouts read each process's health (load failures, errors, latency) from its fleet report.
          fleetReport: true,
          token,
        });
        if (!serving.models().champion && !opts.allowNoChampion) {
          const reason = serving.noChampionReason();
          await serving.close();
          throw new CliError(
            `cannot serve model ${modelId}: ${reason} (--allow-no-champion starts anyway)`,
            NO_CHAMPION_EXIT_CODE,
          );
        }
        let server;
        try {
          server = await startServer({
            app: serving,
            port: positiveInt('--port', opts.port),
            hostname: opts.host,
            busyPollMs,
          });
        } catch (err) {
          await serving.close();
          throw new CliError(`cannot listen on ${opts.host}:${opts.port} (${(err as Error).message})`);
        }
        // Handlers only once serving: a signal during startup keeps its default (exit at once).
        const signal = shutdownSignal();
        const health = serving.health();
        console.log(
          `serving model ${modelId} at ${server.url} (store ${c.store.uri}): ` +
            (health.models.champion
              ? `champion ${health.models.champion.version}`
              : `NO CHAMPION YET (${serving.noChampionReason()}); /predict answers 503 until one loads`),
        );
        console.log(
          `  POST ${server.url}/predict   GET ${server.url}/status   GET ${server.url}/metrics` +
            (token ? ' (bearer token required)' : '') +
            `   GET ${server.url}/healthz   GET ${server.url}/readyz`,
        );
        if (!token && !isLoopback(opts.host)) {
          console.error(
            `warning: listening on ${opts.host} without a token: anyone who can reach it may predict and read /status (set --token-file or LOOPKEEPER_SERVE_TOKEN)`,
          );
        }
        events.info('serving', {
          url: server.url,
          champion: health.models.champion?.version ?? null,
          auth: token ? 'bearer' : 'none',
        });
        const received = await signal;
        events.info('stopping', { signal: received });
        console.log(`${received}: draining requests and flushing the prediction log …`);
        await server.close();
        const log = serving.health().predictionLog;
        console.log(`stopped: ${log.rowsWritten} predictions logged in ${log.partsWritten} part(s)`);
        events.info('stopped', { predictionsLogged: log.rowsWritten, parts: log.partsWritten });
      },
    );
}
