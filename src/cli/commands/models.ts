import * as os from 'node:os';
import type { Command } from 'commander';
import type { ModelManifest } from '../../schemas/manifests';
import { ModelIdSchema } from '../../schemas/records';
import type { AliasResult } from '../../storage/model-registry';
import {
  AliasConflictError,
  ModelRegistry,
  NoPreviousVersionError,
  NotBlessedError,
  VersionNotFoundError,
} from '../../storage/model-registry';
import type { CliContext } from '../context';
import { CliError, output } from '../context';

/** Exit code when a promotion is refused by policy (unblessed without --force): distinct from failures. */
export const EXIT_REFUSED = 3;
/** Exit code of a usage error (bad or missing flags), as for commander's own. */
export const EXIT_USAGE = 64;

/** Metrics shown in listings, in this order, when a manifest has them. */
const KEY_METRICS = ['f1', 'precision', 'recall', 'roc_auc', 'log_loss', 'test_rows'] as const;

/** The actor recorded in the audit log when --actor is not given: `cli:<os user>`. */
export function defaultActor(): string {
  let user = process.env.USER ?? process.env.USERNAME;
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      // No passwd entry (some containers): still audit that it came from the CLI.
      user = 'unknown';
    }
  }
  return `cli:${user}`;
}

function modelIdOf(text: string): string {
  const parsed = ModelIdSchema.safeParse(text);
  if (!parsed.success) throw new CliError(`--model "${text}": ${parsed.error.issues[0].message}`, EXIT_USAGE);
  return parsed.data;
}

/** Registry errors are user errors: print them without a stack. */
async function userErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof NotBlessedError) throw new CliError(err.message, EXIT_REFUSED);
    if (
      err instanceof VersionNotFoundError ||
      err instanceof NoPreviousVersionError ||
      err instanceof AliasConflictError
    ) {
      throw new CliError(err.message);
    }
    throw err;
  }
}

function fmt(value: number | undefined): string {
  if (value === undefined) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
}

function blessedText(m: ModelManifest): string {
  if (!m.blessing) return 'no';
  return m.blessing.blessed ? 'yes' : 'refused';
}

/** Aliases (and rollout roles) pointing at each version. */
function pointers(
  aliases: Record<string, string>,
  rollout: { shadow?: { version: string }; canary?: { version: string } },
): Map<string, string[]> {
  const byVersion = new Map<string, string[]>();
  const add = (version: string, name: string) =>
    byVersion.set(version, [...(byVersion.get(version) ?? []), name]);
  for (const [alias, version] of Object.entries(aliases)) add(version, alias);
  if (rollout.canary) add(rollout.canary.version, 'rollout:canary');
  if (rollout.shadow) add(rollout.shadow.version, 'rollout:shadow');
  return byVersion;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function describeChange(result: AliasResult): string {
  if (result.changes.length === 0) return `model ${result.modelId}: nothing changed (already in that state)`;
  const lines = result.changes.map((c) => `  ${c.alias}: ${c.from ?? '(unset)'} → ${c.to ?? '(unset)'}`);
  return [
    `model ${result.modelId}, alias revision ${result.revision}${result.forced ? ' (FORCED past the blessing check, audited)' : ''}:`,
    ...lines,
  ].join('\n');
}

/** `loopkeeper models list|show|promote|rollback|history`. */
export function registerModels(program: Command, ctx: () => CliContext): void {
  const models = program
    .command('models')
    .description('inspect model versions, promote, roll back, read the alias audit log');

  models
    .command('list')
    .description('registered versions with metrics, blessing and the aliases pointing at each')
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const registry = new ModelRegistry(ctx().store);
      const [versions, aliases, rollout] = await Promise.all([
        registry.listVersions(modelId),
        registry.getAliases(modelId),
        registry.getRollout(modelId),
      ]);
      const byVersion = pointers(aliases.aliases, rollout.config);
      const rows = versions.map((m) => ({
        version: m.version,
        createdAt: m.createdAt,
        trainer: m.trainer,
        metrics: Object.fromEntries(KEY_METRICS.filter((k) => k in m.metrics).map((k) => [k, m.metrics[k]])),
        blessed: m.blessing ? m.blessing.blessed : null,
        aliases: byVersion.get(m.version) ?? [],
      }));
      output(
        opts.json,
        { modelId, aliases: aliases.aliases, rollout: rollout.config, versions: rows },
        () => {
          if (versions.length === 0)
            return `model ${modelId} has no registered versions (train one: loopkeeper train --model ${modelId})`;
          return [
            `model ${modelId}: ${versions.length} version(s)`,
            table([
              [
                'VERSION',
                'CREATED',
                'TRAINER',
                ...KEY_METRICS.map((k) => k.toUpperCase()),
                'BLESSED',
                'ALIASES',
              ],
              ...versions.map((m) => [
                m.version,
                m.createdAt,
                m.trainer,
                ...KEY_METRICS.map((k) => fmt(m.metrics[k])),
                blessedText(m),
                (byVersion.get(m.version) ?? []).join(',') || '-',
              ]),
            ]),
          ].join('\n');
        },
      );
    });

  models
    .command('show')
    .description("one version's manifest: metrics, lineage, blessing, aliases")
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--version <v>', 'version id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; version: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const registry = new ModelRegistry(ctx().store);
      const manifest = await userErrors(() => registry.getManifest(modelId, opts.version));
      const [aliases, rollout] = await Promise.all([
        registry.getAliases(modelId),
        registry.getRollout(modelId),
      ]);
      const pointing = pointers(aliases.aliases, rollout.config).get(manifest.version) ?? [];
      output(opts.json, { manifest, aliases: pointing }, () =>
        [
          `model ${modelId} version ${manifest.version}`,
          `  created:   ${manifest.createdAt} by ${manifest.trainer} (code ${manifest.codeVersion})`,
          `  classes:   ${manifest.classes.join(', ')}${manifest.positiveClass ? ` (positive: ${manifest.positiveClass}, threshold ${manifest.threshold ?? 0.5})` : ''}`,
          `  aliases:   ${pointing.join(', ') || '-'}`,
          `  data:      ${manifest.trainingData.join(', ') || '-'}`,
          `  metrics:   ${
            Object.entries(manifest.metrics)
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(', ') || '-'
          }`,
          manifest.blessing
            ? `  blessing:  ${manifest.blessing.blessed ? 'BLESSED' : 'REFUSED'} at ${manifest.blessing.decidedAt}` +
              ` (compared to ${manifest.blessing.comparedTo ?? 'no champion'})\n` +
              manifest.blessing.reasons.map((r) => `    - ${r}`).join('\n')
            : '  blessing:  none recorded',
        ].join('\n'),
      );
    });

  models
    .command('promote')
    .description(
      'make a version the champion (the old champion becomes "previous"); unblessed needs --force --reason',
    )
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--version <v>', 'version id')
    .option('--force', 'promote even if the version is not blessed (needs --reason; audited as forced)')
    .option('--reason <text>', 'why (recorded in the alias audit log)')
    .option('--actor <name>', 'who (recorded in the audit log; default cli:<user>)')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        model: string;
        version: string;
        force?: boolean;
        reason?: string;
        actor?: string;
        json?: boolean;
      }) => {
        const modelId = modelIdOf(opts.model);
        if (opts.force && !opts.reason?.trim()) {
          throw new CliError('--force needs --reason "<why this unblessed version must serve>"', EXIT_USAGE);
        }
        const registry = new ModelRegistry(ctx().store);
        const result = await userErrors(() =>
          registry.promote({
            modelId,
            version: opts.version,
            actor: opts.actor ?? defaultActor(),
            reason: opts.reason?.trim() || 'promoted from the CLI',
            force: opts.force ? { reason: opts.reason!.trim() } : undefined,
          }),
        );
        output(opts.json, result, () => describeChange(result));
      },
    );

  models
    .command('rollback')
    .description('switch champion and previous (the old champion is also kept as "rolled-back")')
    .requiredOption('--model <id>', 'model id')
    .option('--reason <text>', 'why (recorded in the alias audit log)', 'rollback from the CLI')
    .option('--actor <name>', 'who (recorded in the audit log; default cli:<user>)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; reason: string; actor?: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const registry = new ModelRegistry(ctx().store);
      const actor = opts.actor ?? defaultActor();
      const result = await userErrors(() => registry.rollback({ modelId, actor, reason: opts.reason }));
      // A rollback means "the previous model alone": a canary or shadow still routed would undo it.
      const rollout = await registry.getRollout(modelId);
      if (rollout.config.canary || rollout.config.shadow) {
        await registry.updateRollout({ modelId, update: () => ({}), actor, reason: opts.reason });
      }
      output(opts.json, result, () => describeChange(result));
    });

  models
    .command('history')
    .description('the alias audit log, oldest first')
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const entries = await new ModelRegistry(ctx().store).aliasHistory(modelId);
      output(opts.json, { modelId, entries }, () => {
        if (entries.length === 0) return `model ${modelId}: no alias changes recorded`;
        return table([
          ['REV', 'AT', 'ACTOR', 'ALIAS', 'FROM', 'TO', 'REASON'],
          ...entries.map((e) => [
            String(e.revision),
            e.at,
            e.actor,
            e.alias,
            e.from ?? '-',
            e.to ?? '-',
            e.forced ? `${e.reason} [FORCED: ${e.forceReason ?? ''}]` : e.reason,
          ]),
        ]);
      });
    });
}
