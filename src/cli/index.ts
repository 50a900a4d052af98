import { Command } from 'commander';
import { ZodError } from 'zod';
import { ConfigError } from '../config';
import { CliContext, CliError } from './context';
import { registerCycle } from './commands/cycle';
import { registerReview } from './commands/review';
import { registerWorker } from './commands/worker';
import { registerDev } from './commands/dev';
import { registerSimulate } from './commands/simulate';
import { registerSchedule } from './commands/schedule';
import { registerModels } from './commands/models';
import { registerServe } from './commands/serve';
import { registerTrain } from './commands/train';
import { registerDrift } from './commands/drift';
import { registerRollout } from './commands/rollout';

/** Builds the `loopkeeper` command line. */
export function buildProgram(ctx: () => CliContext): Command {
  const program = new Command('loopkeeper')
    .description('keeps production ML classifiers honest after launch (Temporal workflows)')
    .showHelpAfterError()
    .exitOverride();
  registerCycle(program, ctx);
  registerReview(program, ctx);
  registerWorker(program, ctx);
  registerDev(program, ctx);
  registerSimulate(program, ctx);
  registerSchedule(program, ctx);
  registerModels(program, ctx);
  registerServe(program, ctx);
  registerTrain(program, ctx);
  registerDrift(program, ctx);
  registerRollout(program, ctx);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const ctx = (): CliContext => (context ??= new CliContext());
  try {
    await buildProgram(ctx).parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code?.startsWith('commander.')) return e.exitCode ?? 64;
    if (err instanceof CliError) {
      console.error(`loopkeeper: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      console.error(`loopkeeper: ${err.message}`);
      return 78;
    }
    if (err instanceof ZodError) {
      console.error(
        `loopkeeper: invalid input: ${err.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ')}`,
      );
      return 64;
    }
    console.error(err);
    return 1;
  } finally {
    await context?.close();
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => process.exit(code));
}
