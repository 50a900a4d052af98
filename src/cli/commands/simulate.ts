import type { Command } from 'commander';
import { ScenarioNameSchema } from '../../simulate/scenario';
import { writeSimulatedLogs } from '../../simulate/write-logs';
import { loadScorer } from '../../scoring/load';
import type { ScoringModel } from '../../simulate/reference-scorer';
import { ModelRegistry } from '../../storage/model-registry';
import type { CliContext } from '../context';
import { CliError, output } from '../context';

function int(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} "${v}": expected a non-negative integer`);
  return n;
}

/** `loopkeeper simulate`: writes seeded production traffic (and bootstrap history) into the store. */
export function registerSimulate(program: Command, ctx: () => CliContext): void {
  program
    .command('simulate')
    .description(
      'write simulated churn-model traffic (predictions, delayed outcomes, history) into the store',
    )
    .option('--model <id>', 'model id', 'churn')
    .option('--scenario <name>', `one of ${ScenarioNameSchema.options.join(', ')}`, 'concept-drift')
    .option('--seed <n>', 'seed (same seed, same bytes)', '7')
    .option('--start <day>', 'first production day, YYYY-MM-DD', '2026-06-01')
    .option('--days <n>', 'days of production traffic', '28')
    .option('--rows-per-day <n>', 'requests on a weekday', '2000')
    .option('--switch-day <n>', 'country-encoding: first day with full country names', '14')
    .option('--history-days <n>', 'days of labelled history before the start', '28')
    .option('--gzip', 'write .ndjson.gz parts')
    .option(
      '--score-with <who>',
      'champion: score with the registered champion (the serving path); reference: the fixed stand-in scorer',
      'champion',
    )
    .option('--json', 'print JSON')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const scenario = ScenarioNameSchema.safeParse(o.scenario);
      if (!scenario.success)
        throw new CliError(
          `--scenario "${String(o.scenario)}": expected one of ${ScenarioNameSchema.options.join(', ')}`,
        );
      const c = ctx();
      // Score through the same library serving uses, so the logs come from the real deployed model.
      let scorer: ScoringModel | undefined;
      if (o.scoreWith === 'champion') {
        const registry = new ModelRegistry(c.store);
        const champion = (await registry.getAliases(String(o.model))).aliases.champion;
        if (champion) {
          const model = await loadScorer(registry, String(o.model), champion);
          scorer = {
            modelVersion: champion,
            scorer: (f) => {
              model.score(f);
              return model.result() as ReturnType<ScoringModel['scorer']>;
            },
          };
        }
      } else if (o.scoreWith !== 'reference') {
        throw new CliError(`--score-with "${String(o.scoreWith)}": expected champion or reference`);
      }
      const result = await writeSimulatedLogs(c.store, {
        scorer,
        modelId: String(o.model),
        config: {
          name: scenario.data,
          seed: int('--seed', String(o.seed)),
          start: String(o.start),
          days: int('--days', String(o.days)),
          rowsPerDay: int('--rows-per-day', String(o.rowsPerDay)),
          switchDay: int('--switch-day', String(o.switchDay)),
        },
        gzip: Boolean(o.gzip),
        historyDays: int('--history-days', String(o.historyDays)),
      });
      output(Boolean(o.json), result, () =>
        [
          `simulated ${result.scenario.name} (seed ${result.scenario.seed}) for model ${result.modelId} into ${c.store.uri}, scored by ${result.modelVersion}`,
          `  predictions: ${result.predictions.rows} rows in ${result.predictions.keys.length} parts`,
          `  outcomes:    ${result.outcomes.rows} rows in ${result.outcomes.keys.length} parts`,
          result.history
            ? `  history:     ${result.history.rows} labelled rows at ${result.history.dataKey}`
            : '  history:     none',
        ].join('\n'),
      );
    });
}
