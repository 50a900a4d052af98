import * as fs from 'node:fs';
import { z } from 'zod';
import { AlertsConfigSchema } from './alerts';
import { defaults } from './defaults';
import { findUnknownKeys, formatUnknownKey } from './strict-json';
import { UiConfigSchema } from './ui-config';

const boolFromEnv = z.union([
  z.boolean(),
  z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v)),
]);

/** Connection to Temporal, following @temporalio/envconfig's variable names where they fit. */
export const TemporalConfigSchema = z.object({
  address: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233'),
  namespace: z.string().min(1),
  /**
   * Set when no namespace was named (TEMPORAL_NAMESPACE or the config file): the installation's own
   * namespace is used once the store is known (see installation.ts).
   */
  namespacePerInstallation: z.boolean().optional(),
  apiKey: z.string().min(1).optional(),
  tls: z
    .object({
      enabled: boolFromEnv.default(false),
      clientCertPath: z.string().min(1).optional(),
      clientKeyPath: z.string().min(1).optional(),
      serverCaCertPath: z.string().min(1).optional(),
      serverName: z.string().min(1).optional(),
    })
    .default({ enabled: false }),
  taskQueue: z.string().min(1),
  /** Training can run on its own task queue (own workers, bigger machines); defaults to taskQueue. */
  trainingTaskQueue: z.string().min(1).optional(),
  /** Set when loopkeeper should not start its own dev server (an external cluster is used). */
  external: z.boolean(),
});
export type TemporalConfig = z.infer<typeof TemporalConfigSchema>;

export const StoreConfigSchema = z.object({
  uri: z
    .string()
    .refine((u) => u.startsWith('file:') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(u), {
      message: 'must be file://<path> or s3://<bucket>[/<prefix>]',
    }),
  s3: z.object({
    endpoint: z.url().optional(),
    region: z.string().min(1),
    forcePathStyle: boolFromEnv,
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
  }),
  /** How long an activity waits out a store outage (unreachable, 5xx) before failing its attempt; 0 = not at all. */
  outageMinutes: z.coerce
    .number()
    .min(0)
    .max(24 * 60)
    .default(15),
});
export type StoreConfig = z.infer<typeof StoreConfigSchema>;

export const LoopkeeperConfigSchema = z.object({
  home: z.string().min(1),
  temporal: TemporalConfigSchema,
  store: StoreConfigSchema,
  ingest: z.object({
    maxBadRowRate: z.coerce.number().min(0).max(1),
    windowDays: z.coerce.number().int().min(1).max(366),
    joinLookbackDays: z.coerce.number().int().min(1).max(730),
    /** Parallel ingest threads; 0 = one per available core (capped) once the logs are big enough. */
    threads: z.coerce.number().int().min(0).max(64),
    /** Rows per columnar partition of a window: one drift activity's share of the work (and memory). */
    partitionRows: z.coerce.number().int().min(1).max(10_000_000),
  }),
  temporalUiPort: z.coerce.number().int().min(1).max(65535),
  /** Webhooks for events that need a person (config file only: URLs and secrets). */
  alerts: AlertsConfigSchema.default({ webhooks: [], reviewBacklogHours: 48, maxAttempts: 4 }),
  /** The web app (`loopkeeper ui`): users, sessions, the browser tests' Chromium (src/config/ui-config.ts). */
  ui: UiConfigSchema.prefault({}),
  /** The installation of the store, once bound (never from the environment or the file). */
  installation: z.object({ id: z.string(), storeUri: z.string() }).optional(),
});
export type LoopkeeperConfig = z.infer<typeof LoopkeeperConfigSchema>;

/** Maps each config path to the environment variable that sets it, so errors can name the variable. */
export const envVariables: Record<string, string> = {
  home: 'LOOPKEEPER_HOME',
  'temporal.address': 'TEMPORAL_ADDRESS',
  'temporal.namespace': 'TEMPORAL_NAMESPACE',
  'temporal.apiKey': 'TEMPORAL_API_KEY',
  'temporal.tls.enabled': 'TEMPORAL_TLS',
  'temporal.tls.clientCertPath': 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'temporal.tls.clientKeyPath': 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'temporal.tls.serverCaCertPath': 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'temporal.tls.serverName': 'TEMPORAL_TLS_SERVER_NAME',
  'temporal.taskQueue': 'LOOPKEEPER_TASK_QUEUE',
  'temporal.trainingTaskQueue': 'LOOPKEEPER_TRAINING_TASK_QUEUE',
  'store.uri': 'LOOPKEEPER_STORE',
  'store.s3.endpoint': 'LOOPKEEPER_S3_ENDPOINT',
  'store.s3.region': 'AWS_REGION',
  'store.s3.forcePathStyle': 'LOOPKEEPER_S3_FORCE_PATH_STYLE',
  'store.s3.accessKeyId': 'AWS_ACCESS_KEY_ID',
  'store.s3.secretAccessKey': 'AWS_SECRET_ACCESS_KEY',
  'store.outageMinutes': 'LOOPKEEPER_STORE_OUTAGE_MINUTES',
  'ingest.maxBadRowRate': 'LOOPKEEPER_MAX_BAD_ROW_RATE',
  'ingest.windowDays': 'LOOPKEEPER_WINDOW_DAYS',
  'ingest.joinLookbackDays': 'LOOPKEEPER_JOIN_LOOKBACK_DAYS',
  'ingest.threads': 'LOOPKEEPER_INGEST_THREADS',
  'ingest.partitionRows': 'LOOPKEEPER_PARTITION_ROWS',
  temporalUiPort: 'LOOPKEEPER_TEMPORAL_UI_PORT',
  'ui.sessionHours': 'LOOPKEEPER_UI_SESSION_HOURS',
  'ui.chromiumPath': 'LOOPKEEPER_CHROMIUM',
};

/** Thrown when configuration is invalid; the message names each variable and why. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid loopkeeper configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** What the LOOPKEEPER_CONFIG file may hold: the configuration without the fields loopkeeper derives. */
const FileConfigSchema = LoopkeeperConfigSchema.omit({ installation: true }).extend({
  temporal: TemporalConfigSchema.omit({ namespacePerInstallation: true }).partial(),
});

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object'
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Loads the configuration: defaults, then the optional JSON file named by LOOPKEEPER_CONFIG, then
 * environment variables. Fails at start with every bad value named by its variable (or file path).
 */
export function loadConfig(env: Env = process.env): LoopkeeperConfig {
  let raw: Record<string, unknown> = {
    home: defaults.home,
    temporal: {
      address: defaults.temporalAddress,
      namespace: defaults.temporalNamespace,
      taskQueue: defaults.taskQueue,
      tls: { enabled: false },
    },
    store: { uri: defaults.storeUri, s3: { region: defaults.s3Region, forcePathStyle: false } },
    ingest: {
      maxBadRowRate: defaults.maxBadRowRate,
      windowDays: defaults.windowDays,
      joinLookbackDays: defaults.joinLookbackDays,
      threads: defaults.ingestThreads,
      partitionRows: defaults.columnarPartitionRows,
    },
    temporalUiPort: defaults.temporalUiPort,
  };
  const file = env.LOOPKEEPER_CONFIG;
  let namespaceFromFile = false;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError([
        `LOOPKEEPER_CONFIG=${file}: cannot read it as JSON (${(err as Error).message})`,
      ]);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError([`LOOPKEEPER_CONFIG=${file}: must hold a JSON object`]);
    }
    // A misspelt key would otherwise silently mean "the default".
    const unknown = findUnknownKeys(FileConfigSchema, parsed);
    if (unknown.length > 0)
      throw new ConfigError(unknown.map((u) => `LOOPKEEPER_CONFIG=${file}: ${formatUnknownKey(u)}`));
    namespaceFromFile = (parsed as { temporal?: { namespace?: unknown } }).temporal?.namespace !== undefined;
    raw = deepMerge(raw, parsed as Record<string, unknown>);
  }
  for (const [dotted, name] of Object.entries(envVariables)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, dotted, value);
  }
  if (!env.TEMPORAL_NAMESPACE && !namespaceFromFile) setPath(raw, 'temporal.namespacePerInstallation', true);
  if (env.AWS_DEFAULT_REGION && !env.AWS_REGION) setPath(raw, 'store.s3.region', env.AWS_DEFAULT_REGION);
  setPath(
    raw,
    'temporal.external',
    Boolean(env.TEMPORAL_ADDRESS) || Boolean((raw.temporal as { external?: boolean }).external),
  );

  const result = LoopkeeperConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const dotted = issue.path.join('.');
        const name = envVariables[dotted];
        const where =
          name && env[name] !== undefined
            ? `${name}=${JSON.stringify(env[name])}`
            : name
              ? `${name} (${dotted})`
              : dotted;
        return `${where}: ${issue.message}`;
      }),
    );
  }
  const cfg = result.data;
  if (cfg.temporal.tls.clientCertPath && !cfg.temporal.tls.clientKeyPath) {
    throw new ConfigError([
      'TEMPORAL_TLS_CLIENT_KEY_PATH: required when TEMPORAL_TLS_CLIENT_CERT_PATH is set',
    ]);
  }
  return cfg;
}
