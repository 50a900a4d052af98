import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';

const ORDER: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** What event producers need of a logger (the worker's Runtime logger and `serve`'s both fit). */
export interface EventSink {
  info(message: string, meta?: LogMetadata): void;
  warn(message: string, meta?: LogMetadata): void;
  error(message: string, meta?: LogMetadata): void;
}

/** How log events are written: one JSON object per line, or a readable line for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** JSON when the stream is not a terminal (files, journald, a log shipper), readable when it is. */
export function formatFor(stream: { isTTY?: boolean }, forced?: string): LogFormat {
  if (forced === 'json' || forced === 'pretty') return forced;
  return stream.isTTY ? 'pretty' : 'json';
}

function isErrorLike(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Error).message === 'string' &&
    typeof (v as Error).stack === 'string'
  );
}

/** Strings, numbers and plain data as they are; errors as their message (and type); symbols dropped. */
function plain(v: unknown, depth = 0): unknown {
  // Errors from workflow code come from another realm (not `instanceof Error` here): duck-typed.
  if (v instanceof Error || isErrorLike(v)) {
    const e = v as Error & { type?: string };
    const cause = plain(e.cause, depth + 1);
    return { type: e.type ?? e.name, message: e.message, ...(cause ? { cause } : {}) };
  }
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object')
    return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
  if (depth > 4) return '[…]';
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => plain(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x, depth + 1);
  return out;
}

/** The SDK names an activity's run `workflowRunId` and a workflow's `runId`: one name for both. */
function normalise(meta: LogMetadata): Record<string, unknown> {
  const attrs = plain(meta) as Record<string, unknown>;
  if ('workflowRunId' in attrs && !('runId' in attrs)) {
    const { workflowRunId, ...rest } = attrs;
    return { ...rest, runId: workflowRunId };
  }
  return attrs;
}

/**
 * One event as a JSON line: `ts`, `level`, `msg`, then the event's attributes (the SDK adds workflowId,
 * runId, workflowType or activityType, attempt, namespace, taskQueue; loopkeeper adds model).
 */
export function jsonLine(level: LogLevel, message: string, meta: LogMetadata = {}, now = new Date()): string {
  const attrs = normalise(meta);
  return JSON.stringify({ ts: now.toISOString(), level, msg: message, ...attrs });
}

const SHOWN = ['model', 'workflowId', 'runId', 'workflowType', 'activityType', 'attempt'];

/** One event for a person: `12:00:01 WARN  message  model=churn workflowId=… key=value`. */
export function prettyLine(
  level: LogLevel,
  message: string,
  meta: LogMetadata = {},
  now = new Date(),
): string {
  const attrs = normalise(meta);
  const keys = [...SHOWN.filter((k) => k in attrs), ...Object.keys(attrs).filter((k) => !SHOWN.includes(k))];
  const kv = keys
    .filter((k) => attrs[k] !== undefined && !['sdkComponent', 'namespace', 'taskQueue'].includes(k))
    .map((k) => `${k}=${typeof attrs[k] === 'string' ? attrs[k] : JSON.stringify(attrs[k])}`);
  return `${now.toISOString().slice(11, 19)} ${level.padEnd(5)} ${message}${kv.length ? `  ${kv.join(' ')}` : ''}`;
}

/**
 * A Temporal `Logger` writing one line per event (JSON or pretty) to a stream, from `level` up. Used as
 * the worker Runtime's logger, so SDK, workflow and activity logs come out the same way, and by `serve`.
 */
export class EventLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly format: LogFormat,
    private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
    private readonly base: LogMetadata = {},
  ) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const all = { ...this.base, ...meta };
    this.write(this.format === 'json' ? jsonLine(level, message, all) : prettyLine(level, message, all));
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
  /** The same logger with attributes added to every event (e.g. `{ component: 'serve', model }`). */
  child(base: LogMetadata): EventLogger {
    return new EventLogger(this.level, this.format, this.write, { ...this.base, ...base });
  }
}

/** Parses LOOPKEEPER_LOG_LEVEL-style values; anything else is the default. */
export function logLevelOf(value: string | undefined, fallback: LogLevel = 'WARN'): LogLevel {
  const v = (value ?? '').toUpperCase();
  return v in ORDER ? (v as LogLevel) : fallback;
}
