import * as os from 'node:os';
import type { Command } from 'commander';
import type { ModelManifest } from '../../schemas/manifests';
import type { AliasResult, PruneResult } from '../../storage/model-registry';
import { CorruptObjectError, UnreadableObjectError } from '../../storage/cas-json';
import {
  AliasConflictError,
  AliasesUnreadableError,
  DanglingAliasError,
  ModelRegistry,
  NoPreviousVersionError,
  NotBlessedError,
  VersionNotFoundError,
} from '../../storage/model-registry';
import type { AliasRecovery } from '../../storage/model-registry';
import { rollbackModel } from '../admin-actions';
import { isOnnxArtifact } from '../../scoring/artifact';
import type { StoredArtifact } from '../../scoring/artifact';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { describeThreshold, ThresholdDecisionSchema } from '../../ml/threshold';
import { printable as p } from '../printable';
import { parseModelId, quoteInput } from '../user-input';

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

const modelIdOf = (text: string): string => parseModelId(text);

/** Registry errors are user errors: print them without a stack. */
async function userErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof NotBlessedError) throw new CliError(err.message, EXIT_REFUSED);
    if (
      err instanceof VersionNotFoundError ||
      err instanceof NoPreviousVersionError ||
      err instanceof AliasConflictError ||
      err instanceof DanglingAliasError ||
      err instanceof AliasesUnreadableError ||
      err instanceof CorruptObjectError ||
      err instanceof UnreadableObjectError
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

/** Columns of text; every cell (actors, reasons, trainers come from users and the store) printable. */
function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map((cell) => p(cell)));
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

/** The metric the gate column shows (the gate's first rule by default). */
const GATE_METRIC = 'f1';

/** The gate's comparison of a version with the champion of its time, on the test set both were scored on. */
export interface GateComparison {
  metric: string;
  candidate: number;
  /** null: there was no champion to compare with. */
  champion: number | null;
  comparedTo: string | null;
  testSetKey: string | null;
  /** null for blessings recorded before the comparison was stored (read from the check's text). */
  testRows: number | null;
}

/** The gate's numbers for one version, or undefined when it was never compared on a common test set. */
export function gateComparison(m: ModelManifest, metric = GATE_METRIC): GateComparison | undefined {
  const b = m.blessing;
  if (!b) return undefined;
  const base = { metric, comparedTo: b.comparedTo, testSetKey: b.testSetKey };
  if (b.comparison) {
    const candidate = b.comparison.candidate[metric];
    if (candidate === undefined) return undefined;
    return {
      ...base,
      candidate,
      champion: b.comparison.champion?.[metric] ?? null,
      testRows: b.comparison.testRows,
    };
  }
  // Older blessings hold the numbers only in the vs-champion check's detail (promotion-gate.ts wrote it).
  const detail = b.checks.find((c) => c.name === `metric:${metric}:vs-champion`)?.detail ?? '';
  const match = /^candidate \S+ (-?[\d.e+-]+) vs champion (-?[\d.e+-]+)/.exec(detail);
  if (!match) return undefined;
  return { ...base, candidate: Number(match[1]), champion: Number(match[2]), testRows: null };
}

/** The decision threshold and, when training recorded it, how it was chosen. */
function thresholdText(manifest: ModelManifest): string {
  const recorded = ThresholdDecisionSchema.safeParse(manifest.lineage.threshold);
  if (recorded.success && recorded.data.threshold === (manifest.threshold ?? 0.5))
    return p(describeThreshold(recorded.data), 300);
  return `${manifest.threshold ?? 0.5}${manifest.threshold === undefined ? ' (default)' : ''}`;
}

function gateText(g: GateComparison | undefined): string {
  if (!g) return '-';
  if (g.champion === null) return `${fmt(g.candidate)} (no champion)`;
  const rows = g.testRows === null ? '' : `, ${g.testRows} rows`;
  return `${fmt(g.candidate)} vs ${fmt(g.champion)} (${g.comparedTo ?? 'champion'}${rows})`;
}

function recoveryText(modelId: string, r: AliasRecovery): string {
  return `warning: models/${modelId}/aliases.json was unreadable (${p(r.unreadable, 300)}); using the table of revision ${r.fromRevision} from the audit log (\`loopkeeper models repair --model ${modelId}\` writes it back)`;
}

function describeChange(result: AliasResult): string {
  if (result.changes.length === 0 && !result.recovered)
    return `model ${result.modelId}: nothing changed (already in that state)`;
  const lines = result.changes.map(
    (c) => `  ${p(c.alias)}: ${p(c.from ?? '(unset)')} → ${p(c.to ?? '(unset)')}`,
  );
  return [
    `model ${result.modelId}, alias revision ${result.revision}${result.forced ? ' (FORCED past the blessing check, audited)' : ''}:`,
    ...lines,
    ...(result.recovered
      ? [
          `  aliases.json was unreadable (${p(result.recovered.unreadable, 300)}); rebuilt from audit revision ${result.recovered.fromRevision} (audited)`,
        ]
      : []),
    ...result.notes.map((n) => `  note: ${p(n, 500)}`),
  ].join('\n');
}

function describePrune(r: PruneResult): string {
  const objects = r.versions.reduce((n, v) => n + v.keys.length, 0);
  const head = r.dryRun
    ? `model ${r.modelId} (dry run, keeping the newest ${r.keep} and every version an alias or the rollout names): would delete ${r.versions.length} version(s), ${objects} object(s)`
    : `model ${r.modelId}: deleted ${r.versions.length} version(s), ${objects} object(s) (newest ${r.keep} and every version an alias or the rollout names kept)`;
  return [
    head,
    ...r.versions.map(
      (v) =>
        `  ${v.version}  created ${v.createdAt}  ${v.keys.length} object(s)${v.record ? `  record ${v.record}` : ''}`,
    ),
    ...r.skipped.map((s) => `  kept ${p(s.version)}: ${p(s.reason, 300)}`),
    ...r.resumed.map(
      (v) =>
        `  ${r.dryRun ? 'would finish' : 'finished'} ${v.version}: an earlier prune left ${v.keys.length} object(s)`,
    ),
    ...(r.dryRun && (r.versions.length > 0 || r.resumed.length > 0)
      ? [`nothing deleted: run again with --yes to delete`]
      : []),
  ].join('\n');
}

/** `loopkeeper models list|show|promote|rollback|repair|prune|history`. */
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
      const [versions, aliases, rollout] = await userErrors(() =>
        Promise.all([
          registry.listVersions(modelId),
          registry.getAliases(modelId),
          registry.getRollout(modelId),
        ]),
      );
      if (aliases.recovered) console.error(`loopkeeper: ${recoveryText(modelId, aliases.recovered)}`);
      const byVersion = pointers(aliases.aliases, rollout.config);
      const rows = versions.map((m) => ({
        version: m.version,
        createdAt: m.createdAt,
        trainer: m.trainer,
        /** `linear` (the built-in trainers) or `onnx` (an external trainer's graph). */
        kind: m.kind ?? 'linear',
        /** Each version on its own holdout: not comparable across versions. */
        metrics: Object.fromEntries(KEY_METRICS.filter((k) => k in m.metrics).map((k) => [k, m.metrics[k]])),
        /** The gate's comparison with the champion of its time on one common test set. */
        gate: gateComparison(m) ?? null,
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
                'KIND',
                ...KEY_METRICS.map((k) => k.toUpperCase()),
                `GATE ${GATE_METRIC.toUpperCase()} VS CHAMPION`,
                'BLESSED',
                'ALIASES',
              ],
              ...rows.map((r, i) => [
                r.version,
                r.createdAt,
                r.trainer,
                r.kind,
                ...KEY_METRICS.map((k) => fmt(versions[i].metrics[k])),
                gateText(r.gate ?? undefined),
                blessedText(versions[i]),
                r.aliases.join(',') || '-',
              ]),
            ]),
            `(${KEY_METRICS.map((k) => k.toUpperCase()).join(', ')}: each version on its own holdout, not comparable across versions.`,
            ` GATE: the version vs the champion of its time, both scored on the same test set: the promotion decision.)`,
          ].join('\n');
        },
      );
    });

  /** One line on what a version's artifact is and that it loads. */
  function artifactText(artifact: StoredArtifact): string {
    const features = `${artifact.pipeline.features.length} features`;
    if (!isOnnxArtifact(artifact)) return `linear, loads (${features})`;
    return `onnx, loads (${features}; opset ${artifact.opset}, ${p(artifact.producer)}, model.onnx sha256 ${artifact.onnxSha256.slice(0, 12)}…)`;
  }

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
      const [aliases, rollout] = await userErrors(() =>
        Promise.all([registry.getAliases(modelId), registry.getRollout(modelId)]),
      );
      if (aliases.recovered) console.error(`loopkeeper: ${recoveryText(modelId, aliases.recovered)}`);
      // What serving would load: a version whose model.json (or model.onnx) is damaged is reported, not
      // shown as fine.
      const { artifact } = await userErrors(() => registry.loadModelFiles(modelId, manifest.version));
      const pointing = pointers(aliases.aliases, rollout.config).get(manifest.version) ?? [];
      const gate = gateComparison(manifest);
      output(opts.json, { manifest, aliases: pointing, gate: gate ?? null }, () =>
        [
          `model ${modelId} version ${manifest.version}`,
          `  created:   ${p(manifest.createdAt)} by ${p(manifest.trainer)} (code ${p(manifest.codeVersion)})`,
          `  classes:   ${manifest.classes.map((c) => p(c)).join(', ')}${manifest.positiveClass ? ` (positive: ${p(manifest.positiveClass)})` : ''}`,
          ...(manifest.positiveClass ? [`  threshold: ${thresholdText(manifest)}`] : []),
          `  aliases:   ${pointing.join(', ') || '-'}`,
          `  artifact:  ${artifactText(artifact)}`,
          `  gate:      ${gate ? `${gate.metric} ${gateText(gate)}${gate.testSetKey ? ` on ${gate.testSetKey}` : ''}` : '-'}`,
          `  data:      ${manifest.trainingData.map((k) => p(k)).join(', ') || '-'}`,
          `  metrics:   ${
            Object.entries(manifest.metrics)
              .map(([k, v]) => `${p(k, 60)} ${fmt(v)}`)
              .join(', ') || '-'
          }`,
          manifest.blessing
            ? `  blessing:  ${manifest.blessing.blessed ? 'BLESSED' : 'REFUSED'} at ${manifest.blessing.decidedAt}` +
              ` (compared to ${manifest.blessing.comparedTo ?? 'no champion'})\n` +
              manifest.blessing.reasons.map((r) => `    - ${p(r, 500)}`).join('\n')
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
      const actor = opts.actor ?? defaultActor();
      // Shared with the web app: the same alias audit entries, the same cleared canary/shadow.
      const result = await userErrors(() =>
        rollbackModel(ctx().store, { modelId, actor, reason: opts.reason }),
      );
      output(opts.json, result, () => describeChange(result));
    });

  models
    .command('repair')
    .description(
      'rewrite an unreadable aliases.json from the audit log (the newest change that landed); audited',
    )
    .requiredOption('--model <id>', 'model id')
    .option('--reason <text>', 'why (recorded in the alias audit log)', 'repair from the CLI')
    .option('--actor <name>', 'who (recorded in the audit log; default cli:<user>)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; reason: string; actor?: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const registry = new ModelRegistry(ctx().store);
      const result = await userErrors(() =>
        registry.repairAliases({ modelId, actor: opts.actor ?? defaultActor(), reason: opts.reason }),
      );
      output(opts.json, result, () =>
        result.recovered
          ? describeChange(result)
          : `model ${modelId}: aliases.json reads fine (revision ${result.revision}); nothing to repair`,
      );
    });

  models
    .command('prune')
    .description(
      'delete old versions retention may drop (never one an alias or the rollout names, never the newest --keep); a dry run unless --yes',
    )
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--keep <n>', 'how many of the newest versions to keep whatever their aliases')
    .option('--dry-run', 'only list what would be deleted (the default)')
    .option('--yes', 'delete them (each deletion is recorded under models/{model}/retention/)')
    .option('--reason <text>', 'why (recorded with each deletion)', 'retention from the CLI')
    .option('--actor <name>', 'who (recorded with each deletion; default cli:<user>)')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        model: string;
        keep: string;
        dryRun?: boolean;
        yes?: boolean;
        reason: string;
        actor?: string;
        json?: boolean;
      }) => {
        const modelId = modelIdOf(opts.model);
        if (!/^\d+$/.test(opts.keep)) {
          throw new CliError(
            `--keep must be a whole number of versions (0 or more), got ${quoteInput(opts.keep)}`,
            EXIT_USAGE,
          );
        }
        if (opts.yes && opts.dryRun)
          throw new CliError('--yes and --dry-run contradict each other', EXIT_USAGE);
        const registry = new ModelRegistry(ctx().store);
        const result = await userErrors(() =>
          registry.prune({
            modelId,
            keep: Number(opts.keep),
            dryRun: !opts.yes,
            actor: opts.actor ?? defaultActor(),
            reason: opts.reason,
          }),
        );
        output(opts.json, result, () => describePrune(result));
      },
    );

  models
    .command('history')
    .description('the alias audit log, oldest first')
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; json?: boolean }) => {
      const modelId = modelIdOf(opts.model);
      const entries = await userErrors(() => new ModelRegistry(ctx().store).aliasHistory(modelId));
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
            (e.forced ? `${e.reason} [FORCED: ${e.forceReason ?? ''}]` : e.reason) +
              (e.recovered ? ` [REPAIRED from revision ${e.recovered.fromRevision}]` : ''),
          ]),
        ]);
      });
    });
}
