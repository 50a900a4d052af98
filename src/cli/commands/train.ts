import type { Command } from 'commander';
import { trainAndEvaluate } from '../../ml/train-and-evaluate';
import type { Blessing } from '../../schemas/manifests';
import { BlessingSchema } from '../../schemas/manifests';
import type { BlobStore } from '../../storage/blob-store';
import { findLatestHistory, readLabeledRows } from '../../storage/history-dataset';
import { CHAMPION, ModelRegistry } from '../../storage/model-registry';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { codeVersion } from '../../config/package-root';
import { policyProblemsMessage, readStoredPolicy } from '../../config/policy-file';
import { defaultActor } from './models';
import { parseModelId, quoteInput } from '../user-input';

/** A first model needs at least this many test rows to be blessed without a champion to compare with. */
export const FIRST_MODEL_MIN_TEST_ROWS = 200;
export const FIRST_MODEL_REASON = 'first model: no champion to compare against';

/** What `train` did. */
export interface TrainFirstModelResult {
  modelId: string;
  version: string;
  created: boolean;
  dataset: string;
  rows: number;
  badRows: number;
  split: { trainRows: number; validationRows: number; testRows: number; testFrom: string };
  metrics: Record<string, number>;
  blessed: boolean | null;
  blessingReasons: string[];
  /** The champion after the command, and whether this command made it so. */
  champion: string | null;
  promoted: boolean;
  notes: string[];
}

/** Options of {@link trainFirstModel}. */
export interface TrainFirstModelOptions {
  modelId: string;
  positiveClass?: string;
  seed: number;
  promote: boolean;
  actor: string;
  /** Largest tolerated share of invalid dataset lines. */
  maxBadRowRate: number;
  now?: () => Date;
}

/**
 * Trains from the newest bootstrap history, registers the version and — when the model has no champion —
 * blesses it (given enough test rows) and promotes it. With a champion present the new version is
 * registered but left unblessed: comparing it against the champion is the cycle's promotion gate's job.
 */
export async function trainFirstModel(
  store: BlobStore,
  opts: TrainFirstModelOptions,
): Promise<TrainFirstModelResult> {
  const now = opts.now ?? (() => new Date());
  const { modelId } = opts;
  const history = await findLatestHistory(store, modelId);
  if (!history) {
    throw new CliError(
      `no bootstrap history for model ${modelId} under datasets/${modelId}/history/ in ${store.uri}; write some with \`loopkeeper simulate --model ${modelId}\``,
    );
  }
  const dataKey = history.manifest.dataKey;
  const { rows, bad } = await readLabeledRows(store, dataKey);
  const total = rows.length + bad.length;
  if (total === 0) throw new CliError(`${dataKey} holds no rows`);
  if (bad.length / total > opts.maxBadRowRate) {
    throw new CliError(
      `${dataKey}: ${bad.length} of ${total} lines are invalid (more than ${opts.maxBadRowRate * 100}%); first: line ${bad[0].lineNo}: ${bad[0].reason}`,
    );
  }
  const labels = [...new Set(rows.map((r) => r.label))];
  // For a binary model named after one of its labels (churn: churn/stay) that label is the event.
  const positiveClass =
    opts.positiveClass ?? (labels.length === 2 && labels.includes(modelId) ? modelId : undefined);

  // The first model picks its decision threshold by the same policy as every retrained one.
  const stored = await readStoredPolicy(store, modelId);
  if ('problems' in stored) throw new CliError(policyProblemsMessage(store, stored.key, stored.problems));
  const trained = trainAndEvaluate({
    rows,
    positiveClass,
    options: { seed: opts.seed },
    thresholdPolicy: stored.policy.retrain.threshold,
  });
  const registry = new ModelRegistry(store, { now });
  const registered = await registry.registerVersion({
    modelId,
    artifact: trained.artifact,
    manifest: {
      ...trained.manifest,
      createdAt: now().toISOString(),
      trainingData: [dataKey],
      codeVersion: codeVersion(),
      lineage: {
        ...trained.manifest.lineage,
        source: 'bootstrap-history',
        datasetManifest: history.manifestKey,
        datasetSha256: history.manifest.sha256 ?? null,
        seed: opts.seed,
        invalidRowsSkipped: bad.length,
      },
    },
  });
  const { version } = registered;
  const notes: string[] = [];
  if (!registered.created)
    notes.push(`version ${version} was already registered (same artifact): nothing new written`);

  let manifest = registered.manifest;
  let champion = (await registry.getAliases(modelId)).aliases[CHAMPION] ?? null;
  let promoted = false;
  if (champion === version) {
    notes.push(`${version} is already the champion`);
  } else if (champion !== null) {
    notes.push(
      `model ${modelId} already has a champion (${champion}): ${version} is registered but not blessed; a cycle's promotion gate compares it with the champion (or: loopkeeper models promote --force --reason …)`,
    );
  } else {
    if (!manifest.blessing) {
      const testRows = trained.split.testRows;
      const enough = testRows >= FIRST_MODEL_MIN_TEST_ROWS;
      const blessing: Blessing = BlessingSchema.parse({
        blessed: enough,
        reasons: enough
          ? [FIRST_MODEL_REASON]
          : [
              `first model: only ${testRows} test rows (minimum ${FIRST_MODEL_MIN_TEST_ROWS}), metrics too noisy to trust`,
            ],
        comparedTo: null,
        testSetKey: null,
        decidedAt: now().toISOString(),
        checks: [
          {
            name: 'min-test-rows',
            passed: enough,
            detail: `test set has ${testRows} rows (minimum ${FIRST_MODEL_MIN_TEST_ROWS}); temporal split from ${trained.split.testFrom}`,
          },
        ],
      });
      manifest = await registry.updateManifest({ modelId, version, blessing });
    }
    if (manifest.blessing?.blessed && opts.promote) {
      await registry.promote({
        modelId,
        version,
        actor: opts.actor,
        reason: 'first model, trained on bootstrap history',
      });
      champion = version;
      promoted = true;
    } else if (manifest.blessing?.blessed) {
      notes.push('blessed but not promoted (--no-promote)');
    } else {
      notes.push(`not blessed, so not promoted: ${manifest.blessing?.reasons.join('; ')}`);
    }
  }
  return {
    modelId,
    version,
    created: registered.created,
    dataset: dataKey,
    rows: rows.length,
    badRows: bad.length,
    split: trained.split,
    metrics: trained.metrics,
    blessed: manifest.blessing ? manifest.blessing.blessed : null,
    blessingReasons: manifest.blessing?.reasons ?? [],
    champion,
    promoted,
    notes,
  };
}

/** `loopkeeper train`: trains a first model from the simulator's bootstrap history. */
export function registerTrain(program: Command, ctx: () => CliContext): void {
  program
    .command('train')
    .description(
      'train a model from bootstrap history, register it, and (if there is no champion) bless and promote it',
    )
    .requiredOption('--model <id>', 'model id')
    .option(
      '--from-history',
      'train on the newest datasets/{model}/history/ dataset (the default and, for now, only source)',
    )
    .option(
      '--positive-class <label>',
      'binary: the event class (default: the label named like the model, e.g. churn)',
    )
    .option('--seed <n>', 'training seed (same data and seed, same version id)', '0')
    .option('--no-promote', 'register and bless, but do not promote')
    .option('--actor <name>', 'who (recorded in the alias audit log; default cli:<user>)')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        model: string;
        positiveClass?: string;
        seed: string;
        promote: boolean;
        actor?: string;
        json?: boolean;
      }) => {
        const modelId = parseModelId(opts.model);
        const seed = Number(opts.seed);
        if (!Number.isInteger(seed))
          throw new CliError(`--seed ${quoteInput(opts.seed)}: expected an integer`, 64);
        const c = ctx();
        const result = await trainFirstModel(c.store, {
          modelId: modelId,
          positiveClass: opts.positiveClass,
          seed,
          promote: opts.promote,
          actor: opts.actor ?? defaultActor(),
          maxBadRowRate: c.config.ingest.maxBadRowRate,
        });
        const m = result.metrics;
        output(opts.json, result, () =>
          [
            `${result.created ? 'registered' : 'found'} model ${result.modelId} version ${result.version}`,
            `  data:     ${result.rows} rows from ${result.dataset}${result.badRows ? ` (${result.badRows} invalid lines skipped)` : ''}`,
            `  split:    train ${result.split.trainRows}, early-stopping ${result.split.validationRows}, test ${result.split.testRows} (from ${result.split.testFrom})`,
            `  test:     f1 ${m.f1?.toFixed(4)}, precision ${m.precision?.toFixed(4)}, recall ${m.recall?.toFixed(4)}, roc_auc ${m.roc_auc?.toFixed(4) ?? '-'}, log_loss ${m.log_loss?.toFixed(4)}`,
            `  blessed:  ${result.blessed === null ? 'no decision' : result.blessed ? 'yes' : 'no'}${result.blessingReasons.length ? ` (${result.blessingReasons.join('; ')})` : ''}`,
            `  champion: ${result.champion ?? '(none)'}${result.promoted ? ' (promoted now)' : ''}`,
            ...result.notes.map((n) => `  note: ${n}`),
          ].join('\n'),
        );
      },
    );
}
