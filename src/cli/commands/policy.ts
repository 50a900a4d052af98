import * as fs from 'node:fs';
import type { Command } from 'commander';
import {
  parsePolicyText,
  policyProblemsMessage,
  readStoredPolicy,
  writeStoredPolicy,
} from '../../config/policy-file';
import { policyOrigins } from '../../policy/model-policy';
import type { CliContext } from '../context';
import { CliError, output } from '../context';
import { EXIT } from '../exit-codes';
import { parseModelId } from '../user-input';

const modelOf = (m: string): string => parseModelId(m);

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--file ${file}: ${(err as Error).message}`, EXIT.noInput);
  }
}

function render(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * `loopkeeper policy show|validate|set --model m`: a model's policy (`config/{model}/policy.json`),
 * validated strictly, the way the cycle's first stage checks it.
 */
export function registerPolicy(program: Command, ctx: () => CliContext): void {
  const policy = program
    .command('policy')
    .description("show, validate or set a model's policy (config/{model}/policy.json)");

  policy
    .command('show')
    .description('the effective policy: every value, and whether the file or the default set it')
    .requiredOption('--model <id>', 'model id')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; json?: boolean }) => {
      const c = ctx();
      const modelId = modelOf(opts.model);
      const stored = await readStoredPolicy(c.store, modelId);
      if ('problems' in stored)
        throw new CliError(policyProblemsMessage(c.store, stored.key, stored.problems), EXIT.dataError);
      const values = policyOrigins(stored.policy, stored.raw);
      output(
        opts.json,
        { modelId, key: stored.key, source: stored.source, policy: stored.policy, values },
        () =>
          [
            `policy of ${modelId}: ${stored.source === 'stored' ? `${stored.key} in ${c.store.uri}, over the defaults` : `defaults (no ${stored.key} in ${c.store.uri})`}`,
            ...values.map((v) => `  ${v.path.padEnd(44)} ${render(v.value).padEnd(24)} ${v.origin}`),
          ].join('\n'),
      );
    });

  policy
    .command('validate')
    .description('check a policy file (--file) or the stored policy; exit 65 with every problem')
    .requiredOption('--model <id>', 'model id')
    .option('--file <path>', 'a policy file to check before setting it (default: the stored policy)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; file?: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      let where: string;
      let problems: string[];
      if (opts.file) {
        where = opts.file;
        const r = parsePolicyText(readFile(opts.file));
        problems = 'problems' in r ? r.problems : [];
      } else {
        const c = ctx();
        const stored = await readStoredPolicy(c.store, modelId);
        where = stored.source === 'stored' ? `${stored.key} in ${c.store.uri}` : `the default policy`;
        problems = 'problems' in stored ? stored.problems : [];
      }
      if (problems.length > 0)
        throw new CliError(`${where} is invalid: ${problems.join('; ')}`, EXIT.dataError);
      output(opts.json, { modelId, valid: true, checked: where }, () => `${where}: valid`);
    });

  policy
    .command('set')
    .description("validate a policy file, then store it as the model's policy")
    .requiredOption('--model <id>', 'model id')
    .requiredOption('--file <path>', 'the policy file (JSON)')
    .option('--json', 'print JSON')
    .action(async (opts: { model: string; file: string; json?: boolean }) => {
      const modelId = modelOf(opts.model);
      const parsed = parsePolicyText(readFile(opts.file));
      if ('problems' in parsed)
        throw new CliError(`${opts.file} is invalid: ${parsed.problems.join('; ')}`, EXIT.dataError);
      const c = ctx();
      const r = await writeStoredPolicy(c.store, modelId, parsed.raw);
      if (r.problems.length > 0)
        throw new CliError(`${opts.file} is invalid: ${r.problems.join('; ')}`, EXIT.dataError);
      output(
        opts.json,
        { modelId, key: r.key },
        () => `stored ${r.key} in ${c.store.uri}; the next cycle of ${modelId} runs by it`,
      );
    });
}
